package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/eventfd"
	"runsc-lite/sentry/fs/pipe"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// Handlers that make in-sandbox channels: pipes (fs/pipe) and eventfds
// (fs/eventfd).

func registerPipe(st *kernel.SyscallTable) {
	hex, i := kernel.ArgHex, kernel.ArgInt
	reg(st, unix.SYS_PIPE, "pipe", pipeFDs, hex)
	partial(st, unix.SYS_PIPE2, "pipe2", pipe2, "O_DIRECT pipes are byte streams; no SIGPIPE on EPIPE yet", hex, hex)
	reg(st, unix.SYS_EVENTFD, "eventfd", eventFD, i)
	reg(st, unix.SYS_EVENTFD2, "eventfd2", eventFD2, i, hex)
}

func pipeFDs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, doPipe(t, a.Pointer(0), 0)
}

func pipe2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, doPipe(t, a.Pointer(0), int(a.Int(1)))
}

// doPipe makes a pipe and writes its two descriptors to addr.
func doPipe(t *kernel.Task, addr uintptr, flags int) error {
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT) != 0 {
		return unix.EINVAL
	}
	r, w, err := pipe.NewPair(t.PipeCaller(), t.FSCreds(), flags)
	if err != nil {
		return err
	}
	defer r.DecRef()
	defer w.DecRef()
	cloexec := flags&unix.O_CLOEXEC != 0
	rfd, err := t.FDs().Install(r, 0, cloexec)
	if err != nil {
		return mfile(err)
	}
	wfd, err := t.FDs().Install(w, 0, cloexec)
	if err != nil {
		t.FDs().Close(rfd)
		return mfile(err)
	}
	fds := [2]int32{int32(rfd), int32(wfd)}
	if err := kernel.CopyOut(t, addr, &fds); err != nil {
		t.FDs().Close(rfd)
		t.FDs().Close(wfd)
		return err
	}
	return nil
}

// mfile maps Install's EINVAL (no room below the limit) to EMFILE.
func mfile(err error) error {
	if err == unix.EINVAL {
		return unix.EMFILE
	}
	return err
}

func eventFD(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doEventFD(t, a.Uint(0), 0)
}

func eventFD2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doEventFD(t, a.Uint(0), int(a.Int(1)))
}

func doEventFD(t *kernel.Task, initval uint32, flags int) (uintptr, error) {
	f, err := eventfd.New(initval, flags)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&eventfd.CloseExec != 0)
	return uintptr(fd), mfile(err)
}

// pipeSize implements fcntl's F_GETPIPE_SZ and F_SETPIPE_SZ; EBADF for
// files that are not pipes.
func pipeSize(t *kernel.Task, f *vfs.File, cmd int32, arg int64) (uintptr, error) {
	p, ok := pipe.FromFile(f)
	if !ok {
		return 0, unix.EBADF
	}
	if cmd == unix.F_GETPIPE_SZ {
		return uintptr(p.Size()), nil
	}
	// fcntl passes the argument as an unsigned int (do_fcntl's argi).
	n, err := p.SetSize(uint32(arg), t.PipeCaller())
	return uintptr(n), err
}
