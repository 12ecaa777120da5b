package linux

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/epoll"
	"runsc-lite/sentry/kernel"
)

func registerEpoll(st *kernel.SyscallTable) {
	reg(st, unix.SYS_EPOLL_CREATE, "epoll_create", epollCreate, kernel.ArgInt)
	reg(st, unix.SYS_EPOLL_CREATE1, "epoll_create1", epollCreate1, kernel.ArgHex)
	reg(st, unix.SYS_EPOLL_CTL, "epoll_ctl", epollCtl, kernel.ArgFD, kernel.ArgInt, kernel.ArgFD, kernel.ArgHex)
	reg(st, unix.SYS_EPOLL_WAIT, "epoll_wait", epollWait, kernel.ArgFD, kernel.ArgHex, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_EPOLL_PWAIT, "epoll_pwait", epollPwait, kernel.ArgFD, kernel.ArgHex, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_EPOLL_PWAIT2, "epoll_pwait2", epollPwait2, kernel.ArgFD, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
}

func epollCreate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(0) <= 0 {
		return 0, unix.EINVAL
	}
	return newEpoll(t, 0)
}

func epollCreate1(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(0)&^unix.EPOLL_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	return newEpoll(t, int(a.Int(0)))
}

func newEpoll(t *kernel.Task, flags int) (uintptr, error) {
	f := epoll.New(0)
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&unix.EPOLL_CLOEXEC != 0)
	return uintptr(fd), mfile(err)
}

// epollEventSize is sizeof(struct epoll_event): packed on x86-64.
const epollEventSize = 12

func epollCtl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ef, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer ef.DecRef()
	f, err := getFile(t, a.Int(2))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	in, ok := epoll.Of(ef)
	if !ok {
		return 0, unix.EINVAL
	}
	var ev epoll.Event
	if op := a.Int(1); op != unix.EPOLL_CTL_DEL {
		var b [epollEventSize]byte
		if err := t.CopyIn(a.Pointer(3), b[:]); err != nil {
			return 0, err
		}
		ev = epoll.Event{Events: binary.LittleEndian.Uint32(b[0:]), Data: binary.LittleEndian.Uint64(b[4:])}
	}
	return 0, in.Ctl(int(a.Int(1)), a.Int(2), f, ev)
}

// epollWaitFor waits on epfd for up to maxevents events, at most timeout
// (negative: forever), and copies them to addr.
func epollWaitFor(t *kernel.Task, epfd int32, addr uintptr, maxevents int32, timeout time.Duration) (uintptr, error) {
	if maxevents <= 0 || maxevents > (1<<31-1)/epollEventSize {
		return 0, unix.EINVAL
	}
	ef, err := getFile(t, epfd)
	if err != nil {
		return 0, err
	}
	defer ef.DecRef()
	in, ok := epoll.Of(ef)
	if !ok {
		return 0, unix.EINVAL
	}
	var expired <-chan struct{}
	switch {
	case timeout == 0:
		c := make(chan struct{})
		close(c)
		expired = c
	case timeout > 0:
		c := make(chan struct{})
		timer := time.AfterFunc(timeout, func() { close(c) })
		defer timer.Stop()
		expired = c
	}
	evs, err := in.Wait(int(maxevents), expired, t.Interrupted())
	if err != nil {
		return 0, err
	}
	b := make([]byte, 0, len(evs)*epollEventSize)
	for _, e := range evs {
		b = binary.LittleEndian.AppendUint32(b, e.Events)
		b = binary.LittleEndian.AppendUint64(b, e.Data)
	}
	return uintptr(len(evs)), t.CopyOut(addr, b)
}

func msTimeout(ms int32) time.Duration {
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

func epollWait(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return epollWaitFor(t, a.Int(0), a.Pointer(1), a.Int(2), msTimeout(a.Int(3)))
}

func epollPwait(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(4) != 0 {
		if a[5] != 8 {
			return 0, unix.EINVAL
		}
		if err := swapSigmask(t, a.Pointer(4)); err != nil {
			return 0, err
		}
	}
	return epollWaitFor(t, a.Int(0), a.Pointer(1), a.Int(2), msTimeout(a.Int(3)))
}

func epollPwait2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	timeout := time.Duration(-1)
	if a.Pointer(3) != 0 {
		d, err := copyInTimespec(t, a.Pointer(3))
		if err != nil {
			return 0, err
		}
		timeout = d
	}
	if a.Pointer(4) != 0 {
		if a[5] != 8 {
			return 0, unix.EINVAL
		}
		if err := swapSigmask(t, a.Pointer(4)); err != nil {
			return 0, err
		}
	}
	return epollWaitFor(t, a.Int(0), a.Pointer(1), a.Int(2), timeout)
}
