package sysmsg

import (
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The structures live in s.ro and s.rw, MAP_SHARED mappings that stay valid
// until Close; callers must not use the returned pointers after that. All fields
// are naturally aligned (the region is page aligned and the offsets match
// c/sysmsg.h), so the atomic operations below are valid.

// Control returns the control page.
func (s *Shared) Control() *Control {
	return (*Control)(unsafe.Pointer(&s.ro[0]))
}

// Response returns the syscall thread's response.
func (s *Shared) Response() *Response {
	return (*Response)(unsafe.Pointer(&s.rw[0]))
}

// Msg returns thread slot i's message.
func (s *Shared) Msg(i int) *Msg {
	return (*Msg)(unsafe.Pointer(&s.rw[ThreadsOffset+i*SlotSize]))
}

// PatchTable returns the trap table, which stubs map read+exec at
// PatchTable.
func (s *Shared) PatchTable() []byte {
	return s.ro[PatchTableOffset : PatchTableOffset+PatchTableSize]
}

func (s *Shared) setup(i int) *ThreadSetup {
	return (*ThreadSetup)(unsafe.Pointer(&s.ro[SetupOffset+i*SetupSize]))
}

func futexWait(addr *uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(d.Nanoseconds())
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexOpWait, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// Wake wakes every sleeper on addr, in this process or a stub.
func Wake(addr *uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), futexOpWake, 1<<30, 0, 0, 0)
}

// Hold tells the stopped thread that the sentry's answer will be long
// (its task is about to wait): it stops spinning and sleeps, and gives its
// CPU to the threads that will end the wait.
func (m *Msg) Hold() { atomic.StoreUint32(&m.Sleep, 1) }

// Resume hands the thread back to the stub.
func (m *Msg) Resume() {
	if atomic.LoadUint32(&m.Sleep) != 0 {
		atomic.StoreUint32(&m.Sleep, 0)
	}
	atomic.StoreUint32(&m.State, StateResume)
	if atomic.LoadUint32(&m.StubWaiting) != 0 {
		Wake(&m.State)
	}
}

// Exit asks the stub thread to exit.
func (m *Msg) Exit() {
	atomic.StoreUint32(&m.State, StateExit)
	Wake(&m.State)
}

// WaitDead waits, asleep, until the thread told to Exit is gone: the kernel
// then writes StateDead and wakes the word (CLONE_CHILD_CLEARTID). It
// returns false early if stop says to give up.
func (m *Msg) WaitDead(stop func() bool) bool {
	for {
		s := atomic.LoadUint32(&m.State)
		if s == StateDead {
			return true
		}
		if stop() {
			return false
		}
		futexWait(&m.State, s, sleepLimit)
	}
}

// LoadState reads the state word.
func (m *Msg) LoadState() uint32 { return atomic.LoadUint32(&m.State) }

// WaitEvent waits while the state is StateResume and returns the state it
// changed to, and whether it changed while spinning. It spins spin
// time-stamp counter ticks (Ticks), then sleeps; after every sleep it
// returns early, with StateResume, if stop says so.
func (m *Msg) WaitEvent(spin uint32, stop func() bool) (state uint32, spun bool) {
	state, spun = waitWhile(&m.State, &m.SentryWaiting, StateResume, spin, stop)
	if state != StateResume {
		m.took()
	}
	return state, spun
}

// WaitResponse waits until the syscall thread has answered request seq,
// spinning spin ticks first. It returns false if stop said to give up.
func (s *Shared) WaitResponse(seq, spin uint32, stop func() bool) bool {
	r := s.Response()
	if spinUntil(spin, func() bool { return atomic.LoadUint32(&r.Seq) == seq }) {
		return true
	}
	yieldProcessor()
	// stop costs a host syscall: ask it only between sleeps, never while
	// spinning.
	for {
		cur := atomic.LoadUint32(&r.Seq)
		if cur == seq {
			return true
		}
		if stop() {
			return false
		}
		futexWait(&r.Seq, cur, sleepLimit)
	}
}

