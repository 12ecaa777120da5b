package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Job control, as Linux's group stop: a stop signal whose action is the
// default (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) stops every thread of the
// process where it next returns to the application (a thread blocked in a
// syscall is interrupted, stops, and restarts the syscall once resumed);
// SIGCONT, when it is sent, resumes the process and discards pending stop
// signals, as a stop signal discards a pending SIGCONT. The parent hears
// of both through SIGCHLD (CLD_STOPPED, CLD_CONTINUED, unless it set
// SA_NOCLDSTOP) and wait4's WUNTRACED and WCONTINUED. Unlike Linux,
// SIGTSTP, SIGTTIN and SIGTTOU also stop an orphaned process group.

const (
	stopSignals = 1<<(unix.SIGSTOP-1) | 1<<(unix.SIGTSTP-1) | 1<<(unix.SIGTTIN-1) | 1<<(unix.SIGTTOU-1)
)

// jobState is a thread group's stop state, guarded by the kernel's mu.
type jobState struct {
	// stopSig is the signal that stopped the group, 0 while it runs.
	stopSig int
	// resumed is closed when a stop ends.
	resumed chan struct{}
	// stopReport and contReport are a stop and a continue that a wait
	// has not reported yet.
	stopReport, contReport bool
}

// prepareSignal applies what sending sig does at once, before it is
// queued (prepare_signal): SIGCONT resumes the process.
func (tg *ThreadGroup) prepareSignal(sig int) {
	switch {
	case stopSignals&(1<<(sig-1)) != 0:
		tg.flushPending(1 << (unix.SIGCONT - 1))
	case sig == int(unix.SIGCONT):
		tg.flushPending(stopSignals)
		tg.resume()
	}
}

// flushPending drops the signals in mask pending for the process or any
// of its threads.
func (tg *ThreadGroup) flushPending(mask uint64) {
	tg.k.mu.Lock()
	tasks := append([]*Task(nil), tg.tasks...)
	tg.k.mu.Unlock()
	tg.sigmu.Lock()
	tg.pending.remove(mask)
	tg.sigmu.Unlock()
	for _, t := range tasks {
		t.sig.mu.Lock()
		t.sig.pending.remove(mask)
		t.sig.mu.Unlock()
	}
}

// groupStop stops t's process with sig, the default action of a stop
// signal t is delivering.
func (t *Task) groupStop(sig int) {
	tg, k := t.TG, t.K
	k.mu.Lock()
	if tg.exiting || tg.job.stopSig != 0 {
		k.mu.Unlock()
		return
	}
	tg.job = jobState{stopSig: sig, resumed: make(chan struct{}), stopReport: true}
	tg.stopped.Store(true) // before the tasks are woken to see it
	notify := tg.parentNotifyLocked(linux.CLD_STOPPED, sig)
	tasks := append([]*Task(nil), tg.tasks...)
	k.mu.Unlock()
	tg.reportJob(notify)
	for _, o := range tasks {
		if o != t {
			o.wake()
		}
	}
}

// resume ends a stop of the process.
func (tg *ThreadGroup) resume() {
	k := tg.k
	k.mu.Lock()
	if tg.job.stopSig == 0 {
		k.mu.Unlock()
		return
	}
	close(tg.job.resumed)
	tg.job = jobState{contReport: true}
	tg.stopped.Store(false)
	tg.ptraceNotifyListenersLocked()
	notify := tg.parentNotifyLocked(linux.CLD_CONTINUED, int(unix.SIGCONT))
	k.mu.Unlock()
	tg.reportJob(notify)
}

// reportJob tells the parent of a stop or continue: SIGCHLD first, then
// its waits, so that a wait that returns finds the signal queued, as in
// Linux.
func (tg *ThreadGroup) reportJob(notify func()) {
	notify()
	tg.k.mu.Lock()
	tg.k.treeChanged.Broadcast()
	tg.k.mu.Unlock()
}

// parentNotifyLocked returns the function that sends the parent its
// SIGCHLD for a stop or continue (a no-op if it asked for none with
// SA_NOCLDSTOP); k.mu is held, and the function must run without it.
func (tg *ThreadGroup) parentNotifyLocked(code int32, status int) func() {
	parent := tg.parent
	if parent == nil || parent.SigAction(int(unix.SIGCHLD)).Flags&linux.SA_NOCLDSTOP != 0 {
		return func() {}
	}
	si := ChildInfo(int32(unix.SIGCHLD), code, tg.PID, tg.realUID(), int32(status))
	return func() { parent.SendSignal(si) }
}

// waitWhileStopped holds the task while its process is stopped.
func (t *Task) waitWhileStopped() {
	if !t.TG.stopped.Load() {
		// Not stopped now: a stop that comes later wakes the task
		// (groupStop), which then comes back here.
		return
	}
	k := t.K
	for {
		k.mu.Lock()
		stopped, resumed := t.TG.job.stopSig != 0, t.TG.job.resumed
		if t.ptrace.wakeStopped == nil {
			t.ptrace.wakeStopped = make(chan struct{}, 1)
		}
		attached := t.ptrace.wakeStopped
		traced := t.ptrace.tracer != nil
		k.mu.Unlock()
		if !stopped || traced {
			return
		}
		select {
		case <-resumed:
		case <-attached:
		case <-t.killed:
			return
		}
	}
}

// wakeStopped ends waitWhileStopped for a task just attached: it goes on
// to its ptrace-stop.
func (t *Task) wakeStopped() {
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	if t.ptrace.wakeStopped != nil {
		select {
		case t.ptrace.wakeStopped <- struct{}{}:
		default:
		}
	}
}
