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
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	res := &Result{Workloads: cfg.Workloads, Runners: cfg.Runners, Reps: cfg.Reps, Quick: cfg.Quick}
	res.Machine = describeMachine(cfg.Versions)
	res.Machine.Load = cfg.Load
	stopLoad, err := startLoad(cfg.Load)
	if err != nil {
		return nil, err
	}
	defer stopLoad()
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
		res.Samples = append(res.Samples, runWorkload(ctx, cfg, meter, i, w, cmd)...)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
	}
	cfg.Progress.Done()
	return res, nil
}

// runWorkload takes cfg.Reps samples of w from every available runner, in
// rounds: native, systrap, ptrace, ..., then again. A runner that timed out
// is not run again on w: its later reps are recorded as skipped.
func runWorkload(ctx context.Context, cfg Config, meter *cpuMeter, index int, w Workload, cmd Command) []Sample {
	var samples []Sample
	timedOut := map[string]bool{}
	for rep := 1; rep <= cfg.Reps; rep++ {
		for _, r := range cfg.Runners {
			if r.Unavailable != "" || ctx.Err() != nil {
				continue
			}
			s := Sample{Workload: w.Name, Runner: r.Name, Rep: rep, Unit: w.Kind.Unit()}
			if timedOut[r.Name] {
				s.Error = "skipped after a timeout"
				samples = append(samples, s)
				continue
			}
			cfg.Progress.Update(fmt.Sprintf("[%d/%d] %s", index+1, len(cfg.Workloads), w.Name),
				fmt.Sprintf("rep %d/%d, %s", rep, cfg.Reps, r.Name))
			m, err := r.measure(ctx, w.Kind, cmd, cfg.Timeout, meter)
			if err != nil {
				s.Error = oneLine(err.Error())
				timedOut[r.Name] = errors.Is(err, errTimeout)
			}
			s.Value, s.WallNs, s.CPUNs = m.value, m.wall, m.cpu
			if len(m.pct) == 3 {
				s.P50, s.P90, s.P99 = m.pct[0], m.pct[1], m.pct[2]
			}
			samples = append(samples, s)
		}
	}
	return samples
}

// failAll records reason as the failure of every rep of every available
// runner on w.
func (res *Result) failAll(w Workload, reason string) []Sample {
	var samples []Sample
	for rep := 1; rep <= res.Reps; rep++ {
		for _, r := range res.Runners {
			if r.Unavailable == "" {
				samples = append(samples, Sample{Workload: w.Name, Runner: r.Name, Rep: rep, Unit: w.Kind.Unit(), Error: oneLine(reason)})
			}
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
