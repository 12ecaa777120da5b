package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/mm"
)

// archGetCPUID is <asm/prctl.h>'s ARCH_GET_CPUID, which the ABI package
// lacks.
const archGetCPUID = 0x1011

// ArchPrctl is do_arch_prctl_64 for target, called by t: arch_prctl(2)
// (target is t) and PTRACE_ARCH_PRCTL (target is t's tracee). It sets
// target's FS or GS base (EPERM for a base outside user space), or
// copies it out to arg in t's memory, as put_user does. CPUID faulting is
// not offered (/proc/cpuinfo has no cpuid_fault): ARCH_GET_CPUID says cpuid
// runs, ARCH_SET_CPUID is ENODEV, as on a CPU without the feature. Any
// other option is EINVAL.
func (t *Task) ArchPrctl(target *Task, option int, arg uintptr) (uintptr, error) {
	switch option {
	case linux.ARCH_SET_FS:
		if arg >= mm.TaskSize {
			return 0, unix.EPERM
		}
		target.Regs.FsBase = uint64(arg)
	case linux.ARCH_SET_GS:
		if arg >= mm.TaskSize {
			return 0, unix.EPERM
		}
		target.Regs.GsBase = uint64(arg)
	case linux.ARCH_GET_FS:
		base := target.Regs.FsBase
		return 0, CopyOut(t, arg, &base)
	case linux.ARCH_GET_GS:
		base := target.Regs.GsBase
		return 0, CopyOut(t, arg, &base)
	case archGetCPUID:
		return 1, nil
	case linux.ARCH_SET_CPUID:
		return 0, unix.ENODEV
	default:
		return 0, unix.EINVAL
	}
	return 0, nil
}
