package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Outcome is how a test ended.
type Outcome string

const (
	Pass    Outcome = "pass"    // exit 0
	Conf    Outcome = "conf"    // exit 32: TCONF, the test does not apply
	Fail    Outcome = "fail"    // any other exit
	Timeout Outcome = "timeout" // killed at the time limit
	Missing Outcome = "missing" // the program was not built
)

// Outcomes in the order they are printed.
var Outcomes = []Outcome{Pass, Conf, Fail, Timeout, Missing}

// tconf is LTP's exit code for a test that does not apply (TCONF).
const tconf = 32

// Result is one test's run.
type Result struct {
	Outcome     Outcome `json:"outcome"`
	Exit        int     `json:"exit"`         // exit status (128+N for signal N), -1 when not run or killed
	DurationMS  int64   `json:"duration_ms"`  // wall time
	SentryCrash bool    `json:"sentry_crash"` // the output shows a Go panic or fatal error
	Tail        string  `json:"tail"`         // the last lines of stdout and stderr
}

// Runner runs tests in runsc-lite sandboxes.
type Runner struct {
	Runsc    string        // the runsc-lite binary
	Platform string        // systrap or ptrace
	LTPRoot  string        // LTP's install prefix: LTPROOT, with the programs in testcases/bin
	TmpRoot  string        // where each test's fresh TMPDIR is made
	Timeout  time.Duration // wall time a test gets
	Parallel int           // tests at a time
}

// tailBytes is how much of a test's output a result keeps.
const tailBytes = 4096

// RunAll runs tests, Parallel at a time, calling done after each.
func (r *Runner) RunAll(ctx context.Context, tests []Test, done func(Test, Result)) map[string]Result {
	results := make(map[string]Result, len(tests))
	var mu sync.Mutex
	work := make(chan Test)
	var wg sync.WaitGroup
	for range max(r.Parallel, 1) {
		wg.Go(func() {
			for t := range work {
				res := r.Run(ctx, t)
				mu.Lock()
				results[t.Name] = res
				done(t, res)
				mu.Unlock()
			}
		})
	}
	for _, t := range tests {
		if ctx.Err() != nil {
			break
		}
		work <- t
	}
	close(work)
	wg.Wait()
	return results
}

// Run runs one test in a new sandbox.
func (r *Runner) Run(ctx context.Context, t Test) Result {
	bin := filepath.Join(r.LTPRoot, "testcases", "bin")
	if _, err := os.Stat(filepath.Join(bin, t.Args[0])); err != nil {
		return Result{Outcome: Missing, Exit: -1, Tail: err.Error()}
	}
	tmp, err := os.MkdirTemp(r.TmpRoot, t.Name+"-")
	if err != nil {
		return Result{Outcome: Fail, Exit: -1, Tail: fmt.Sprintf("making TMPDIR: %v", err)}
	}
	defer os.RemoveAll(tmp)
	// Tests that drop privileges still use TMPDIR (MkdirTemp makes it 0700).
	if err := os.Chmod(tmp, 0o755); err != nil {
		return Result{Outcome: Fail, Exit: -1, Tail: fmt.Sprintf("TMPDIR: %v", err)}
	}
	args := []string{"run", "--platform=" + r.Platform, "--clear-env",
		"--env", "LTPROOT=" + r.LTPRoot,
		"--env", "TMPDIR=" + tmp,
		"--env", "PATH=" + bin + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"--cwd", tmp,
		"--", "/bin/sh", "-c", strings.Join(t.Args, " ") + "; exit $?"}
	cmd := exec.Command(r.Runsc, args...)
	out := &tailWriter{max: tailBytes}
	var timedOut atomic.Bool
	limit := newDeadline(r.Timeout, func() {
		timedOut.Store(true)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	w := io.MultiWriter(out, &announcements{extend: limit.extend})
	cmd.Stdout, cmd.Stderr = w, w // stdin stays /dev/null
	cmd.Dir = tmp
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{Outcome: Fail, Exit: -1, Tail: fmt.Sprintf("starting %s: %v", r.Runsc, err)}
	}
	limit.start()
	stop := context.AfterFunc(ctx, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err = cmd.Wait()
	limit.stop()
	stop()
	res := Result{Exit: cmd.ProcessState.ExitCode(), DurationMS: time.Since(start).Milliseconds(), Tail: out.String()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		res.Exit = 128 + int(ws.Signal())
	}
	res.SentryCrash = out.crashed
	var exitErr *exec.ExitError
	switch {
	case timedOut.Load():
		res.Outcome = Timeout
	case err != nil && !errors.As(err, &exitErr):
		res.Outcome, res.Tail = Fail, res.Tail+"\n"+err.Error()
	case res.Exit == 0:
		res.Outcome = Pass
	case res.Exit == tconf:
		res.Outcome = Conf
	default:
		res.Outcome = Fail
	}
	return res
}

// librarySlack is what a test gets past the limit its LTP library
// announced: the library's own timeout handler kills the test and
// reports TBROK, and the sandbox has to start and end.
const librarySlack = 30 * time.Second

// deadline is a test's wall-time limit: -timeout from the start, or
// longer once the test's LTP library announces a longer limit of its own.
type deadline struct {
	mu    sync.Mutex  // guards timer and end
	timer *time.Timer // nil until start, and after stop
	end   time.Time
	base  time.Duration
	kill  func()
}

func newDeadline(base time.Duration, kill func()) *deadline {
	return &deadline{base: base, kill: kill}
}

// start starts the clock: the test gets base from now.
func (d *deadline) start() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.end = time.Now().Add(d.base)
	d.timer = time.AfterFunc(d.base, d.kill)
}

// stop stops the clock.
func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
}

