package host

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// ImportFD wraps a duplicate of host descriptor fd as a file for the
// application's descriptor table (its stdin, stdout, stderr). Reads and
// writes go to the host descriptor at its own offset; the terminal ioctls
// TCGETS, TCSETS*, TIOCGWINSZ, TIOCSWINSZ and FIONREAD pass through,
// everything else is ENOTTY. fstat shows the numbers ids gives it. The
// caller keeps fd.
func ImportFD(fd int, ids *Identities) (*vfs.File, error) { return ImportTerminal(fd, nil, ids) }

// JobControl is the sandbox's side of a host terminal (kernel.TTY): who
// may read, write and change it, and the job control ioctls, which are
// about sandbox process groups and never reach the host.
type JobControl interface {
	// CheckAccess is asked before a read (SIGTTIN), a write with TOSTOP
	// or a change of the terminal's settings (SIGTTOU).
	CheckAccess(ctx context.Context, sig unix.Signal) error
	// Ioctl answers TIOCGPGRP, TIOCSPGRP, TIOCGSID, TIOCSCTTY and
	// TIOCNOTTY; handled is false for other commands.
	Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr, readable bool) (ret uintptr, handled bool, err error)
}

// IsTerminal reports whether host descriptor fd is a terminal.
func IsTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}

// ImportTerminal is ImportFD for a descriptor of the sandbox's terminal,
// whose job control jc decides (nil: none).
func ImportTerminal(fd int, jc JobControl, ids *Identities) (*vfs.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("importing host descriptor %d: %w", fd, err)
	}
	fl, err := unix.FcntlInt(uintptr(nfd), unix.F_GETFL, 0)
	if err != nil {
		unix.Close(nfd)
		return nil, fmt.Errorf("importing host descriptor %d: %w", fd, err)
	}
	h := newHostFD(os.NewFile(uintptr(nfd), fmt.Sprintf("host:%d", fd)), jc, fl&unix.O_ACCMODE != unix.O_WRONLY)
	h.ids = ids
	impl := newHostFile(h)
	return vfs.NewFile(nil, nil, impl, impl, fl&(unix.O_ACCMODE|unix.O_APPEND|unix.O_NONBLOCK)), nil
}

// ReopenTerminal opens the terminal at host descriptor fd again, with
// open flags, for /dev/tty.
func ReopenTerminal(fd int, jc JobControl, flags int) (vfs.FileImpl, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("reopening the terminal: %w", err)
	}
	return newHostFile(newHostFD(os.NewFile(uintptr(nfd), "/dev/tty"), jc, flags&unix.O_ACCMODE != unix.O_WRONLY)), nil
}

// hostFD is an imported host descriptor: both its inode and its file.
// jc is the job control of a terminal; readable whether it was opened
// for reading; stream whether it is a terminal, pipe or socket, on which a
// read or write can block; ids the numbers its fstat shows (nil: none).
type hostFD struct {
	f        *os.File
	jc       JobControl
	readable bool
	stream   bool
	ids      *Identities
}

func newHostFD(f *os.File, jc JobControl, readable bool) *hostFD {
	var st unix.Stat_t
	stream := unix.Fstat(int(f.Fd()), &st) == nil &&
		st.Mode&unix.S_IFMT != unix.S_IFREG && st.Mode&unix.S_IFMT != unix.S_IFBLK
	return &hostFD{f: f, jc: jc, readable: readable, stream: stream}
}

func (h *hostFD) fd() int { return int(h.f.Fd()) }

// Stat implements vfs.Inode, with the sandbox's device and inode
// numbers.
func (h *hostFD) Stat(ctx context.Context) (unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(h.fd(), &st); err != nil {
		return unix.Stat_t{}, err
	}
	return h.ids.Descriptor(st), nil
}

// BirthTime implements vfs.BirthTimer: the host's, where its file has
// one (a file on disk as stdin, not a pipe or terminal).
func (h *hostFD) BirthTime(ctx context.Context) vfs.Birth {
	_, born, err := fstat(h.fd())
	if err != nil {
		return vfs.Birth{}
	}
	return born
}

// Open implements vfs.Inode: opening /proc/PID/fd/N of an imported
// descriptor (`echo > /dev/stderr`) opens it again. Linux opens the inode
// anew; the sentry cannot name the host's file, so the new file is a
// duplicate of the host descriptor, which it reads and writes at its own
// offset (a regular file's reads and writes are positional) but whose
// access mode it shares: a request for access the host descriptor lacks
// is ENXIO, as is a socket, which Linux does not open either.
func (h *hostFD) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	var st unix.Stat_t
	if err := unix.Fstat(h.fd(), &st); err != nil || st.Mode&unix.S_IFMT == unix.S_IFSOCK {
		return nil, unix.ENXIO
	}
	has, err := unix.FcntlInt(uintptr(h.fd()), unix.F_GETFL, 0)
	if err != nil {
		return nil, unix.ENXIO
	}
	has &= unix.O_ACCMODE
	want := flags & unix.O_ACCMODE
	if has != unix.O_RDWR && want != has {
		return nil, unix.ENXIO
	}
	nfd, err := unix.FcntlInt(uintptr(h.fd()), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	n := newHostFD(os.NewFile(uintptr(nfd), h.f.Name()), h.jc, want != unix.O_WRONLY)
	n.ids = h.ids
	if st.Mode&unix.S_IFMT == unix.S_IFREG {
		return reopenedFile{n}, nil
	}
	return newHostFile(n), nil
}

