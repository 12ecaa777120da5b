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
	if !vfs.IsDir(st.Mode) {
		n.lower = nil
	}
	n.up = true
	return nil
}

// copyUpData moves a regular file's contents, a symlink's target or a
// directory's children map into n, and sets st's link count for the copy;
// fs.mu is held.
func (n *node) copyUpData(ctx context.Context, st *unix.Stat_t) error {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		charge := &dataCharge{space: n.fs.space}
		if err := charge.grow(ctx, st.Size); err != nil {
			return err
		}
		data, err := copyData(ctx, n.lower, st.Size)
		if err != nil {
			charge.release()
			return err
		}
		n.setData(data, charge)
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

// newMemfd returns an empty memory file.
func newMemfd() (*os.File, error) {
	fd, err := unix.MemfdCreate("runsc-lite", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	return os.NewFile(uintptr(fd), "memfd:runsc-lite"), nil
}

// copyData copies a lower regular file of size bytes into a new memfd.
func copyData(ctx context.Context, lower vfs.Inode, size int64) (*os.File, error) {
	mem, err := newMemfd()
	if err != nil {
		return nil, err
	}
	if size == 0 {
		return mem, nil
	}
	impl, err := lower.Open(ctx, unix.O_RDONLY)
	if err != nil {
		mem.Close()
		return nil, err
	}
	defer impl.Release()
	if m, ok := impl.(vfs.Mappable); ok {
		if src, err := m.MappableFile(); err == nil {
			err = sendAll(mem, src, size)
			src.Close()
			if err == nil {
				return mem, nil
			}
			if err := mem.Truncate(0); err != nil {
				mem.Close()
				return nil, err
			}
		}
	}
	if _, err := io.Copy(mem, io.NewSectionReader(readerAt{ctx, impl}, 0, 1<<62)); err != nil {
		mem.Close()
		return nil, fmt.Errorf("copying up: %w", err)
	}
	return mem, nil
}

// sendAll copies src into dst with sendfile(2), without a round trip
// through the sentry's memory.
func sendAll(dst, src *os.File, size int64) error {
	var off int64
	for off < size {
		n, err := unix.Sendfile(int(dst.Fd()), int(src.Fd()), &off, int(min(size-off, 1<<30)))
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
