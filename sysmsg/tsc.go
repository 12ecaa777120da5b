package sysmsg

import (
	"sync"
	"time"
)

// rdtsc returns the time-stamp counter (tsc_amd64.s).
func rdtsc() uint64

// Spins are bounded in time, not in iterations: how long an iteration
// takes differs from machine to machine (a pause is 10 cycles on some CPUs,
// 140 on others) and a spin that was preempted for a time slice still had
// all of its iterations left when it ran again, so it went on polling long
// after the answer could have come in time. The sentry and the stub both
// read the time-stamp counter, so a spin's length is ticks: the sentry
// measures the counter's rate once, against the monotonic clock, and
// writes the stub's spins into the read-only control page as ticks.
var (
	tscOnce sync.Once
	tscRate uint64 // ticks per microsecond
)

// calibration is how long the counter is measured against the clock:
// long against the clock's and the counter's read costs (tens of ns),
// short against the sentry's start-up.
const calibration = 200 * time.Microsecond

// fallbackRate is the rate assumed when the measurement makes no sense
// (a counter that does not advance at a plausible constant rate): 3 GHz.
const fallbackRate = 3000

// TicksPerMicrosecond is the time-stamp counter's rate, measured on the
// first call.
func TicksPerMicrosecond() uint64 {
	tscOnce.Do(func() {
		start, c0 := time.Now(), rdtsc()
		for time.Since(start) < calibration {
		}
		c1, d := rdtsc(), time.Since(start)
		tscRate = fallbackRate
		if c1 > c0 && d > 0 {
			if r := (c1 - c0) * uint64(time.Microsecond) / uint64(d); r >= 100 && r <= 20000 {
				tscRate = r
			}
		}
	})
	return tscRate
}

// Ticks converts d to time-stamp counter ticks, saturating at the largest
// uint32 (over a second on any plausible counter).
func Ticks(d time.Duration) uint32 {
	t := uint64(d/time.Nanosecond) * TicksPerMicrosecond() / 1000
	return uint32(min(t, 1<<32-1))
}
