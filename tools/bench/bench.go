package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Config is one benchmark session.
type Config struct {
	Workloads []Workload
	Runners   []Runner
	// Reps is how many times each runner runs each workload.
	Reps int
	// Quick selects the workloads' small iteration counts.
	Quick bool
	// Dir caches binaries and inputs; see Env.Dir.
	Dir string
	// Timeout bounds one run; a run that takes longer fails.
	Timeout time.Duration
	// Progress, if not nil, receives a progress line per run.
	Progress *Progress
	// Load is how many busy-loop processes run beside the workloads for
	// the whole session, to measure the sandboxes under contention.
	Load int
	// CompareIdle, with Load, also takes every rep with the busy loops
	// paused, just before the loaded one, so that how much each runner
	// slows down under the load is measured in the same run.
	CompareIdle bool
	// Versions names the tools compared (runsc-lite, runsc...), for the
	// report's header.
	Versions map[string]string
}

// Sample is one run of one workload by one runner.
type Sample struct {
	Workload string  `json:"workload"`
	Runner   string  `json:"runner"`
	Rep      int     `json:"rep"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
	// P50, P90 and P99 are a micro workload's latencies per operation
	// within the run, in ns.
	P50 float64 `json:"p50,omitempty"`
	P90 float64 `json:"p90,omitempty"`
	P99 float64 `json:"p99,omitempty"`
	// WallNs and CPUNs are the whole command's wall time and the CPU
	// time (user + system) of every process it started.
	WallNs float64 `json:"wall_ns,omitempty"`
	CPUNs  float64 `json:"cpu_ns,omitempty"`
	Error  string  `json:"error"`
	// Idle marks a --compare-idle rep: taken with the busy loops paused.
	Idle bool `json:"idle,omitempty"`
}

// Result is every sample of a session, in the order they were taken.
type Result struct {
	Workloads []Workload
	Runners   []Runner
	Reps      int
	Quick     bool
	Samples   []Sample
	// Machine describes where and under what load the session ran.
	Machine Machine
}

// Run runs every workload with every available runner, cfg.Reps times,
// interleaving the runners. Failures are recorded in the samples; Run
// returns an error only when it cannot start at all.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Reps < 1 {
		return nil, fmt.Errorf("reps = %d, want at least 1", cfg.Reps)
	}
	if cfg.CompareIdle && cfg.Load < 1 {
		return nil, errors.New("comparing idle and loaded runs needs busy loops (--load)")
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	res := &Result{Workloads: cfg.Workloads, Runners: cfg.Runners, Reps: cfg.Reps, Quick: cfg.Quick}
	res.Machine = describeMachine(cfg.Versions)
	res.Machine.Load = cfg.Load
	res.Machine.CompareIdle = cfg.CompareIdle
	loops, err := startLoad(cfg.Load)
	if err != nil {
		return nil, err
	}
	defer loops.stop()
	meter := newCPUMeter()
	defer meter.close()
	res.Machine.CPUSource = meter.Source
	res.Machine.LoadStart = loadAverage()
	defer func() { res.Machine.LoadEnd = loadAverage() }()
	env := &Env{Dir: cfg.Dir, Quick: cfg.Quick}
	for i, w := range cfg.Workloads {
		cfg.Progress.Update(fmt.Sprintf("[%d/%d] %s", i+1, len(cfg.Workloads), w.Name), "preparing")
		cmd, err := w.prepare(env)
		if err != nil {
			res.Samples = append(res.Samples, res.failAll(w, "setup: "+err.Error())...)
			continue
		}
		samples, err := runWorkload(ctx, cfg, meter, loops, i, w, cmd)
		res.Samples = append(res.Samples, samples...)
		if err != nil {
			return res, err
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	cfg.Progress.Done()
	return res, nil
}

// runWorkload takes cfg.Reps samples of w from every available runner, in
// rounds: native, systrap, ptrace, ..., then again; with cfg.CompareIdle,
// each runner's loaded sample follows an idle one, taken with the busy
// loops paused. A runner that timed out is not run again on w: its later
// reps are recorded as skipped. The error is a busy loop that could not be
// paused or continued.
func runWorkload(ctx context.Context, cfg Config, meter *cpuMeter, loops *busyLoops, index int, w Workload, cmd Command) ([]Sample, error) {
	wr := workloadRun{ctx: ctx, cfg: cfg, meter: meter, index: index, w: w, cmd: cmd, timedOut: map[string]bool{}}
	var samples []Sample
	for rep := 1; rep <= cfg.Reps; rep++ {
		for _, r := range cfg.Runners {
			if r.Unavailable != "" || ctx.Err() != nil {
				continue
			}
			if cfg.CompareIdle {
				if err := loops.pause(); err != nil {
					return samples, err
				}
				samples = append(samples, wr.sample(r, rep, true))
				if err := loops.resume(); err != nil {
					return samples, err
				}
			}
			samples = append(samples, wr.sample(r, rep, false))
		}
	}
	return samples, nil
}

// workloadRun is what every sample of one workload shares.
type workloadRun struct {
	ctx      context.Context
	cfg      Config
	meter    *cpuMeter
	index    int // of w in cfg.Workloads, for the progress line
	w        Workload
	cmd      Command
	timedOut map[string]bool // runners that timed out on w
}

// sample runs the workload once under r; idle says the busy loops are
// paused.
func (wr *workloadRun) sample(r Runner, rep int, idle bool) Sample {
	s := Sample{Workload: wr.w.Name, Runner: r.Name, Rep: rep, Unit: wr.w.Kind.Unit(), Idle: idle}
	if wr.timedOut[r.Name] {
		s.Error = "skipped after a timeout"
		return s
	}
	what := r.Name
	if idle {
		what += ", idle"
	}
	wr.cfg.Progress.Update(fmt.Sprintf("[%d/%d] %s", wr.index+1, len(wr.cfg.Workloads), wr.w.Name),
		fmt.Sprintf("rep %d/%d, %s", rep, wr.cfg.Reps, what))
	m, err := r.measure(wr.ctx, wr.w.Kind, wr.cmd, wr.cfg.Timeout, wr.meter)
	if err != nil {
		s.Error = oneLine(err.Error())
		wr.timedOut[r.Name] = errors.Is(err, errTimeout)
	}
	s.Value, s.WallNs, s.CPUNs = m.value, m.wall, m.cpu
	if len(m.pct) == 3 {
		s.P50, s.P90, s.P99 = m.pct[0], m.pct[1], m.pct[2]
	}
	return s
}

// failAll records reason as the failure of every rep of every available
// runner on w.
func (res *Result) failAll(w Workload, reason string) []Sample {
	var samples []Sample
	for rep := 1; rep <= res.Reps; rep++ {
		for _, r := range res.Runners {
			if r.Unavailable != "" {
				continue
			}
			s := Sample{Workload: w.Name, Runner: r.Name, Rep: rep, Unit: w.Kind.Unit(), Error: oneLine(reason)}
			if res.Machine.CompareIdle {
				idle := s
				idle.Idle = true
				samples = append(samples, idle)
			}
			samples = append(samples, s)
		}
	}
	return samples
}

// oneLine joins the lines of s with "; ".
func oneLine(s string) string {
	out := []rune{}
	for _, c := range s {
		if c == '\n' || c == '\r' {
			out = append(out, ';', ' ')
			continue
		}
		out = append(out, c)
	}
	return string(out)
}

// Progress writes a status line: on a terminal, one line rewritten in place
// at every run; elsewhere (a log), one line per workload.
type Progress struct {
	w        io.Writer
	terminal bool
	start    time.Time
	last     string
}

// NewProgress writes progress to w; terminal says whether w is a terminal.
func NewProgress(w io.Writer, terminal bool) *Progress {
	return &Progress{w: w, terminal: terminal, start: time.Now()}
}

// Update shows that step (the workload) is at detail (the run). A nil
// Progress shows nothing.
func (p *Progress) Update(step, detail string) {
	if p == nil {
		return
	}
	elapsed := fmt.Sprintf("bench %5.1fs ", time.Since(p.start).Seconds())
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s", truncate(elapsed+step+": "+detail, 120))
		return
	}
	if step != p.last {
		fmt.Fprintln(p.w, elapsed+step)
		p.last = step
	}
}

// Done clears the status line.
func (p *Progress) Done() {
	if p != nil && p.terminal {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
