package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

// Handlers of pidfds: pidfd_open, pidfd_send_signal, pidfd_getfd (the
// file itself is kernel.PidFD; clone and waitid take pidfds too).

// pidfdFile returns the pidfd at fd; EBADF if fd is not open or not a
// pidfd.
func pidfdFile(t *kernel.Task, fd int32) (*kernel.PidFD, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, err
	}
	defer f.DecRef()
	return kernel.PidFDOf(f)
}

func pidfdOpen(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fd, err := t.PidFDOpen(int(a.Int(0)), int(a.Uint(1)))
	return uintptr(fd), err
}

func pidfdSendSignal(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	sig, flags := int(a.Int(1)), int(a.Uint(3))
	// Flags are checked before the descriptor, as Linux does.
	if flags&^7 != 0 || flags&(flags-1) != 0 {
		return 0, unix.EINVAL
	}
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	p, err := kernel.SignalTargetOf(f)
	f.DecRef()
	if err != nil {
		return 0, err
	}
	var info *kernel.SigInfo
	if addr := a.Pointer(2); addr != 0 {
		info = new(kernel.SigInfo)
		if err := kernel.CopyIn(t, addr, info); err != nil {
			return 0, err
		}
	}
	return 0, p.SendSignal(t, sig, info, flags)
}

func pidfdGetfd(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Uint(2) != 0 {
		return 0, unix.EINVAL
	}
	p, err := pidfdFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	fd, err := p.GetFD(t, a.Int(1))
	return uintptr(fd), err
}
