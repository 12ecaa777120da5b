package kernel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sentry/loader"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// Task is one application thread. Its goroutine runs the application until
// it stops, handles the stop, and runs it again (Run).
//
// K, TG and TID never change. Fields without a lock named are the task's
// own: only its goroutine reads and writes them (its creator sets them
// before Start); atomics are read by others; what others read and exec
// replaces is behind mu and its accessors.
type Task struct {
	K  *Kernel
	TG *ThreadGroup
	// TID is the task's kernel ID, vtid its ID in its own PID namespace
	// (pidns.go).
	TID  int
	vtid int
	// pidnsChildren is the PID namespace unshare or setns chose for the
	// task's next children, nil for its own (PIDNSForChildren).
	pidnsChildren atomic.Pointer[PIDNamespace]

	Regs platform.Registers
	FP   *platform.FPState
	ctx  platform.Context
	// cpu keeps the thread's user and system times from going back
	// (ThreadCPUTime).
	cpu platform.CPUTimes
	// sigFrame is the scratch buffer signal delivery and rt_sigreturn
	// build and read frames in (sigFrameBuf).
	sigFrame []byte

	// ClearChildTID is set_tid_address's pointer.
	ClearChildTID uintptr
	// robustList is set_robust_list's head (RobustList): atomic, as
	// get_robust_list reads other threads'.
	robustList atomic.Uintptr
	// noNewPrivs is prctl's PR_SET_NO_NEW_PRIVS (NoNewPrivs): atomic, as
	// /proc/PID/status reads it.
	noNewPrivs atomic.Bool
	// seccomp is the task's seccomp mode and filters (seccomp.go), nil
	// for none: read by the task at each syscall, replaced under k.mu
	// (by the task, or by a thread of its process with TSYNC).
	seccomp atomic.Pointer[seccompState]
	// pdeathSignal is prctl's PR_SET_PDEATHSIG (PdeathSignal): atomic,
	// as the parent's exit reads it.
	pdeathSignal atomic.Int32
	// timerSlack and defaultSlack are PR_SET_TIMERSLACK's values in
	// nanoseconds, 0 for 50 µs (timerslack.go); atomic: /proc may read them.
	timerSlack, defaultSlack atomic.Uint64
	// sigMask is the blocked signal set (SigMask, SetSigMask): only the
	// task's own goroutine changes it, but senders read it to pick a thread.
	sigMask atomic.Uint64
	// realBlocked is the mask sigtimedwait unblocked its set from while it
	// waits (Linux's real_blocked): a signal it waits for is not dropped
	// as ignored meanwhile. Only the task's own goroutine sets it.
	realBlocked atomic.Uint64
	// AltStack is sigaltstack's stack_t, as the application set it.
	AltStack linux.SignalStack
	// memPolicy is set_mempolicy's NUMA policy, nil for MPOL_DEFAULT
	// (mempolicy.go); children and execve keep it.
	memPolicy *mm.MemPolicy
	// personality is personality(2)'s persona, inherited by children
	// and kept across execve: ADDR_NO_RANDOMIZE and STICKY_TIMEOUTS
	// change what the sentry does. Atomic: /proc/PID/personality reads
	// it from other tasks.
	personality atomic.Uint32
	// nice is the task's nice value (priority.go).
	nice atomic.Int32
	// affinity is sched_setaffinity's mask (sched.go; nil: every CPU):
	// atomic, as other tasks read it.
	affinity atomic.Pointer[CPUMask]
	// sched is its scheduling policy (sched.go), ioprio its I/O priority
	// (ioprio.go).
	sched  sched
	ioprio atomic.Int32
	// inSyscall is set while a syscall handler runs (stats.go).
	inSyscall atomic.Bool
	// callCtx is Ctx's context, made on its first use.
	callCtx atomic.Pointer[context.Context]
	// inApp is set while the task is in, or about to enter, Switch
	// (freeze.go).
	inApp atomic.Bool

	// netns is the task's network namespace (netns.go), nil for the
	// sandbox's first: atomic, as /proc and other tasks read it.
	netns atomic.Pointer[NetNS]
	// ipcns is the task's IPC namespace (ipcns.go), nil for the
	// sandbox's first: atomic, as /proc and other tasks read it.
	ipcns atomic.Pointer[IPCNamespace]
	// mntns is the task's mount namespace (mntns.go), nil for the
	// sandbox's first; atomic, as ipcns.
	mntns atomic.Pointer[MountNS]

	// mu guards what other goroutines read of the task while its own
	// goroutine may replace it (execve does): its comm, address space,
	// descriptor table, filesystem context and executable's path, through
	// the accessors MM, FDs, FS and Exe. Only the task's own goroutine
	// (and its creator, before it runs) changes them.
	mu   sync.Mutex
	name string // comm; guarded by mu
	// mm is written under mu (and K.mu: exec) and read without a lock:
	// MM is called several times a syscall.
	mm  atomic.Pointer[mm.MemoryManager]
	fds *vfs.FDTable   // guarded by mu
	fs  *vfs.FSContext // guarded by mu
	exe string         // the running executable's path (/proc/self/exe); guarded by mu
	// startUptime is the sandbox's uptime when the task was made
	// (/proc/PID/stat's starttime); set before it runs.
	startUptime time.Duration
	// exeFile is the file exe was loaded from, a reference held until
	// the next execve or the task's end (Linux's mm->exe_file), which
	// /proc/PID/exe opens again even once no name leads to it, and
	// which keeps the file from being opened for writing while it
	// lives (ETXTBSY: sentry/vfs/writeaccess.go); shared by the
	// process's threads and forks. nil without one. Guarded by mu.
	exeFile *vfs.File
	// uts is the task's UTS namespace, nil for the initial one; only
	// the task's own goroutine (unshare, setns) or its creator sets it.
	uts atomic.Pointer[UTSNamespace]
	// cgroupns is the task's cgroup namespace, nil for the first
	// (cgroupns.go).
	cgroupns atomic.Pointer[CgroupNamespace]
	// timens and timensChildren are the task's time namespace and its
	// future children's (timens.go), nil for the initial one; only the
	// task's own goroutine (unshare, setns) or its creator sets them.
	timens, timensChildren atomic.Pointer[TimeNamespace]

	// killed is closed when the task must stop: its group is exiting.
	// Blocking syscalls select on it (Killed) and return EINTR.
	killed     chan struct{}
	killedOnce sync.Once
	// exitCode is the task's own exit(2) status.
	exitCode int
	// vforkDone is closed when a vfork child execs or exits.
	vforkDone chan struct{}

	sig signalState // its own lock (signal.go)
	// ptrace is the task's tracer and tracees (ptrace.go); guarded by
	// K.mu.
	ptrace ptraceState
	// traced mirrors ptrace.tracer != nil for readers without K.mu
	// (a sender deciding whether a signal is ignored).
	traced atomic.Bool
	// savedMask, if set, is the mask the next signal frame saves instead of
	// signal mask (rt_sigsuspend's temporary mask must not outlive the handler).
	savedMask *uint64
	// restartErr is the restart errno the last syscall returned, until
	// signal delivery settles it (restart.go); restartBlock is how
	// restart_syscall finishes it.
	restartErr   unix.Errno
	restartBlock SyscallFn
}

