package kernel

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// IntervalTimer is a timer that sends a signal when it expires, and again
// every Interval if that is not zero: ITIMER_REAL (SIGALRM) and POSIX
// timers (timer_create with SIGEV_SIGNAL or SIGEV_THREAD_ID) on wall
// clocks, and ITIMER_VIRTUAL, ITIMER_PROF and POSIX timers on CPU-time
// clocks (NewCPUTimer).
type IntervalTimer struct {
	// mu guards the timer's state; fire, set once, runs without it.
	mu       sync.Mutex
	timer    *time.Timer   // guarded by mu
	deadline time.Time     // guarded by mu
	interval time.Duration // guarded by mu
	overrun  int           // guarded by mu
	fire     func()
	// Clock is the clock timer_settime's absolute times are on (a POSIX
	// timer's; set once, before the timer is shared).
	Clock int32

	// cpu, for a timer on a CPU-time clock, reads that clock (taking
	// kernel locks: never under mu); nil for wall clocks. Set once.
	cpu func() time.Duration
	// cpuDeadline is when on cpu the armed timer expires; cpuArmed says
	// it is; cpuSetting counts Set calls, so that the poller of an
	// older setting stops. All guarded by mu.
	cpuDeadline time.Duration
	cpuArmed    bool
	cpuSetting  uint64
}

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

// Set arms the timer to expire after value (0 disarms) and then every
// interval, and returns the previous remaining time and interval.
func (it *IntervalTimer) Set(value, interval time.Duration) (time.Duration, time.Duration) {
	var now time.Duration
	if it.cpu != nil {
		now = it.cpu()
	}
	it.mu.Lock()
	defer it.mu.Unlock()
	oldValue, oldInterval := it.remainingLocked(now), it.interval
	if it.timer != nil {
		it.timer.Stop()
		it.timer = nil
	}
	it.interval, it.overrun = interval, 0
	if it.cpu != nil {
		it.cpuSetting++
		it.cpuArmed, it.cpuDeadline = value > 0, now+value
		if value > 0 {
			go it.pollCPU(it.cpuSetting)
		}
		return oldValue, oldInterval
	}
	if value > 0 {
		it.deadline = time.Now().Add(value)
		it.timer = time.AfterFunc(value, it.expire)
	}
	return oldValue, oldInterval
}

// pollCPU fires a CPU-time timer when its clock reaches the deadline, as
// long as the timer keeps the setting it was started for.
func (it *IntervalTimer) pollCPU(setting uint64) {
	wait := time.Duration(0)
	for {
		time.Sleep(wait)
		now := it.cpu()
		it.mu.Lock()
		if it.cpuSetting != setting {
			it.mu.Unlock()
			return
		}
		if now < it.cpuDeadline {
			wait = min(max(it.cpuDeadline-now, cpuPollMin), cpuPollMax)
			it.mu.Unlock()
			continue
		}
		if it.interval > 0 {
			// Expiries missed between two polls are overruns.
			it.cpuDeadline += it.interval
			for it.cpuDeadline <= now {
				it.cpuDeadline += it.interval
				it.overrun++
			}
		} else {
			it.cpuArmed = false
		}
		again, fire := it.cpuArmed, it.fire
		it.mu.Unlock()
		fire()
		if !again {
			return
		}
		wait = cpuPollMin
	}
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
	var now time.Duration
	if it.cpu != nil {
		now = it.cpu()
	}
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.remainingLocked(now), it.interval
}

// Overrun returns timer_getoverrun's count.
func (it *IntervalTimer) Overrun() int {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.overrun
}

// remainingLocked is the time left; now is the CPU clock's reading, for a
// timer on one.
func (it *IntervalTimer) remainingLocked(now time.Duration) time.Duration {
	if it.cpu != nil {
		if !it.cpuArmed {
			return 0
		}
		return max(it.cpuDeadline-now, time.Microsecond)
	}
	if it.timer == nil {
		return 0
	}
	return max(time.Until(it.deadline), time.Microsecond)
}

func (it *IntervalTimer) expire() {
	it.mu.Lock()
	if it.interval > 0 {
		it.deadline = it.deadline.Add(it.interval)
		it.timer = time.AfterFunc(max(time.Until(it.deadline), 0), it.expire)
	} else {
		it.timer = nil
	}
	fire := it.fire
	it.mu.Unlock()
	fire()
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
		it.Set(0, 0)
	}
	return it != nil
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
		pt.mu.Lock()
		ids := make([]int, 0, len(pt.timers))
		for id := range pt.timers {
			ids = append(ids, id)
		}
		pt.mu.Unlock()
		for _, id := range ids {
			pt.Delete(id)
		}
	}
}
