package linux

import (
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
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
	var ev linux.EpollEvent
	if op := a.Int(1); op != unix.EPOLL_CTL_DEL {
		if err := kernel.CopyIn(t, a.Pointer(3), &ev); err != nil {
			return 0, err
		}
	}
	return 0, in.Ctl(int(a.Int(1)), a.Int(2), f, ev)
}

// epollWaitFor waits on epfd for up to maxevents events, at most timeout
// (negative: forever), and copies them to addr.
func epollWaitFor(t *kernel.Task, epfd int32, addr uintptr, maxevents int32, timeout time.Duration) (uintptr, error) {
	if maxevents <= 0 || int(maxevents) > (1<<31-1)/linux.SizeOfEpollEvent {
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
		timer := time.AfterFunc(clocks.HostWait(timeout), func() { close(c) })
		defer timer.Stop()
		expired = c
	}
	evs, err := in.Wait(int(maxevents), expired, t.Interrupted())
	if err != nil {
		return 0, err
	}
	return uintptr(len(evs)), kernel.CopyOutSlice(t, addr, evs)
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
		if a[5] != linux.SignalSetSize {
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
		if a[5] != linux.SignalSetSize {
			return 0, unix.EINVAL
		}
		if err := swapSigmask(t, a.Pointer(4)); err != nil {
			return 0, err
		}
	}
	return epollWaitFor(t, a.Int(0), a.Pointer(1), a.Int(2), timeout)
}
