package kernel

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// ThreadGroup is a process: its threads, its place in the process tree, its
// identity, limits and signal actions. PID and k never change; the tree
// fields are guarded by the kernel's mu (k.mu), the others by the group's
// own locks, as each says.
type ThreadGroup struct {
	// PID is the process's kernel ID (pidns.go); vpid its ID in pidns,
	// its own namespace, the one its threads see (getpid).
	PID   int
	vpid  int
	pidns *PIDNamespace
	k     *Kernel
	// serial tells this process from every other the sandbox ever had,
	// those that had its PID included: /proc/PID's inode numbers.
	serial uint64

	parent *ThreadGroup // guarded by k.mu
	// parentTask is the thread of parent that created the process
	// (Linux's real_parent): its exit sends the parent-death signals,
	// and PTRACE_TRACEME makes it the tracer. Guarded by k.mu.
	parentTask *Task
	// subreaper is prctl's PR_SET_CHILD_SUBREAPER: orphaned descendants
	// are given to the nearest living one instead of init. Guarded by
	// k.mu.
	subreaper bool
	children  map[*ThreadGroup]struct{} // guarded by k.mu
	tasks     []*Task                   // guarded by k.mu
	pgid      int                       // guarded by k.mu
	sid       int                       // guarded by k.mu
	// execed is whether the process ran execve since fork (Linux's
	// PF_FORKNOEXEC cleared): its parent may no longer set its group.
	execed bool // guarded by k.mu
	// ctty is the process's controlling terminal, nil if none (tty.go);
	// guarded by k.mu.
	ctty *TTY
	// ptracer is who else may attach under Yama's scope 1 (prctl
	// PR_SET_PTRACER, yama.go): that process and its descendants, or
	// anyone with ptracerAny; guarded by k.mu.
	ptracer    *ThreadGroup
	ptracerAny bool

	// exitSignal is sent to the parent when the group exits (clone's
	// low byte, usually SIGCHLD); guarded by k.mu.
	exitSignal int

	// exiting is set by exit_group or a fatal signal: every thread stops.
	// Guarded by k.mu.
	exiting bool
	// zombie is set when the last thread has exited, until a wait reaps
	// it; guarded by k.mu, as is status.
	zombie bool
	// tracerHolds: the zombie's leader was traced by a task of another
	// process than the parent, which has not waited for it yet: until
	// then the parent does not see it (nor gets SIGCHLD). Guarded by
	// k.mu.
	tracerHolds bool
	// last is the thread that exited last, kept while the group is a
	// zombie for /proc/PID; guarded by k.mu.
	last   *Task
	status ExitStatus
	done   chan struct{} // closed (under k.mu) when the group becomes a zombie
	job    jobState      // stopped by a stop signal (jobcontrol.go); guarded by k.mu
	// stopped mirrors job.stopSig != 0 for the check every return to the
	// application makes (waitWhileStopped) without k.mu.
	stopped atomic.Bool

	membarrier membarrierState // membarrier.go; atomic
	// unkillable is Linux's SIGNAL_UNKILLABLE: the process is a nested
	// PID namespace's init, which a signal with the default action does
	// not reach unless it is SIGKILL or SIGSTOP from above (pidns.go),
	// until a fault it does not handle clears it (forceSignal).
	unkillable atomic.Bool

	io          IOStats      // procstats.go; atomic
	oomScoreAdj atomic.Int32 // procstats.go; written under mu
	// oomScoreAdjMin is the lowest oom_score_adj the process may set
	// without CAP_SYS_RESOURCE (Linux's oom_score_adj_min, 0 at first,
	// then the last value a privileged writer set); guarded by mu.
	oomScoreAdjMin int32

	// exitCPU is the process's CPU time when it died, childCPU that of
	// the children it reaped with wait and theirs (childtimes.go);
	// guarded by k.mu.
	exitCPU, childCPU cpuTimes
	// maxRSS is the largest mark of resident memory of the address
	// spaces the process left, childMaxRSS the largest of the children
	// it reaped with wait and theirs, in bytes (maxrss.go); guarded by
	// k.mu.
	maxRSS, childMaxRSS uint64

	// mu guards the process's identity, limits and timers.
	mu     sync.Mutex
	creds  Credentials         // guarded by mu
	limits map[int]unix.Rlimit // guarded by mu
	// fileSizeLimit mirrors RLIMIT_FSIZE's soft limit (set under mu
	// with limits) for the check every write makes, without mu.
	fileSizeLimit atomic.Uint64
	realTimer     *IntervalTimer    // created once, under mu
	cpuTimers     [3]*IntervalTimer // ITIMER_VIRTUAL and ITIMER_PROF, by which; each created once, under mu
	posixTimers   *TimerTable       // created once, under mu
	cpuWatched    atomic.Bool       // an RLIMIT_CPU watcher runs (cpulimit.go)
	// sigmu guards the signal actions and the signals pending for the
	// process as a whole (a thread's own are in Task.sig).
	sigmu       sync.Mutex
	handlers    map[int]linux.SigAction // rt_sigaction records, by signal; guarded by sigmu
	pending     pendingSet              // signals sent to the process; guarded by sigmu
	signalQueue vfs.Queue               // signalfd waiters (signalQueued); locks itself
	exitQueue   vfs.Queue               // pidfd waiters, notified when the group dies; locks itself
}