// CopyIn reads len(dst) bytes of application memory at addr; a bad address
// is EFAULT.
func (t *Task) CopyIn(addr uintptr, dst []byte) error {
	if _, err := t.MM().CopyIn(addr, dst); err != nil {
		return unix.EFAULT
	}
	return nil
}

// CopyOut writes src to application memory at addr; a bad address is EFAULT.
func (t *Task) CopyOut(addr uintptr, src []byte) error {
	if _, err := t.MM().CopyOut(addr, src); err != nil {
		return unix.EFAULT
	}
	return nil
}

// CopyInString reads a NUL-terminated string of at most max bytes (without
// the NUL). Longer strings are ENAMETOOLONG, bad addresses EFAULT.
func (t *Task) CopyInString(addr uintptr, max int) (string, error) {
	var out []byte
	buf := make([]byte, 256)
	for len(out) <= max {
		// Never read across a page boundary in one go: the next page may be
		// unmapped although the string ends before it.
		n := int(abi.PageSize - addr%abi.PageSize)
		if n > len(buf) {
			n = len(buf)
		}
		got, err := t.MM().CopyIn(addr, buf[:n])
		if i := bytes.IndexByte(buf[:got], 0); i >= 0 {
			out = append(out, buf[:i]...)
			if len(out) > max {
				break
			}
			return string(out), nil
		}
		if err != nil {
			return "", unix.EFAULT
		}
		out = append(out, buf[:got]...)
		addr += uintptr(got)
	}
	return "", unix.ENAMETOOLONG
}

