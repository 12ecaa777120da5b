package ptrace

import (
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// How long the two sides of a hand-off poll before they block. Every
// trapped syscall passes two notices between a task goroutine and a tracer:
// a job, then its completion. Blocking on both costs a futex wake-up and a
// sleep each way, more than the ptrace stop itself, so both poll first, for
// about as long as the other side usually takes and no longer: a polling
// thread holds a CPU that stubs and the sentry may need (on 2 CPUs, a bash
// loop of 100 fork+exec took 1.3s with 50us on both sides, 0.9s without
// polling, and 0.9 to 1.0s with these).
const (
	// pollJob is how long a tracer polls for its next job: the sentry
	// answers most syscalls within 2us.
	pollJob = 10 * time.Microsecond
	// pollDone is how long a caller polls for its job to be done: a round
	// trip through the stub thread takes 10 to 15us on a 2-CPU VM.
	pollDone = 50 * time.Microsecond
)

// A pair, a tracer and the goroutine its job came from, polls only while
// it holds a spin slot: one side polls while the other works, so a pair
// keeps two CPUs busy, and polling when there are no CPUs left only
// delays the side it waits for. With fewer than two CPUs nobody polls.
var (
	spinSlots = int32(runtime.NumCPU() / 2)
	spinUsed  atomic.Int32
)

// spinSlot is a pair's claim on one of the spin slots.
type spinSlot struct{ held atomic.Bool }

// get claims a slot if the pair holds none and one is free, and reports
// whether the pair holds one.
func (s *spinSlot) get() bool {
	if s.held.Load() {
		return true
	}
	if spinUsed.Add(1) > spinSlots {
		spinUsed.Add(-1)
		return false
	}
	if s.held.Swap(true) {
		spinUsed.Add(-1) // the other side got one first
	}
	return true
}

// put gives the pair's slot back, if it has one.
func (s *spinSlot) put() {
	if s.held.Swap(false) {
		spinUsed.Add(-1)
	}
}

// notice is a counter that one goroutine bumps and one other waits on.
type notice struct {
	seq      atomic.Uint64
	sleeping atomic.Bool   // the waiter is, or is about to be, blocked on wake
	wake     chan struct{} // buffered: a token for a sleeping waiter
}

func newNotice() notice { return notice{wake: make(chan struct{}, 1)} }

// notify bumps the counter and wakes the waiter if it sleeps. Everything
// written before notify is seen by the waiter once wait returns.
func (n *notice) notify() {
	n.seq.Add(1)
	if n.sleeping.Load() {
		select {
		case n.wake <- struct{}{}:
		default: // a token is already there
		}
	}
}

// wait returns the counter once it differs from seen. It polls for up to
// poll first; it reports whether polling (if any) failed.
//
// Either the waiter's check after it sets sleeping sees the new count, or
// notify sees sleeping and sends a token: a wake-up is never lost. A token
// that arrives after the waiter has seen the count is left over and only
// makes a later wait check once more.
func (n *notice) wait(seen uint64, poll time.Duration) (uint64, bool) {
	return n.waitWatched(seen, poll, nil)
}

// stallCheck is how often a waiter that blocks calls its stalled function
// (waitWatched).
const stallCheck = 100 * time.Millisecond

// waitWatched is wait that, unless stalled is nil, calls stalled every
// stallCheck while it is blocked.
func (n *notice) waitWatched(seen uint64, poll time.Duration, stalled func()) (uint64, bool) {
	if poll > 0 {
		if s, ok := n.poll(seen, poll); ok {
			return s, false
		}
	}
	var tick <-chan time.Time
	for {
		n.sleeping.Store(true)
		if s := n.seq.Load(); s != seen {
			n.sleeping.Store(false)
			return s, poll > 0
		}
		if stalled != nil && tick == nil {
			ticker := time.NewTicker(stallCheck)
			defer ticker.Stop()
			tick = ticker.C
		}
		select {
		case <-n.wake:
		case <-tick:
			stalled()
		}
		n.sleeping.Store(false)
	}
}

// poll polls the counter for up to d until it differs from seen.
// Now and then it lets another thread have the CPU (sched_yield): the one
// it waits for may be queued behind it. It never parks the goroutine
// (runtime.Gosched): a tracer's goroutine is locked to its thread, and
// the Go scheduler would put both to sleep and wake them with futexes.
func (n *notice) poll(seen uint64, d time.Duration) (uint64, bool) {
	deadline := time.Now().Add(d)
	for i := 1; ; i++ {
		if s := n.seq.Load(); s != seen {
			return s, true
		}
		if i%64 == 0 && time.Now().After(deadline) {
			return 0, false
		}
		if i%1024 == 0 {
			unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
	}
}
