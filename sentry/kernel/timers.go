package kernel

import (
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// IntervalTimer is a timer that sends a signal when it expires, and again
// every Interval if that is not zero: ITIMER_REAL (SIGALRM) and POSIX
// timers (timer_create with SIGEV_SIGNAL or SIGEV_THREAD_ID).
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
}

// NewIntervalTimer returns a disarmed timer that calls fire on expiry.
func NewIntervalTimer(fire func()) *IntervalTimer { return &IntervalTimer{fire: fire} }

// Set arms the timer to expire after value (0 disarms) and then every
// interval, and returns the previous remaining time and interval.
func (it *IntervalTimer) Set(value, interval time.Duration) (time.Duration, time.Duration) {
	it.mu.Lock()
	defer it.mu.Unlock()
	oldValue, oldInterval := it.remainingLocked(), it.interval
	if it.timer != nil {
		it.timer.Stop()
		it.timer = nil
	}
	it.interval, it.overrun = interval, 0
	if value > 0 {
		it.deadline = time.Now().Add(value)
		it.timer = time.AfterFunc(value, it.expire)
	}
	return oldValue, oldInterval
}

// Get returns the remaining time and the interval.
func (it *IntervalTimer) Get() (time.Duration, time.Duration) {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.remainingLocked(), it.interval
}

// Overrun returns timer_getoverrun's count.
func (it *IntervalTimer) Overrun() int {
	it.mu.Lock()
	defer it.mu.Unlock()
	return it.overrun
}

func (it *IntervalTimer) remainingLocked() time.Duration {
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
	rt, pt := tg.realTimer, tg.posixTimers
	tg.mu.Unlock()
	if rt != nil {
		rt.Set(0, 0)
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