// Answered reports whether the response holds the answer to request seq.
func (s *Shared) Answered(seq uint32) bool {
	return atomic.LoadUint32(&s.Response().Seq) == seq
}

// PostBatch publishes request seq (never 0), a batch of calls (at most
// MaxBatch) with nfds descriptors, which the caller sends first.
func (s *Shared) PostBatch(seq uint32, calls []Call, nfds int) {
	c := s.Control()
	atomic.StoreUint32(&c.Seq, 0)
	copy(unsafe.Slice((*Call)(unsafe.Pointer(&s.ro[ControlBatch])), MaxBatch), calls)
	c.Kind, c.Sysno, c.Args = ReqBatch, 0, [6]uint64{uint64(len(calls)), uint64(nfds)}
	atomic.StoreUint32(&c.Seq, seq)
	Wake(&c.Seq)
}

// Post publishes request seq (never 0). Seq is 0 while the request is
// written, so the syscall thread, which checks Seq again after reading the
// request, never runs a request that was being overwritten.
func (s *Shared) Post(seq, kind uint32, sysno uint64, args [6]uint64) {
	s.PostAhead(seq, kind, sysno, args)
	Wake(&s.Control().Seq)
}

// PostAhead is Post for a syscall thread that has not started serving:
// it finds the request when it starts (a forked stub's first, seq 1,
// waits for no wake-up).
func (s *Shared) PostAhead(seq, kind uint32, sysno uint64, args [6]uint64) {
	c := s.Control()
	atomic.StoreUint32(&c.Seq, 0)
	c.Kind, c.Sysno, c.Args = kind, sysno, args
	atomic.StoreUint32(&c.Seq, seq)
}

// NextSeq is the sequence number after seq: never 0.
func NextSeq(seq uint32) uint32 {
	if seq++; seq == 0 {
		seq++
	}
	return seq
}

// spinUntil polls done for up to ticks time-stamp counter ticks and reports
// whether it became true. The counter is read once per pollBatch polls: a
// poll is under a nanosecond, a counter read tens.
func spinUntil(ticks uint32, done func() bool) bool {
	if ticks == 0 {
		return false
	}
	start := rdtsc()
	for {
		for range pollBatch {
			if done() {
				return true
			}
		}
		// Unsigned: a counter that went backwards ends the spin.
		if rdtsc()-start >= uint64(ticks) {
			return false
		}
	}
}

const pollBatch = 64

// yieldProcessor lets the goroutines ready on this goroutine's Go
// processor (P) run before it sleeps in a host futex. The task a hand-off
// just made runnable (a pipe's reader, a futex waiter, a new thread's task)
// is usually queued on this P, and while this thread sleeps in the host
// the P is held by the syscall: the goroutine waits until the runtime wakes
// another host thread to take it (a wake-up of an idle vCPU, tens of
// microseconds on the 2-core VM) or sysmon retakes the P. Yielding first
// runs it on this thread at once. With nothing ready it costs a pass
// through the scheduler, far less than the sleep that follows. In
// alternating runs against sleeping at once (5 each): thread create
// 197us against 359us, futex ping-pong the same, pipe ping-pong 183us
// against 193us, the TCP round trip 219us against 233us, the bash loop
// 1.49s against 1.65s.
func yieldProcessor() { runtime.Gosched() }

func waitWhile(word, waiting *uint32, val, spin uint32, stop func() bool) (uint32, bool) {
	var s uint32
	if spinUntil(spin, func() bool { s = atomic.LoadUint32(word); return s != val }) {
		return s, true
	}
	yieldProcessor()
	for {
		atomic.StoreUint32(waiting, 1)
		if s := atomic.LoadUint32(word); s != val {
			atomic.StoreUint32(waiting, 0)
			return s, false
		}
		futexWait(word, val, sleepLimit)
		atomic.StoreUint32(waiting, 0)
		if s := atomic.LoadUint32(word); s != val {
			return s, false
		}
		if stop() {
			return val, false
		}
	}
}

// Shared (not FUTEX_PRIVATE) operations: the words are in a memfd mapped by
// two processes, and only shared futexes match across them.
const (
	futexOpWait = 0
	futexOpWake = 1
)