// TIDs are the IDs of the process's threads.
func (tg *ThreadGroup) TIDs() []int {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	tids := make([]int, len(tg.tasks))
	for i, t := range tg.tasks {
		tids[i] = t.TID
	}
	return tids
}

// NumThreads is how many threads the process has (0 for a zombie).
func (tg *ThreadGroup) NumThreads() int {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return len(tg.tasks)
}

// realUID is the process's real user ID, for the siginfo and wait results
// other processes see.
func (tg *ThreadGroup) realUID() uint32 { return tg.uids().Real }

// uids are the process's user IDs.
func (tg *ThreadGroup) uids() IDs {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.creds.UID
}

// userNS is the process's user namespace (nil: the initial one).
func (tg *ThreadGroup) userNS() *UserNamespace {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return tg.creds.UserNS
}

// Serial tells tg from every other process the sandbox ever had.
func (tg *ThreadGroup) Serial() uint64 { return tg.serial }

// newThreadGroup makes the process whose leader got pid from allocID; k.mu
// is held.
func newThreadGroup(k *Kernel, pid int, parent *ThreadGroup) *ThreadGroup {
	tg := &ThreadGroup{PID: pid, k: k, serial: k.forks, parent: parent, children: make(map[*ThreadGroup]struct{}),
		pgid: pid, sid: pid, done: make(chan struct{}), handlers: make(map[int]linux.SigAction)}
	tg.fileSizeLimit.Store(defaultLimits[unix.RLIMIT_FSIZE].Cur)
	if parent != nil {
		parent.children[tg] = struct{}{}
		tg.pgid, tg.sid, tg.ctty = parent.pgid, parent.sid, parent.ctty
		// Another thread of the parent may change these meanwhile.
		parent.mu.Lock()
		tg.oomScoreAdj.Store(parent.oomScoreAdj.Load())
		tg.oomScoreAdjMin = parent.oomScoreAdjMin
		tg.creds = parent.creds
		tg.creds.Groups = append([]uint32(nil), parent.creds.Groups...)
		tg.limits = make(map[int]unix.Rlimit, len(parent.limits))
		for r, l := range parent.limits {
			tg.limits[r] = l
		}
		tg.fileSizeLimit.Store(parent.fileSizeLimit.Load())
		parent.mu.Unlock()
		parent.sigmu.Lock()
		for sig, act := range parent.handlers {
			tg.handlers[sig] = act
		}
		parent.sigmu.Unlock()
		tg.watchCPULimit()
	}
	return tg
}

// ExitStatus is how a thread group ended.
type ExitStatus struct {
	Code       int  // exit code, when Signal is 0
	Signal     int  // the signal that killed it
	CoreDumped bool // it wrote a core file (coredump.go)
}

// WaitStatus encodes s as wait4 reports it.
func (s ExitStatus) WaitStatus() uint32 {
	if s.Signal != 0 {
		if s.CoreDumped {
			return uint32(s.Signal&0x7f) | 0x80
		}
		return uint32(s.Signal & 0x7f)
	}
	return uint32(s.Code&0xff) << 8
}

// ChildCode is the si_code of a child killed by a signal: CLD_DUMPED if
// it dumped core.
func (s ExitStatus) ChildCode() int32 {
	if s.CoreDumped {
		return linux.CLD_DUMPED
	}
	return linux.CLD_KILLED
}

// Wait blocks until the thread group has exited.
func (tg *ThreadGroup) Wait() ExitStatus {
	<-tg.done
	return tg.status
}

// PPID returns the parent's PID as the application sees it: 0 for init,
// and for a parent outside the process's namespace (a namespace's init).
func (t *Task) PPID() int {
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	if p := t.TG.parent; p != nil {
		return t.PIDOf(p)
	}
	return 0
}

// Kill ends every thread of the group as the fatal signal sig does (or
// exit_group with code when sig is 0, through ExitGroup).
func (tg *ThreadGroup) Kill(sig int) {
	tg.exit(ExitStatus{Signal: sig})
}

