package kernel

import (
	"errors"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
)

// interposed runs syscall nr through the embedding program's hooks around
// its handler s: they may change *args (strace's exit part shows the changed
// ones), answer the call without the handler, or change its result.
func (t *Task) interposed(h *interpose.Hooks, nr uintptr, s Syscall, args *SyscallArguments) (uintptr, error) {
	c := interpose.Call{Task: t.interposeTask(), Nr: nr, Name: s.Name, Args: *args, Mem: t.Memory(), Killed: t.Killed()}
	var handlerErr error // what the handler returned, kept when the hooks leave its errno
	var handlerErrno unix.Errno
	r := h.Invoke(&c, func(a [6]uintptr) (uintptr, unix.Errno) {
		*args = a
		t.inSyscall.Store(true)
		ret, err := s.Fn(t, *args)
		t.inSyscall.Store(false)
		if err != nil && !errors.As(err, &handlerErrno) {
			handlerErrno = unix.EIO // as syscall() turns it, after logging it
		}
		handlerErr = err
		return ret, handlerErrno
	})
	switch {
	case r.Errno == 0:
		return r.Value, nil
	case !r.Answered && handlerErr != nil && r.Errno == handlerErrno:
		return 0, handlerErr // its wrapping says more (a quiet EPIPE, a log line)
	}
	return 0, r.Errno
}

// interposeTask describes t for hooks.
func (t *Task) interposeTask() interpose.Task {
	c := t.Creds()
	return interpose.Task{
		PID: t.TG.PID, TID: t.TID, // kernel IDs: the sandbox's first PID namespace's
		UID: c.UID.Real, EUID: c.UID.Effective, GID: c.GID.Real, EGID: c.GID.Effective,
		Exe: t.Exe(),
	}
}

// Memory returns t's memory as hooks and strace's decoder read it.
func (t *Task) Memory() interpose.Memory { return taskMemory{t} }

// taskMemory is a task's memory for hooks and the decoder.
type taskMemory struct{ t *Task }

func (m taskMemory) CopyIn(addr uintptr, dst []byte) error  { return m.t.CopyIn(addr, dst) }
func (m taskMemory) CopyOut(addr uintptr, src []byte) error { return m.t.CopyOut(addr, src) }
