package systrap

import (
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/sysmsg"
)

// pooled waits until as's pool has a thread stopped in its handler and
// asleep there (no Switch set a spin, so a stopped thread sleeps at once;
// until it does, the pool counts it as awake and prefers it) and returns
// it.
func pooled(t *testing.T, as *addressSpace) pooledThread {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		as.poolMu.Lock()
		var th *pooledThread
		if len(as.pool) > 0 {
			th = &as.pool[len(as.pool)-1]
		}
		as.poolMu.Unlock()
		if th != nil && as.sh.Msg(th.slot).LoadState() == sysmsg.StateEvent && atomic.LoadUint32(&as.sh.Msg(th.slot).StubWaiting) != 0 {
			return *th
		}
	}
	t.Fatal("the address space's pool has no thread stopped in its handler after 10s")
	return pooledThread{}
}

// TestPoolRecycles: a released context's stopped thread serves the next
// context, with no new host thread.
func TestPoolRecycles(t *testing.T) {
	p, as := poolPlatform(t)
	a, b := bound(t, p, as), bound(t, p, as)
	// b's bind began a background fill; once it is done the pool changes
	// only by what the test does. The next bind may take the filled thread
	// rather than b's (it takes whichever still spins): either is a thread
	// that already exists.
	filled := pooled(t, as)
	tid := b.tid
	b.Release()
	as.poolMu.Lock()
	kept := false
	for _, th := range as.pool {
		kept = kept || th.tid == tid
	}
	as.poolMu.Unlock()
	if !kept {
		t.Fatalf("the released context's host thread %d is not in the pool", tid)
	}
	c := p.NewContext().(*context)
	if err := c.bind(as); err != nil {
		t.Fatalf("bind after a release: %v", err)
	}
	if c.tid != tid && c.tid != filled.tid {
		t.Errorf("the next context got host thread %d, want a pooled one (%d or %d)", c.tid, tid, filled.tid)
	}
	a.Release()
	c.Release()
}

// bound returns a context bound to as, released when the test ends.
func bound(t *testing.T, p *Platform, as *addressSpace) *context {
	t.Helper()
	c := p.NewContext().(*context)
	if err := c.bind(as); err != nil {
		t.Fatalf("bind: %v", err)
	}
	t.Cleanup(c.Release)
	return c
}

// TestPoolForgedFrame: application code rewrites a pooled thread's frame
// pointer before any context takes the thread. Taking it must kill the
// stub process (the liar) and fail, not hand the sentry a frame outside
// the slot.
func TestPoolForgedFrame(t *testing.T) {
	p, as := poolPlatform(t)
	bound(t, p, as)
	bound(t, p, as)
	th := pooled(t, as)
	as.sh.Msg(th.slot).Ucontext = uint64(sysmsg.SlotAddr(th.slot + 1)) // another slot's stack
	c := p.NewContext().(*context)
	var err error
	for { // the pool may hold a recycled thread first; take until the forged one
		if err = c.bind(as); err != nil || c.slot == th.slot {
			break
		}
		defer c.Release()
		c = p.NewContext().(*context)
	}
	if !errors.Is(err, platform.ErrContextDead) {
		t.Fatalf("bind of the forged pooled thread: %v, want ErrContextDead", err)
	}
	if !as.dead.Load() {
		t.Error("the stub that forged its pooled thread's frame is still alive")
	}
}

func poolPlatform(t *testing.T) (*Platform, *addressSpace) {
	t.Helper()
	pp, err := New()
	if err != nil {
		t.Fatal(err)
	}
	p := pp.(*Platform)
	t.Cleanup(func() { p.Close() })
	pas, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pas.Release)
	return p, pas.(*addressSpace)
}

// TestIdleLends: a context whose task waits lends its stopped thread to the
// pool, the next context to bind takes it, and the idle context binds to
// another thread when it runs again. A process that has had a single
// thread keeps it.
func TestIdleLends(t *testing.T) {
	p, as := poolPlatform(t)
	a := bound(t, p, as)
	a.Idle()
	if a.Bound() != as {
		t.Fatal("the only context of an address space lent its thread")
	}
	b := bound(t, p, as)
	pooled(t, as) // the fill b's bind began: a thread it pools after a's would be taken first
	tid := a.tid
	a.Idle()
	if a.Bound() != nil {
		t.Fatal("an idle context of a threaded address space kept its thread")
	}
	c := bound(t, p, as)
	if c.tid != tid {
		t.Errorf("the next context got host thread %d, want the idle context's %d", c.tid, tid)
	}
	if err := a.Rebind(as); err != nil {
		t.Fatalf("the idle context binding again: %v", err)
	}
	if a.tid == tid || a.tid == b.tid || a.tid == c.tid {
		t.Errorf("the idle context bound to host thread %d, which another context holds", a.tid)
	}
}