// stringChunk is how much of each string CopyInStrings reads at first.
const stringChunk = 256

// CopyInStrings is CopyInString of each address in addrs, with one
// vectored copy of each string's first bytes (up to stringChunk, never
// across a page boundary): a string that ends there costs no host call of
// its own. The rest, and every string the one copy did not reach (a bad
// address stops it), are read as CopyInString reads them, which also
// decides their errors.
func (t *Task) CopyInStrings(addrs []uintptr, max int) ([]string, error) {
	ranges := make([]platform.Range, len(addrs))
	total := 0
	for i, a := range addrs {
		n := min(stringChunk, int(abi.PageSize-a%abi.PageSize))
		if a+uintptr(n) < a {
			n = 0 // the last page: CopyInString says what it holds
		}
		ranges[i] = platform.Range{Start: a, End: a + uintptr(n)}
		total += n
	}
	buf := make([]byte, total)
	got, _ := t.MM().CopyInVec(buf, ranges)
	out := make([]string, len(addrs))
	off := 0
	for i, r := range ranges {
		b := buf[off:min(off+int(r.End-r.Start), got)]
		off += int(r.End - r.Start)
		if j := bytes.IndexByte(b, 0); j >= 0 && j <= max {
			out[i] = string(b[:j])
			continue
		}
		str, err := t.CopyInString(addrs[i], max)
		if err != nil {
			return nil, err
		}
		out[i] = str
	}
	return out, nil
}

// RobustList returns the task's robust futex list head (set_robust_list).
func (t *Task) RobustList() uintptr { return t.robustList.Load() }

// SetRobustList records the task's robust futex list head.
func (t *Task) SetRobustList(head uintptr) { t.robustList.Store(head) }

// NoNewPrivs reports whether the task set PR_SET_NO_NEW_PRIVS, or inherited
// it.
func (t *Task) NoNewPrivs() bool { return t.noNewPrivs.Load() }

// SetNoNewPrivs sets the no_new_privs bit, which nothing clears.
func (t *Task) SetNoNewPrivs() { t.noNewPrivs.Store(true) }

// MM is the task's address space.
func (t *Task) MM() *mm.MemoryManager { return t.mm.Load() }

// FDs is the task's descriptor table.
func (t *Task) FDs() *vfs.FDTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fds
}

// FS is the task's root, working directory and umask.
func (t *Task) FS() *vfs.FSContext {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fs
}

// Exe is the path of the running executable (/proc/self/exe).
func (t *Task) Exe() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.exe
}

// StartUptime is the sandbox's uptime when t was made, on the initial
// time namespace's boot-time clock.
func (t *Task) StartUptime() time.Duration { return t.startUptime }

// ExeLink is what /proc/PID/exe shows: the executable's path now (Exe,
// its path at execve, until a rename moves it), with " (deleted)" once
// its name is gone; false once the task has let its executable go.
func (t *Task) ExeLink() (string, bool) {
	t.mu.Lock()
	exe, f, fs := t.exe, t.exeFile, t.fs
	if f != nil {
		f.IncRef()
	}
	t.mu.Unlock()
	if f == nil {
		return "", false
	}
	defer f.DecRef()
	d := f.Dentry()
	if d == nil {
		return exe, true
	}
	if fs != nil {
		exe = vfs.PathOf(fs.Root(), d)
	}
	if d.Unlinked(t.Ctx()) {
		return exe + " (deleted)", true
	}
	return exe, true
}

// ExeFile returns the file the running executable was loaded from, with
// a reference the caller drops; nil once the task has let it go.
func (t *Task) ExeFile() *vfs.File {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.exeFile != nil {
		t.exeFile.IncRef()
	}
	return t.exeFile
}

// SetExe records the executable res loaded, taking over its reference
// (the sandbox sets its first program's before the task runs); the one
// it replaces is dropped.
func (t *Task) SetExe(res loader.Result) {
	f := exeFileOf(res)
	t.mu.Lock()
	old := t.exeFile
	t.exe, t.exeFile = res.Exe, f
	t.mu.Unlock()
	if old != nil {
		old.DecRef()
	}
}

// exeFileOf is the file of the VFS res loaded, whose reference the
// caller takes over: the openers of VFS files release with DecRef. A
// file of no VFS (nil) has its reference dropped here.
func exeFileOf(res loader.Result) *vfs.File {
	if f, ok := res.ExeFile.(*vfs.File); ok {
		return f
	}
	if res.ExeRelease != nil {
		res.ExeRelease()
	}
	return nil
}

