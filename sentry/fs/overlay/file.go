package overlay

import (
	"context"
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// ensureData returns the memfd of a regular file, creating it; fs.mu is
// held and n is up.
func (n *node) ensureData() (*os.File, error) {
	if n.data == nil {
		m, err := newMemfd()
		if err != nil {
			return nil, err
		}
		n.setData(m, &dataCharge{space: n.fs.space})
	}
	return n.data, nil
}

// Open implements vfs.Inode.
func (n *node) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	st, err := n.stat(ctx)
	if err != nil {
		return nil, err
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFIFO, unix.S_IFSOCK, unix.S_IFCHR, unix.S_IFBLK:
		// The VFS opens device nodes by their numbers (the sandbox's
		// devices are those of /dev, vfs.DeviceOpener); without it,
		// none stands behind a node here: ENXIO.
		return nil, unix.ENXIO
	default:
		return nil, unix.EACCES
	}
	if flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0 {
		if err := n.copyUp(ctx); err != nil {
			return nil, err
		}
	}
	if n.up {
		return &file{n: n}, nil
	}
	impl, err := n.lower.Open(ctx, unix.O_RDONLY)
	if err != nil {
		return nil, err
	}
	return &file{n: n, lower: impl}, nil
}

// file is an open regular file of the overlay.
type file struct {
	n     *node
	lower vfs.FileImpl // the lower file while n was not copied up at open
}

// source returns the memfd if the node is up (nil while empty), or the
// lower file.
func (f *file) source() (*os.File, vfs.FileImpl, bool) {
	f.n.fs.mu.Lock()
	defer f.n.fs.mu.Unlock()
	return f.n.data, f.lower, f.n.up
}

// ReadAt implements vfs.FileImpl.
func (f *file) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	data, lower, up := f.source()
	if !up {
		return lower.ReadAt(ctx, p, off)
	}
	if data == nil {
		return 0, nil
	}
	for {
		n, err := unix.Pread(int(data.Fd()), p, off)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// SeekHole implements vfs.HoleSeeker: the memfd (or the lower file)
// knows its holes.
func (f *file) SeekHole(ctx context.Context, off int64, whence int) (int64, error) {
	data, lower, up := f.source()
	if !up {
		if hs, ok := lower.(vfs.HoleSeeker); ok {
			return hs.SeekHole(ctx, off, whence)
		}
		if whence == unix.SEEK_DATA {
			return off, nil
		}
		st, err := f.n.Stat(ctx)
		return st.Size, err
	}
	if data == nil {
		return 0, unix.ENXIO
	}
	return unix.Seek(int(data.Fd()), off, whence)
}

// WriteAt implements vfs.FileImpl.
func (f *file) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	n := f.n
	n.dataMu.Lock()
	defer n.dataMu.Unlock()
	n.fs.mu.Lock()
	if err := n.copyUp(ctx); err != nil {
		n.fs.mu.Unlock()
		return 0, err
	}
	data, err := n.ensureData()
	charge := n.charge
	n.fs.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if off < 0 {
		var st unix.Stat_t
		if err := unix.Fstat(int(data.Fd()), &st); err != nil {
			return 0, err
		}
		off = st.Size
	}
	if off > math.MaxInt64-int64(len(p)) {
		return 0, unix.EFBIG
	}
	if err := charge.grow(ctx, charge.fillHoles(data, off, int64(len(p)))); err != nil {
		return 0, err
	}
	fits, err := charge.reserve(data, off, int64(len(p)), true)
	if err != nil {
		return 0, err
	}
	p = p[:fits]
	defer charge.settle(data)
	done := 0
	for done < len(p) {
		w, err := unix.Pwrite(int(data.Fd()), p[done:], off+int64(done))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if done > 0 {
				break
			}
			return 0, err
		}
		done += w
	}
	n.modified()
	return done, nil
}

// Release implements vfs.FileImpl.
func (f *file) Release() {
	if f.lower != nil {
		f.lower.Release()
	}
}

// MappableFile implements vfs.Mappable.
func (f *file) MappableFile() (*os.File, error) {
	f.n.fs.mu.Lock()
	defer f.n.fs.mu.Unlock()
	return f.mappableLocked()
}

// MappableBacking implements mm.BackedMappable: the file MappableFile
// returns, and while that is the lower file, what its mapping holds so
// that the copy up moves it onto the copy (mapped.go).
func (f *file) MappableBacking() (*os.File, mm.Backing, error) {
	n := f.n
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	hf, err := f.mappableLocked()
	if err != nil || n.up {
		return hf, nil, err
	}
	return hf, n.backing(), nil
}

// mappableLocked is MappableFile; fs.mu is held.
func (f *file) mappableLocked() (*os.File, error) {
	n := f.n
	if !n.up {
		if m, ok := f.lower.(vfs.Mappable); ok {
			return m.MappableFile()
		}
		return nil, unix.ENODEV
	}
	data, err := n.ensureData()
	if err != nil {
		return nil, err
	}
	return dupFD(data)
}

// dupFD returns a new descriptor of f, owned by the caller.
func dupFD(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("duplicating a memory file: %w", err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// Allocate implements vfs.Allocator.
func (f *file) Allocate(ctx context.Context, mode uint32, off, length int64) error {
	n := f.n
	n.dataMu.Lock()
	defer n.dataMu.Unlock()
	n.fs.mu.Lock()
	err := n.copyUp(ctx)
	var data *os.File
	if err == nil {
		data, err = n.ensureData()
	}
	charge := n.charge
	n.fs.mu.Unlock()
	if err != nil {
		return err
	}
	// Invalid ranges are the host's to refuse.
	if off >= 0 && length > 0 && off <= math.MaxInt64-length && mode&(unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_COLLAPSE_RANGE) == 0 {
		if err := charge.grow(ctx, charge.fillHoles(data, off, length)); err != nil {
			return err
		}
		if _, err := charge.reserve(data, off, length, false); err != nil {
			return err
		}
	}
	defer charge.settle(data)
	if err := unix.Fallocate(int(data.Fd()), mode, off, length); err != nil {
		return err
	}
	n.modified() // shmem_fallocate's file_modified
	return nil
}

// modified stamps a change of the file's data: mtime and ctime, from one
// reading of the clock (file_update_time).
func (n *node) modified() {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	now := vfs.Now()
	n.st.Mtim, n.st.Ctim = now, now
}
