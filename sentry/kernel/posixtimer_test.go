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
	waitSends(t, &sends, 1)
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
	waitSends(t, &sends, 2)
	time.Sleep(10 * time.Millisecond)
	if n := sends.Load(); n != 2 {
		t.Errorf("expiries sent after one delivery: %d, want 2", n)
	}
	it.Set(0, 0)
}

// waitSends waits, up to 10 seconds, for sends to reach n: how soon a
// timer goroutine runs depends on the machine's load, so the tests bound
// what happens after it has, not when.
func waitSends(t *testing.T, sends *atomic.Int64, n int64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); sends.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("expiries sent after 10s: %d, want %d", sends.Load(), n)
		}
	}
}

// TestPosixTimerIgnoredRearms: a timer whose signal is ignored is
// re-armed at once, but no sooner than ignoredRearmMin ahead.
func TestPosixTimerIgnoredRearms(t *testing.T) {
	var sends atomic.Int64
	it := &IntervalTimer{posix: &posixTimer{overrun: -1, send: func(*IntervalTimer) bool {
		sends.Add(1)
		return false // ignored
	}}}
	start := time.Now()
	it.Set(time.Nanosecond, time.Nanosecond)
	waitSends(t, &sends, 2)
	time.Sleep(50 * time.Millisecond)
	it.Set(0, 0)
	elapsed := time.Since(start)
	if n, most := sends.Load(), int64(elapsed/ignoredRearmMin)+1; n > most {
		t.Errorf("expiries of an ignored 1ns timer in %v: %d, want at most %d", elapsed, n, most)
	}
}

// TestPosixTimerPastDeadlineCapped: an expiry long past with a 1 ns
// interval overruns past INT_MAX, reported capped.
func TestPosixTimerPastDeadlineCapped(t *testing.T) {
	var sends atomic.Int64
	it := &IntervalTimer{posix: &posixTimer{overrun: -1, send: func(*IntervalTimer) bool {
		sends.Add(1)
		return true
	}}}
	it.Arm(true, -10*time.Second, time.Nanosecond)
	waitSends(t, &sends, 1)
	var si SigInfo
	it.delivered(&si)
	if si.Overrun() != math.MaxInt32 || it.Overrun() != math.MaxInt32 {
		t.Errorf("si_overrun %d, timer_getoverrun %d: want INT_MAX", si.Overrun(), it.Overrun())
	}
	it.Set(0, 0)
}