// releaseExe drops the task's reference to its executable.
func (t *Task) releaseExe() {
	t.mu.Lock()
	f := t.exeFile
	t.exeFile = nil
	t.mu.Unlock()
	if f != nil {
		f.DecRef()
	}
}

// Name is the task's comm (prctl PR_GET_NAME, /proc/pid/comm).
func (t *Task) Name() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.name
}

// SetName sets the task's comm.
func (t *Task) SetName(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.name = name
}

// PID is the thread group's ID as its own threads see it (getpid).
func (t *Task) PID() int { return t.TG.vpid }

// Log returns the task's logger.
func (t *Task) Log() *slog.Logger { return t.K.Log.With("tid", t.TID) }

// ExitGroup ends the whole thread group with code (exit_group), or as the
// fatal signal sig does when sig != 0.
func (t *Task) ExitGroup(code, sig int) {
	t.TG.exit(ExitStatus{Code: code, Signal: sig})
}

// Exit ends this thread only (exit(2)); the last thread's code is the
// group's.
func (t *Task) Exit(code int) {
	t.exitCode = code
	t.kill()
}

// kill makes the task stop at its next chance.
func (t *Task) kill() {
	t.killedOnce.Do(func() {
		close(t.killed)
		t.wake()
	})
}

// SigMask returns the task's blocked signal set.
func (t *Task) SigMask() uint64 { return t.sigMask.Load() }

// SetSigMask changes the task's blocked signal set; only the task's own
// goroutine calls it.
func (t *Task) SetSigMask(mask uint64) { t.sigMask.Store(mask) }

// UnblockToWait unblocks set for a wait for its signals (sigtimedwait), as
// Linux does with real_blocked: until the returned function restores the
// mask, a signal that the old mask blocked still counts as blocked when it
// is sent, so it is queued for the wait even if its action ignores it.
func (t *Task) UnblockToWait(set uint64) (restore func()) {
	old := t.SigMask()
	t.realBlocked.Store(old)
	t.SetSigMask(old &^ set)
	return func() {
		t.SetSigMask(old)
		t.realBlocked.Store(0)
	}
}

// Killed is closed when the task must stop; blocking syscalls select on it
// and return EINTR.
func (t *Task) Killed() <-chan struct{} { return t.killed }

func (t *Task) isKilled() bool {
	select {
	case <-t.killed:
		return true
	default:
		return false
	}
}

// killedLocked is isKilled for callers holding k.mu.
func (t *Task) killedLocked() bool { return t.isKilled() }

// Run runs the task until it exits.
func (t *Task) Run() {
	defer t.release()
	for !t.isKilled() {
		t.deliverSignals()
		if t.isKilled() {
			return
		}
		if !t.enterApp() {
			continue // frozen until now: signals may have come
		}
		ev, err := t.ctx.Switch(t.MM().AddressSpace(), &t.Regs, t.FP)
		t.inApp.Store(false)
		if err != nil {
			if !t.isKilled() {
				t.Log().Error("application thread lost", "err", err)
				t.ExitGroup(0, int(unix.SIGKILL))
			}
			return
		}
		switch ev.Kind {
		case platform.EventSyscall:
			t.syscall()
		case platform.EventFault:
			t.K.observe.faults.Add(1)
			if t.MM().HandleFault(ev.Fault.Addr, ev.Fault.Access) {
				continue
			}
			t.Log().Debug("fault", "event", ev.String(), "rip", fmt.Sprintf("%#x", t.Regs.Rip))
			t.forceSignal(faultInfo(ev))
		case platform.EventSignal:
			t.Log().Debug("synchronous signal", "event", ev.String(), "rip", fmt.Sprintf("%#x", t.Regs.Rip))
			t.forceSignal(faultInfo(ev))
		case platform.EventInterrupted:
		}
	}
}

