package kernel

import (
	"sync/atomic"
	"time"
)

// Looking into a running sandbox (the control server, package control):
// the syscall tracer can be turned on and off while tasks run, and the
// kernel counts syscalls and faults for metrics. Both are atomic pointers
// read once per syscall, so that a task never takes a lock for them.

// SyscallCounter is told of every syscall that has a handler and how long
// the handler took (package control's metrics).
type SyscallCounter interface {
	Syscall(nr uintptr, took time.Duration)
}

// observers are the kernel's optional syscall observers.
type observers struct {
	strace   atomic.Pointer[Tracer]
	counters atomic.Pointer[SyscallCounter]
	faults   atomic.Uint64 // page faults the platform reported
}

// SetStrace turns the syscall tracer on (tr) or off (nil).
func (k *Kernel) SetStrace(tr Tracer) {
	if tr == nil {
		k.observe.strace.Store(nil)
		return
	}
	k.observe.strace.Store(&tr)
}

// Tracing reports whether the syscall tracer is on.
func (k *Kernel) Tracing() bool { return k.observe.strace.Load() != nil }

// SetSyscallCounter has c told of every syscall from now on (nil: none).
func (k *Kernel) SetSyscallCounter(c SyscallCounter) {
	if c == nil {
		k.observe.counters.Store(nil)
		return
	}
	k.observe.counters.Store(&c)
}

// Faults returns how many page faults the platform has reported for the
// sandbox's tasks.
func (k *Kernel) Faults() uint64 { return k.observe.faults.Load() }
