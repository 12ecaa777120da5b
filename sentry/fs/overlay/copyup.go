package overlay

import (
	"context"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// copyUp moves n's attributes and contents into memory; fs.mu is held.
func (n *node) copyUp(ctx context.Context) error {
	if n.up {
		return nil
	}
	st, err := n.lower.Stat(ctx)
	if err != nil {
		return err
	}
	x, err := lowerXattrs(ctx, n.lower)
	if err != nil {
		return err
	}
	if err := n.copyUpData(ctx, &st); err != nil {
		x.release()
		return err
	}
	if x != nil {
		n.setXattrs(x)
	}
	n.st = st
	n.born = vfs.BirthOf(ctx, n.lower)
	if !vfs.IsDir(st.Mode) {
		n.lower = nil
	}
	n.up = true
	n.moveMappings()
	return nil
}

// copyUpData moves a regular file's contents, a symlink's target or a
// directory's children map into n, and sets st's link count for the copy;
// fs.mu is held.
func (n *node) copyUpData(ctx context.Context, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		if err := n.copyUpFile(ctx, st.Size); err != nil {
			return err
		}
		st.Nlink = 1
	case unix.S_IFLNK:
		l, ok := n.lower.(vfs.Symlink)
		if !ok {
			return unix.EINVAL
		}
		target, err := l.Readlink(ctx)
		if err != nil {
			return err
		}
		n.target = target
		st.Nlink = 1
	case unix.S_IFDIR:
		if n.children == nil {
			n.children = make(map[string]*node)
		}
	default:
		st.Nlink = 1
	}
	if n.removed && !vfs.IsDir(st.Mode) {
		st.Nlink = 0 // an unlinked file, still open
	}
	return nil
}

// copyUpFile copies a lower regular file of size bytes into a memfd that
// keeps its holes, charged for its data only (charge.go); fs.mu is held.
func (n *node) copyUpFile(ctx context.Context, size int64) error {
	var impl vfs.FileImpl // nil for an empty file: nothing to read
	var ext extents
	if size > 0 {
		var err error
		if impl, err = n.lower.Open(ctx, unix.O_RDONLY); err != nil {
			return err
		}
		defer impl.Release()
		if ext, err = dataExtents(ctx, impl, size); err != nil {
			return fmt.Errorf("finding the data of a file to copy up: %w", err)
		}
	}
	charge := &dataCharge{space: n.fs.space, holes: pagesFor(size) - ext.pages()}
	if err := charge.grow(ctx, size); err != nil {
		return err
	}
	data, err := copyData(ctx, impl, ext, size)
	if err != nil {
		charge.release()
		return err
	}
	n.setData(data, charge)
	return nil
}

// extent is a range of a file that holds data.
type extent struct{ off, end int64 }

// extents are a file's data ranges, in order, apart.
type extents []extent

// pages returns the bytes of the whole pages the extents touch: what a
// memfd holding them allocates.
func (e extents) pages() uint64 {
	var total, covered uint64 // covered: the end of the pages counted
	for _, x := range e {
		start := max(uint64(x.off)&^4095, covered)
		end := pagesFor(x.end)
		if end > start {
			total += end - start
			covered = end
		}
	}
	return total
}

// dataExtents lists the data of a lower file of size bytes with
// SEEK_DATA and SEEK_HOLE, as Linux's own copy up (ovl_copy_up_file)
// skips holes; a file that cannot tell is all data.
func dataExtents(ctx context.Context, impl vfs.FileImpl, size int64) (extents, error) {
	hs, ok := impl.(vfs.HoleSeeker)
	if !ok {
		return extents{{0, size}}, nil
	}
	var ext extents
	for off := int64(0); off < size; {
		start, err := hs.SeekHole(ctx, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // only a hole is left
		}
		if err == unix.EINVAL && off == 0 {
			return extents{{0, size}}, nil // the host file system has no holes to tell
		}
		if err != nil {
			return nil, err
		}
		end, err := hs.SeekHole(ctx, start, unix.SEEK_HOLE)
		if err != nil {
			return nil, err
		}
		end = min(end, size)
		if start >= end {
			break // the file shrank on the host meanwhile
		}
		ext = append(ext, extent{start, end})
		off = end
	}
	return ext, nil
}

// newMemfd returns an empty memory file.
func newMemfd() (*os.File, error) {
	fd, err := unix.MemfdCreate("runsc-lite", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return os.NewFile(uintptr(fd), "memfd:runsc-lite"), nil
}

// copyData copies the extents of a lower regular file of size bytes into
// a new memfd of that size; the rest stays holes.
func copyData(ctx context.Context, impl vfs.FileImpl, ext extents, size int64) (*os.File, error) {
	mem, err := newMemfd()
	if err != nil {
		return nil, err
	}
	if err := copyExtents(ctx, mem, impl, ext); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copying up: %w", err)
	}
	if err := mem.Truncate(size); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copying up: %w", err)
	}
	return mem, nil
}

// copyExtents copies ext of impl into mem at the same offsets, with
// sendfile(2) from the host file where there is one (no round trip
// through the sentry's memory), else through a buffer.
func copyExtents(ctx context.Context, mem *os.File, impl vfs.FileImpl, ext extents) error {
	if m, ok := impl.(vfs.Mappable); ok {
		if src, err := m.MappableFile(); err == nil {
			err = sendExtents(mem, src, ext)
			src.Close()
			if err == nil {
				return nil
			}
			if err := mem.Truncate(0); err != nil {
				return err
			}
		}
	}
	for _, x := range ext {
		r := io.NewSectionReader(readerAt{ctx, impl}, x.off, x.end-x.off)
		if _, err := io.Copy(io.NewOffsetWriter(mem, x.off), r); err != nil {
			return err
		}
	}
	return nil
}

// sendExtents copies ext of src into dst at the same offsets.
func sendExtents(dst, src *os.File, ext extents) error {
	for _, x := range ext {
		if _, err := dst.Seek(x.off, io.SeekStart); err != nil {
			return err
		}
		if err := sendAll(dst, src, x.off, x.end); err != nil {
			return err
		}
	}
	return nil
}

// sendAll copies [off, end) of src to dst's file offset with sendfile(2).
func sendAll(dst, src *os.File, off, end int64) error {
	for off < end {
		n, err := unix.Sendfile(int(dst.Fd()), int(src.Fd()), &off, int(min(end-off, 1<<30)))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
	}
	return nil
}

// readerAt adapts a vfs.FileImpl to io.ReaderAt.
type readerAt struct {
	ctx  context.Context
	impl vfs.FileImpl
}

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.impl.ReadAt(r.ctx, p, off)
	if err == nil && n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, err
}
