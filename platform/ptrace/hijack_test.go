package ptrace

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/platform/platformtest"
)

// NewHijacker takes over the control thread of as's stub process, the
// thread the sentry runs its remote syscalls in: it runs whatever syscall
// an attacker who had taken it over would, through the same remote-syscall
// path, at ptrace_wait's instruction, which the stub's filter allows most
// at. A clone's child starts in ptrace_wait and waits there, untraced,
// until it is killed.
func NewHijacker(t testing.TB, pas platform.AddressSpace) platformtest.Hijacker {
	return &hijacker{as: pas.(*addressSpace)}
}

type hijacker struct{ as *addressSpace }

func (h *hijacker) Pid() int { return h.as.pid }

// Release implements platformtest.Hijacker: the sentry's own tracer
// keeps the thread.
func (h *hijacker) Release() {}

func (h *hijacker) Syscall(nr uintptr, args ...uint64) platformtest.Hijacked {
	ret, err := h.as.syscall(nr, args...)
	var errno unix.Errno
	r := platformtest.Hijacked{Ret: int64(ret)}
	switch {
	case errors.As(err, &errno):
		r.Ret = -int64(errno)
	case err != nil:
		return platformtest.Hijacked{Killed: true}
	}
	// The filter kills with a SIGSYS that the kernel delivers on the way
	// back to user mode, after the exit stop the call returned at: the
	// process dies on its next step, an allowed getppid.
	if _, err := h.as.syscall(unix.SYS_GETPPID); err != nil && !errors.As(err, &errno) {
		return platformtest.Hijacked{Killed: true}
	}
	return r
}

func (h *hijacker) Clone(flags, pidfd uintptr) platformtest.Hijacked {
	return h.Syscall(unix.SYS_CLONE, uint64(flags), 0, uint64(pidfd), 0, 0)
}
