package kernel_test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/platform/memplatform"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
)

// Signals as Linux queues and delivers them (signal(7)): which thread of a
// process takes a process-directed signal, what masks and actions do,
// the order in which pending signals come out.

func bit(sig unix.Signal) uint64 { return 1 << (sig - 1) }

func userSignal(sig unix.Signal, value int) kernel.SigInfo {
	si := kernel.NewSigInfo(int32(sig), linux.SI_QUEUE, 1, 0)
	si.SetSigval(uint64(value))
	return si
}

// threads returns a process of n threads; the first is its leader.
func threads(t *testing.T, n int) []*kernel.Task {
	t.Helper()
	leader := kerneltest.NewTask(t, nil)
	ts := []*kernel.Task{leader}
	for len(ts) < n {
		c, err := kernel.NewThread(leader)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, c)
	}
	return ts
}

// woken reports which of ts were woken since their notify channels were
// taken.
func woken(chans []<-chan struct{}) []bool {
	out := make([]bool, len(chans))
	for i, c := range chans {
		select {
		case <-c:
			out[i] = true
		default:
		}
	}
	return out
}

func notifyChans(ts []*kernel.Task) []<-chan struct{} {
	var out []<-chan struct{}
	for _, t := range ts {
		out = append(out, t.SignalNotify())
	}
	return out
}

func TestProcessSignalGoesToAThreadThatDoesNotBlockIt(t *testing.T) {
	ts := threads(t, 3)
	ts[0].SetSigMask(bit(unix.SIGUSR1))
	chans := notifyChans(ts)
	ts[0].TG.SendSignal(userSignal(unix.SIGUSR1, 0))
	if got := woken(chans); got[0] || !got[1] || got[2] {
		t.Errorf("woken %v: want the first thread that does not block SIGUSR1 (1) only", got)
	}
	// Pending for the process: every thread that does not block it sees it.
	for i, want := range []bool{false, true, true} {
		if got := ts[i].SignalPending(); got != want {
			t.Errorf("thread %d: SignalPending %v, want %v", i, got, want)
		}
		if ts[i].PendingSignals()&bit(unix.SIGUSR1) == 0 {
			t.Errorf("thread %d does not see the process's pending SIGUSR1", i)
		}
	}
}

// A signal every thread blocks wakes none (complete_signal finds no
// thread that wants it): a wait with it blocked (epoll_pwait's or
// ppoll's mask, say) goes on. It stays pending for the process.
func TestProcessSignalBlockedEverywhereWakesNobody(t *testing.T) {
	ts := threads(t, 2)
	for _, x := range ts {
		x.SetSigMask(bit(unix.SIGUSR2))
	}
	chans := notifyChans(ts)
	ts[1].TG.SendSignal(userSignal(unix.SIGUSR2, 0))
	if got := woken(chans); got[0] || got[1] {
		t.Errorf("woken %v: want none", got)
	}
	ts[0].SendSignal(userSignal(unix.SIGUSR2, 0))
	if got := woken(chans); got[0] || got[1] {
		t.Errorf("woken %v by a blocked thread-directed signal: want none", got)
	}
	if ts[0].SignalPending() || ts[1].SignalPending() {
		t.Error("a blocked signal counts as deliverable")
	}
	ts[1].SetSigMask(0)
	if !ts[1].SignalPending() {
		t.Error("unblocked, the signal is not deliverable")
	}
}

func TestThreadSignalStaysWithItsThread(t *testing.T) {
	ts := threads(t, 2)
	chans := notifyChans(ts)
	ts[1].SendSignal(userSignal(unix.SIGUSR1, 0))
	if got := woken(chans); got[0] || !got[1] {
		t.Errorf("woken %v: want the thread signalled", got)
	}
	if ts[0].PendingSignals() != 0 {
		t.Errorf("another thread sees %#x pending", ts[0].PendingSignals())
	}
	if _, ok := ts[0].Dequeue(bit(unix.SIGUSR1)); ok {
		t.Error("another thread took a thread-directed signal")
	}
	if si, ok := ts[1].Dequeue(bit(unix.SIGUSR1)); !ok || si.Signo != int32(unix.SIGUSR1) {
		t.Errorf("the thread's own Dequeue: %v, %v", si.Signo, ok)
	}
}

