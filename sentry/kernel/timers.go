package kernel

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
)

// IntervalTimer is a timer that sends a signal when it expires, and again
// every Interval if that is not zero: ITIMER_REAL (SIGALRM) and POSIX
// timers (timer_create with SIGEV_SIGNAL or SIGEV_THREAD_ID) on wall
// clocks, and ITIMER_VIRTUAL, ITIMER_PROF and POSIX timers on CPU-time
// clocks (NewCPUTimer).
//
// An ITIMER_* timer re-arms itself at expiry (Linux's it_real_fn and
// check_cpu_itimer). A POSIX timer does not (posix_timer_fn): its signal,
// Linux's sigqueue preallocated at timer_create, is queued once, and the
// timer is re-armed when that signal is delivered (dequeue_signal's
// posixtimer_rearm), to the next multiple of the interval after that
// moment; the intervals missed are its overrun (si_overrun,
// timer_getoverrun). So a timer with a 1 ns interval whose signal stays
// blocked costs nothing while it waits, however short its interval.
type IntervalTimer struct {
	// mu guards the timer's state; fire, set once, runs without it.
	mu sync.Mutex
	// timer is a wall-clock timer's armed time.AfterFunc.
	timer *time.Timer // guarded by mu
	// active says the timer has a deadline: it is armed, waiting for its
	// signal's delivery, or a SIGEV_NONE timer that was set.
	active bool // guarded by mu
	// deadline is the next expiry (or, while waiting, the last one) on
	// the timer's clock, now().
	deadline time.Duration // guarded by mu
	interval time.Duration // guarded by mu
	// gen counts armings: the expiry of an older one (a time.AfterFunc
	// already running when Set stopped it, a CPU poller) does nothing.
	gen  uint64 // guarded by mu
	fire func()
	// Clock is the clock timer_settime's absolute times are on (a POSIX
	// timer's; set once, before the timer is shared).
	Clock int32

	// cpu, for a timer on a CPU-time clock, reads that clock (taking
	// kernel locks: never under mu); nil for wall clocks. Set once.
	cpu func() time.Duration
	// posix is a timer_create timer's state; nil for ITIMER_*. Set once.
	posix *posixTimer
}

// posixTimer is what a timer_create timer has more than an ITIMER_* one.
type posixTimer struct {
	// send queues the timer's signal (sendTimerSignal); false if the
	// signal is ignored. Set once.
	send func(it *IntervalTimer) bool
	// none is SIGEV_NONE: never armed, only read. Set once.
	none bool
	// charge is the RLIMIT_SIGPENDING count the timer's signal is
	// charged to from timer_create to timer_delete. Set once.
	charge *userSigCount

	// waiting: the timer expired with an interval and its signal is
	// queued; it is re-armed when the signal is delivered.
	waiting bool // guarded by IntervalTimer.mu
	// overrun is Linux's it_overrun (-1 after a re-arm: the expiry
	// delivered is no overrun), overrunLast its it_overrun_last, which
	// timer_getoverrun reports.
	overrun, overrunLast int64 // guarded by IntervalTimer.mu

	// queued says the timer's signal is in a pending set, and siOverrun
	// counts the expiries while it was (send_sigqueue's si_overrun++).
	// Guarded by the lock of that pending set: a timer's signal always
	// goes to the same one.
	queued    bool
	siOverrun int64

	// gone is set when the timer is deleted, before any flush of its
	// signal: an expiry already under way then queues nothing (Linux's
	// timer_delete waits for a running expiry, hrtimer_cancel).
	gone atomic.Bool
}

// timerEpoch is what wall-clock timers measure their deadlines from
// (monotonic).
var timerEpoch = time.Now()

// ignoredRearmMin is how far ahead Linux re-arms an interval timer whose
// signal is ignored, when its interval is shorter (posix_timer_fn: a
// jiffy, at HZ=250), so that such a timer does not spin.
const ignoredRearmMin = 4 * time.Millisecond

// NewIntervalTimer returns a disarmed timer that calls fire on expiry.
func NewIntervalTimer(fire func()) *IntervalTimer { return &IntervalTimer{fire: fire} }