// reopenedFile is a host regular file opened again through its
// /proc/PID/fd link: a new open file description in Linux, so it reads
// and writes at its own offset (the VFS's, through ReadAt and WriteAt),
// not the shared host descriptor's.
type reopenedFile struct{ h *hostFD }

// ReadAt implements vfs.FileImpl.
func (r reopenedFile) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return r.h.ReadAt(ctx, p, off)
}

// WriteAt implements vfs.FileImpl; an append (off < 0) writes at the
// host file's size.
func (r reopenedFile) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		var st unix.Stat_t
		if err := unix.Fstat(r.h.fd(), &st); err != nil {
			return 0, err
		}
		off = st.Size
	}
	return r.h.WriteAt(ctx, p, off)
}

// Release implements vfs.FileImpl.
func (r reopenedFile) Release() { r.h.Release() }

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
	if h.jc != nil {
		if err := h.jc.CheckAccess(ctx, unix.SIGTTIN); err != nil {
			return 0, err
		}
	}
	if err := h.waitReady(ctx, unix.POLLIN); err != nil {
		return 0, err
	}
	return retry(func() (int, error) { return unix.Read(h.fd(), p) })
}

// Write implements vfs.Stream.
func (h *hostFD) Write(ctx context.Context, p []byte) (int, error) {
	if err := h.checkWrite(ctx); err != nil {
		return 0, err
	}
	if err := h.waitReady(ctx, unix.POLLOUT); err != nil {
		return 0, err
	}
	return retry(func() (int, error) { return unix.Write(h.fd(), p) })
}

// readyPoll is how often a task blocked on a host terminal, pipe or socket
// looks for a signal to handle (Ctrl-C at a shell prompt).
const readyPoll = 20 // ms

// waitReady waits until the host descriptor is ready for events, so that
// the read or write that follows does not block in the host, where no
// signal could interrupt it. Files are always ready. It returns EINTR when
// the task has a signal to handle first.
func (h *hostFD) waitReady(ctx context.Context, events int16) error {
	if !h.stream {
		return nil
	}
	stop := vfs.Interrupt(ctx)
	fds := []unix.PollFd{{Fd: int32(h.fd()), Events: events}}
	for {
		n, err := unix.Poll(fds, readyPoll)
		if n > 0 || (err != nil && err != unix.EINTR) {
			return nil
		}
		select {
		case <-stop:
			return unix.EINTR
		default:
		}
	}
}

// checkWrite applies job control to a write: with TOSTOP set, only the
// foreground group writes.
func (h *hostFD) checkWrite(ctx context.Context) error {
	if h.jc == nil {
		return nil
	}
	if t, err := unix.IoctlGetTermios(h.fd(), unix.TCGETS); err != nil || t.Lflag&unix.TOSTOP == 0 {
		return nil
	}
	return h.jc.CheckAccess(ctx, unix.SIGTTOU)
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

// SetAttr implements vfs.AttrSetter for the size alone (O_TRUNC when a
// host file given as stdout is opened again, `echo > /dev/stdout`); its
// other attributes are the host's and stay as they are (EROFS).
func (h *hostFD) SetAttr(ctx context.Context, a vfs.Attr) error {
	if a.Mask != vfs.AttrSize {
		return unix.EROFS
	}
	return unix.Ftruncate(h.fd(), a.Size)
}

// Seek implements vfs.Seeker.
func (h *hostFD) Seek(ctx context.Context, off int64, whence int) (int64, error) {
	return unix.Seek(h.fd(), off, whence)
}

// Release implements vfs.FileImpl.
func (h *hostFD) Release() { h.f.Close() }

// kernelTermiosSize is sizeof(struct termios) of TCGETS and TCSETS: the
// flags, c_line and 19 control characters. unix.Termios is longer (it
// ends with the speeds of struct termios2), and writing all of it would
// overrun the application's buffer.
const kernelTermiosSize = 36

// Ioctl implements vfs.Ioctler.
func (h *hostFD) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	if h.jc != nil {
		if ret, handled, err := h.jc.Ioctl(ctx, mem, cmd, arg, h.readable); handled {
			return ret, err
		}
	}
	switch cmd {
	case unix.TCGETS:
		t, err := unix.IoctlGetTermios(h.fd(), unix.TCGETS)
		if err != nil {
			return 0, err
		}
		return 0, mem.CopyOut(arg, abi.AsBytes(t)[:kernelTermiosSize])
	case unix.TCSETS, unix.TCSETSW, unix.TCSETSF:
		if h.jc != nil {
			if err := h.jc.CheckAccess(ctx, unix.SIGTTOU); err != nil {
				return 0, err
			}
		}
		var t unix.Termios
		if err := mem.CopyIn(arg, abi.AsBytes(&t)[:kernelTermiosSize]); err != nil {
			return 0, err
		}
		return 0, unix.IoctlSetTermios(h.fd(), uint(cmd), &t)
	case unix.TIOCGWINSZ:
		w, err := unix.IoctlGetWinsize(h.fd(), unix.TIOCGWINSZ)
		if err != nil {
			return 0, err
		}
		return 0, mem.CopyOut(arg, abi.AsBytes(w))
	case unix.TIOCSWINSZ:
		// The host terminal sends SIGWINCH to runsc-lite, which forwards
		// it to the sandbox's foreground group.
		var w unix.Winsize
		if err := mem.CopyIn(arg, abi.AsBytes(&w)); err != nil {
			return 0, err
		}
		return 0, unix.IoctlSetWinsize(h.fd(), unix.TIOCSWINSZ, &w)
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
	return dup(h.fd(), h.f.Name())
}
