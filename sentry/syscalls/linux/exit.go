package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

func registerExit(st *kernel.SyscallTable) {
	reg(st, unix.SYS_EXIT, "exit", exit, kernel.ArgInt)
	reg(st, unix.SYS_EXIT_GROUP, "exit_group", exitGroup, kernel.ArgInt)
}

func exit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	t.Exit(int(a.Int(0) & 0xff))
	return 0, nil
}

func exitGroup(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	t.ExitGroup(int(a.Int(0)&0xff), 0)
	return 0, nil
}