// NewCPUTimer returns a disarmed timer on the CPU-time clock cpu that
// calls fire on expiry. The application runs where the sentry does not
// see it between syscalls, so a goroutine polls the clock while the timer
// is armed, as the RLIMIT_CPU watcher does (cpulimit.go): an expiry is
// noticed within cpuPollMax.
func NewCPUTimer(cpu func() time.Duration, fire func()) *IntervalTimer {
	return &IntervalTimer{fire: fire, cpu: cpu}
}

// NewPosixTimer returns a disarmed timer_create timer of the process, on
// the CPU-time clock cpu (nil: a wall clock), that calls send on expiry
// (unless none, SIGEV_NONE); send returns false if the signal was
// ignored. Its signal is charged to RLIMIT_SIGPENDING now, as Linux
// preallocates it: EAGAIN past the limit.
func (tg *ThreadGroup) NewPosixTimer(cpu func() time.Duration, none bool, send func(it *IntervalTimer) bool) (*IntervalTimer, error) {
	charge, ok := tg.sigQuota().charge(false)
	if !ok {
		return nil, unix.EAGAIN
	}
	return &IntervalTimer{cpu: cpu, posix: &posixTimer{send: send, none: none, charge: charge, overrun: -1}}, nil
}

// now reads the timer's clock; never under mu (a CPU clock takes kernel
// locks).
func (it *IntervalTimer) now() time.Duration {
	if it.cpu != nil {
		return it.cpu()
	}
	return time.Since(timerEpoch)
}

// Set arms the timer to expire after value (0 disarms) and then every
// interval, and returns the previous remaining time and interval.
func (it *IntervalTimer) Set(value, interval time.Duration) (time.Duration, time.Duration) {
	return it.Arm(value > 0, value, interval)
}

// Arm is Set with an expiry that may be past already (value <= 0, from
// an absolute time): arm says whether the timer is armed at all.
func (it *IntervalTimer) Arm(arm bool, value, interval time.Duration) (time.Duration, time.Duration) {
	now := it.now()
	it.mu.Lock()
	defer it.mu.Unlock()
	oldValue, oldInterval := it.remainingLocked(now), it.interval
	it.disarmLocked()
	it.interval = interval
	if p := it.posix; p != nil {
		p.waiting, p.overrun, p.overrunLast = false, -1, 0
	}
	if arm {
		it.deadline = now + value
		it.armLocked(now)
	}
	return oldValue, oldInterval
}

// disarmLocked stops the timer.
func (it *IntervalTimer) disarmLocked() {
	it.gen++
	it.active = false
	if it.timer != nil {
		it.timer.Stop()
		it.timer = nil
	}
}

// armLocked starts the timer towards deadline; now is the clock's reading.
func (it *IntervalTimer) armLocked(now time.Duration) {
	it.gen++
	it.active = true
	if it.posix != nil && it.posix.none {
		return
	}
	gen := it.gen
	if it.cpu != nil {
		go it.pollCPU(gen)
		return
	}
	it.timer = time.AfterFunc(clocks.HostWait(it.deadline-now), func() { it.expire(gen) })
}

// forwardLocked moves the deadline by whole intervals past now, as
// hrtimer_forward does, and returns how many (0 if it is past now
// already). The interval is not zero.
func (it *IntervalTimer) forwardLocked(now time.Duration) int64 {
	if it.deadline > now {
		return 0
	}
	n := int64((now-it.deadline)/it.interval) + 1
	it.deadline += time.Duration(n) * it.interval
	return n
}

// expire is a wall-clock timer's expiry.
func (it *IntervalTimer) expire(gen uint64) {
	now := it.now()
	it.mu.Lock()
	if it.gen != gen {
		it.mu.Unlock()
		return
	}
	it.timer = nil
	it.expiredLocked(now)
	it.mu.Unlock()
	it.fireExpired(gen)
}