func (tg *ThreadGroup) exit(st ExitStatus) {
	var tasks []*Task
	k := tg.k
	k.mu.Lock()
	if !tg.exiting {
		tg.exiting = true
		tg.status = st
	}
	tasks = append(tasks, tg.tasks...)
	k.mu.Unlock()
	for _, t := range tasks {
		t.kill()
	}
}

// lastTask reports whether t is the only task left in its group.
func (tg *ThreadGroup) lastTask(k *Kernel) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(tg.tasks) == 1
}

// Exiting reports whether the group is being torn down.
func (tg *ThreadGroup) Exiting(k *Kernel) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return tg.exiting
}

// taskExited removes t from its group; the last task makes the group a
// zombie, hands its children to their new parent and wakes waiters.
// taskExited reports whether the group died, and the parent-death signals
// its exit owes (prctl PR_SET_PDEATHSIG), for the caller to send once it
// has let go of k.mu. k.mu is held.
func (k *Kernel) taskExited(t *Task, st ExitStatus) (died bool, pdeath []parentDeath) {
	tg := t.TG
	delete(k.tasks, t.TID)
	defer k.releaseIDLocked(t.TID) // its tracer's record takes its ID first
	for i, x := range tg.tasks {
		if x == t {
			tg.tasks = append(tg.tasks[:i:i], tg.tasks[i+1:]...)
			break
		}
	}
	if !tg.exiting {
		// exit(2) of the last thread ends the group with its code.
		tg.status = st
	}
	if len(tg.tasks) > 0 {
		// The children t created now belong to a living thread of its
		// process (Linux's find_alive_thread), and learn of t's end.
		for c := range tg.children {
			if c.parentTask == t {
				c.parentTask = tg.tasks[0]
				pdeath = c.owedParentDeath(tg, pdeath)
			}
		}
		k.ptraceTraceeExitedLocked(t, tg.status, false)
		k.treeChanged.Broadcast()
		return false, pdeath
	}
	tg.exiting, tg.zombie, tg.last = true, true, t
	go tg.stopTimers()
	if tg.isNSInitLocked() && !tg.pidns.dead {
		// Its last threads exited together and none saw itself last
		// (release): the namespace ends now, without waiting.
		go k.zapPIDNS(tg)
	}
	reaper := k.reaperLocked(tg)
	for c := range tg.children {
		delete(tg.children, c)
		if reaper != nil {
			// An orphan tells its reaper of its end with SIGCHLD, whatever
			// its creator asked for (Linux's reparent_leader).
			c.parent, c.parentTask, c.exitSignal = reaper, reaper.tasks[0], int(unix.SIGCHLD)
			reaper.children[c] = struct{}{}
		} else {
			c.parent, c.parentTask = nil, nil
		}
		if c.zombie && c.parent == nil {
			delete(k.groups, c.PID)
			k.releaseGroupIDsLocked(c)
		}
		pdeath = c.owedParentDeath(tg, pdeath)
	}
	close(tg.done)
	if tr := t.ptrace.tracer; tr != nil && t.TID == tg.PID && tr.TG != tg.parent {
		tg.tracerHolds = true
	} else {
		k.notifyParentLocked(tg)
	}
	k.ptraceTraceeExitedLocked(t, tg.status, true)
	k.treeChanged.Broadcast()
	return true, pdeath
}

// reaperLocked returns the process that adopts the children of dying
// process tg: its nearest ancestor in its PID namespace that is a living
// child subreaper, or else the namespace's init (nil when tg is that
// init: a nested namespace's init reaps its orphans as it dies,
// zapPIDNS, and any left are reaped at once). k.mu is held.
func (k *Kernel) reaperLocked(tg *ThreadGroup) *ThreadGroup {
	init := tg.pidns.init
	for a := tg.parent; a != nil && a != init && a.pidns == tg.pidns; a = a.parent {
		if a.subreaper && !a.exiting && len(a.tasks) > 0 {
			return a
		}
	}
	if init == nil || init == tg || len(init.tasks) == 0 {
		return nil
	}
	return init
}

// SetChildSubreaper is prctl(PR_SET_CHILD_SUBREAPER).
func (tg *ThreadGroup) SetChildSubreaper(on bool) {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	tg.subreaper = on
}

// ChildSubreaper is prctl(PR_GET_CHILD_SUBREAPER).
func (tg *ThreadGroup) ChildSubreaper() bool {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return tg.subreaper
}

// parentDeath is a parent-death signal owed to process to.
type parentDeath struct {
	to *ThreadGroup
	si SigInfo
}

// owedParentDeath appends to pdeath the signal each thread of tg asked
// for when its parent dies, sent as the dying process's (Linux sends
// SEND_SIG_NOINFO from the exiting task). k.mu is held.
func (tg *ThreadGroup) owedParentDeath(dying *ThreadGroup, pdeath []parentDeath) []parentDeath {
	for _, x := range tg.tasks {
		if sig := x.PdeathSignal(); sig != 0 {
			pdeath = append(pdeath, parentDeath{tg, NewSigInfo(int32(sig), linux.SI_USER, tg.pidns.IDOf(dying.PID), dying.realUID())})
		}
	}
	return pdeath
}