// syscall runs the handler for the syscall the task stopped at.
func (t *Task) syscall() {
	nr := uintptr(t.Regs.OrigRax)
	a := t.Regs.SyscallArgs()
	args := SyscallArguments{uintptr(a[0]), uintptr(a[1]), uintptr(a[2]), uintptr(a[3]), uintptr(a[4]), uintptr(a[5])}
	st := t.K.Syscalls
	if t.ptraceSyscallEntry() {
		// PTRACE_SYSEMU: the tracer emulates the syscall.
		return
	}
	// The tracer may have changed the syscall and its arguments.
	nr = uintptr(t.Regs.OrigRax)
	a = t.Regs.SyscallArgs()
	args = SyscallArguments{uintptr(a[0]), uintptr(a[1]), uintptr(a[2]), uintptr(a[3]), uintptr(a[4]), uintptr(a[5])}
	if nr != ^uintptr(0) && !t.seccompAllows(nr, args) {
		// Refused: Rax holds the answer, or the task is dying.
		t.ptraceSyscallExit()
		return
	}
	if nr == unix.SYS_EXIT || nr == unix.SYS_EXIT_GROUP {
		t.ptraceEvent(linux.PTRACE_EVENT_EXIT, linux.PTRACE_O_TRACEEXIT, uint64(args[0]&0xff)<<8)
	}
	s, ok := st.Lookup(nr)
	tr := t.K.observe.strace.Load() // one load: the same tracer sees the exit
	if tr != nil {
		(*tr).SyscallEnter(t, nr, args)
	}
	var ret uintptr
	var err error
	if nr == ^uintptr(0) {
		// Skipped by the tracer (orig_rax -1): rax is what it left.
		t.ptraceSyscallExit()
		return
	}
	if !ok || s.Fn == nil {
		if st.firstUnimplemented(nr) {
			t.Log().Warn("unimplemented syscall", "nr", nr, "name", st.Name(nr))
		}
		err = unix.ENOSYS
	} else {
		obs := t.K.observe.counters.Load()
		var start time.Duration
		if obs != nil {
			start = time.Since(timerEpoch) // one clock read; time.Now makes two
		}
		if h := t.K.Hooks; h != nil && h.Watches(nr) {
			ret, err = t.interposed(h, nr, *s, &args)
		} else {
			t.inSyscall.Store(true)
			ret, err = s.Fn(t, args)
			t.inSyscall.Store(false)
		}
		if obs != nil {
			(*obs).Syscall(nr, time.Since(timerEpoch)-start)
		}
	}
	var errno unix.Errno
	switch e, isErrno := errnoOf(err); {
	case err == nil:
	case isErrno:
		errno = e
		if errno == unix.EINTR && !errors.Is(err, ErrIntrNoRestart) {
			errno = interruptedErrno(nr)
		}
		ret = uintptr(-int64(errno))
	case errors.Is(err, platform.ErrContextDead):
		// The application's memory went with its stub process: the
		// process is being killed (a group exit, SIGKILL), and the
		// result reaches no one.
		t.Log().Debug("syscall ended with the address space", "name", st.Name(nr), "err", err)
		errno = unix.EFAULT
		ret = uintptr(-int64(errno))
	default:
		t.Log().Error("syscall failed", "name", st.Name(nr), "err", err)
		errno = unix.EIO
		ret = uintptr(-int64(errno))
	}
	// An error may say it raises no signal (a socket's EPIPE under
	// MSG_NOSIGNAL, or from a datagram socket).
	if errno == unix.EPIPE && writesToFile(nr) && !raisesNoSignal(err) {
		t.SendSignal(NewSigInfo(int32(unix.SIGPIPE), linux.SI_USER, t.PID(), t.Creds().UID.Real))
	}
	if errors.Is(err, vfs.ErrSizeLimit) {
		// RLIMIT_FSIZE: the caller is told by SIGXFSZ too.
		t.SendSignal(NewSigInfo(int32(unix.SIGXFSZ), linux.SI_USER, 0, 0))
	}
	if tr != nil {
		var failed error
		if errno != 0 {
			failed = errno
		}
		(*tr).SyscallExit(t, nr, args, ret, failed)
	}
	t.Regs.Rax = uint64(ret)
	t.restartErr = 0
	if isRestart(errno) {
		t.restartErr = errno
	}
	t.ptraceSyscallExit()
}

// errnoOf returns the errno err is or wraps. A bare Errno, the common
// case, is found without errors.As, whose target escapes: declared in
// syscall itself it would be allocated on every syscall.
func errnoOf(err error) (unix.Errno, bool) {
	if err == nil {
		return 0, false
	}
	if e, ok := err.(unix.Errno); ok {
		return e, true
	}
	var e unix.Errno
	if errors.As(err, &e) {
		return e, true
	}
	return 0, false
}

