package clocks

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

func TestLinearAt(t *testing.T) {
	// 2.5 GHz: 0.4 ns a tick.
	l := &linear{baseCycles: 1000, baseNs: 5e9, mult: 2 << 32 / 5}
	for _, c := range []struct {
		cycles uint64
		want   int64
	}{{0, 5e9}, {1000, 5e9}, {1000 + 2_500_000_000, 6e9}, {1000 + 25, 5e9 + 10}} {
		if got := l.at(c.cycles); got < c.want-1 || got > c.want+1 {
			t.Errorf("at(%d) = %d, want %d", c.cycles, got, c.want)
		}
	}
}

// withCounter runs f with the calibration state replaced by first and a
// line through it at rate ticks a second, and restores it after.
func withCounter(t *testing.T, first sample, rate uint64, f func()) {
	counter.mu.Lock()
	defer counter.mu.Unlock()
	saved, savedLine, savedPages := counter.first, counter.line.Load(), counter.pages
	defer func() {
		counter.first, counter.pages = saved, savedPages
		counter.line.Store(savedLine)
	}()
	counter.first, counter.pages = first, nil
	counter.line.Store(nil)
	recalibrate(sample{cycles: first.cycles + rate, mono: first.mono + int64(time.Second), rt: first.rt + int64(time.Second)}, time.Second)
	f()
}

// TestRecalibrate checks that a new calibration never moves the clocks
// back, makes up an error at no more than maxSlew, and steps forward only
// past maxBehind.
func TestRecalibrate(t *testing.T) {
	const rate = 2_000_000_000
	first := sample{cycles: 1 << 40, mono: 100e9, rt: 1700e9}
	for _, c := range []struct {
		name  string
		error time.Duration // where the host is against the clocks at the sample
	}{{"on time", 0}, {"behind", 30 * time.Microsecond}, {"ahead", -30 * time.Microsecond}, {"far behind", 5 * time.Millisecond}} {
		t.Run(c.name, func(t *testing.T) {
			withCounter(t, first, rate, func() {
				old := counter.line.Load()
				at := first.cycles + 3*rate
				s := sample{cycles: at, mono: old.at(at) + int64(c.error)}
				s.rt = s.mono + 1600e9
				recalibrate(s, time.Second)
				l := counter.line.Load()
				switch {
				case c.error > maxBehind:
					if l.at(at) != s.mono {
						t.Errorf("far behind: clocks at %d, want a step to the host's %d", l.at(at), s.mono)
					}
				case l.at(at) != old.at(at):
					t.Errorf("clocks moved from %d to %d at the calibration", old.at(at), l.at(at))
				}
				// Over the next `rate` ticks, the clocks run within
				// maxSlew of the rate measured since the first sample,
				// towards the host.
				got := float64(l.at(at+rate) - l.at(at))
				measured := float64(rate) * float64(s.mono-first.mono) / float64(at-first.cycles)
				slew := got/measured - 1
				if slew > maxSlew+1e-8 || slew < -maxSlew-1e-8 {
					t.Errorf("rate off by %.2g, more than maxSlew", slew)
				}
				if c.error > 0 && c.error <= maxBehind && slew <= 0 || c.error < 0 && slew >= 0 {
					t.Errorf("error %v made up at rate %+.2g: the wrong way", c.error, slew)
				}
			})
		})
	}
}

func TestHostWait(t *testing.T) {
	for _, d := range []time.Duration{-1, 0, 1, time.Microsecond, time.Millisecond, time.Hour} {
		got := HostWait(d)
		if d <= 0 && got != 0 || d > 0 && float64(got) < float64(d)*(1+maxSlew) {
			t.Errorf("HostWait(%v) = %v", d, got)
		}
	}
}

// TestPageAgrees checks that once calibrated, the page gives what the
// sentry answers, in order, and both stay near the host's clock.
func TestPageAgrees(t *testing.T) {
	if !platform.InvariantTSC() {
		t.Skip("no invariant TSC: the clocks are never calibrated")
	}
	offsets := Offsets{Monotonic: time.Hour}
	p, err := NewPage(offsets)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for deadline := time.Now().Add(5 * time.Second); !Calibrated(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("not calibrated after 5 s")
		}
	}
	time.Sleep(2 * firstCalibration) // a publication after NewPage's
	var ts unix.Timespec
	for range 1000 {
		a, ready := readPage(p)
		if !ready {
			t.Fatal("calibrated, but the page says not ready")
		}
		if err := offsets.Gettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			t.Fatal(err)
		}
		b, _ := readPage(p)
		if s := ts.Nano(); s < a || s > b {
			t.Fatalf("page %d, sentry %d, page %d: out of order", a, s, b)
		}
	}
	var host unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &host)
	if d := time.Duration(ts.Nano() - int64(time.Hour) - host.Nano()); d > time.Millisecond || d < -time.Millisecond {
		t.Errorf("sandbox's CLOCK_MONOTONIC less its offset is %v from the host's", d)
	}
}

// TestBootIsMonotonic: a sandbox's boot-time clock starts as its
// monotonic clock and never reads behind it, in the sentry or in the vDSO
// page. It was made from two host readings, which put it behind by the
// time between them (vdso.c's "boot >= mono" failed 1 run in 15).
func TestBootIsMonotonic(t *testing.T) {
	o, err := Boot()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := o.Boottime, o.Monotonic-time.Duration(counter.boottime.Load()); got != want {
		t.Fatalf("boot-time offset %v, want the monotonic one less the host's suspended time: %v", got, want)
	}
	if off := counter.boottime.Load() + int64(o.Boottime) - int64(o.Monotonic); off != 0 {
		t.Errorf("the vDSO page's boot-time offset from the monotonic clock is %d ns, want 0", off)
	}
	var mono, boot unix.Timespec
	for range 10000 {
		if err := o.Gettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
			t.Fatal(err)
		}
		if err := o.Gettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
			t.Fatal(err)
		}
		if boot.Nano() < mono.Nano() {
			t.Fatalf("CLOCK_BOOTTIME %d read after CLOCK_MONOTONIC %d is behind it", boot.Nano(), mono.Nano())
		}
	}
	// Monotonic first: this reading's difference is at least the host's
	// suspended time, which the counter's is at most.
	var hm, hb unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &hm)
	unix.ClockGettime(unix.CLOCK_BOOTTIME, &hb)
	if s := counter.boottime.Load(); s > hb.Nano()-hm.Nano() || s < 0 {
		t.Errorf("host suspended %d ns by the counter, at most %d by a reading", s, hb.Nano()-hm.Nano())
	}
}
