package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/signalfd"
	"runsc-lite/sentry/kernel"
)

// Handlers of signalfd files (fs/signalfd), registered with the signals.

func signalfdOld(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doSignalfd(t, a.Int(0), a.Pointer(1), a.Pointer(2), 0)
}

func signalfd4(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doSignalfd(t, a.Int(0), a.Pointer(1), a.Pointer(2), int(a.Int(3)))
}

// doSignalfd creates a signalfd (fd -1) or changes the mask of an
// existing one, checking in Linux's order: mask size, mask, flags, fd.
func doSignalfd(t *kernel.Task, fd int32, maskAddr, size uintptr, flags int) (uintptr, error) {
	if size != sigsetSize {
		return 0, unix.EINVAL
	}
	var mask uint64 // a sigset_t
	if err := kernel.CopyIn(t, maskAddr, &mask); err != nil {
		return 0, err
	}
	if flags&^(signalfd.NonBlock|signalfd.CloseExec) != 0 {
		return 0, unix.EINVAL
	}
	if fd == -1 {
		f, err := signalfd.New(t, mask, flags)
		if err != nil {
			return 0, err
		}
		defer f.DecRef()
		nfd, err := t.FDs().Install(f, 0, flags&signalfd.CloseExec != 0)
		return uintptr(nfd), mfile(err)
	}
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	s, ok := signalfd.FromFile(f)
	if !ok {
		return 0, unix.EINVAL
	}
	s.SetMask(mask)
	return uintptr(fd), nil
}
