package sysmsg

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// SpinPolicy decides whether waiters spin before they sleep, from the CPUs
// actually free rather than from the CPU count alone. One is shared by
// every waiter of a platform: contention for the host's CPUs is global.
//
// Spinning pays only while the thread waited for is on another CPU. When
// other processes keep every CPU busy, a spinning waiter holds a CPU that
// the thread it waits for needs, and the host scheduler, which sees
// threads that never sleep, gives the sentry and the stub thread their
// fair share and no more: round trips then go at the pace of time slices.
// A thread that sleeps at once is instead woken ahead of the busy loops
// (it is owed CPU time), so under load sleeping is the faster hand-off: on
// the 2-core VM, busy with other work (load average about 10) and two busy
// loops, a getppid round trip took 80us with spinning and 39us without
// (gVisor: 46us); idle, it takes 6.6us spinning and 28us without.
//
// No cheap signal says which case holds: the sentry may not read host
// files (/proc/loadavg, schedstat), the load average lags by a minute and
// counts the sandbox's own spinning threads, and counting spins that
// failed says nothing (while two busy loops share the CPUs with a spinning
// sentry and stub, most round trips still succeed within a spin, in the
// moments both are on a CPU; the time is lost in the rest, mostly by the
// stub, whose preemption the sentry does not see). So the policy measures
// what it wants to improve, as gVisor's systrap does: the time from
// handing a thread back to its stub to its next event (Record, from
// Switch), as a median per period of at least periodSamples waits and
// periodLen. It keeps the mode it chose (spinning or not) for a number of
// periods, then tries the other mode for one period, and switches only if
// that period's median was lower by more than margin. A trial that loses
// doubles the time to the next one (up to maxExploit periods), so a
// steady machine pays a trial rarely; a switch resets it.
//
// The medians include the application's own time between events, so a
// workload that changes its pace at a trial can mislead one decision; the
// next trial corrects it. (An adaptive spin that was halved after every
// wait that had to sleep was tried before and made round trips three
// times slower under load; a detector of preempted sentry spins, by their
// wall time, fired too rarely to matter: the sentry sleeps while the stub
// is preempted.)
type SpinPolicy struct {
	// now returns monotonic nanoseconds; tests replace it.
	now func() int64

	// maxSpin is SentrySpin in ticks.
	maxSpin uint32

	// spinning is the mode in force: whether waiters spin.
	spinning atomic.Bool

	// The current period: when it began, how many waits it counted and
	// their times, in histBuckets logarithmic buckets.
	periodStart atomic.Int64
	samples     atomic.Uint32
	hist        [histBuckets]atomic.Uint32

	mu       sync.Mutex // guards the controller state below; the waiter that ends a period takes it
	chosen   bool       // the mode the controller settled on
	trying   bool       // the period under way tries !chosen
	last     int        // median bucket of the last period in the chosen mode (-1: none yet)
	left     int        // periods in the chosen mode before the next trial
	interval int        // periods between trials

	// Switches counts changes of the chosen mode (for tests and stats).
	Switches atomic.Uint64
}

const (
	// periodSamples and periodLen bound a period from below: enough
	// waits for a median, and longer than the host's scheduling noise.
	periodSamples = 64
	periodLen     = int64(2 * time.Millisecond)
	// minExploit and maxExploit bound the periods between trials.
	minExploit = 8
	maxExploit = 256
	// subBuckets per power of two: a bucket is about 9% wide.
	subBits     = 3
	histBuckets = 64 << subBits
	// margin is how many buckets lower (about 19%) a trial's median must
	// be to switch modes: less is noise.
	margin = 2
)

var epoch = time.Now()

// monotonic is nanoseconds on the monotonic clock (one vDSO call).
func monotonic() int64 { return int64(time.Since(epoch)) }

// NewSpinPolicy returns a policy that starts out spinning.
func NewSpinPolicy() *SpinPolicy {
	p := &SpinPolicy{now: monotonic, maxSpin: Ticks(SentrySpin), chosen: true, last: -1, left: minExploit, interval: minExploit}
	p.spinning.Store(true)
	p.periodStart.Store(p.now())
	return p
}

// Limit is how long, in time-stamp counter ticks (Ticks), a waiter polls a
// state word before it sleeps,
// given busy, the number of threads that are waiting or running: zero on a
// single CPU, where spinning only delays the other side, when more threads
// are waiting or running than there are CPUs, and while the policy finds
// sleeping at once faster; else SentrySpin.
func (p *SpinPolicy) Limit(busy int) uint32 {
	n := runtime.NumCPU()
	if n < 2 || busy >= n || !p.spinning.Load() {
		return 0
	}
	return p.maxSpin
}

// Spinning reports the mode in force.
func (p *SpinPolicy) Spinning() bool { return p.spinning.Load() }

// Now is the policy's clock, for Record.
func (p *SpinPolicy) Now() int64 { return p.now() }

// Record counts one wait for an application thread's event that began at
// start (from Now) and ended now.
func (p *SpinPolicy) Record(start int64) {
	now := p.now()
	p.hist[bucket(now-start)].Add(1)
	if p.samples.Add(1) < periodSamples || now-p.periodStart.Load() < periodLen {
		return
	}
	if p.mu.TryLock() { // another waiter is ending the period
		p.endPeriod(now)
		p.mu.Unlock()
	}
}

// endPeriod takes the period's median and decides the next mode.
func (p *SpinPolicy) endPeriod(now int64) {
	if p.samples.Load() < periodSamples { // ended by another waiter
		return
	}
	med := p.median()
	for i := range p.hist {
		p.hist[i].Store(0)
	}
	p.samples.Store(0)
	p.periodStart.Store(now)
	if !p.trying {
		p.last = med
		if p.left--; p.left <= 0 {
			p.trying = true
			p.spinning.Store(!p.chosen)
		}
		return
	}
	p.trying = false
	if p.last < 0 || med+margin <= p.last {
		p.chosen = !p.chosen
		p.interval = minExploit
		p.Switches.Add(1)
	} else {
		p.interval = min(2*p.interval, maxExploit)
	}
	p.left = p.interval
	p.spinning.Store(p.chosen)
}

// median is the bucket holding the period's median wait.
func (p *SpinPolicy) median() int {
	var total uint32
	var counts [histBuckets]uint32
	for i := range p.hist {
		counts[i] = p.hist[i].Load()
		total += counts[i]
	}
	var seen uint32
	for i, c := range counts {
		if seen += c; 2*seen >= total {
			return i
		}
	}
	return histBuckets - 1
}

// bucket is the histogram bucket of d nanoseconds: its power of two and
// the subBits bits below the leading one.
func bucket(d int64) int {
	if d <= 0 {
		return 0
	}
	u := uint64(d)
	n := bits.Len64(u) - 1
	if n < subBits {
		return int(u)
	}
	return n<<subBits | int(u>>(n-subBits))&(1<<subBits-1)
}
