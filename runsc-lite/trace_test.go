package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrace runs `runsc-lite trace` on both monitors: a denied mkdir
// (the host has no new directory after), a getppid answered with 4242,
// and the strace lines of both.
func TestTrace(t *testing.T) {
	for _, m := range []string{"unotify", "ptrace"} {
		t.Run(m, func(t *testing.T) {
			dir := workDir(t, "trace")
			target := filepath.Join(dir, "made")
			r := runscLite(t, runOpts{dir: dir}, "trace", "--monitor="+m, "--strace",
				"--deny=mkdir:EACCES,mkdirat:EACCES", "--answer=getppid:4242", "--",
				"/bin/sh", "-c", `echo $PPID; mkdir "$1" || echo refused`, "sh", target)
			if r.code != 0 || r.stdout != "4242\nrefused\n" || !strings.Contains(r.stderr, "Permission denied") {
				t.Fatalf("want 4242, refused and mkdir's Permission denied; got %v", r)
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Errorf("the denied mkdir made %s: %v", target, err)
			}
			for _, want := range []string{"getppid()                               = 4242",
				`"` + target + `", 0777) = -1 EACCES (Permission denied)`} {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("the trace lacks %q:\n%s", want, clip(r.stderr))
				}
			}
		})
	}
}

// TestTraceInSandbox runs the unotify monitor inside the sandbox: a real
// supervisor of the application's own seccomp user notification
// (sentry/kernel/seccomp_notify.go), its answers and denials reaching the
// traced shell.
func TestTraceInSandbox(t *testing.T) {
	for _, p := range platforms {
		t.Run(p, func(t *testing.T) {
			r := runscLite(t, runOpts{}, "run", "--platform", p, "--volume", runscBin+":/runsc-lite:ro", "--",
				"/runsc-lite", "trace", "--monitor=unotify", "--strace",
				"--deny=mkdir:EACCES,mkdirat:EACCES", "--answer=getppid:4242", "--",
				"/bin/sh", "-c", `echo $PPID; mkdir /tmp/made || echo refused; test -e /tmp/made && echo made`)
			if r.code != 1 || r.stdout != "4242\nrefused\n" || !strings.Contains(r.stderr, "Permission denied") {
				t.Fatalf("want 4242, refused, no directory and mkdir's Permission denied; got %v", r)
			}
			if want := "getppid()                               = 4242"; !strings.Contains(r.stderr, want) {
				t.Errorf("the trace lacks %q:\n%s", want, clip(r.stderr))
			}
		})
	}
}

// TestTraceBadInput: one line naming the problem, exit status 2 (a usage
// error).
func TestTraceBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"trace", "--monitor=bogus", "--", "/bin/true"},
		{"trace", "--deny=nosuchcall:EACCES", "--", "/bin/true"},
		{"trace", "--deny=mkdir:ENOTANERRNO", "--", "/bin/true"},
		{"trace", "--answer=getpid:-3", "--", "/bin/true"},
		{"trace", "--syscalls=%nosuchclass", "--", "/bin/true"},
		{"trace"},
	} {
		r := runscLite(t, runOpts{}, args...)
		if r.code != 2 || strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 || r.stderr == "" {
			t.Errorf("%q: want exit 2 and one line; got %v", args, r)
		}
	}
	if r := runscLite(t, runOpts{}, "trace", "--", "/no/such/command"); r.code != 127 {
		t.Errorf("a missing command: want exit 127; got %v", r)
	}
}
