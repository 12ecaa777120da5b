// Package linux holds the sentry's Linux syscall handlers, one small
// function per syscall, and the table that names and registers them.
//
// Every x86-64 syscall number has an entry (names_amd64.go is generated
// from the kernel's uapi header); a syscall without a handler returns
// ENOSYS and is logged once. The same table drives dispatch, strace and
// `runsc-lite syscalls`. Handlers are grouped by family, one file each, and
// each file registers its own handlers.
package linux

import (
	"fmt"

	"runsc-lite/sentry/kernel"
)

//go:generate go run ../../../tools/syscallnames

// NewTable returns the table of every syscall: the families' handlers,
// then a name-only entry for each number without one. A number registered
// twice is an error.
func NewTable() (*kernel.SyscallTable, error) {
	st := kernel.NewSyscallTable()
	for _, register := range registrars {
		register(st)
	}
	for nr, name := range syscallNames {
		if _, ok := st.Entries[nr]; !ok {
			st.Register(nr, kernel.Syscall{Name: name})
		}
	}
	if err := st.Err(); err != nil {
		return nil, fmt.Errorf("building the syscall table: %w", err)
	}
	return st, nil
}

// registrars are the families' register functions.
var registrars = []func(*kernel.SyscallTable){
	registerMM,
	registerIdentity,
	registerTime,
	registerSystem,
	registerThread,
	registerSignal,
	registerExit,
	registerFile,
	registerStat,
	registerDir,
	registerControl,
	registerTransfer,
	registerFutex,
	registerXattr,
	registerPipe,
	registerPoll,
	registerProcess,
	registerSeccomp,
	registerTimer,
	registerEpoll,
	registerMemfd,
	registerSocket,
	registerSched,
	registerHints,
	registerIPC,
	registerMQueue,
	registerInotify,
	registerMount,
	registerSchedPolicy,
	registerProcessVM,
	registerPtrace,
	registerFilesystem,
	registerFileHandle,
	registerAIO,
	registerMempolicy,
}

// reg is shorthand for a fully implemented entry.
func reg(st *kernel.SyscallTable, nr uintptr, name string, fn kernel.SyscallFn, args ...kernel.ArgKind) {
	st.Register(nr, kernel.Syscall{Name: name, Fn: fn, Support: kernel.Full, Args: args})
}

// partial registers an entry that covers common uses only; note says what
// is missing.
func partial(st *kernel.SyscallTable, nr uintptr, name string, fn kernel.SyscallFn, note string, args ...kernel.ArgKind) {
	st.Register(nr, kernel.Syscall{Name: name, Fn: fn, Support: kernel.Partial, Note: note, Args: args})
}