// pollCPU fires a CPU-time timer when its clock reaches the deadline, as
// long as the timer keeps the arming it was started for.
func (it *IntervalTimer) pollCPU(gen uint64) {
	wait := time.Duration(0)
	for {
		time.Sleep(wait)
		now := it.cpu()
		it.mu.Lock()
		if it.gen != gen {
			it.mu.Unlock()
			return
		}
		if now < it.deadline {
			wait = min(max(it.deadline-now, cpuPollMin), cpuPollMax)
			it.mu.Unlock()
			continue
		}
		it.expiredLocked(now)
		it.mu.Unlock()
		it.fireExpired(gen)
		return
	}
}

// expiredLocked updates the state of a timer that expired at now: an
// ITIMER_* timer with an interval is re-armed (the expiries missed are
// lost, as Linux's are), a POSIX one waits for its signal's delivery.
func (it *IntervalTimer) expiredLocked(now time.Duration) {
	switch {
	case it.interval == 0:
		it.active = false
	case it.posix != nil:
		it.posix.waiting = true
	default:
		it.forwardLocked(now)
		it.armLocked(now)
	}
}

// fireExpired sends the signal of the expiry of arming gen. A POSIX
// timer whose signal is ignored is re-armed at once, at least
// ignoredRearmMin ahead (posix_timer_fn).
func (it *IntervalTimer) fireExpired(gen uint64) {
	p := it.posix
	if p == nil {
		it.fire()
		return
	}
	if p.send(it) {
		return
	}
	now := it.now()
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.gen != gen || !p.waiting {
		return
	}
	p.waiting = false
	from := now
	if it.interval < ignoredRearmMin {
		from += ignoredRearmMin
	}
	p.overrun += it.forwardLocked(from)
	it.armLocked(now)
}

// delivered re-arms a POSIX timer whose signal si is being delivered
// (posixtimer_rearm), if it waits for that: to the next multiple of the
// interval after now, the intervals missed being its overrun, which si
// reports (capped at INT_MAX, as timer_getoverrun's).
func (it *IntervalTimer) delivered(si *SigInfo) {
	now := it.now()
	it.mu.Lock()
	defer it.mu.Unlock()
	p := it.posix
	if !p.waiting {
		return
	}
	p.waiting = false
	p.overrun += it.forwardLocked(now)
	it.armLocked(now)
	p.overrunLast, p.overrun = p.overrun, -1
	si.SetOverrun(overrunToInt(p.overrunLast + int64(si.Overrun())))
}

// overrunToInt caps an overrun count at INT_MAX (timer_overrun_to_int).
func overrunToInt(n int64) int32 {
	return int32(min(n, math.MaxInt32))
}

// CPUNow reads the CPU-time clock of a timer on one; ok is false for a
// timer on a wall clock.
func (it *IntervalTimer) CPUNow() (now time.Duration, ok bool) {
	if it.cpu == nil {
		return 0, false
	}
	return it.cpu(), true
}

// Get returns the remaining time and the interval.
func (it *IntervalTimer) Get() (time.Duration, time.Duration) {
	now := it.now()
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.remainingLocked(now), it.interval
}

// Overrun returns timer_getoverrun's count: the overrun of the expiry
// last delivered, capped at INT_MAX.
func (it *IntervalTimer) Overrun() int {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.posix == nil {
		return 0
	}
	return int(overrunToInt(it.posix.overrunLast))
}

// remainingLocked is the time left; now is the clock's reading. A POSIX
// timer waiting for its signal's delivery, or a SIGEV_NONE one, is first
// moved to its next expiry after now, as common_timer_get does.
func (it *IntervalTimer) remainingLocked(now time.Duration) time.Duration {
	if !it.active {
		return 0
	}
	p := it.posix
	if p != nil && it.interval > 0 && (p.waiting || p.none) {
		p.overrun += it.forwardLocked(now)
	}
	if left := it.deadline - now; left > 0 {
		return left
	}
	switch {
	case p == nil:
		return time.Microsecond
	case p.none:
		return 0 // a SIGEV_NONE one-shot timer that expired
	}
	return time.Nanosecond
}

