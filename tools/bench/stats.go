package bench

import (
	"math"
	"slices"
)

// Stats summarises the successful samples of one workload and runner.
type Stats struct {
	N                int
	Median, Min, Max float64
	Q1, Q3           float64 // quartiles, interpolated
}

// Spread is the relative width of the samples around the median: the
// interquartile range over the median with 4 samples or more, where it
// ignores one outlier, else (max-min)/median. It is 0 for one sample.
func (s Stats) Spread() float64 {
	if s.N == 0 || s.Median == 0 {
		return 0
	}
	if s.N >= 4 {
		return (s.Q3 - s.Q1) / s.Median
	}
	return (s.Max - s.Min) / s.Median
}

// summarize computes Stats of values; N is 0 when there are none.
func summarize(values []float64) Stats {
	if len(values) == 0 {
		return Stats{}
	}
	v := slices.Clone(values)
	slices.Sort(v)
	return Stats{
		N: len(v), Min: v[0], Max: v[len(v)-1],
		Median: quantile(v, 0.5), Q1: quantile(v, 0.25), Q3: quantile(v, 0.75),
	}
}

// median is the median of values, 0 when there are none.
func median(values []float64) float64 {
	return summarize(values).Median
}

// quantile returns the q-quantile of sorted values, interpolating linearly
// between the two nearest ranks.
func quantile(sorted []float64, q float64) float64 {
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}

// Cell is what is known of one workload under one runner.
type Cell struct {
	Stats
	// Failed counts failed runs; Err is the first failure's reason.
	Failed int
	Err    string
	// Unavailable is set when the runner could not run at all.
	Unavailable string
	// P50, P90, P99, CPU and Wall are medians over the successful
	// samples of the figures of the same names in Sample.
	P50, P90, P99, CPU, Wall float64
}

// OK reports whether the cell has at least one measurement.
func (c Cell) OK() bool { return c.N > 0 }

// Cell gathers the samples of workload under runner: with --load, those
// taken beside the busy loops (not the --compare-idle reps).
func (res *Result) Cell(workload string, r Runner) Cell { return res.cell(workload, r, false) }

// IdleCell gathers the --compare-idle reps of workload under runner: those
// taken with the busy loops paused.
func (res *Result) IdleCell(workload string, r Runner) Cell { return res.cell(workload, r, true) }

// Slowdown is how much slower workload ran under r beside the busy loops
// than with them paused, in the same run (--compare-idle): the ratio of
// the medians, and whether both were measured.
func (res *Result) Slowdown(workload string, r Runner) (float64, bool) {
	return slowdown(res.IdleCell(workload, r), res.Cell(workload, r))
}

// slowdown is the ratio of loaded's median to idle's.
func slowdown(idle, loaded Cell) (float64, bool) {
	if !loaded.OK() || !idle.OK() || idle.Median == 0 {
		return 0, false
	}
	return loaded.Median / idle.Median, true
}

func (res *Result) cell(workload string, r Runner, idle bool) Cell {
	if r.Unavailable != "" {
		return Cell{Unavailable: r.Unavailable}
	}
	var c Cell
	var values, p50, p90, p99, cpu, wall []float64
	for _, s := range res.Samples {
		if s.Workload != workload || s.Runner != r.Name || s.Idle != idle {
			continue
		}
		if s.Error != "" {
			if c.Failed == 0 {
				c.Err = s.Error
			}
			c.Failed++
			continue
		}
		values = append(values, s.Value)
		cpu, wall = append(cpu, s.CPUNs), append(wall, s.WallNs)
		if s.P50 > 0 {
			p50, p90, p99 = append(p50, s.P50), append(p90, s.P90), append(p99, s.P99)
		}
	}
	c.Stats = summarize(values)
	c.P50, c.P90, c.P99 = median(p50), median(p90), median(p99)
	c.CPU, c.Wall = median(cpu), median(wall)
	return c
}

// Ratio returns the ratio of workload's median under r to its median under
// base, and whether both were measured.
func (res *Result) Ratio(workload string, r, base Runner) (float64, bool) {
	a, b := res.Cell(workload, r), res.Cell(workload, base)
	if !a.OK() || !b.OK() || b.Median == 0 {
		return 0, false
	}
	return a.Median / b.Median, true
}

// Native returns the native runner, if the result has one.
func (res *Result) Native() (Runner, bool) {
	for _, r := range res.Runners {
		if r.IsNative() {
			return r, true
		}
	}
	return Runner{}, false
}

// GVisorPeer returns gVisor's runner on r's platform, if r is a runsc-lite
// runner and the result has one.
func (res *Result) GVisorPeer(r Runner) (Runner, bool) {
	if r.Platform == "" || r.GVisor {
		return Runner{}, false
	}
	for _, g := range res.Runners {
		if g.GVisor && g.Platform == r.Platform {
			return g, true
		}
	}
	return Runner{}, false
}
