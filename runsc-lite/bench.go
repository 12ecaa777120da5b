package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/subcommands"
	"golang.org/x/sys/unix"

	"runsc-lite/tools/bench"
)

// benchCmd compares native, runsc-lite's platforms and gVisor side by side.
type benchCmd struct {
	reps        int
	quick       bool
	only        string
	jsonPath    string
	svgPath     string
	runsc       string
	platforms   string
	monitors    string
	cache       string
	timeout     time.Duration
	load        int
	compareIdle bool
	noPatch     bool
}

func (*benchCmd) Name() string { return "bench" }
func (*benchCmd) Synopsis() string {
	return "compare native, runsc-lite's platforms and gVisor on micro and macro workloads"
}
func (*benchCmd) Usage() string {
	return manual{
		synopsis: "bench [--quick] [--reps=N] [--only=NAMES|REGEX] [--load=N [--compare-idle]] [--json=FILE] [--svg=FILE] [--runsc=PATH]",
		about: `Runs each workload natively, under runsc-lite on every platform and under
gVisor's runsc (when installed) on the same platforms, interleaved, and
prints per workload and runner the median, the spread, the ratio to native
and the ratio to gVisor; then per workload and runner the latency
percentiles of micro workloads (p50/p90/p99 within a run) and the CPU time
(user+system, every process the command started, sandbox processes
included) beside the wall time. The header names the machine, its load
average at start and end and the tools' versions, and warns when the
machine was busy. Micro workloads are C programs compiled with gcc on first
use; macro workloads are real programs timed from outside. A failed run
shows as "failed: REASON" and is not counted. --load=N runs N busy loops
beside the workloads, to compare the sandboxes under contention; with
--compare-idle every rep is also taken just before with the loops paused
(SIGSTOP), and a third table gives each runner's slowdown under the load
(loaded median over idle median), measured in the same run.`,
		examples: `runsc-lite bench --quick
runsc-lite bench --only=getppid,fork-wait --runsc=none
runsc-lite bench --only='^(getppid|bash-.*)$' --load=2
runsc-lite bench --only=getppid,bash-fork-exec-100 --load=2 --compare-idle
runsc-lite bench --svg docs/bench.svg`,
		exit: "0  the table was printed (failed runs included)\n1  the benchmark could not run\n2  a bad flag or argument",
	}.String()
}

func (c *benchCmd) SetFlags(f *flag.FlagSet) {
	f.IntVar(&c.reps, "reps", 0, "runs of each workload per runner (default 5, 3 with --quick)")
	f.BoolVar(&c.quick, "quick", false, "few reps and small iteration counts: done in under 2 minutes")
	f.StringVar(&c.only, "only", "", "run only the workloads named in a comma-separated list, or whose name matches a regular expression (`NAMES|REGEX`)")
	f.IntVar(&c.load, "load", 0, "run `N` busy-loop processes beside the workloads for the whole run")
	f.BoolVar(&c.compareIdle, "compare-idle", false, "with --load: also take every rep with the busy loops paused, and report each runner's slowdown under the load")
	f.StringVar(&c.jsonPath, "json", "", "write every sample as JSON to `FILE`")
	f.StringVar(&c.svgPath, "svg", "", "write a bar chart of the ratios to native to `FILE`")
	f.StringVar(&c.runsc, "runsc", "", "gVisor's runsc binary at `PATH` (default: runsc in PATH; none to skip gVisor)")
	f.StringVar(&c.platforms, "platforms", "systrap,ptrace", "comma-separated platforms to compare")
	f.BoolVar(&c.noPatch, "no-patch", false, "run runsc-lite with --no-patch (systrap: no syscall-site patching)")
	f.StringVar(&c.monitors, "monitors", "unotify,ptrace", "comma-separated host monitors to compare (`runsc-lite trace`, every syscall stopped); none for none")
	f.StringVar(&c.cache, "cache", "", "`DIR` for compiled workloads, not under /tmp (default: the user cache directory)")
	f.DurationVar(&c.timeout, "timeout", 0, "a run taking longer fails (default 2m, 30s with --quick)")
}

