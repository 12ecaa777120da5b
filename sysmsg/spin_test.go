package sysmsg

import (
	"runtime"
	"testing"
	"time"
)

// fakePolicy is a policy on a clock the test moves.
type fakePolicy struct {
	*SpinPolicy
	clock int64
}

func newFakePolicy() *fakePolicy {
	f := &fakePolicy{}
	f.SpinPolicy = &SpinPolicy{now: func() int64 { return f.clock }, chosen: true, last: -1, left: minExploit, interval: minExploit}
	f.spinning.Store(true)
	return f
}

// period records one full period of waits of d each, whatever the mode,
// and reports the mode in force after it.
func (f *fakePolicy) period(d time.Duration) bool {
	for i := 0; i < periodSamples; i++ {
		start := f.clock
		f.clock += int64(d)
		f.Record(start)
	}
	f.clock += periodLen // the period's length, whatever the waits took
	start := f.clock
	f.Record(start) // ends it
	return f.Spinning()
}

// run records periods whose waits take spinning or sleeping, as the mode
// in force says, and returns the modes in force after each.
func (f *fakePolicy) run(n int, spinning, sleeping time.Duration) []bool {
	modes := make([]bool, n)
	for i := range modes {
		d := sleeping
		if f.Spinning() {
			d = spinning
		}
		modes[i] = f.period(d)
	}
	return modes
}

func count(modes []bool, want bool) int {
	n := 0
	for _, m := range modes {
		if m == want {
			n++
		}
	}
	return n
}

func TestSpinPolicyKeepsSpinningWhenItPays(t *testing.T) {
	f := newFakePolicy()
	modes := f.run(200, 4*time.Microsecond, 10*time.Microsecond)
	if f.Switches.Load() != 0 {
		t.Errorf("switched %d times though spinning was faster", f.Switches.Load())
	}
	// Trials of not spinning get rarer: few periods are spent in them.
	if off := count(modes, false); off > 10 {
		t.Errorf("spent %d of 200 periods not spinning, want at most 10 trials", off)
	}
	if !modes[len(modes)-1] {
		t.Error("not spinning at the end")
	}
}

func TestSpinPolicyStopsSpinningUnderLoad(t *testing.T) {
	f := newFakePolicy()
	modes := f.run(50, 80*time.Microsecond, 40*time.Microsecond)
	if f.Switches.Load() != 1 {
		t.Errorf("switched %d times, want once", f.Switches.Load())
	}
	if on := count(modes[10:], true); on > 5 {
		t.Errorf("spun in %d of the last 40 periods, though sleeping was faster", on)
	}
	if f.Limit(0) != 0 {
		t.Errorf("Limit = %d under load, want 0", f.Limit(0))
	}
}

func TestSpinPolicyComesBackWhenTheLoadGoes(t *testing.T) {
	f := newFakePolicy()
	f.run(50, 80*time.Microsecond, 40*time.Microsecond)
	if f.Spinning() {
		t.Fatal("still spinning under load")
	}
	modes := f.run(50, 4*time.Microsecond, 10*time.Microsecond)
	if !modes[len(modes)-1] {
		t.Error("not spinning again after the load went")
	}
}

func TestSpinPolicyIgnoresSmallDifferences(t *testing.T) {
	f := newFakePolicy()
	f.run(100, 10*time.Microsecond, 10500*time.Nanosecond) // 5%: noise
	f.run(100, 10500*time.Nanosecond, 10*time.Microsecond)
	if f.Switches.Load() != 0 {
		t.Errorf("switched %d times on a 5%% difference", f.Switches.Load())
	}
}

func TestSpinLimitBusy(t *testing.T) {
	p := NewSpinPolicy()
	n := runtime.NumCPU()
	if got := p.Limit(n); got != 0 {
		t.Errorf("Limit(%d CPUs busy) = %d, want 0", n, got)
	}
	want := Ticks(SentrySpin)
	if n < 2 {
		want = 0
	}
	if got := p.Limit(0); got != want {
		t.Errorf("Limit(0) = %d on %d CPUs, want %d", got, n, want)
	}
}

func TestBucketOrdered(t *testing.T) {
	prev := -1
	for d := int64(0); d < 1<<20; d += 1 + d/64 {
		b := bucket(d)
		if b < prev || b >= histBuckets {
			t.Fatalf("bucket(%d) = %d after %d", d, b, prev)
		}
		prev = b
	}
	if b := bucket(1 << 62); b >= histBuckets {
		t.Errorf("bucket(2^62) = %d, out of range", b)
	}
	// Buckets are fine enough for margin to mean about 19%.
	if bucket(10000)-bucket(8000) < margin {
		t.Errorf("8us and 10us are %d buckets apart, want at least %d", bucket(10000)-bucket(8000), margin)
	}
}
