package linux

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
)

func registerThread(st *kernel.SyscallTable) {
	reg(st, unix.SYS_ARCH_PRCTL, "arch_prctl", archPrctl, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_SET_TID_ADDRESS, "set_tid_address", setTIDAddress, kernel.ArgHex)
	reg(st, unix.SYS_SET_ROBUST_LIST, "set_robust_list", setRobustList, kernel.ArgHex, kernel.ArgInt)
	partial(st, unix.SYS_PRCTL, "prctl", prctl, "names, dumpable, no_new_privs, pdeathsig, child subreaper, PR_SET_PTRACER, capabilities (bounding, ambient, securebits, keepcaps), timer slack; others EINVAL", kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
}

// archPrctl is arch_prctl(2): do_arch_prctl_64's FS and GS bases
// (Task.ArchPrctl, which PTRACE_ARCH_PRCTL shares), then
// do_arch_prctl_common's CPUID faulting, which is not offered
// (/proc/cpuinfo has no cpuid_fault): ARCH_GET_CPUID says cpuid runs,
// ARCH_SET_CPUID is ENODEV, as on a CPU without the feature.
func archPrctl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	switch a.Int(0) {
	case archGetCPUID:
		return 1, nil
	case linux.ARCH_SET_CPUID:
		return 0, unix.ENODEV
	}
	return 0, t.ArchPrctl(t, int(a.Int(0)), a.Pointer(1))
}

// archGetCPUID is <asm/prctl.h>'s ARCH_GET_CPUID, which the ABI package
// lacks.
const archGetCPUID = 0x1011

func setTIDAddress(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	t.ClearChildTID = a.Pointer(0)
	return uintptr(t.TID), nil
}

func setRobustList(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(1) != uintptr(linux.SizeOfRobustListHead) {
		return 0, unix.EINVAL
	}
	t.SetRobustList(a.Pointer(0))
	return 0, nil
}

func prctl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	switch a.Int(0) {
	case unix.PR_SET_NAME:
		name, err := t.CopyInString(a.Pointer(1), 4096)
		if err != nil && err != unix.ENAMETOOLONG {
			return 0, err
		}
		if len(name) > 15 {
			name = name[:15]
		}
		t.SetName(name)
	case unix.PR_GET_NAME:
		b := make([]byte, linux.TASK_COMM_LEN)
		copy(b, t.Name())
		return 0, t.CopyOut(a.Pointer(1), b)
	case unix.PR_GET_DUMPABLE:
		if t.MM().Dumpable() {
			return 1, nil
		}
		return 0, nil
	case unix.PR_SET_DUMPABLE:
		if a[1] > 1 {
			return 0, unix.EINVAL
		}
		t.MM().SetDumpable(a[1] == 1)
	case unix.PR_GET_NO_NEW_PRIVS:
		if a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		if t.NoNewPrivs() {
			return 1, nil
		}
		return 0, nil
	case unix.PR_SET_NO_NEW_PRIVS:
		if a[1] != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		t.SetNoNewPrivs()
	case unix.PR_SET_PDEATHSIG:
		if a[1] > 64 {
			return 0, unix.EINVAL
		}
		t.SetPdeathSignal(int(a[1]))
	case unix.PR_GET_PDEATHSIG:
		sig := int32(t.PdeathSignal())
		return 0, kernel.CopyOut(t, a.Pointer(1), &sig)
	case unix.PR_SET_CHILD_SUBREAPER:
		t.TG.SetChildSubreaper(a[1] != 0)
	case unix.PR_GET_CHILD_SUBREAPER:
		on := int32(0)
		if t.TG.ChildSubreaper() {
			on = 1
		}
		return 0, kernel.CopyOut(t, a.Pointer(1), &on)
	case unix.PR_SET_PTRACER:
		return 0, t.SetPtracer(int64(a[1]))
	case unix.PR_GET_SECCOMP:
		mode, _ := t.SeccompMode()
		return uintptr(mode), nil
	case unix.PR_SET_SECCOMP:
		switch a[1] {
		case unix.SECCOMP_MODE_STRICT:
			return 0, seccompStrict(t)
		case linux.SECCOMP_MODE_FILTER:
			return seccompFilter(t, 0, a.Pointer(2))
		}
		return 0, unix.EINVAL
	case unix.PR_CAPBSET_READ, unix.PR_CAPBSET_DROP, unix.PR_CAP_AMBIENT, unix.PR_SET_KEEPCAPS, unix.PR_GET_KEEPCAPS,
		unix.PR_SET_SECUREBITS, unix.PR_GET_SECUREBITS:
		return prctlCaps(t, a)
	case unix.PR_SET_TIMERSLACK:
		t.SetTimerSlack(uint64(a[1]))
	case unix.PR_GET_TIMERSLACK:
		// A slack past ULONG_MAX cannot be set on a 64-bit kernel.
		return uintptr(t.TimerSlack()), nil
	default:
		return 0, unix.EINVAL
	}
	return 0, nil
}

// prctlCaps is prctl's capability options (cap_task_prctl): the bounding
// set, the ambient set and the securebits.
func prctlCaps(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	cp := linux.Capability(a[1])
	caps := t.Creds().Caps
	switch a[0] {
	case unix.PR_CAPBSET_READ:
		if !cp.Ok() {
			return 0, unix.EINVAL
		}
		return uintptr(caps.Bounding() >> cp & 1), nil
	case unix.PR_CAPBSET_DROP:
		return 0, t.DropBounding(cp)
	case unix.PR_SET_KEEPCAPS:
		if a[1] > 1 {
			return 0, unix.EINVAL
		}
		return 0, t.SetKeepCaps(a[1] == 1)
	case unix.PR_GET_KEEPCAPS:
		if caps.KeepCaps() {
			return 1, nil
		}
		return 0, nil
	case unix.PR_GET_SECUREBITS:
		return uintptr(caps.Securebits), nil
	case unix.PR_SET_SECUREBITS:
		return 0, t.SetSecurebits(uint64(a[1]))
	}
	// PR_CAP_AMBIENT: the operation in a[1], the capability in a[2].
	op, cp := a[1], linux.Capability(a[2])
	if op == unix.PR_CAP_AMBIENT_CLEAR_ALL {
		if a[2] != 0 || a[3] != 0 || a[4] != 0 {
			return 0, unix.EINVAL
		}
		t.LowerAmbient(0, true)
		return 0, nil
	}
	if a[3] != 0 || a[4] != 0 || !cp.Ok() {
		return 0, unix.EINVAL
	}
	switch op {
	case unix.PR_CAP_AMBIENT_IS_SET:
		return uintptr(caps.Ambient >> cp & 1), nil
	case unix.PR_CAP_AMBIENT_RAISE:
		return 0, t.RaiseAmbient(cp)
	case unix.PR_CAP_AMBIENT_LOWER:
		t.LowerAmbient(cp, false)
		return 0, nil
	}
	return 0, unix.EINVAL
}
