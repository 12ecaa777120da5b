package systrap

import (
	"testing"
	"time"
)

// fakeProcs is a policy on a clock the test moves, whose GOMAXPROCS is a
// field.
type fakeProcs struct {
	*procsPolicy
	clock int64
	procs int
	sets  int
}

func newFakeProcs() *fakeProcs {
	f := &fakeProcs{procs: 2}
	f.procsPolicy = &procsPolicy{now: func() int64 { return f.clock }, set: func(n int) { f.procs = n; f.sets++ }, most: 2, chosen: 2, left: procsMinExploit, interval: procsMinExploit}
	return f
}

// period records a period's events at perMs events a millisecond and
// returns the count of processors in force after it.
func (f *fakeProcs) period(perMs int) int {
	step := int64(time.Millisecond) / int64(perMs)
	for start := f.periodStart.Load(); f.periodStart.Load() == start; {
		f.clock += step
		f.Record()
	}
	return f.procs
}

// run records n periods whose rate is one or two, as the count of
// processors in force says, and returns the counts after each.
func (f *fakeProcs) run(n, one, two int) []int {
	counts := make([]int, n)
	for i := range counts {
		r := two
		if f.procs == 1 {
			r = one
		}
		counts[i] = f.period(r)
	}
	return counts
}

func countOf(counts []int, want int) int {
	n := 0
	for _, c := range counts {
		if c == want {
			n++
		}
	}
	return n
}

func TestProcsPolicyKeepsAllWhenOneIsNotFaster(t *testing.T) {
	f := newFakeProcs()
	counts := f.run(200, 50, 60)
	if f.chosen != 2 || f.switches != 0 {
		t.Fatalf("chose %d processors after %d switches, want 2 and none: one was slower", f.chosen, f.switches)
	}
	// Trials back off: after the first few, one period in procsMaxExploit.
	if n := countOf(counts[100:], 1); n > 2 {
		t.Errorf("%d of the last 100 periods ran on one processor, want at most 2 trials", n)
	}
}

func TestProcsPolicyTakesOneWhenItIsFaster(t *testing.T) {
	f := newFakeProcs()
	counts := f.run(60, 100, 50)
	if f.chosen != 1 {
		t.Fatalf("chose %d processors, want 1: it gave twice the events", f.chosen)
	}
	if n := countOf(counts[20:], 1); n < 35 {
		t.Errorf("only %d of 40 periods ran on one processor after it was chosen", n)
	}
}

func TestProcsPolicyComesBackWhenTheWorkloadChanges(t *testing.T) {
	f := newFakeProcs()
	f.run(60, 100, 50)
	if f.chosen != 1 {
		t.Fatalf("chose %d processors, want 1", f.chosen)
	}
	f.run(60, 50, 100)
	if f.chosen != 2 {
		t.Fatalf("chose %d processors after two became faster, want 2", f.chosen)
	}
}

func TestProcsPolicyIgnoresSmallDifferences(t *testing.T) {
	f := newFakeProcs()
	f.run(300, 105, 100)
	if f.switches != 0 {
		t.Errorf("%d switches for a 5%% difference, want none", f.switches)
	}
}

// TestProcsPolicyIdleGap: a period with an idle gap in it (the
// application computing or asleep) says nothing about the processors: a
// trial with one gives no verdict, and the chosen count comes back at
// once; one of the chosen count's periods with one does not lower the
// rate the next trial must beat.
func TestProcsPolicyIdleGap(t *testing.T) {
	f := newFakeProcs()
	for f.procs == 2 {
		f.period(50)
	}
	f.clock += 2 * procsIdle
	if got := f.period(1000); got != 2 || f.chosen != 2 || f.switches != 0 {
		t.Errorf("after a trial with an idle gap: %d processors, chosen %d, %d switches; want 2, 2, 0", got, f.chosen, f.switches)
	}
	for range 3 * procsMaxExploit {
		f.clock += 2 * procsIdle
		f.run(1, 50, 50)
		f.run(1, 50, 50)
	}
	if f.switches != 0 {
		t.Errorf("%d switches with the same rate either way, periods with idle gaps among them; want none", f.switches)
	}
}

func TestProcsPolicyOff(t *testing.T) {
	t.Setenv("GOMAXPROCS", "2")
	if p := newProcsPolicy(); p != nil {
		t.Error("the policy is on though the user set GOMAXPROCS")
	}
	var p *procsPolicy
	p.Record() // a nil policy records nothing, and does not crash
}
