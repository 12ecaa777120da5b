package kernel

import (
	"math"
	"testing"
)

// TestCalcLoad checks the load average against its definition: one task
// running for a minute takes the 1-minute average from 0 to 1-1/e, the
// 15-minute one to 1-exp(-1/15); a minute idle after that decays it by 1/e.
func TestCalcLoad(t *testing.T) {
	var load [3]uint64
	samples := 12 // a minute of 5 s samples
	for range samples {
		for i, exp := range loadExp {
			load[i] = calcLoad(load[i], exp, 1*Fixed1)
		}
	}
	want := []float64{1 - math.Exp(-1), 1 - math.Exp(-1.0/5), 1 - math.Exp(-1.0/15)}
	for i := range load {
		if got := float64(load[i]) / Fixed1; math.Abs(got-want[i]) > 0.02 {
			t.Errorf("average %d after a minute of one running task: %.3f, want %.3f", i, got, want[i])
		}
	}
	busy := float64(load[0]) / Fixed1
	for range samples {
		load[0] = calcLoad(load[0], loadExp[0], 0)
	}
	if got, want := float64(load[0])/Fixed1, busy*math.Exp(-1); math.Abs(got-want) > 0.02 {
		t.Errorf("1-minute average after a minute idle: %.3f, want %.3f", got, want)
	}
}
