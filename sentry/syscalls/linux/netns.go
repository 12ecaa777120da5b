package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

// Network namespaces' syscalls (sentry/kernel/netns.go): clone's and
// unshare's CLONE_NEWNET are Task.Clone's and Task.Unshare's; setns(2)
// is here.

func registerNetNS(st *kernel.SyscallTable) {
	partial(st, unix.SYS_SETNS, "setns", setns, "network namespaces only (EINVAL otherwise)", kernel.ArgFD, kernel.ArgHex)
}

// setns joins the network namespace an open /proc/PID/ns/net names, as
// Linux's setns with nstype 0 or CLONE_NEWNET: EBADF for a bad
// descriptor, EINVAL for a file that names no namespace the sandbox has
// (pidfds and other namespace kinds included) or another nstype, EPERM
// without CAP_SYS_ADMIN.
func setns(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	nstype := a.Int(1)
	nf, ok := f.Impl().(*kernel.NetNSFile)
	if !ok || nstype != 0 && nstype != unix.CLONE_NEWNET {
		return 0, unix.EINVAL
	}
	return 0, t.SetNetNS(nf.NS)
}
