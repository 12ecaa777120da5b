package monitor_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/monitor"
)

// buildC compiles the C program src, with threads, and returns its path.
func buildC(t *testing.T, src string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Fatal("the monitor tests need a C compiler (cc)")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "p.c"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "p")
	if out, err := exec.Command(cc, "-pthread", "-o", bin, filepath.Join(dir, "p.c")).CombinedOutput(); err != nil {
		t.Fatalf("cc: %v\n%s", err, out)
	}
	return bin
}

// TestMonitorThreads: two threads of a program make an answered call at
// once; under unotify both wait in the hook together (the supervisor
// handles notifications concurrently), under ptrace one after the other.
// A third call is denied.
func TestMonitorThreads(t *testing.T) {
	bin := buildC(t, `#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *ppid(void *arg) { *(long *)arg = getppid(); return NULL; }
int main(void) {
	long a = 0, b = 0;
	pthread_t ta, tb;
	pthread_create(&ta, NULL, ppid, &a);
	pthread_create(&tb, NULL, ppid, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	int r = chdir("/");
	printf("%ld %ld %d %d\n", a, b, r, errno);
	return 0;
}`)
	for _, m := range []string{"unotify", "ptrace"} {
		t.Run(m, func(t *testing.T) {
			var mu sync.Mutex // guards in, most
			in, most := 0, 0
			h := &interpose.Hooks{}
			h.Before(unix.SYS_GETPPID, func(*interpose.Call) interpose.Action {
				mu.Lock()
				in++
				most = max(most, in)
				mu.Unlock()
				// Wait (bounded) for the other thread's call to come in too.
				for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
					mu.Lock()
					both := most >= 2
					mu.Unlock()
					if both || m == "ptrace" {
						break
					}
				}
				mu.Lock()
				in--
				mu.Unlock()
				return interpose.Return(4242)
			})
			h.Before(unix.SYS_CHDIR, func(*interpose.Call) interpose.Action { return interpose.Deny(unix.EACCES) })
			out, trace, code := run(t, m, h, bin)
			if want := "4242 4242 -1 " + strconv.Itoa(int(unix.EACCES)) + "\n"; code != 0 || out != want {
				t.Errorf("exit %d, output %q; want 0 and %q\n%s", code, out, want, trace)
			}
			mu.Lock()
			defer mu.Unlock()
			if want := map[string]int{"unotify": 2, "ptrace": 1}[m]; most != want {
				t.Errorf("%d calls were in the hook at once, want %d", most, want)
			}
		})
	}
}

// TestMonitorGroupStop: a program that stops itself stays stopped until
// SIGCONT under both monitors, as under strace (ptrace's group-stop is
// kept with PTRACE_LISTEN, not resumed); a hook answers a call after.
func TestMonitorGroupStop(t *testing.T) {
	for _, m := range []string{"unotify", "ptrace"} {
		t.Run(m, func(t *testing.T) {
			out, err := os.CreateTemp(t.TempDir(), "stdout")
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			h := &interpose.Hooks{}
			h.Before(unix.SYS_GETPPID, func(*interpose.Call) interpose.Action { return interpose.Return(4242) })
			type result struct {
				code int
				err  error
			}
			done := make(chan result, 1)
			go func() {
				st, err := monitor.Run(monitor.Config{Monitor: m, Argv: []string{"/bin/sh", "-c", `echo $$; kill -STOP $$; echo resumed $PPID`},
					Env: []string{"PATH=/usr/bin:/bin"}, Stdout: out, Stderr: out, Hooks: h})
				done <- result{st.Code + 128*st.Signal, err}
			}()
			var pid int
			for end := time.Now().Add(20 * time.Second); pid == 0 && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				b, _ := os.ReadFile(out.Name())
				if line, _, ok := strings.Cut(string(b), "\n"); ok {
					pid, _ = strconv.Atoi(line)
				}
			}
			if pid == 0 {
				t.Fatal("the program did not print its pid")
			}
			stopped := false
			for end := time.Now().Add(10 * time.Second); !stopped && time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
				b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
				_, rest, _ := strings.Cut(string(b), ") ")
				stopped = strings.HasPrefix(rest, "T") || strings.HasPrefix(rest, "t")
			}
			if !stopped {
				t.Fatal("the program never stopped")
			}
			time.Sleep(300 * time.Millisecond) // time for a wrong resume to show
			if b, _ := os.ReadFile(out.Name()); strings.Contains(string(b), "resumed") {
				t.Fatalf("the program ran on before SIGCONT: %q", b)
			}
			unix.Kill(pid, unix.SIGCONT)
			select {
			case r := <-done:
				b, _ := os.ReadFile(out.Name())
				if r.err != nil || r.code != 0 || !strings.HasSuffix(string(b), "resumed 4242\n") {
					t.Errorf("after SIGCONT: %v, exit %d, output %q; want 0 and resumed 4242", r.err, r.code, b)
				}
			case <-time.After(20 * time.Second):
				unix.Kill(pid, unix.SIGKILL)
				t.Fatal("the program did not end after SIGCONT")
			}
		})
	}
}
