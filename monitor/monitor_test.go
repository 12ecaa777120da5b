package monitor_test

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/monitor"
)

// run runs argv under monitor m with hooks h and returns its stdout, its
// strace output and its exit code.
func run(t *testing.T, m string, h *interpose.Hooks, argv ...string) (stdout, trace string, code int) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	var tr bytes.Buffer
	st, err := monitor.Run(monitor.Config{Monitor: m, Argv: argv, Env: []string{"PATH=/usr/bin:/bin"},
		Stdout: out, Stderr: out, Hooks: h, Strace: &tr})
	if err != nil {
		t.Fatalf("%s: %v", m, err)
	}
	b, _ := os.ReadFile(out.Name())
	return string(b), tr.String(), st.Code + 128*st.Signal
}

// TestMonitors: on both monitors, a denied openat, a getppid a hook
// answers, and the strace lines of both.
func TestMonitors(t *testing.T) {
	for _, m := range []string{"unotify", "ptrace"} {
		t.Run(m, func(t *testing.T) {
			h := &interpose.Hooks{}
			var mu sync.Mutex // guards opened and after: unotify runs hooks on several goroutines
			var opened []string
			h.Before(unix.SYS_OPENAT, func(c *interpose.Call) interpose.Action {
				p, err := c.String(1, unix.PathMax)
				if err != nil {
					return interpose.Deny(unix.EFAULT)
				}
				mu.Lock()
				opened = append(opened, p)
				mu.Unlock()
				if p == "/etc/hostname" {
					return interpose.Deny(unix.EACCES)
				}
				return interpose.Continue()
			})
			h.Before(unix.SYS_GETPPID, func(c *interpose.Call) interpose.Action { return interpose.Return(4242) })
			var after []interpose.Result
			h.After(unix.SYS_GETPPID, func(c *interpose.Call, r *interpose.Result) { mu.Lock(); after = append(after, *r); mu.Unlock() })

			out, trace, code := run(t, m, h, "/bin/sh", "-c", `echo $PPID; exec cat /etc/hostname`)
			if code != 1 || !strings.HasPrefix(out, "4242\n") || !strings.Contains(out, "Permission denied") {
				t.Errorf("exit %d, output %q: want 1, 4242 and cat's Permission denied", code, out)
			}
			if len(opened) == 0 || opened[len(opened)-1] != "/etc/hostname" {
				t.Errorf("paths opened, as hooks saw them: %q", opened)
			}
			if len(after) != 1 || after[0].Value != 4242 || !after[0].Answered {
				t.Errorf("getppid's after-hooks saw %+v", after)
			}
			for _, want := range []string{
				`openat(AT_FDCWD, "/etc/hostname", O_RDONLY) = -1 EACCES (Permission denied)`,
				"getppid()                               = 4242",
			} {
				if !strings.Contains(trace, want) {
					t.Errorf("no %q in the trace:\n%s", want, trace)
				}
			}
		})
	}
}

// TestMonitorArguments: ptrace writes changed arguments to the registers
// (write's descriptor becomes a bad one); unotify cannot, and fails the
// call with ENOSYS.
func TestMonitorArguments(t *testing.T) {
	for _, m := range []string{"ptrace", "unotify"} {
		h := &interpose.Hooks{}
		h.Before(unix.SYS_WRITE, func(c *interpose.Call) interpose.Action {
			if c.Args[0] == 1 {
				c.Args[0] = 99
			}
			return interpose.Continue()
		})
		out, trace, code := run(t, m, h, "/bin/echo", "hello")
		want := map[string]string{"ptrace": "Bad file descriptor", "unotify": "Function not implemented"}[m]
		if code != 1 || !strings.Contains(out, want) || strings.Contains(out, "hello") {
			t.Errorf("%s: exit %d, output %q; want 1 and echo's %q\n%s", m, code, out, want, trace)
		}
	}
}

// TestMonitorAfter: ptrace's after-hooks see the kernel's result,
// unotify's know they do not.
func TestMonitorAfter(t *testing.T) {
	for _, m := range []string{"ptrace", "unotify"} {
		h := &interpose.Hooks{}
		var mu sync.Mutex // guards rs
		var rs []interpose.Result
		h.After(unix.SYS_WRITE, func(c *interpose.Call, r *interpose.Result) { mu.Lock(); rs = append(rs, *r); mu.Unlock() })
		if out, _, code := run(t, m, h, "/bin/echo", "hello"); out != "hello\n" || code != 0 {
			t.Fatalf("%s: %q, exit %d", m, out, code)
		}
		if len(rs) != 1 {
			t.Fatalf("%s: %d writes seen, want 1", m, len(rs))
		}
		switch {
		case m == "ptrace" && (rs[0].Value != 6 || rs[0].Unknown):
			t.Errorf("ptrace: write's result %+v, want 6", rs[0])
		case m == "unotify" && !rs[0].Unknown:
			t.Errorf("unotify: write's result %+v, want Unknown", rs[0])
		}
	}
}

// TestUnotifyListenerPrivate: the program under unotify holds no
// listener (it could answer its own calls) and runs with no_new_privs.
func TestUnotifyListenerPrivate(t *testing.T) {
	h := &interpose.Hooks{}
	h.Before(unix.SYS_GETPPID, func(*interpose.Call) interpose.Action { return interpose.Continue() })
	out, _, code := run(t, "unotify", h, "/bin/sh", "-c", `ls -l /proc/$$/fd; grep NoNewPrivs /proc/$$/status`)
	if code != 0 || strings.Contains(out, "seccomp") || !strings.Contains(out, "NoNewPrivs:\t1") {
		t.Errorf("exit %d, output:\n%s\nwant no seccomp listener and NoNewPrivs 1", code, out)
	}
}
