package kernel

import (
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/fs/pipe"
)

// PipeCaller returns who t is to the pipe accounts (pipe.Caller): the
// sandbox's accounts, t's real user ID (Linux charges a pipe's pages to
// current's user_struct, the real uid's) and whether it holds
// CAP_SYS_RESOURCE and CAP_SYS_ADMIN in the initial user namespace.
func (t *Task) PipeCaller() pipe.Caller {
	c := t.Creds()
	return pipe.Caller{
		Accounts: t.K.Pipes,
		UID:      c.UID.Real,
		Resource: c.HasCap(linux.CAP_SYS_RESOURCE),
		Admin:    c.HasCap(linux.CAP_SYS_ADMIN),
	}
}