// raisesNoSignal reports whether err says it raises no SIGPIPE (a
// socket's EPIPE under MSG_NOSIGNAL, or from a datagram socket).
func raisesNoSignal(err error) bool {
	var quiet interface{ NoSignal() bool }
	return errors.As(err, &quiet) && quiet.NoSignal()
}

// release is the end of a task: its thread, its share of memory, files and
// the vfork parent it may hold; the last task of a group makes it a zombie.
// writesToFile reports whether syscall nr raises SIGPIPE with EPIPE.
func writesToFile(nr uintptr) bool {
	switch nr {
	case unix.SYS_WRITE, unix.SYS_WRITEV, unix.SYS_PWRITE64, unix.SYS_PWRITEV, unix.SYS_PWRITEV2,
		unix.SYS_SENDFILE, unix.SYS_SPLICE, unix.SYS_TEE, unix.SYS_VMSPLICE, unix.SYS_SENDTO, unix.SYS_SENDMSG, unix.SYS_SENDMMSG:
		return true
	}
	return false
}

func (t *Task) release() {
	t.ptraceTracerExit()
	t.ctx.Release()
	t.exitRobustList()
	if t.ClearChildTID != 0 && !t.TG.lastTask(t.K) {
		// CLONE_CHILD_CLEARTID: tell a joining thread, as Linux does.
		if t.CopyOut(t.ClearChildTID, make([]byte, 4)) == nil {
			t.K.Futexes.Wake(t, t.ClearChildTID, false, 1, ^uint32(0))
		}
	}
	m := t.MM()
	m.DecUsers()
	t.FDs().DecUsers()
	t.releaseExe()
	t.releaseNetNS()
	t.finishVfork()
	k := t.K
	if t.TG.lastTask(k) {
		// SEM_UNDO adjustments apply when the process ends, before its
		// parent can see it end (exit_sem runs before exit_notify), and
		// its attachments no longer hold segments marked for removal.
		t.exitIPC()
		if t.TG.IsNSInit() {
			k.zapPIDNS(t.TG) // before it is a zombie, as exit_notify's
		}
	}
	// Released by this, its last user: the process's CPU time, before
	// its parent may reap it.
	user, sys, released := m.FinalCPUTime()
	maxRSS := t.exitHiwaterRSS(m, released)
	k.mu.Lock()
	if released {
		t.TG.noteExitCPULocked(user, sys)
	}
	t.TG.noteMaxRSSLocked(maxRSS)
	st := ExitStatus{Code: t.exitCode}
	if t.TG.exiting {
		st = t.TG.status
	}
	died, pdeath := k.taskExited(t, ExitStatus{Code: t.exitCode})
	k.mu.Unlock()
	t.seccompExited()
	for _, d := range pdeath {
		d.to.SendSignal(d.si)
	}
	// Its queued signals are freed, and their RLIMIT_SIGPENDING charge
	// with them (__exit_signal's flush_sigqueue); the process's too if
	// it died.
	t.sig.mu.Lock()
	t.sig.pending.close()
	t.sig.mu.Unlock()
	if died {
		t.TG.sigmu.Lock()
		t.TG.pending.close()
		t.TG.sigmu.Unlock()
	}
	if tr := k.observe.strace.Load(); tr != nil {
		(*tr).TaskExit(t, st)
	}
	if died {
		// Threads that ended together each saw another: apply them now
		// (nothing is left to do if the last one did above).
		t.exitIPC()
		// Outside k.mu: a pidfd's waiters ask its readiness, which takes it.
		t.TG.exitQueue.Notify(unix.POLLIN | linux.POLLRDNORM)
		t.TG.hangUp()
	}
	// Last: its SEM_UNDO adjustments applied in its namespace above.
	t.releaseIPCNS()
	t.releaseMountNS()
}

// PdeathSignal is prctl(PR_GET_PDEATHSIG): the signal the task gets when
// the thread that created it exits (0: none).
func (t *Task) PdeathSignal() int { return int(t.pdeathSignal.Load()) }

// SetPdeathSignal is prctl(PR_SET_PDEATHSIG).
func (t *Task) SetPdeathSignal(sig int) { t.pdeathSignal.Store(int32(sig)) }

// finishVfork releases a parent waiting in vfork.
func (t *Task) finishVfork() {
	if t.vforkDone != nil {
		close(t.vforkDone)
		t.vforkDone = nil
	}
}
