// Package kernel is the core of the sentry: tasks (application threads),
// thread groups (processes) and the loop that runs them.
//
// A task is a goroutine that loops: Switch into the application, handle the
// stop (a syscall through the SyscallTable, a fault, a signal), Switch again
// (DESIGN.md section 7). Processes, signals and futexes beyond what a
// single-threaded program needs arrive with the processes issue; until then
// a synchronous signal ends the process as its default action would.
package kernel

import (
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// Tracer prints syscalls (package strace).
type Tracer interface {
	Syscall(t *Task, nr uintptr, args SyscallArguments, ret uintptr, errno error)
}

// Kernel is one sandbox.
type Kernel struct {
	Platform platform.Platform
	VFS      *vfs.VFS
	Syscalls *SyscallTable
	Strace   Tracer // nil: off
	Log      *slog.Logger
	// Hostname is what uname reports.
	Hostname string
	// Started is when the sandbox started (/proc/uptime, btime).
	Started time.Time
	// Futexes are the futex waiters of every task.
	Futexes Futexes

	mu     sync.Mutex
	tasks  map[int]*Task
	nextID int
}

// New returns a kernel with no tasks.
func New(p platform.Platform, v *vfs.VFS, st *SyscallTable, log *slog.Logger) *Kernel {
	return &Kernel{Platform: p, VFS: v, Syscalls: st, Log: log, Hostname: "runsc-lite", Started: time.Now(), tasks: make(map[int]*Task), nextID: 1}
}

// ThreadGroup is a process.
type ThreadGroup struct {
	PID  int
	PPID int

	mu       sync.Mutex
	creds    Credentials
	limits   map[int]unix.Rlimit
	exited   bool
	code     int
	signal   int
	done     chan struct{}
	sigmu    sync.Mutex
	handlers map[int][32]byte // rt_sigaction records, by signal
}

// ExitStatus is how a thread group ended.
type ExitStatus struct {
	Code   int // exit code, when Signal is 0
	Signal int // the signal that killed it
}

func (tg *ThreadGroup) setExit(code, sig int) {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if !tg.exited {
		tg.exited, tg.code, tg.signal = true, code, sig
	}
}

// SigAction returns the recorded action of sig (zero: SIG_DFL).
func (tg *ThreadGroup) SigAction(sig int) [32]byte {
	tg.sigmu.Lock()
	defer tg.sigmu.Unlock()
	return tg.handlers[sig]
}

// SetSigAction records the action of sig.
func (tg *ThreadGroup) SetSigAction(sig int, act [32]byte) {
	tg.sigmu.Lock()
	defer tg.sigmu.Unlock()
	tg.handlers[sig] = act
}

// NewProcess creates the first task of a new thread group in memory mm, with
// file table fds and filesystem context fs. The caller sets its registers
// and FP state (usually from the loader) and calls Start.
func (k *Kernel) NewProcess(m *mm.MemoryManager, fds *vfs.FDTable, fs *vfs.FSContext) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	id := k.nextID
	k.nextID++
	tg := &ThreadGroup{PID: id, done: make(chan struct{}), handlers: make(map[int][32]byte)}
	t := &Task{K: k, TG: tg, TID: id, MM: m, FDs: fds, FS: fs, FP: platform.NewFPState(), ctx: k.Platform.NewContext()}
	k.tasks[id] = t
	return t
}

// Start runs t on its own goroutine.
func (t *Task) Start() { go t.Run() }

// Wait blocks until t's thread group has exited.
func (tg *ThreadGroup) Wait() ExitStatus {
	<-tg.done
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return ExitStatus{Code: tg.code, Signal: tg.signal}
}

func (k *Kernel) removeTask(t *Task) {
	k.mu.Lock()
	delete(k.tasks, t.TID)
	k.mu.Unlock()
	// One task per thread group until threads land: its end is the group's.
	t.TG.setExit(0, 0)
	t.MM.Release()
	t.FDs.Release()
	close(t.TG.done)
}

// Task returns the task with the given ID, or nil.
func (k *Kernel) Task(tid int) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.tasks[tid]
}

// NumTasks returns how many tasks exist.
func (k *Kernel) NumTasks() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.tasks)
}

// PIDs returns the IDs of the thread groups, in no particular order.
func (k *Kernel) PIDs() []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	var pids []int
	for _, t := range k.tasks {
		if t.TID == t.TG.PID {
			pids = append(pids, t.TG.PID)
		}
	}
	return pids
}
