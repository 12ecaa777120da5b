package clocks

import (
	"math"
	"math/bits"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// The sandbox's clocks are the time-stamp counter, calibrated against the
// host's CLOCK_MONOTONIC, so that the sandbox's vDSO (package vdso) can
// compute them without a trap and the sentry answers system calls with
// exactly what the vDSO computes. Until the first calibration (Calibrated,
// a few milliseconds after the first sandbox starts), both read the host's
// clocks, the vDSO by the system call.
//
// The counter's estimate of the host's CLOCK_MONOTONIC is a line through
// the counter's readings (linear). Each calibration measures the counter's
// rate over everything since the first sample, and starts a new line
// where the old one is now (the clocks never step back) whose slope makes
// up the error against the host over the next interval, by at most
// maxSlew. So the sandbox's clocks run at the host's rate within the
// rate's measurement error and maxSlew; HostWait adds more than both to
// every wait, so that no timeout ends early by the sandbox's clock.

// rdtscOrdered reads the time-stamp counter after all earlier loads
// (tsc_amd64.s).
func rdtscOrdered() uint64

// linear is CLOCK_MONOTONIC's estimate at counter value c: baseNs +
// (c-baseCycles)*mult>>32. Immutable once published.
type linear struct {
	baseCycles uint64
	baseNs     int64
	mult       uint64 // nanoseconds per tick, times 2^32
}

func (l *linear) at(c uint64) int64 {
	if c <= l.baseCycles {
		return l.baseNs
	}
	hi, lo := bits.Mul64(c-l.baseCycles, l.mult)
	return l.baseNs + int64(hi<<32|lo>>32)
}

// sample is a reading of the host's monotonic and realtime clocks and the
// counter at about the same moment.
type sample struct {
	cycles   uint64
	mono, rt int64  // nanoseconds
	width    uint64 // ticks between the counter's reads around the clocks'
}

const (
	// sampleTries is how many readings a sample takes the narrowest of.
	sampleTries = 7
	// maxWidth is the widest sample a calibration accepts: a thread
	// preempted between the reads measured nothing.
	maxWidth = 20 * time.Microsecond
	// maxSlew is how much faster or slower than the measured rate the
	// clocks run while they make up an error.
	maxSlew = 20e-6
	// maxRateError is the largest error of the measured rate the clocks
	// are first published with (rateError); a sample's width is about
	// 100 ns on a 2-core VM, so firstCalibration's is about 10 ppm.
	maxRateError = 10e-6
	// maxBehind is how far behind the host the clocks may fall before they
	// step forward rather than slew (a paused VM, a counter that stopped).
	maxBehind = time.Millisecond
	// firstCalibration is when the counter is first measured, after the
	// first sample; the intervals then grow to calibrationInterval.
	firstCalibration    = 20 * time.Millisecond
	calibrationInterval = time.Second
	// hostWaitMargin is what HostWait adds, relatively: more than
	// maxRateError and maxSlew together.
	hostWaitMargin = 50e-6
	// realtimeStep is how far the host's realtime clock must move against
	// its monotonic one (a host clock set) before the sandbox's follows:
	// less is sampling noise, which must not move CLOCK_REALTIME back.
	realtimeStep = time.Millisecond
)

// monoAnchor and wallAnchor let a sample read the host's CLOCK_MONOTONIC
// through Go's vDSO-backed monotonic time, a few tens of nanoseconds,
// rather than a system call; a constant error of the anchor's read does
// not change the measured rate.
var (
	anchorOnce sync.Once
	monoAnchor int64
	wallAnchor time.Time
)

func hostMonotonic() int64 {
	anchorOnce.Do(func() {
		var ts unix.Timespec
		wallAnchor = time.Now()
		if unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) == nil {
			monoAnchor = ts.Nano()
		} else {
			monoAnchor = wallAnchor.UnixNano()
		}
	})
	return monoAnchor + int64(time.Since(wallAnchor))
}

func takeSample() sample {
	best := sample{width: ^uint64(0)}
	for range sampleTries {
		c1 := rdtscOrdered()
		mono := hostMonotonic()
		rt := time.Now().UnixNano()
		c2 := rdtscOrdered()
		if c2 >= c1 && c2-c1 < best.width {
			// At c1 the clocks had not yet been read: their reading is
			// never behind the time at c1, so neither are the clocks
			// when they move from the host's to the counter.
			best = sample{cycles: c1, mono: mono, rt: rt, width: c2 - c1}
		}
	}
	return best
}

// counter is the process's calibration: one for every sandbox in it.
var counter struct {
	// line is the published estimate; nil until calibrated.
	line atomic.Pointer[linear]
	// realtime, boottime and tai are what the host's CLOCK_REALTIME,
	// CLOCK_BOOTTIME and CLOCK_TAI add to its CLOCK_MONOTONIC; boottime
	// as hostSuspended measures it, and moved only by a suspend.
	realtime, boottime, tai atomic.Int64

	startOnce sync.Once
	// mu guards first and pages, and serializes publishing.
	mu    sync.Mutex
	first sample
	pages map[*Page]struct{}
}

// startCounter takes the first sample and starts calibrating.
func startCounter() {
	counter.startOnce.Do(func() {
		var rt, tai unix.Timespec
		unix.ClockGettime(unix.CLOCK_REALTIME, &rt)
		unix.ClockGettime(unix.CLOCK_TAI, &tai)
		counter.boottime.Store(hostSuspended())
		// TAI is whole seconds ahead of UTC.
		counter.tai.Store((tai.Nano() - rt.Nano() + int64(time.Second)/2) / int64(time.Second) * int64(time.Second))
		counter.mu.Lock()
		counter.first = takeSample()
		counter.realtime.Store(counter.first.rt - counter.first.mono)
		counter.mu.Unlock()
		// A counter whose rate may change under the calibration
		// keeps the host's clocks, and the vDSO the system call.
		if platform.InvariantTSC() {
			go calibrate()
		}
	})
}

