package kernel

import (
	"errors"
	"time"
)

// Freezing a sandbox (runc's pause and resume, through the control
// server) stops every task without the application seeing it: no signal
// is sent, so there is no group stop for a parent's waitpid to report and
// no SIGCHLD, as with the cgroup freezer runc uses.
//
// A frozen kernel lets no task switch into the application: Task.Run
// parks at the top of its loop, before Switch, until the kernel thaws (or
// the task is killed: destroying a paused sandbox works). Freeze
// interrupts the tasks that are in the application (sticky platform
// interrupts, not signals: a blocking syscall is not woken, and may finish
// while frozen, its result returned after the thaw) and waits until none
// is. A task marks itself inApp before it checks the freeze and Freeze
// sets the freeze before it looks at inApp, both sequentially consistent
// atomics, so a task either sees the freeze or is seen and interrupted.

// freezeTimeout bounds how long Freeze waits for tasks to leave the
// application.
const freezeTimeout = 10 * time.Second

// Freeze stops every task from running application code, and returns once
// none does.
func (k *Kernel) Freeze() error {
	thaw := make(chan struct{})
	k.frozen.CompareAndSwap(nil, &thaw)
	for start := time.Now(); ; time.Sleep(time.Millisecond) {
		busy := false
		for _, t := range k.taskList() {
			if t.inApp.Load() {
				t.ctx.Interrupt()
				busy = true
			}
		}
		if !busy {
			return nil
		}
		if time.Since(start) > freezeTimeout {
			k.Thaw()
			return errors.New("freeze: tasks still ran after 10s")
		}
	}
}

// Thaw lets the tasks run again.
func (k *Kernel) Thaw() {
	if p := k.frozen.Swap(nil); p != nil {
		close(*p)
	}
}

// Frozen reports whether the kernel is frozen.
func (k *Kernel) Frozen() bool { return k.frozen.Load() != nil }

// enterApp marks t as about to run application code and reports whether
// it may; if the kernel is frozen it waits for the thaw (or t's kill)
// and reports false, for the caller to go round its loop again.
func (t *Task) enterApp() bool {
	t.inApp.Store(true)
	p := t.K.frozen.Load()
	if p == nil {
		return true
	}
	t.inApp.Store(false)
	select {
	case <-*p:
	case <-t.killed:
	}
	return false
}
