package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/timerfd"
	"runsc-lite/sentry/kernel"
)

// Handlers of timerfd files (fs/timerfd), registered with the timers.

func timerfdCreate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := int(a.Int(1))
	f, err := timerfd.New(a.Int(0), t.K.Clocks, flags)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&timerfd.CloseExec != 0)
	return uintptr(fd), mfile(err)
}

// timerOf returns the timer of descriptor fd: EBADF if fd is not open,
// EINVAL if it is not a timerfd.
func timerOf(t *kernel.Task, fd int32) (*timerfd.TimerFD, func(), error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	tf, ok := timerfd.FromFile(f)
	if !ok {
		f.DecRef()
		return nil, nil, unix.EINVAL
	}
	return tf, f.DecRef, nil
}

// timerfdSettime checks in Linux's order: the new setting, the flags,
// then the descriptor.
func timerfdSettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	value, interval, err := copyInItimerspec(t, a.Pointer(2))
	if err != nil {
		return 0, err
	}
	if !timerfd.ValidSetFlags(int(a.Int(1))) {
		return 0, unix.EINVAL
	}
	tf, done, err := timerOf(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer done()
	if a.Int(1)&timerfd.AbsTime != 0 && value != 0 {
		// An absolute time on the caller's time namespace's clock
		// (timerfd_setup's timens_ktime_to_host).
		value = t.TimeNS().ToHost(tf.Clock(), value)
	}
	oldV, oldI, err := tf.Set(value, interval, int(a.Int(1)))
	if err != nil {
		return 0, err
	}
	if a.Pointer(3) != 0 {
		return 0, copyOutItimerspec(t, a.Pointer(3), oldV, oldI)
	}
	return 0, nil
}

func timerfdGettime(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	tf, done, err := timerOf(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer done()
	v, i := tf.Get()
	return 0, copyOutItimerspec(t, a.Pointer(1), v, i)
}
