package host

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// epollWait waits for events of epoll instance epfd without a timeout,
// with epoll_pwait (the sentry's seccomp list has no epoll_wait).
func epollWait(epfd int, events []unix.EpollEvent) (int, error) {
	r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)),
		^uintptr(0), 0, 0)
	if e != 0 {
		return int(r), e
	}
	return int(r), nil
}
