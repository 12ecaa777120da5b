package monitor

import (
	"unsafe"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// installFilter installs prog as the calling thread's seccomp filter; with
// SECCOMP_FILTER_FLAG_NEW_LISTENER it returns the new user-notification
// listener (close-on-exec, as the kernel makes it).
func installFilter(prog []unix.SockFilter, flags uintptr) (int, error) {
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	fd, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		flags, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return -1, errno
	}
	return int(fd), nil
}

// notifRecv waits for the next notification on listener.
func notifRecv(listener int, n *linux.SeccompNotif) error {
	*n = linux.SeccompNotif{}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), linux.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(n)))
	if errno != 0 {
		return errno
	}
	return nil
}

// notifSend answers a notification.
func notifSend(listener int, r *linux.SeccompNotifResp) error {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), linux.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(r)))
	if errno != 0 {
		return errno
	}
	return nil
}

// notifIDValid reports whether notification id is still pending: its task
// still waits in that syscall, so what was read of its memory was its.
func notifIDValid(listener int, id uint64) bool {
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(listener), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id)))
	return errno == 0
}

// ptraceSiginfo reads the siginfo of tid's signal-delivery stop; EINVAL
// means the stop is a group-stop.
func ptraceSiginfo(tid int, si *linux.SignalInfo) error {
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_GETSIGINFO, uintptr(tid), 0, uintptr(unsafe.Pointer(si)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
