package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
	cmd.Stdout, cmd.Stderr = out, out // stdin stays /dev/null
	cmd.Dir = tmp
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return Result{Outcome: Fail, Exit: -1, Tail: fmt.Sprintf("starting %s: %v", r.Runsc, err)}
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(r.Timeout, func() {
		timedOut.Store(true)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	})
	stop := context.AfterFunc(ctx, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) })
	err = cmd.Wait()
	timer.Stop()
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