// notifyParentLocked tells the parent that zombie tg is there to reap:
// its exit signal, or, when nobody waits for it (no parent, SIGCHLD
// ignored), it is reaped at once. k.mu is held.
func (k *Kernel) notifyParentLocked(tg *ThreadGroup) {
	if tg.parent == nil || tg.exitSignal == int(unix.SIGCHLD) && tg.parent.ignoresChildren() {
		k.reap(tg)
	} else if tg.exitSignal != 0 {
		code, status := int32(linux.CLD_EXITED), int32(tg.status.Code)
		if tg.status.Signal != 0 {
			code, status = tg.status.ChildCode(), int32(tg.status.Signal)
		}
		si := ChildInfo(int32(tg.exitSignal), code, tg.parent.pidns.IDOf(tg.PID), tg.realUID(), status)
		// Queued before the broadcast that follows, so that a wait that
		// returns finds SIGCHLD pending, as in Linux. A real-time exit
		// signal beyond the parent's RLIMIT_SIGPENDING is lost, as
		// do_notify_parent ignores it.
		if target, _, _ := tg.parent.queueLocked(si, nil); target != nil {
			target.interrupt()
		}
	}
}

// releaseHeldLocked gives zombie tg, which its tracer has now waited for
// (or will not), to its parent; k.mu is held.
func (k *Kernel) releaseHeldLocked(tg *ThreadGroup) {
	if tg == nil || !tg.tracerHolds {
		return
	}
	tg.tracerHolds = false
	k.notifyParentLocked(tg)
	k.treeChanged.Broadcast()
}

// ignoresChildren reports whether SIGCHLD is ignored (SIG_IGN or
// SA_NOCLDWAIT), in which case children are reaped at once, as in Linux.
func (tg *ThreadGroup) ignoresChildren() bool {
	act := tg.SigAction(int(unix.SIGCHLD))
	return act.Handler == linux.SIG_IGN || act.Flags&linux.SA_NOCLDWAIT != 0
}

// reap forgets a zombie; k.mu is held.
func (k *Kernel) reap(tg *ThreadGroup) {
	if tg.parent != nil {
		delete(tg.parent.children, tg)
	}
	delete(k.groups, tg.PID)
	k.releaseGroupIDsLocked(tg)
}

// releaseGroupIDsLocked releases the IDs reaped process tg held: its
// own, its group's and its session's (releaseIDLocked); k.mu is held.
func (k *Kernel) releaseGroupIDsLocked(tg *ThreadGroup) {
	k.releaseIDLocked(tg.PID)
	k.releaseIDLocked(tg.pgid)
	k.releaseIDLocked(tg.sid)
}

// SigAction returns the recorded action of sig (zero: SIG_DFL).
func (tg *ThreadGroup) SigAction(sig int) linux.SigAction {
	tg.sigmu.Lock()
	defer tg.sigmu.Unlock()
	return tg.handlers[sig]
}

// SetSigAction records the action of sig.
func (tg *ThreadGroup) SetSigAction(sig int, act linux.SigAction) {
	tg.sigmu.Lock()
	defer tg.sigmu.Unlock()
	tg.handlers[sig] = act
}

// DropIgnoredPending discards sig wherever it is pending in the process if
// its action now ignores it (SIG_IGN, or SIG_DFL of a signal ignored by
// default), as do_sigaction does: a blocked signal that was kept for a
// handler would now be dropped on arrival, and its queued siginfos stop
// counting against RLIMIT_SIGPENDING.
func (tg *ThreadGroup) DropIgnoredPending(sig int) {
	act := tg.SigAction(sig)
	if act.Handler == linux.SIG_IGN || act.Handler == linux.SIG_DFL && defaultAction(sig) == actIgnore {
		tg.flushPending(uint64(1) << (sig - 1))
	}
}

// resetHandlersForExec resets caught signals to SIG_DFL; ignored ones stay
// ignored (execve(2)).
func (tg *ThreadGroup) resetHandlersForExec() {
	tg.sigmu.Lock()
	defer tg.sigmu.Unlock()
	for sig, act := range tg.handlers {
		if act.Handler != linux.SIG_DFL && act.Handler != linux.SIG_IGN {
			delete(tg.handlers, sig)
		}
	}
}

// NumTasks returns how many threads the group has.
func (tg *ThreadGroup) NumTasks() int {
	tg.k.mu.Lock()
	defer tg.k.mu.Unlock()
	return len(tg.tasks)
}
