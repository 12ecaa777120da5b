package platform

import (
	"testing"
	"time"
)

// TestCPUTimesMonotonic feeds reads whose split moves a tick of system
// time while the total moves less: neither part may go back, and the
// parts add up to the total read.
func TestCPUTimesMonotonic(t *testing.T) {
	const ms = time.Millisecond
	var c CPUTimes
	reads := []struct{ user, sys time.Duration }{
		{2160 * ms, 100 * ms}, // total 2260
		{2150 * ms, 110 * ms}, // total 2260: the tick moved, the total did not
		{2151 * ms, 110 * ms}, // total 2261
		{2200 * ms, 100 * ms}, // total 2300, sys read back a tick
		{2100 * ms, 100 * ms}, // total 2200: below the last total
	}
	var lastUser, lastSys time.Duration
	for i, r := range reads {
		u, s := c.Monotonic(r.user, r.sys)
		if u < lastUser || s < lastSys {
			t.Errorf("read %d (%v, %v): got (%v, %v) after (%v, %v)", i, r.user, r.sys, u, s, lastUser, lastSys)
		}
		if total := r.user + r.sys; total >= lastUser+lastSys && u+s != total {
			t.Errorf("read %d: %v + %v is not the total %v", i, u, s, total)
		}
		lastUser, lastSys = u, s
	}
}
