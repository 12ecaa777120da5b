package kernel

import (
	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// What the external tests (package kernel_test, on kerneltest) reach
// inside the package. Tasks they make are not started: the test's
// goroutine plays each task's own.

// threadFlags are pthread_create's clone flags.
const threadFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SYSVSEM

// NewThread adds a thread to t's process, not started.
func NewThread(t *Task) (*Task, error) {
	return t.newChild(CloneArgs{Flags: threadFlags}, newNamespaces{})
}

// NewChild forks t's process as fork(2) does, the child not started.
func NewChild(t *Task) (*Task, error) {
	return t.newChild(CloneArgs{ExitSignal: int(unix.SIGCHLD)}, newNamespaces{})
}

// DeliverSignals does what t does before it returns to the application.
func DeliverSignals(t *Task) { t.deliverSignals() }

// RunSyscall runs the syscall t.Regs describe, as t's loop does at a
// syscall stop, and leaves the result in t.Regs.Rax.
func RunSyscall(t *Task) { t.syscall() }

// GroupStatus is how tg ended, or is ending (ExitGroup, a fatal signal).
func GroupStatus(tg *ThreadGroup) ExitStatus {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.status
}

// FaultInfo is the signal a fault or synchronous signal event raises.
func FaultInfo(ev platform.Event) SigInfo { return faultInfo(ev) }

// ForceSignal delivers a synchronous signal, as a fault does.
func ForceSignal(t *Task, si SigInfo) { t.forceSignal(si) }

// SigQueueCeiling is the most siginfos the sandbox keeps queued.
const SigQueueCeiling = sigQueueCeiling

// PIDNSIDs is how many IDs namespace ns holds.
func PIDNSIDs(ns *PIDNamespace) int {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return len(ns.toKernel)
}

// TraceMe is PTRACE_TRACEME.
func TraceMe(t *Task) error { return t.ptraceTraceMe() }