func TestIgnoredSignalsAreDropped(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	tg := task.TG
	tg.SendSignal(userSignal(unix.SIGCHLD, 0)) // default action: ignore
	tg.SendSignal(userSignal(unix.SIGWINCH, 0))
	tg.SetSigAction(int(unix.SIGUSR1), linux.SigAction{Handler: linux.SIG_IGN})
	tg.SendSignal(userSignal(unix.SIGUSR1, 0))
	task.SendSignal(userSignal(unix.SIGUSR1, 0))
	if p := task.PendingSignals(); p != 0 {
		t.Errorf("pending %#x: ignored signals were queued", p)
	}
	// A blocked signal is queued whatever its action: the action may
	// change before it is unblocked, and sigwait may take it.
	task.SetSigMask(bit(unix.SIGCHLD) | bit(unix.SIGUSR1))
	tg.SendSignal(userSignal(unix.SIGCHLD, 0))
	tg.SendSignal(userSignal(unix.SIGUSR1, 0))
	if p := task.PendingSignals(); p != bit(unix.SIGCHLD)|bit(unix.SIGUSR1) {
		t.Errorf("pending %#x: want the blocked SIGCHLD and SIGUSR1", p)
	}
	// SIG_IGN cannot ignore SIGSTOP.
	task.SetSigMask(0)
	tg.SetSigAction(int(unix.SIGSTOP), linux.SigAction{Handler: linux.SIG_IGN})
	task.SendSignal(userSignal(unix.SIGSTOP, 0))
	if task.PendingSignals()&bit(unix.SIGSTOP) == 0 {
		t.Error("SIGSTOP was dropped as ignored")
	}
}

func TestPendingOrder(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	all := ^uint64(0)
	task.SetSigMask(all)
	rt := unix.Signal(linux.FirstRTSignal)
	task.TG.SendSignal(userSignal(rt+2, 1))
	task.TG.SendSignal(userSignal(unix.SIGUSR2, 2))
	task.TG.SendSignal(userSignal(rt, 3))
	task.TG.SendSignal(userSignal(rt+2, 4))
	task.TG.SendSignal(userSignal(unix.SIGUSR2, 5)) // a standard signal does not queue twice
	task.SendSignal(userSignal(unix.SIGTERM, 6))    // the thread's own come first
	type got struct {
		sig   unix.Signal
		value uint64
	}
	want := []got{{unix.SIGTERM, 6}, {unix.SIGUSR2, 2}, {rt, 3}, {rt + 2, 1}, {rt + 2, 4}}
	for i, w := range want {
		si, ok := task.Dequeue(all)
		if !ok {
			t.Fatalf("signal %d: nothing pending, want %v", i, w)
		}
		if g := (got{unix.Signal(si.Signo), si.Sigval()}); g != w {
			t.Errorf("signal %d: %v, want %v", i, g, w)
		}
	}
	if si, ok := task.Dequeue(all); ok {
		t.Errorf("left pending: %d", si.Signo)
	}
}

func TestDefaultActionTerminates(t *testing.T) {
	ts := threads(t, 2)
	ts[1].TG.SendSignal(userSignal(unix.SIGTERM, 0))
	kernel.DeliverSignals(ts[0])
	if st := kernel.GroupStatus(ts[0].TG); st.Signal != int(unix.SIGTERM) {
		t.Errorf("status %+v: want killed by SIGTERM", st)
	}
	for i, x := range ts {
		select {
		case <-x.Killed():
		default:
			t.Errorf("thread %d survives its process's fatal signal", i)
		}
	}
}

func TestDefaultActionStopsUntilSIGCONT(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	task.TG.SendSignal(userSignal(unix.SIGTSTP, 0))
	done := make(chan struct{})
	go func() {
		defer close(done)
		kernel.DeliverSignals(task)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for task.State() != 'T' {
		if time.Now().After(deadline) {
			t.Fatal("SIGTSTP did not stop the process")
		}
		time.Sleep(time.Millisecond)
	}
	task.TG.SendSignal(userSignal(unix.SIGCONT, 0))
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGCONT did not resume the process")
	}
	if st := task.State(); st == 'T' {
		t.Errorf("state %c after SIGCONT", st)
	}
}

// handlerTask returns a task with a stack, SIGUSR1 handled by handler with
// flags, and SIGUSR1 pending.
func handlerTask(t *testing.T, flags uint64) *kernel.Task {
	t.Helper()
	task := kerneltest.NewTask(t, nil)
	const stackSize = 64 << 10
	task.Regs.Rsp = uint64(kerneltest.Map(t, task, stackSize) + stackSize)
	task.Regs.Rip = 0x1234
	task.TG.SetSigAction(int(unix.SIGUSR1), linux.SigAction{Handler: 0x5000, Flags: linux.SA_RESTORER | flags, Restorer: 0x6000, Mask: linux.SignalSet(bit(unix.SIGUSR2))})
	task.SendSignal(userSignal(unix.SIGUSR1, 42))
	return task
}