// TestIdleHolds: a context whose task waits and whose thread stays bound
// (its process's only thread) tells the thread to sleep rather than spin:
// with the longest spin there is (2^32 time-stamp counter ticks, over a
// second at a few GHz), the stopped thread is asleep long before that
// spin could have ended.
func TestIdleHolds(t *testing.T) {
	p, as := poolPlatform(t)
	atomic.StoreUint32(&as.sh.Control().SpinLimit, 1<<32-1)
	spin := time.Duration((1<<32-1)/sysmsg.TicksPerMicrosecond()) * time.Microsecond
	expectHold(t, bound(t, p, as), spin)
}

// expectHold checks that c's stopped thread, told to spin for spin, spins
// until c goes idle, and sleeps long before that spin could have ended.
func expectHold(t *testing.T, c *context, spin time.Duration) {
	t.Helper()
	m := c.as.sh.Msg(c.slot)
	// As if the sentry had taken the event on another CPU: a thread that
	// finds the sentry took it on the thread's own CPU sleeps at once
	// (sysmsg/cpu.go), whatever its spin. It may have found so already,
	// when the host ran it on this goroutine's CPU (a busy machine):
	// then the premise does not hold, and sleeping is right.
	took := atomic.SwapUint32(&m.SentryCPU, sysmsg.CPUNone)
	time.Sleep(spin / 20)
	if atomic.LoadUint32(&m.StubWaiting) != 0 {
		stub := atomic.LoadUint32(&m.StubCPU)
		if took != sysmsg.CPUNone && took == stub {
			t.Skipf("the host ran the stopped thread on the test's CPU (%d): it slept at once, as it should", stub)
		}
		t.Fatalf("the stopped thread sleeps before Idle, though told to spin for %v (it published on CPU %#x, the test took the event on %#x)", spin, stub, took)
	}
	start := time.Now()
	c.Idle()
	for atomic.LoadUint32(&m.StubWaiting) == 0 {
		if time.Since(start) > spin/2 {
			t.Fatalf("the stopped thread still spins %v after its task went idle", spin/2)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestIdleHoldsPatched: as TestIdleHolds, for a thread stopped through a
// patched syscall site, which waits in the patch entry's spin rather than
// in the signal handler's.
func TestIdleHoldsPatched(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("stubs never spin on one CPU")
	}
	p, as := poolPlatform(t)
	p.stubSpinTicks = 1<<32 - 1
	spin := time.Duration((1<<32-1)/sysmsg.TicksPerMicrosecond()) * time.Microsecond
	const code, stack = 0x10000000, 0x20000000
	loop := []byte{0xb8, unix.SYS_GETPID, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7} // mov $SYS_getpid,%eax; syscall; jmp back
	for _, addr := range []uintptr{code, stack} {
		if _, err := as.Mmap(addr, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, nil, 0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := as.WriteAt(loop, code); err != nil {
		t.Fatal(err)
	}
	if err := as.Mprotect(code, pageSize, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		t.Fatal(err)
	}
	c := p.NewContext().(*context)
	t.Cleanup(c.Release)
	regs := platform.Registers{Rip: code, Rsp: stack + pageSize - 64, Cs: platform.UserCS, Ss: platform.UserSS, Eflags: 0x202}
	fp := platform.NewFPState()
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("the syscall site was not patched after 100 traps")
		}
		ev, err := c.Switch(as, &regs, fp)
		if err != nil || ev.Kind != platform.EventSyscall {
			t.Fatalf("Switch %d: %v, %v; want a syscall", i, ev, err)
		}
		if uintptr(as.sh.Msg(c.slot).Ucontext) == sysmsg.PatchUcontext(c.slot) {
			break
		}
	}
	expectHold(t, c, spin)
}