// RealTimer returns the process's ITIMER_REAL, which sends SIGALRM.
func (tg *ThreadGroup) RealTimer() *IntervalTimer {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.realTimer == nil {
		tg.realTimer = NewIntervalTimer(func() {
			tg.SendSignal(NewSigInfo(int32(unix.SIGALRM), linux.SI_KERNEL, 0, 0))
		})
	}
	return tg.realTimer
}

// CPUTimer returns the process's ITIMER_VIRTUAL (user time; SIGVTALRM) or
// ITIMER_PROF (user and system time; SIGPROF).
func (tg *ThreadGroup) CPUTimer(which int) *IntervalTimer {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.cpuTimers[which] == nil {
		sig, clock := unix.SIGVTALRM, func() time.Duration { u, _ := tg.CPUTime(); return u }
		if which == unix.ITIMER_PROF {
			sig, clock = unix.SIGPROF, func() time.Duration { u, s := tg.CPUTime(); return u + s }
		}
		tg.cpuTimers[which] = NewCPUTimer(clock, func() {
			tg.SendSignal(NewSigInfo(int32(sig), linux.SI_KERNEL, 0, 0))
		})
	}
	return tg.cpuTimers[which]
}

// PosixTimers are a process's timer_create timers, by ID.
func (tg *ThreadGroup) PosixTimers() *TimerTable {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	if tg.posixTimers == nil {
		tg.posixTimers = &TimerTable{timers: make(map[int]*IntervalTimer)}
	}
	return tg.posixTimers
}

// TimerTable holds timer_create timers.
type TimerTable struct {
	mu     sync.Mutex
	next   int                    // guarded by mu
	timers map[int]*IntervalTimer // guarded by mu
}

// Add stores it and returns its ID.
func (tt *TimerTable) Add(it *IntervalTimer) int {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	id := tt.next
	tt.next++
	tt.timers[id] = it
	return id
}

// Get returns timer id, or nil.
func (tt *TimerTable) Get(id int) *IntervalTimer {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	return tt.timers[id]
}

// Delete disarms and removes timer id.
func (tt *TimerTable) Delete(id int) bool {
	tt.mu.Lock()
	it := tt.timers[id]
	delete(tt.timers, id)
	tt.mu.Unlock()
	if it != nil {
		if it.posix != nil {
			it.posix.gone.Store(true)
		}
		it.Set(0, 0)
		if it.posix != nil {
			// A signal still queued is delivered (Linux frees it then),
			// but no longer charged.
			it.posix.charge.uncharge()
		}
	}
	return it != nil
}

// deleteAll deletes every timer of the table. The next ID is kept, as
// Linux's signal_struct keeps its next_posix_timer_id.
func (tt *TimerTable) deleteAll() {
	tt.mu.Lock()
	ids := make([]int, 0, len(tt.timers))
	for id := range tt.timers {
		ids = append(ids, id)
	}
	tt.mu.Unlock()
	for _, id := range ids {
		tt.Delete(id)
	}
}

// stopTimers disarms every timer of a process that is gone.
func (tg *ThreadGroup) stopTimers() {
	tg.mu.Lock()
	rt, pt, ct := tg.realTimer, tg.posixTimers, tg.cpuTimers
	tg.mu.Unlock()
	for _, it := range append(ct[:], rt) {
		if it != nil {
			it.Set(0, 0)
		}
	}
	if pt != nil {
		pt.deleteAll()
	}
}

// execTimers is what execve does to the timers of t's process, now its
// only thread (begin_new_exec's exit_itimers and flush_itimer_signals):
// the timer_create timers are deleted, and the siginfos queued with
// si_code SI_TIMER, for t and for the process, are dropped. ITIMER_REAL,
// ITIMER_VIRTUAL and ITIMER_PROF live on, as POSIX requires, and so do
// their signals already pending.
func (t *Task) execTimers() {
	tg := t.TG
	tg.mu.Lock()
	pt := tg.posixTimers
	tg.mu.Unlock()
	if pt != nil {
		pt.deleteAll()
	}
	t.sig.mu.Lock()
	t.sig.pending.flushTimerSignals()
	tg.sigmu.Lock()
	tg.pending.flushTimerSignals()
	tg.sigmu.Unlock()
	t.sig.mu.Unlock()
}