func TestHandlerRunsOnAFrame(t *testing.T) {
	task := handlerTask(t, 0)
	oldSP := task.Regs.Rsp
	kernel.DeliverSignals(task)
	r := task.Regs
	if r.Rip != 0x5000 || r.Rdi != uint64(unix.SIGUSR1) || r.Rsp >= oldSP || r.Rsp%16 != 8 {
		t.Fatalf("rip %#x rdi %d rsp %#x (was %#x): want the handler, the signal, a frame below with the ABI's alignment", r.Rip, r.Rdi, r.Rsp, oldSP)
	}
	var ret uint64
	if err := kernel.CopyIn(task, uintptr(r.Rsp), &ret); err != nil || ret != 0x6000 {
		t.Errorf("return address %#x, %v: want the restorer", ret, err)
	}
	var si kernel.SigInfo
	if err := kernel.CopyIn(task, uintptr(r.Rsi), &si); err != nil || si.Signo != int32(unix.SIGUSR1) || si.Sigval() != 42 {
		t.Errorf("siginfo %d/%d, %v", si.Signo, si.Sigval(), err)
	}
	if m := task.SigMask(); m != bit(unix.SIGUSR1)|bit(unix.SIGUSR2) {
		t.Errorf("mask in the handler %#x: want the signal and sa_mask", m)
	}
	// rt_sigreturn: the stack pointer is past the return address.
	task.Regs.Rsp += 8
	if _, err := task.SigReturn(); err != nil {
		t.Fatal(err)
	}
	if task.Regs.Rip != 0x1234 || task.Regs.Rsp != oldSP || task.SigMask() != 0 {
		t.Errorf("after rt_sigreturn: rip %#x rsp %#x mask %#x; want 0x1234, %#x, 0", task.Regs.Rip, task.Regs.Rsp, task.SigMask(), oldSP)
	}
}

func TestHandlerFlags(t *testing.T) {
	task := handlerTask(t, linux.SA_NODEFER|linux.SA_RESETHAND)
	kernel.DeliverSignals(task)
	if m := task.SigMask(); m != bit(unix.SIGUSR2) {
		t.Errorf("mask %#x: SA_NODEFER leaves the signal unblocked", m)
	}
	if act := task.TG.SigAction(int(unix.SIGUSR1)); act.Handler != linux.SIG_DFL {
		t.Errorf("SA_RESETHAND left handler %#x", act.Handler)
	}
	// Without SA_RESTORER there is nowhere to return: SIGSEGV.
	task = handlerTask(t, 0)
	task.TG.SetSigAction(int(unix.SIGUSR1), linux.SigAction{Handler: 0x5000})
	kernel.DeliverSignals(task)
	if st := kernel.GroupStatus(task.TG); st.Signal != int(unix.SIGSEGV) {
		t.Errorf("status %+v: want SIGSEGV", st)
	}
}

func TestSIGKILLCannotBeBlocked(t *testing.T) {
	ts := threads(t, 2)
	for _, x := range ts {
		x.SetSigMask(^uint64(0))
	}
	ts[0].TG.SendSignal(userSignal(unix.SIGKILL, 0))
	if !ts[0].TG.Exiting(ts[0].K) {
		t.Error("SIGKILL did not end the process")
	}
	if st := kernel.GroupStatus(ts[0].TG); st.Signal != int(unix.SIGKILL) {
		t.Errorf("status %+v", st)
	}
}

