package platform

import (
	"fmt"

	"gvisor.dev/gvisor/pkg/abi/linux"
)

// EventKind says why Switch returned.
type EventKind int

const (
	// EventSyscall: the thread executed a syscall instruction. Regs.OrigRax
	// is the syscall number, Regs.Rip the instruction after it; the sentry
	// writes the result to Regs.Rax.
	EventSyscall EventKind = iota + 1
	// EventFault: a memory access failed (SIGSEGV); see Event.Fault.
	EventFault
	// EventSignal: a synchronous signal other than a memory fault: SIGILL,
	// SIGFPE, SIGTRAP, SIGBUS; see Event.Signal.
	EventSignal
	// EventInterrupted: Interrupt was called.
	EventInterrupted
)

func (k EventKind) String() string {
	switch k {
	case EventSyscall:
		return "syscall"
	case EventFault:
		return "fault"
	case EventSignal:
		return "signal"
	case EventInterrupted:
		return "interrupted"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Access is the kind of a faulting memory access.
type Access int

const (
	AccessRead Access = iota + 1
	AccessWrite
	AccessExec
)

func (a Access) String() string {
	switch a {
	case AccessRead:
		return "read"
	case AccessWrite:
		return "write"
	case AccessExec:
		return "exec"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// Fault describes a failed memory access.
type Fault struct {
	Addr   uintptr
	Access Access
}

// Event is what ended a Switch.
type Event struct {
	Kind   EventKind
	Fault  Fault            // EventFault
	Signal linux.SignalInfo // EventFault and EventSignal
}

func (e Event) String() string {
	switch e.Kind {
	case EventFault:
		return fmt.Sprintf("fault(%s at %#x)", e.Fault.Access, e.Fault.Addr)
	case EventSignal:
		return fmt.Sprintf("signal(%d code %d addr %#x)", e.Signal.Signo, e.Signal.Code, e.Signal.Addr())
	}
	return e.Kind.String()
}
