package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/mm"
)

// ArchPrctl is do_arch_prctl_64 for target, called by t: arch_prctl(2)
// (target is t) and PTRACE_ARCH_PRCTL (target is t's tracee). It sets
// target's FS or GS base (EPERM for a base outside user space), or
// copies it out to arg in t's memory, as put_user does; any other option
// is EINVAL.
func (t *Task) ArchPrctl(target *Task, option int, arg uintptr) error {
	switch option {
	case linux.ARCH_SET_FS:
		if arg >= mm.TaskSize {
			return unix.EPERM
		}
		target.Regs.FsBase = uint64(arg)
	case linux.ARCH_SET_GS:
		if arg >= mm.TaskSize {
			return unix.EPERM
		}
		target.Regs.GsBase = uint64(arg)
	case linux.ARCH_GET_FS:
		base := target.Regs.FsBase
		return CopyOut(t, arg, &base)
	case linux.ARCH_GET_GS:
		base := target.Regs.GsBase
		return CopyOut(t, arg, &base)
	default:
		return unix.EINVAL
	}
	return nil
}
