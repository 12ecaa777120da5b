package host

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Source is a host directory or regular file to mount in the sandbox (a
// volume, an OCI bind mount), opened by whoever has the caller's rights:
// the sentry, in an empty root of its own, reaches it only through Dir.
type Source struct {
	// Dir is an O_PATH descriptor of the directory mounted, or a
	// descriptor of the regular file mounted, open for reading, or for
	// reading and writing when it is mounted writable.
	//
	// A single file is reached through its own descriptor, not by name
	// in its directory: the directory may be one the sentry's host
	// identity cannot search (Docker's /etc/resolv.conf, hostname and
	// hosts live in root-only directories), and there is nothing to walk
	// below a file. The file's permissions were checked against the
	// caller, who asked for that access, when it was opened.
	Dir *os.File
	// Swap, for a read-only directory opened by launch.OpenImageRoot as
	// an idmapped mount, undoes the mount's swap of owners.
	Swap *Swap
}

// OpenSource opens the host path p (symlinks followed, as the caller
// named it) as a Source: a directory, or a regular file, the latter for
// reading and, if writable, writing.
func OpenSource(p string, writable bool) (Source, error) {
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
	acc := unix.O_RDONLY
	if writable {
		acc = unix.O_RDWR
	}
	// O_NONBLOCK: a FIFO put in the file's place since the stat must not
	// block the open (it is refused just below).
	fd, err := unix.Open(p, acc|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return Source{}, fmt.Errorf("%s: %w", p, err)
	}
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil || fst.Mode&unix.S_IFMT != unix.S_IFREG || fst.Dev != st.Dev || fst.Ino != st.Ino {
		unix.Close(fd)
		return Source{}, fmt.Errorf("%s: changed while it was opened", p)
	}
	return Source{Dir: os.NewFile(uintptr(fd), p)}, nil
}

// Close closes the source's descriptor.
func (s Source) Close() error { return s.Dir.Close() }

// NewMount returns the filesystem of src, which it takes over: its
// directory, or its one file (a filesystem whose root is that file, which
// the sandbox reaches nothing else through), read only or writable.
func NewMount(src Source, ids *Identities, writable bool) (*FS, error) {
	st, born, err := fstat(int(src.Dir.Fd()))
	if err != nil {
		src.Dir.Close()
		return nil, fmt.Errorf("mount source %s: %w", src.Dir.Name(), err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		if src.Swap != nil && writable {
			src.Dir.Close()
			return nil, fmt.Errorf("mount source %s: an idmapped tree is read only", src.Dir.Name())
		}
		fs, err := newFromFile(src.Dir, ids, src.Swap)
		if err != nil {
			return nil, err
		}
		fs.writable = writable
		return fs, nil
	}
	if ids == nil {
		ids = NewIdentities()
	}
	fl, err := unix.FcntlInt(src.Dir.Fd(), unix.F_GETFL, 0)
	if err != nil || writable && fl&unix.O_ACCMODE != unix.O_RDWR {
		src.Dir.Close()
		return nil, fmt.Errorf("mount source %s: not open for writing", src.Dir.Name())
	}
	fs := &FS{root: src.Dir, ids: ids, dirs: make(map[hostFile]*inode), single: true, writable: writable}
	fs.top = fs.inodeFor(".", st, born, nil)
	return fs, nil
}

// reopen is open for the filesystem of a single file: its one name, ".",
// opens a duplicate of the file's descriptor (pread and pwrite leave the
// shared offset alone; appends find the end themselves, file.WriteAt).
func (fs *FS) reopen(p string, flags int) (int, error) {
	if p != "." || flags&unix.O_DIRECTORY != 0 {
		return -1, unix.ENOTDIR
	}
	if flags&unix.O_PATH == 0 && flags&unix.O_ACCMODE != unix.O_RDONLY && !fs.writable {
		return -1, unix.EROFS
	}
	return unix.FcntlInt(fs.root.Fd(), unix.F_DUPFD_CLOEXEC, 0)
}