// TestKillPermission: check_kill_permission. A process may signal another
// whose real or saved uid is its real or effective one, any with
// CAP_KILL, and send SIGCONT within its session; else EPERM, even for
// signal 0.
func TestKillPermission(t *testing.T) {
	rootProc := kerneltest.NewTask(t, nil)
	user, err := kernel.NewChild(rootProc)
	if err != nil {
		t.Fatal(err)
	}
	if err := user.SetRESUID(1000, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	saved, err := kernel.NewChild(rootProc)
	if err != nil {
		t.Fatal(err)
	}
	if err := saved.SetRESUID(2000, 2000, 1000); err != nil {
		t.Fatal(err)
	}
	k := rootProc.K
	kill := func(from, to *kernel.Task, sig unix.Signal) error {
		return k.Kill(from, to.TG.PID, kernel.NewSigInfo(int32(sig), linux.SI_USER, from.TG.PID, 0))
	}
	for _, c := range []struct {
		name     string
		from, to *kernel.Task
		sig      unix.Signal
		want     error
	}{
		{"a user signals root", user, rootProc, unix.SIGUSR1, unix.EPERM},
		{"signal 0 is checked too", user, rootProc, 0, unix.EPERM},
		{"SIGCONT within the session", user, rootProc, unix.SIGCONT, nil},
		{"root signals a user", rootProc, user, unix.SIGUSR1, nil},
		{"the target's saved uid is the caller's", user, saved, unix.SIGUSR1, nil},
		{"the caller's saved uid does not count", saved, user, unix.SIGUSR1, unix.EPERM},
		{"a process signals itself", user, user, unix.SIGUSR1, nil},
	} {
		if err := kill(c.from, c.to, c.sig); err != c.want {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if rootProc.PendingSignals()&bit(unix.SIGUSR1) != 0 {
		t.Error("a refused signal was queued")
	}
	// A process group answers EPERM only if no member could be signalled;
	// kill -1 skips those it may not signal and says nothing.
	if err := rootProc.Setpgid(user.TG.PID, 0); err != nil {
		t.Fatal(err)
	}
	si := kernel.NewSigInfo(int32(unix.SIGUSR2), linux.SI_USER, saved.TG.PID, 0)
	if err := k.KillGroup(saved, rootProc.TG.PID, si); err != nil {
		t.Errorf("a group with a member the caller may signal: %v", err)
	}
	lone, err := kernel.NewChild(rootProc)
	if err != nil {
		t.Fatal(err)
	}
	if err := lone.SetRESUID(3000, 3000, 3000); err != nil {
		t.Fatal(err)
	}
	if err := lone.Setpgid(0, 0); err != nil {
		t.Fatal(err)
	}
	if err := k.KillGroup(lone, rootProc.TG.PID, si); err != unix.EPERM {
		t.Errorf("a group of others' processes: %v, want EPERM", err)
	}
	if err := k.Kill(lone, -1, si); err != nil {
		t.Errorf("kill -1 with nobody to signal: %v, want success", err)
	}
	// It is CAP_KILL that lets root signal anyone, not uid 0.
	for _, c := range []struct {
		caps uint64
		want error
	}{{0, unix.EPERM}, {1 << linux.CAP_KILL, nil}} {
		r, err := kernel.NewChild(rootProc)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.SetCaps(c.caps, c.caps, 0); err != nil {
			t.Fatal(err)
		}
		if err := kill(r, user, unix.SIGUSR1); err != c.want {
			t.Errorf("uid 0 with capabilities %#x signals a user: %v, want %v", c.caps, err, c.want)
		}
	}
}

// TestSignalFrameCopies checks that a handled signal writes its frame and
// XSAVE area with one copy, that rt_sigreturn reads them back with one,
// and that the registers of the XSAVE area survive the round trip. A frame
// whose XSAVE pointer the handler moved is still honoured (read as Linux
// reads it, the ucontext first).
func TestSignalFrameCopies(t *testing.T) {
	for _, moved := range []bool{false, true} {
		task := handlerTask(t, 0)
		as := task.MM().AddressSpace().(*memplatform.AddressSpace)
		xmm := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
		task.FP.SetXMM(3, xmm)
		oldSP := task.Regs.Rsp
		before := as.Copies()
		kernel.DeliverSignals(task)
		if n := as.Copies() - before; n != 1 {
			t.Errorf("delivering a signal made %d copies, want 1", n)
		}
		if task.FP.XMM(3) == xmm {
			t.Error("the handler runs with the interrupted code's xmm3")
		}
		task.Regs.Rsp += 8
		var uc abi.UContext
		if err := kernel.CopyIn(task, uintptr(task.Regs.Rsp), &uc); err != nil {
			t.Fatal(err)
		}
		want := int64(1)
		if moved {
			// The handler copies the area 4 KiB lower and points there.
			fp := make([]byte, platform.Host.Size)
			if err := task.CopyIn(uintptr(uc.MContext.Fpstate), fp); err != nil {
				t.Fatal(err)
			}
			uc.MContext.Fpstate -= 4096
			if err := task.CopyOut(uintptr(uc.MContext.Fpstate), fp); err != nil {
				t.Fatal(err)
			}
			if err := kernel.CopyOut(task, uintptr(task.Regs.Rsp), &uc); err != nil {
				t.Fatal(err)
			}
			want = 2
		}
		before = as.Copies()
		if _, err := task.SigReturn(); err != nil {
			t.Fatal(err)
		}
		if n := as.Copies() - before; n != want {
			t.Errorf("moved %v: rt_sigreturn made %d copies, want %d", moved, n, want)
		}
		if task.Regs.Rip != 0x1234 || task.Regs.Rsp != oldSP {
			t.Errorf("moved %v: after rt_sigreturn rip %#x rsp %#x; want 0x1234, %#x", moved, task.Regs.Rip, task.Regs.Rsp, oldSP)
		}
		if got := task.FP.XMM(3); got != xmm {
			t.Errorf("moved %v: xmm3 after rt_sigreturn %v, want %v", moved, got, xmm)
		}
	}
}

// TestForgedSignalNumber: a synchronous signal event whose number the
// application forged (systrap reads it from a frame the application can
// write) raises SIGSEGV, not a sentry panic on a shift by a negative
// count.
func TestForgedSignalNumber(t *testing.T) {
	for _, signo := range []int32{0, -1, 65, 1 << 20} {
		task := kerneltest.NewTask(t, nil)
		ev := platform.Event{Kind: platform.EventSignal, Signal: kernel.NewSigInfo(signo, 0, 0, 0)}
		si := kernel.FaultInfo(ev)
		if si.Signo != int32(unix.SIGSEGV) {
			t.Errorf("signal number %d: raises %d, want SIGSEGV", signo, si.Signo)
		}
		kernel.ForceSignal(task, si)
		kernel.DeliverSignals(task)
		if st := kernel.GroupStatus(task.TG); st.Signal != int(unix.SIGSEGV) {
			t.Errorf("signal number %d: status %+v, want killed by SIGSEGV", signo, st)
		}
	}
	// A real one passes through.
	ev := platform.Event{Kind: platform.EventSignal, Signal: kernel.NewSigInfo(int32(unix.SIGFPE), 1, 0, 0)}
	if si := kernel.FaultInfo(ev); si.Signo != int32(unix.SIGFPE) {
		t.Errorf("SIGFPE event raises %d", si.Signo)
	}
}

// RLIMIT_SIGPENDING bounds the real-time signals queued with a siginfo:
// past it sigqueue's are refused (EAGAIN), kill's pending without their
// siginfo; taking one frees its place (kernel/signal.c).
func TestSigpendingLimit(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	tg := task.TG
	task.SetSigMask(^uint64(0))
	if _, err := tg.Rlimit(unix.RLIMIT_SIGPENDING, &unix.Rlimit{Cur: 2, Max: 2}, false); err != nil {
		t.Fatal(err)
	}
	rt := unix.Signal(34)
	for i, want := range []error{nil, nil, unix.EAGAIN} {
		if err := tg.SendSignal(userSignal(rt, i)); err != want {
			t.Errorf("sigqueue %d: %v, want %v", i, err, want)
		}
	}
	if err := task.SendSignal(kernel.NewSigInfo(int32(rt+1), linux.SI_TKILL, 1, 0)); err != unix.EAGAIN {
		t.Errorf("tgkill past the limit: %v, want EAGAIN", err)
	}
	if err := tg.SendSignal(kernel.NewSigInfo(int32(rt+1), linux.SI_USER, 1, 0)); err != nil {
		t.Errorf("kill past the limit: %v, want it pending", err)
	}
	if si, ok := task.Dequeue(bit(rt + 1)); !ok || si.Code != linux.SI_USER || si.PID() != 0 {
		t.Errorf("kill's signal past the limit: %+v %v, want SI_USER without a sender", si, ok)
	}
	if si, ok := task.Dequeue(bit(rt)); !ok || si.Sigval() != 0 {
		t.Errorf("first sigqueue'd: %+v %v", si, ok)
	}
	if err := tg.SendSignal(userSignal(rt, 9)); err != nil {
		t.Errorf("sigqueue after one was taken: %v", err)
	}
}

// Past any RLIMIT_SIGPENDING, the sandbox keeps at most a ceiling of
// queued siginfos: what root in the sandbox can pin of the sentry's
// memory with blocked real-time signals is bounded.
func TestSigpendingCeiling(t *testing.T) {
	task := kerneltest.NewTask(t, nil)
	tg := task.TG
	task.SetSigMask(^uint64(0))
	inf := unix.Rlimit{Cur: ^uint64(0), Max: ^uint64(0)}
	if _, err := tg.Rlimit(unix.RLIMIT_SIGPENDING, &inf, true); err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; n < 1<<20; n++ {
		if err := tg.SendSignal(userSignal(unix.Signal(40), n)); err != nil {
			if err != unix.EAGAIN {
				t.Fatalf("signal %d: %v", n, err)
			}
			break
		}
	}
	if n != kernel.SigQueueCeiling {
		t.Errorf("%d signals queued, want the ceiling %d", n, kernel.SigQueueCeiling)
	}
}