// extend gives the test until limit from now, plus librarySlack, when
// that is later than its current end (never shorter than -timeout).
func (d *deadline) extend(limit time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	end := time.Now().Add(limit + librarySlack)
	if d.timer == nil || !end.After(d.end) {
		return
	}
	if d.timer.Stop() { // not fired yet: move it
		d.end = end
		d.timer.Reset(time.Until(end))
	}
}

// overallTimeout is how the LTP library announces a run's limit
// (set_overall_timeout, tst_set_timeout): (30 s + the test's .timeout) x
// LTP_TIMEOUT_MUL + its .runtime (x LTP_RUNTIME_MUL). After it the
// library kills the run itself and reports TBROK, so a runner honours
// the test's declared runtime by giving it at least that long: as
// kirk, which gives each test an hour and leaves the limit to the
// library, but bounded. A test of the old API announces nothing and
// keeps -timeout; a test run once per file system re-arms the limit per
// run without a new announcement, so only its first run is covered.
var overallTimeout = regexp.MustCompile(`Overall timeout per run is (\d+)h (\d+)m (\d+)s`)

// announcements watches a test's output, line by line, for the
// library's limit and calls extend with it.
type announcements struct {
	partial []byte // the start of a line not yet ended
	extend  func(time.Duration)
}

func (a *announcements) Write(p []byte) (int, error) {
	a.partial = append(a.partial, p...)
	for {
		i := bytes.IndexByte(a.partial, '\n')
		if i < 0 {
			break
		}
		a.line(a.partial[:i])
		a.partial = a.partial[i+1:]
	}
	if len(a.partial) > 4096 { // no announcement is that long
		a.partial = a.partial[len(a.partial)-4096:]
	}
	return len(p), nil
}

func (a *announcements) line(l []byte) {
	m := overallTimeout.FindSubmatch(l)
	if m == nil {
		return
	}
	var hms [3]int
	for i := range hms {
		hms[i], _ = strconv.Atoi(string(m[i+1]))
	}
	a.extend(time.Duration(hms[0])*time.Hour + time.Duration(hms[1])*time.Minute + time.Duration(hms[2])*time.Second)
}

// crashMarks begin the Go runtime's report of a panic or of a fatal error
// (a stack overflow, a deadlock) at the start of a line.
var crashMarks = []string{"\npanic: ", "\nfatal error: "}

// tailWriter keeps the last max bytes written to it, and whether any of
// them showed a Go crash.
type tailWriter struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	crashed bool
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	const overlap = 16 // a mark may straddle two writes
	from := max(len(w.buf)-overlap, 0)
	w.buf = append(w.buf, p...)
	for _, m := range crashMarks {
		if strings.Contains(string(w.buf[from:]), m) || from == 0 && strings.HasPrefix(string(w.buf), m[1:]) {
			w.crashed = true
		}
	}
	if keep := w.max + overlap; len(w.buf) > 2*keep {
		w.buf = append(w.buf[:0], w.buf[len(w.buf)-keep:]...)
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.buf
	if len(b) > w.max {
		b = b[len(b)-w.max:]
	}
	return strings.ToValidUTF8(string(b), "?")
}
