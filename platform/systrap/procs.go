package systrap

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// How many Go processors (GOMAXPROCS) the sentry runs on, chosen while it
// runs, as sysmsg.SpinPolicy chooses whether to spin.
//
// With one processor a hand-off between two tasks (a pipe's writer waking
// its reader, a futex wake, a new thread's first run) is a switch between
// goroutines on one host thread. With several, the Go runtime also wakes
// an idle host thread for the goroutine the hand-off readied, which takes
// it to another CPU; on the 2-core VM each such wake-up is tens of
// microseconds. In alternating runs there, idle, one processor against
// two: pipe ping-pong 118us against 179us a round trip, the TCP round
// trip 120us against 241us, HTTP 369us against 683us a request, thread
// create 182us against 253us, futex ping-pong 47us against 58us. But the
// work around exec (reaping the old stub process, starting the next spare
// one) runs beside the task only with a second processor: fork+exec took
// 12.8ms against 11.0ms, the bash loop 1.62s against 1.51s; and with two
// busy loops on the CPUs, a sentry thread that a busy loop preempts holds
// the only processor (the bash loop 3.97s against 3.47s).
//
// No rule says beforehand which a workload needs, so the policy measures
// what it wants to improve: the rate of application events (the stops
// Switch returns: syscalls, faults, signals) per period of procsPeriod.
// It keeps the count it chose for some periods, then tries the other for
// one period, and switches when that period's rate beat the mean of the
// last periods by procsMargin. A trial that loses doubles the time to the
// next (up to procsMaxExploit periods); a switch resets it. A period
// longer than procsIdle had an idle gap (the application computing or
// asleep) and is not compared. Changing GOMAXPROCS stops the world for a
// moment, at most twice per trial.
//
// A GOMAXPROCS the user set in the environment is kept: the policy is then
// off. So it is on one CPU, and on ptrace, whose tasks each hold a host
// thread of their own.
type procsPolicy struct {
	now  func() int64 // monotonic nanoseconds; tests replace it
	set  func(int)    // sets GOMAXPROCS; tests replace it
	most int          // the processors the sentry started with

	events      atomic.Uint32 // events in the period under way
	periodStart atomic.Int64

	mu       sync.Mutex // guards the controller state below; the recorder that ends a period takes it
	chosen   int        // the count the policy settled on
	trying   bool       // the period under way tries the other count
	recent   [procsHistory]float64
	nrecent  int // rates in recent (the last ones of the chosen count)
	left     int // periods before the next trial
	interval int // periods between trials
	switches int // changes of the chosen count (for tests)
}

const (
	procsPeriod = int64(10 * time.Millisecond)
	procsIdle   = 10 * procsPeriod
	// procsCheck is how many events pass between two reads of the clock.
	procsCheck      = 32
	procsHistory    = 3
	procsMargin     = 1.10
	procsMinExploit = 4
	procsMaxExploit = 128
)

// newProcsPolicy returns the policy for this sentry, or nil when it is off
// (GOMAXPROCS set by the user, or a single processor).
func newProcsPolicy() *procsPolicy {
	if _, set := os.LookupEnv("GOMAXPROCS"); set {
		return nil
	}
	most := runtime.GOMAXPROCS(0)
	if most < 2 {
		return nil
	}
	p := &procsPolicy{now: monotonicNow, set: func(n int) { runtime.GOMAXPROCS(n) }, most: most, chosen: most, left: procsMinExploit, interval: procsMinExploit}
	p.periodStart.Store(p.now())
	return p
}

var procsEpoch = time.Now()

func monotonicNow() int64 { return int64(time.Since(procsEpoch)) }

// other is the count the policy does not use now: one processor or all.
func (p *procsPolicy) other() int {
	if p.chosen == 1 {
		return p.most
	}
	return 1
}

// Record counts one event; nil records nothing.
func (p *procsPolicy) Record() {
	if p == nil || p.events.Add(1)%procsCheck != 0 {
		return
	}
	now := p.now()
	if now-p.periodStart.Load() < procsPeriod {
		return
	}
	if p.mu.TryLock() { // another recorder is ending the period
		p.endPeriod(now)
		p.mu.Unlock()
	}
}

// endPeriod takes the period's rate and decides the next count; mu is
// held.
func (p *procsPolicy) endPeriod(now int64) {
	start := p.periodStart.Load()
	if now-start < procsPeriod { // ended by another recorder
		return
	}
	n := p.events.Swap(0)
	p.periodStart.Store(now)
	if now-start > procsIdle {
		if p.trying { // no verdict: back to the chosen count
			p.trying = false
			p.left = p.interval
			p.set(p.chosen)
		}
		return
	}
	rate := float64(n) / float64(now-start)
	if !p.trying {
		p.recent[p.nrecent%procsHistory] = rate
		p.nrecent++
		if p.left--; p.left <= 0 {
			p.trying = true
			p.set(p.other())
		}
		return
	}
	p.trying = false
	var sum float64
	k := min(p.nrecent, procsHistory)
	for _, r := range p.recent[:k] {
		sum += r
	}
	if k > 0 && rate > sum/float64(k)*procsMargin {
		p.chosen = p.other()
		p.nrecent = 0
		p.interval = procsMinExploit
		p.switches++
	} else {
		p.interval = min(2*p.interval, procsMaxExploit)
	}
	p.left = p.interval
	p.set(p.chosen)
}