func (c *benchCmd) Execute(ctx context.Context, f *flag.FlagSet, _ ...any) subcommands.ExitStatus {
	if f.NArg() > 0 {
		return fail(exitUsage, "bench: unexpected argument %q; bench takes only flags", f.Arg(0))
	}
	cfg, err := c.config()
	if err != nil {
		return fail(1, "bench: %v", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, unix.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil && res == nil {
		return fail(1, "bench: %v", err)
	}
	if werr := c.write(res); werr != nil {
		return fail(1, "bench: %v", werr)
	}
	if err != nil {
		return fail(1, "bench: stopped: %v", err)
	}
	return subcommands.ExitSuccess
}

// config turns the flags into a bench.Config, or says which flag is wrong.
func (c *benchCmd) config() (bench.Config, error) {
	cfg := bench.Config{Reps: c.reps, Quick: c.quick, Timeout: c.timeout, Load: c.load, CompareIdle: c.compareIdle}
	if c.load < 0 || c.load > 1024 {
		return cfg, fmt.Errorf("--load=%d: want 0 to 1024 busy loops", c.load)
	}
	if c.compareIdle && c.load == 0 {
		return cfg, errors.New("--compare-idle needs --load=N: it compares runs beside busy loops with runs without them")
	}
	switch {
	case c.reps < 0:
		return cfg, fmt.Errorf("--reps=%d: want a positive number", c.reps)
	case c.reps == 0 && c.quick:
		cfg.Reps = 3
	case c.reps == 0:
		cfg.Reps = 5
	}
	switch {
	case c.timeout < 0:
		return cfg, fmt.Errorf("--timeout=%v: want a positive duration", c.timeout)
	case c.timeout == 0 && c.quick:
		cfg.Timeout = 30 * time.Second
	case c.timeout == 0:
		cfg.Timeout = 2 * time.Minute
	}
	var err error
	if cfg.Workloads, err = bench.Select(bench.Workloads(), c.only); err != nil {
		return cfg, err
	}
	platforms, err := parsePlatforms(c.platforms)
	if err != nil {
		return cfg, err
	}
	self, err := os.Executable()
	if err != nil {
		return cfg, fmt.Errorf("finding the runsc-lite binary: %v", err)
	}
	runsc, err := findRunsc(c.runsc)
	if err != nil {
		return cfg, err
	}
	monitors, err := parseMonitors(c.monitors)
	if err != nil {
		return cfg, err
	}
	cfg.Runners = bench.Runners(self, runsc, platforms, monitors)
	if c.noPatch {
		cfg.Runners = bench.WithRunFlags(cfg.Runners, "--no-patch")
	}
	cfg.Versions = map[string]string{
		"runsc-lite": toolVersion(2, self, "version"),
		"gcc":        toolVersion(1, "gcc", "--version"),
	}
	if runsc != "" {
		cfg.Versions["runsc"] = toolVersion(1, runsc, "--version")
	}
	if cfg.Dir, err = cacheDir(c.cache); err != nil {
		return cfg, err
	}
	cfg.Progress = bench.NewProgress(os.Stderr, isTerminal(os.Stderr))
	return cfg, nil
}

// toolVersion is what a tool says its version is: the first n lines of
// its version output, joined ("unknown" if it says nothing).
func toolVersion(n int, tool string, args ...string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, tool, args...).Output()
	var lines []string
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); line != "" && len(lines) < n {
			lines = append(lines, line)
		}
	}
	if len(lines) == 0 {
		return "unknown"
	}
	return strings.Join(lines, ", ")
}

// parsePlatforms checks a comma-separated list of platforms.
func parsePlatforms(list string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(list, ",") {
		switch p = strings.TrimSpace(p); p {
		case "systrap", "ptrace":
			out = append(out, p)
		case "":
		default:
			return nil, fmt.Errorf("--platforms: unknown platform %q; want systrap or ptrace", p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--platforms=%q: want at least one of systrap, ptrace", list)
	}
	return out, nil
}

// findRunsc returns gVisor's runsc: the flag's path, checked, or runsc in
// PATH; "" when it is not installed or the flag says none.
func findRunsc(flagPath string) (string, error) {
	switch flagPath {
	case "none":
		return "", nil
	case "":
		path, err := exec.LookPath("runsc")
		if err != nil {
			return "", nil
		}
		return path, nil
	}
	path, err := exec.LookPath(flagPath)
	if err != nil {
		return "", fmt.Errorf("--runsc=%s: %v", flagPath, err)
	}
	return path, nil
}

// cacheDir returns an absolute directory for compiled workloads. It may not
// be under /tmp, which sandboxes replace with their own.
func cacheDir(dir string) (string, error) {
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("no user cache directory (%v); pass --cache=DIR", err)
		}
		dir = filepath.Join(base, "runsc-lite-bench")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("--cache=%s: %v", dir, err)
	}
	if abs == "/tmp" || strings.HasPrefix(abs, "/tmp/") {
		return "", fmt.Errorf("--cache=%s: sandboxes do not see the host's /tmp; pick a directory elsewhere", dir)
	}
	return abs, nil
}

// write prints the table and writes the JSON and SVG files asked for.
func (c *benchCmd) write(res *bench.Result) error {
	if err := bench.WriteTable(os.Stdout, res); err != nil {
		return err
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer, *bench.Result) error
	}{
		{c.jsonPath, bench.WriteJSON},
		{c.svgPath, bench.WriteSVG},
	} {
		if out.path == "" {
			continue
		}
		if err := writeFile(out.path, res, out.write); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates path and writes res to it with write.
func writeFile(path string, res *bench.Result, write func(io.Writer, *bench.Result) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f, res); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return f.Close()
}

// isTerminal reports whether f is a terminal.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// parseMonitors checks a comma-separated list of host monitors.
func parseMonitors(list string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(list, ",") {
		switch m = strings.TrimSpace(m); m {
		case "unotify", "ptrace":
			out = append(out, m)
		case "", "none":
		default:
			return nil, fmt.Errorf("--monitors: unknown monitor %q; want unotify, ptrace or none", m)
		}
	}
	return out, nil
}
