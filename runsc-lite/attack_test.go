package main

// Attacks from inside the sandbox on the invariants of docs/security.md that
// the platform suite (platformtest's attacks) does not reach: a fork bomb
// must end at the sandbox's task limit, and random syscalls with hostile
// arguments must never crash the sentry. Each attack runs in a session of
// its own, so that every host process it made can be found afterwards.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"runsc-lite/platform/platformtest"
	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

func TestAttackForkBomb(t *testing.T) {
	prog := buildC(t, filepath.Join("testdata", "attack", "forkbomb.c"), false)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			t.Parallel()
			out, code := runAttack(t, "run", "--platform", platform, "--pids-limit", "64", "--", prog)
			// The bomb's first process reports how fork failed, then kills
			// its whole process group, itself included.
			if out != "fork: Resource temporarily unavailable\n" || code != 128+int(syscall.SIGKILL) {
				t.Errorf("fork bomb: output %q, exit %d; want EAGAIN from fork, then exit %d", out, code, 128+int(syscall.SIGKILL))
			}
		})
	}
}

func TestAttackSyscallFuzz(t *testing.T) {
	prog := buildC(t, filepath.Join("testdata", "attack", "fuzz.c"), false)
	children := "24"
	if testing.Short() {
		children = "6"
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			t.Parallel()
			dir := workDir(t, "fuzz")
			out, code := runAttack(t, "run", "--platform", platform, "--cwd", dir, "--", prog, children, "300", "0", "3")
			if code != 0 || !strings.HasSuffix(out, "fuzzed "+children+" children\n") {
				t.Errorf("random syscalls: exit %d, output ending %q; want exit 0 after %s children", code, lastLine(out), children)
			}
		})
	}
}

// runAttack runs runsc-lite with args in a new session, next to a native
// witness process, and returns its stdout and exit code. It fails the test
// if runsc-lite wrote anything on stderr (a panic, a sentry error), left a
// process of its session behind, or if the witness was touched
// (platformtest.Witness.Check).
func runAttack(t *testing.T, args ...string) (string, int) {
	t.Helper()
	return runAttackWitnessed(t, platformtest.StartWitness(t), args...)
}

// runAttackWitnessed is runAttack next to witness w, which the attack may
// target.
func runAttackWitnessed(t *testing.T, w *platformtest.Witness, args ...string) (string, int) {
	t.Helper()
	defer w.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, runscBin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if ctx.Err() != nil {
		t.Fatalf("runsc-lite %s: still running after %v", strings.Join(args, " "), 2*runTimeout)
	}
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("runsc-lite %s: %v", strings.Join(args, " "), err)
	}
	if stderr.Len() > 0 {
		t.Errorf("runsc-lite wrote on stderr:\n%s", stderr.String())
	}
	if left := sessionMembers(cmd.Process.Pid); len(left) > 0 {
		t.Errorf("runsc-lite exited, leaving processes %v of its session", left)
	}
	return stdout.String(), code
}

// sessionMembers lists the host processes in session sid.
func sessionMembers(sid int) []int {
	var pids []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the command name, which ends with the last ')':
		// state ppid pgrp session ...
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		if len(f) > 3 && f[3] == strconv.Itoa(sid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// lastLine returns the last line of s.
func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndexByte(s, '\n')+1:]
}

// TestAttackPtrace traces from inside (testdata/attack/ptrace.c): no
// request reaches a host process, the stub's image and the region it
// shares with the sentry, or kernel addresses and segments; a tracee
// sent into the stub's image faults; an unprivileged tracer attaches only
// within YAMA's scope 1 (its descendants, or who allowed it with
// PR_SET_PTRACER).
func TestAttackPtrace(t *testing.T) {
	prog := buildC(t, filepath.Join("testdata", "attack", "ptrace.c"), false)
	const want = `attach host pid: ESRCH
seize host pid: ESRCH
kill host pid: ESRCH
peek stub image: EIO
poke stub image: EIO
mem read stub image: EIO
mem write stub image: EIO
peek stub region: EIO
poke stub region: EIO
mem read stub region: EIO
mem write stub region: EIO
peek kernel: EIO
poke kernel: EIO
mem read kernel: EINVAL
mem write kernel: EINVAL
setregs kernel segments: 0
segments kept: 1
setregs kernel fs_base: EIO
pokeuser debug register: EIO
tracee at the stub's image: stopped SEGV
tracee ended: KILL
attach sibling: EPERM
attach sibling that allowed any: 0
attach init: EPERM
open init's mem: EACCES
open sibling's mem: EACCES
attach own child: 0
`
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			w := platformtest.StartWitness(t)
			out, code := runAttackWitnessed(t, w, "run", "--platform", platform, "--", prog, strconv.Itoa(w.Pid),
				strconv.FormatUint(stub.ImageBase, 16), strconv.FormatUint(sysmsg.Region, 16))
			if code != 0 || out != want {
				t.Errorf("exit %d; output differs (- want, + got):\n%s", code, lineDiff(want, out))
			}
		})
	}
}
