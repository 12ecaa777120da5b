package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Runner runs workloads one way: natively, or in a sandbox.
type Runner struct {
	// Name is the runner's column: native, systrap, ptrace, gvisor-systrap...
	Name string
	// Platform is the sandbox platform; empty for native.
	Platform string
	// GVisor is set for gVisor's runsc.
	GVisor bool
	// Monitor is the host monitor (`runsc-lite trace --monitor`) that
	// watches the workload's syscalls, for the third way of watching
	// them; empty for the others.
	Monitor string
	// Unavailable says why the runner cannot run (e.g. "not installed").
	Unavailable string
	// prefix goes before a workload's argv.
	prefix []string
}

// Native runs workloads directly on the host.
func Native() Runner { return Runner{Name: "native"} }

// IsNative reports whether r runs workloads natively, unwatched.
func (r Runner) IsNative() bool { return r.Platform == "" && r.Monitor == "" }

// MonitorRunner runs workloads on the host kernel under `exe trace
// --monitor=monitor`, stopping every syscall: the cost of watching them
// from outside, next to the sentry's.
func MonitorRunner(exe, monitor string) Runner {
	return Runner{Name: "monitor-" + monitor, Monitor: monitor,
		prefix: []string{exe, "trace", "--monitor=" + monitor, "--syscalls=all", "--"}}
}

// RunscLite runs workloads with `exe run --platform=platform
// --network=none --`, the network gVisor's runner has (lo only: no
// network forwarder starts), as the caller's own host identity: the workloads and their inputs are in the
// caller's cache, which a sandbox started by root could not read as
// nobody, its default (--host-uid). The sandbox's speed does not depend on
// the identity.
func RunscLite(exe, platform string) Runner {
	return Runner{Name: platform, Platform: platform,
		prefix: []string{exe, "run", "--platform=" + platform, "--network=none",
			"--host-uid=" + strconv.Itoa(os.Geteuid()), "--host-gid=" + strconv.Itoa(os.Getegid()), "--"}}
}

// WithRunFlags adds flags to the `run` command line of rs's runsc-lite
// runners.
func WithRunFlags(rs []Runner, flags ...string) []Runner {
	for i, r := range rs {
		if r.Platform == "" || r.GVisor || r.Monitor != "" || len(r.prefix) < 2 {
			continue
		}
		rs[i].prefix = append(append(append([]string{}, r.prefix[:2]...), flags...), r.prefix[2:]...)
	}
	return rs
}

// GVisorRunsc runs workloads with gVisor's `runsc do` on platform. An empty
// runsc path makes a runner whose cells say "not installed".
func GVisorRunsc(runsc, platform string) Runner {
	r := Runner{Name: "gvisor-" + platform, Platform: platform, GVisor: true,
		prefix: []string{runsc, "--platform=" + platform, "--network=none", "do"}}
	if runsc == "" {
		r.Unavailable = "not installed"
	}
	return r
}

// Runners returns native, runsc-lite on each platform, then gVisor on each
// platform (unavailable when runsc is empty), then each host monitor.
func Runners(exe, runsc string, platforms, monitors []string) []Runner {
	rs := []Runner{Native()}
	for _, p := range platforms {
		rs = append(rs, RunscLite(exe, p))
	}
	for _, p := range platforms {
		rs = append(rs, GVisorRunsc(runsc, p))
	}
	for _, m := range monitors {
		rs = append(rs, MonitorRunner(exe, m))
	}
	return rs
}

// errTimeout marks a run killed for taking too long.
var errTimeout = errors.New("timed out")

// measurement is what one run yields.
type measurement struct {
	// value is in ns: what a micro workload printed as its mean per
	// operation, or the wall time of a macro workload.
	value float64
	// pct is a micro workload's p50, p90 and p99 per operation, in ns.
	pct []float64
	// wall and cpu are the whole command's wall time and the CPU time
	// (user + system) of every process it started, in ns.
	wall, cpu float64
}

// measure runs cmd once with r.
func (r Runner) measure(ctx context.Context, kind Kind, cmd Command, timeout time.Duration, meter *cpuMeter) (measurement, error) {
	var m measurement
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	argv := append(append([]string{}, r.prefix...), cmd.Argv...)
	c := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// A process group of its own, so a timeout kills the sandbox's
	// processes too, not only its first one.
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	run, err := meter.start()
	if err != nil {
		return m, err
	}
	if run != nil {
		c.SysProcAttr.UseCgroupFD = true
		c.SysProcAttr.CgroupFD = int(run.leaf.Fd())
	}
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	c.WaitDelay = 2 * time.Second
	var stdout, stderr tail
	c.Stdout, c.Stderr = &stdout, &stderr
	if cmd.Stdin != "" {
		f, err := os.Open(cmd.Stdin)
		if err != nil {
			run.finish(nil)
			return m, err
		}
		defer f.Close()
		c.Stdin = f
	}
	start := time.Now()
	err = c.Run()
	m.wall = float64(time.Since(start).Nanoseconds())
	var rusage *unix.Rusage
	if c.ProcessState != nil {
		rusage, _ = c.ProcessState.SysUsage().(*unix.Rusage)
	}
	cpu, cpuErr := run.finish(rusage)
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return m, fmt.Errorf("%w after %v", errTimeout, timeout)
	case err != nil:
		return m, runError(err, stderr.lastLine())
	case cpuErr != nil:
		return m, fmt.Errorf("CPU time: %w", cpuErr)
	}
	m.cpu = cpu
	if kind == Macro {
		m.value = m.wall
		return m, nil
	}
	m.value, m.pct, err = parseMicro(stdout.String())
	return m, err
}

// runError is err with the last line the program wrote on stderr.
func runError(err error, last string) error {
	if last == "" {
		return err
	}
	return fmt.Errorf("%v: %s", err, last)
}

// parseMicro reads the "ns/op MEAN" line a micro workload prints and its
// "pct P50 P90 P99" line, if any.
func parseMicro(out string) (float64, []float64, error) {
	var mean float64
	var pct []float64
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "ns/op "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f <= 0 {
				return 0, nil, fmt.Errorf("bad output %q", line)
			}
			mean = f
		}
		if v, ok := strings.CutPrefix(line, "pct "); ok {
			fields := strings.Fields(v)
			if len(fields) != 3 {
				return 0, nil, fmt.Errorf("bad output %q", line)
			}
			for _, field := range fields {
				f, err := strconv.ParseFloat(field, 64)
				if err != nil || f < 0 {
					return 0, nil, fmt.Errorf("bad output %q", line)
				}
				pct = append(pct, f)
			}
		}
	}
	if mean == 0 {
		return 0, nil, fmt.Errorf("no ns/op line in output %q", truncate(strings.TrimSpace(out), 60))
	}
	return mean, pct, nil
}

// tail keeps the last tailSize bytes written to it: enough for a micro
// workload's result and an error's last line, however chatty the program.
type tail struct{ buf []byte }

const tailSize = 4096

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return string(t.buf) }

// lastLine returns the last non-empty line written, trimmed.
func (t *tail) lastLine() string {
	lines := bytes.Split(bytes.TrimSpace(t.buf), []byte("\n"))
	return strings.TrimSpace(string(lines[len(lines)-1]))
}

// truncate shortens s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