// Calibrated says whether the sandbox's clocks are read from the counter.
func Calibrated() bool { return counter.line.Load() != nil }

// calibrate measures the counter against the host, first after
// firstCalibration, then at growing intervals up to calibrationInterval,
// for the life of the process.
func calibrate() {
	for wait := firstCalibration; ; wait = min(wait*4, calibrationInterval) {
		time.Sleep(wait)
		s := takeSample()
		counter.mu.Lock()
		switch {
		case nanoseconds(counter.first.width, s) > maxWidth:
			// Preempted while taking the first sample: start again.
			counter.first = s
		case nanoseconds(s.width, s) > maxWidth:
			// Preempted now: measure at the next interval.
		case counter.line.Load() == nil && rateError(s) > maxRateError:
			// Too soon to tell the rate well enough to publish.
		default:
			recalibrate(s, min(wait*4, calibrationInterval))
		}
		counter.mu.Unlock()
	}
}

// nanoseconds converts ticks at the rate measured up to s; the largest
// duration if the rate makes no sense.
func nanoseconds(ticks uint64, s sample) time.Duration {
	rate := ticksPerSecond(s)
	if rate == 0 {
		return math.MaxInt64
	}
	return time.Duration(float64(ticks) * float64(time.Second) / float64(rate))
}

// rateError bounds the error of the rate measured from the first sample
// to s: each sample's clock reading was taken within its width of its
// counter reading.
func rateError(s sample) float64 {
	f := counter.first
	return float64(nanoseconds(f.width+s.width, s)) / float64(s.mono-f.mono)
}

// ticksPerSecond is the counter's rate measured from the first sample to
// s; 0 if it makes no sense.
func ticksPerSecond(s sample) uint64 {
	f := counter.first
	if s.cycles <= f.cycles || s.mono <= f.mono {
		return 0
	}
	hi, lo := bits.Mul64(s.cycles-f.cycles, uint64(time.Second))
	if hi >= uint64(s.mono-f.mono) {
		return 0
	}
	q, _ := bits.Div64(hi, lo, uint64(s.mono-f.mono))
	return q
}

// recalibrate publishes a new line from s, continuous with the old one
// at s, that makes up their error over next. Called with counter.mu held.
func recalibrate(s sample, next time.Duration) {
	rate := ticksPerSecond(s)
	if rate == 0 {
		return
	}
	// Nanoseconds per tick times 2^32, from the measured rate.
	mult := func(ppm float64) uint64 {
		hi, lo := bits.Mul64(uint64(time.Second), 1<<32)
		q, _ := bits.Div64(hi, lo, rate)
		return uint64(float64(q) * (1 + ppm))
	}
	l := &linear{baseCycles: s.cycles, baseNs: s.mono, mult: mult(0)}
	if old := counter.line.Load(); old != nil {
		now := old.at(s.cycles)
		behind := s.mono - now // positive: the sandbox's clocks are behind the host's
		switch {
		case behind > int64(maxBehind):
			// Step forward to the host.
		default:
			// Go on from where the clocks are, faster if behind, slower
			// if ahead.
			l.baseNs = now
			l.mult = mult(max(min(float64(behind)/float64(next), maxSlew), -maxSlew))
		}
	}
	if rt := s.rt - s.mono; abs(rt-counter.realtime.Load()) > int64(realtimeStep) {
		counter.realtime.Store(rt)
	}
	if b := hostSuspended(); b-counter.boottime.Load() > int64(suspendStep) {
		counter.boottime.Store(b) // the host was suspended: boot time jumps
	}
	counter.line.Store(l)
	for p := range counter.pages {
		p.publish(l)
	}
}

// suspendStep is how much more the host must have been suspended than
// counter.boottime says before the boot-time clock follows: less is the
// measurement's own error, which must not move the clock back and forth.
const suspendStep = time.Millisecond

// hostSuspended is how far the host's CLOCK_BOOTTIME is ahead of its
// CLOCK_MONOTONIC (the time it spent suspended), measured from below: the
// boot-time clock read between two monotonic readings, less the later
// one, from the narrowest of sampleTries tries. From below, so that the
// sandbox's boot-time clock, which is its monotonic clock plus this, is
// never behind it, and the host's boot time never behind the sandbox's
// (a host timer on CLOCK_BOOTTIME ends no earlier than it should).
func hostSuspended() int64 {
	best, width := int64(0), int64(math.MaxInt64)
	for range sampleTries {
		var m1, b, m2 unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &m1)
		unix.ClockGettime(unix.CLOCK_BOOTTIME, &b)
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &m2)
		if w := m2.Nano() - m1.Nano(); w < width {
			best, width = b.Nano()-m2.Nano(), w
		}
	}
	return max(best, 0)
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// hostEstimate is the host's CLOCK_MONOTONIC as the sandbox keeps it: the
// counter's line once calibrated, the host's clock before.
func hostEstimate() int64 {
	for {
		l := counter.line.Load()
		if l == nil {
			startCounter()
			return hostMonotonic()
		}
		// As the vDSO's sequence count: a reading that a calibration
		// overtook (the thread preempted between the two loads) would
		// follow the old line past the new one's start, and could be
		// ahead of a later reading on the new line.
		if now := l.at(rdtscOrdered()); counter.line.Load() == l {
			return now
		}
	}
}

// HostWait is how long the host must wait for d to pass on the sandbox's
// clocks: d and a margin of more than their rate's error from the host's.
func HostWait(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return d + time.Duration(float64(d)*hostWaitMargin) + time.Microsecond
}
