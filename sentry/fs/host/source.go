package host

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Source is a host directory or regular file to mount in the sandbox (a
// volume, an OCI bind mount), opened by whoever has the caller's rights:
// the sentry, in an empty root of its own, reaches it only through Dir.
type Source struct {
	// Dir is an O_PATH descriptor of the directory mounted, or of the
	// directory that holds the file mounted.
	Dir *os.File
	// Name is "" when Dir itself is mounted, else the regular file's name
	// in Dir (one component).
	Name string
}

// OpenSource opens the host path p (symlinks followed, as the caller
// named it) as a Source: a directory, or a regular file.
func OpenSource(p string) (Source, error) {
	var st unix.Stat_t
	if err := unix.Stat(p, &st); err != nil {
		return Source{}, fmt.Errorf("%s: %w", p, err)
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		f, err := OpenRoot(p)
		if err != nil {
			return Source{}, err
		}
		return Source{Dir: f}, nil
	case unix.S_IFREG:
	default:
		return Source{}, fmt.Errorf("%s: not a directory or a regular file", p)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return Source{}, fmt.Errorf("%s: %w", p, err)
	}
	dir, name := filepath.Split(real)
	f, err := OpenRoot(dir)
	if err != nil {
		return Source{}, err
	}
	// The file found below the directory must be the one p named.
	var fst unix.Stat_t
	if err := unix.Fstatat(int(f.Fd()), name, &fst, unix.AT_SYMLINK_NOFOLLOW); err != nil || fst.Dev != st.Dev || fst.Ino != st.Ino {
		f.Close()
		return Source{}, fmt.Errorf("%s: changed while it was opened", p)
	}
	return Source{Dir: f, Name: name}, nil
}

// Close closes the source's descriptor.
func (s Source) Close() error { return s.Dir.Close() }

// NewMount returns the filesystem of src, which it takes over: its
// directory, or its one file (a filesystem whose root is that file, which
// the sandbox reaches nothing else through), read only or writable.
func NewMount(src Source, ids *Identities, writable bool) (*FS, error) {
	fs, err := NewFromFile(src.Dir, ids)
	if err != nil {
		return nil, err
	}
	fs.writable = writable
	if src.Name == "" {
		return fs, nil
	}
	if src.Name == "." || src.Name == ".." || filepath.Base(src.Name) != src.Name {
		fs.Close()
		return nil, fmt.Errorf("mount source %q: not one name", src.Name)
	}
	fd, err := fs.open(src.Name, unix.O_PATH)
	if err != nil {
		fs.Close()
		return nil, fmt.Errorf("mount source %s: %w", src.Name, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		fs.Close()
		return nil, fmt.Errorf("mount source %s: not a regular file", src.Name)
	}
	fs.top = fs.inodeFor(src.Name, st)
	return fs, nil
}
