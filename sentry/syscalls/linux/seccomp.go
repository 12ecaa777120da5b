package linux

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
)

// The application's own seccomp (sentry/kernel/seccomp.go): seccomp(2) and
// prctl's PR_SET_SECCOMP and PR_GET_SECCOMP.

func registerSeccomp(st *kernel.SyscallTable) {
	reg(st, unix.SYS_SECCOMP, "seccomp", seccompCall, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
}

// seccompFilterFlags are the SECCOMP_SET_MODE_FILTER flags Linux knows.
const seccompFilterFlags = linux.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW |
	linux.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

// seccompCall is seccomp(op, flags, args).
func seccompCall(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	op, flags, args := a[0], a[1], a.Pointer(2)
	switch op {
	case unix.SECCOMP_SET_MODE_STRICT:
		if flags != 0 || args != 0 {
			return 0, unix.EINVAL
		}
		return 0, seccompStrict(t)
	case linux.SECCOMP_SET_MODE_FILTER:
		return seccompFilter(t, uint64(flags), args)
	case linux.SECCOMP_GET_ACTION_AVAIL:
		if flags != 0 {
			return 0, unix.EINVAL
		}
		var action uint32
		if err := kernel.CopyIn(t, args, &action); err != nil {
			return 0, err
		}
		switch linux.BPFAction(action) {
		case linux.SECCOMP_RET_KILL_PROCESS, linux.SECCOMP_RET_KILL_THREAD, linux.SECCOMP_RET_TRAP, linux.SECCOMP_RET_ERRNO,
			linux.SECCOMP_RET_USER_NOTIF, linux.SECCOMP_RET_TRACE, unix.SECCOMP_RET_LOG, linux.SECCOMP_RET_ALLOW:
			return 0, nil
		}
		return 0, unix.EOPNOTSUPP
	case linux.SECCOMP_GET_NOTIF_SIZES:
		if flags != 0 {
			return 0, unix.EINVAL
		}
		// struct seccomp_notif, seccomp_notif_resp, seccomp_data.
		sizes := linux.SeccompNotifSizes{Notif: 80, Notif_resp: 24, Data: 64}
		return 0, kernel.CopyOut(t, args, &sizes)
	}
	return 0, unix.EINVAL
}

// seccompAllowed is the condition for entering a mode: no_new_privs or
// CAP_SYS_ADMIN in the caller's user namespace, else EACCES.
func seccompAllowed(t *kernel.Task) error {
	c := t.Creds()
	if !t.NoNewPrivs() && !c.HasCapIn(c.UserNS, linux.CAP_SYS_ADMIN) {
		return unix.EACCES
	}
	return nil
}

// seccompStrict enters strict mode (SECCOMP_SET_MODE_STRICT,
// PR_SET_SECCOMP with SECCOMP_MODE_STRICT), which needs no privilege.
func seccompStrict(t *kernel.Task) error { return t.SetSeccompStrict() }

// seccompFilter installs the sock_fprog at args (SECCOMP_SET_MODE_FILTER,
// PR_SET_SECCOMP with SECCOMP_MODE_FILTER).
func seccompFilter(t *kernel.Task, flags uint64, args uintptr) (uintptr, error) {
	if flags&^seccompFilterFlags != 0 {
		return 0, unix.EINVAL
	}
	listener := flags&linux.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
	// A listener's descriptor and TSYNC's TID would be one result,
	// unless TSYNC fails with ESRCH.
	if listener && flags&linux.SECCOMP_FILTER_FLAG_TSYNC != 0 && flags&unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH == 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0 && !listener {
		return 0, unix.EINVAL
	}
	// In seccomp_prepare_user_filter's order: the sock_fprog, its
	// length, the privilege, then the program.
	var fprog abi.SockFprog
	if err := kernel.CopyIn(t, args, &fprog); err != nil {
		return 0, err
	}
	if fprog.Len == 0 || int(fprog.Len) > bpf.MaxInstructions {
		return 0, unix.EINVAL
	}
	if err := seccompAllowed(t); err != nil {
		return 0, err
	}
	insns := make([]bpf.Instruction, fprog.Len)
	if err := kernel.CopyInSlice(t, uintptr(fprog.Filter), insns); err != nil {
		return 0, err
	}
	prog, err := kernel.CheckSeccompFilter(insns)
	if err != nil {
		return 0, err
	}
	r, err := t.AddSeccompFilter(prog, kernel.SeccompFilterOpts{
		Log:          flags&unix.SECCOMP_FILTER_FLAG_LOG != 0,
		TSync:        flags&linux.SECCOMP_FILTER_FLAG_TSYNC != 0,
		TSyncESRCH:   flags&unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH != 0,
		Listener:     listener,
		WaitKillable: flags&unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV != 0,
	})
	return uintptr(r), err
}
