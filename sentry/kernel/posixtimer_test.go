package kernel

import (
	"math"
	"sync/atomic"
	"testing"
	"time"
)

// TestPosixTimerWaitsForDelivery: a POSIX timer with a 1 ns interval
// whose signal is queued is not re-armed until the signal is delivered
// (the sentry does not spin), and the delivery counts the intervals
// missed as its overrun.
func TestPosixTimerWaitsForDelivery(t *testing.T) {
	var sends atomic.Int64
	it := &IntervalTimer{posix: &posixTimer{overrun: -1, send: func(*IntervalTimer) bool {
		sends.Add(1)
		return true // queued
	}}}
	it.Set(time.Nanosecond, time.Nanosecond)
	time.Sleep(50 * time.Millisecond)
	if n := sends.Load(); n != 1 {
		t.Fatalf("expiries sent while the signal waited: %d, want 1", n)
	}
	var si SigInfo
	it.delivered(&si)
	if si.Overrun() < 1000 {
		t.Errorf("si_overrun after 50ms of a 1ns interval: %d, want >= 1000", si.Overrun())
	}
	if got := it.Overrun(); got != int(si.Overrun()) {
		t.Errorf("timer_getoverrun %d, si_overrun %d", got, si.Overrun())
	}
	time.Sleep(10 * time.Millisecond)
	if n := sends.Load(); n != 2 {
		t.Errorf("expiries sent after one delivery: %d, want 2", n)
	}
	it.Set(0, 0)
}

// TestPosixTimerIgnoredRearms: a timer whose signal is ignored is
// re-armed at once, but no sooner than ignoredRearmMin ahead.
func TestPosixTimerIgnoredRearms(t *testing.T) {
	var sends atomic.Int64
	it := &IntervalTimer{posix: &posixTimer{overrun: -1, send: func(*IntervalTimer) bool {
		sends.Add(1)
		return false // ignored
	}}}
	it.Set(time.Nanosecond, time.Nanosecond)
	time.Sleep(50 * time.Millisecond)
	it.Set(0, 0)
	if n := sends.Load(); n < 2 || n > int64(50*time.Millisecond/ignoredRearmMin)+1 {
		t.Errorf("expiries of an ignored 1ns timer in 50ms: %d, want 2 to %d", n, 50*time.Millisecond/ignoredRearmMin+1)
	}
}

// TestPosixTimerPastDeadlineCapped: an expiry long past with a 1 ns
// interval overruns past INT_MAX, reported capped.
func TestPosixTimerPastDeadlineCapped(t *testing.T) {
	it := &IntervalTimer{posix: &posixTimer{overrun: -1, send: func(*IntervalTimer) bool { return true }}}
	it.Arm(true, -10*time.Second, time.Nanosecond)
	time.Sleep(10 * time.Millisecond)
	var si SigInfo
	it.delivered(&si)
	if si.Overrun() != math.MaxInt32 || it.Overrun() != math.MaxInt32 {
		t.Errorf("si_overrun %d, timer_getoverrun %d: want INT_MAX", si.Overrun(), it.Overrun())
	}
	it.Set(0, 0)
}
