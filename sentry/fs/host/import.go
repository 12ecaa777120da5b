package host

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// ImportFD wraps a duplicate of host descriptor fd as a file for the
// application's descriptor table (its stdin, stdout, stderr). Reads and
// writes go to the host descriptor at its own offset; the terminal ioctls
// TCGETS, TCSETS*, TIOCGWINSZ and FIONREAD pass through, everything else
// is ENOTTY. The caller keeps fd.
func ImportFD(fd int) (*vfs.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("importing host descriptor %d: %w", fd, err)
	}
	fl, err := unix.FcntlInt(uintptr(nfd), unix.F_GETFL, 0)
	if err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("importing host descriptor %d: %w", fd, err)
	}
	h := &hostFD{f: os.NewFile(uintptr(nfd), fmt.Sprintf("host:%d", fd))}
	return vfs.NewFile(nil, nil, h, h, fl&(unix.O_ACCMODE|unix.O_APPEND|unix.O_NONBLOCK)), nil
}

// hostFD is an imported host descriptor: both its inode and its file.
type hostFD struct{ f *os.File }

func (h *hostFD) fd() int { return int(h.f.Fd()) }

// Stat implements vfs.Inode.
func (h *hostFD) Stat(ctx context.Context) (unix.Stat_t, error) {
	var st unix.Stat_t
	err := unix.Fstat(h.fd(), &st)
	return st, err
}

// Open implements vfs.Inode; an imported descriptor has no name to open.
func (h *hostFD) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

func retry(fn func() (int, error)) (int, error) {
	for {
		n, err := fn()
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		return n, nil
	}
}

// Read implements vfs.Stream.
func (h *hostFD) Read(ctx context.Context, p []byte) (int, error) {
	return retry(func() (int, error) { return unix.Read(h.fd(), p) })
}

// Write implements vfs.Stream.
func (h *hostFD) Write(ctx context.Context, p []byte) (int, error) {
	return retry(func() (int, error) { return unix.Write(h.fd(), p) })
}

// ReadAt implements vfs.FileImpl (pread on the host descriptor).
func (h *hostFD) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return retry(func() (int, error) { return unix.Pread(h.fd(), p, off) })
}

// WriteAt implements vfs.FileImpl (pwrite on the host descriptor).
func (h *hostFD) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return h.Write(ctx, p)
	}
	return retry(func() (int, error) { return unix.Pwrite(h.fd(), p, off) })
}

// Seek implements vfs.Seeker.
func (h *hostFD) Seek(ctx context.Context, off int64, whence int) (int64, error) {
	return unix.Seek(h.fd(), off, whence)
}

// Release implements vfs.FileImpl.
func (h *hostFD) Release() { h.f.Close() }

// Ioctl implements vfs.Ioctler.
func (h *hostFD) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	switch cmd {
	case unix.TCGETS:
		t, err := unix.IoctlGetTermios(h.fd(), unix.TCGETS)
		if err != nil {
			return 0, err
		}
		return 0, mem.CopyOut(arg, unsafe.Slice((*byte)(unsafe.Pointer(t)), unsafe.Sizeof(*t)))
	case unix.TCSETS, unix.TCSETSW, unix.TCSETSF:
		var t unix.Termios
		if err := mem.CopyIn(arg, unsafe.Slice((*byte)(unsafe.Pointer(&t)), unsafe.Sizeof(t))); err != nil {
			return 0, err
		}
		return 0, unix.IoctlSetTermios(h.fd(), uint(cmd), &t)
	case unix.TIOCGWINSZ:
		w, err := unix.IoctlGetWinsize(h.fd(), unix.TIOCGWINSZ)
		if err != nil {
			return 0, err
		}
		return 0, mem.CopyOut(arg, unsafe.Slice((*byte)(unsafe.Pointer(w)), unsafe.Sizeof(*w)))
	case unix.TIOCINQ: // FIONREAD
		n, err := unix.IoctlGetInt(h.fd(), unix.TIOCINQ)
		if err != nil {
			return 0, err
		}
		return 0, mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(n)))
	}
	return 0, unix.ENOTTY
}

// MappableFile implements vfs.Mappable for imported regular files.
func (h *hostFD) MappableFile() (*os.File, error) {
	st, err := h.Stat(context.Background())
	if err != nil {
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, unix.ENODEV
	}
	return dup(h.f)
}
