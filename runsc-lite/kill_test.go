package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/cgroup"
)

// killMoments are when TestKillNine kills runsc-lite: so long after it
// started, or so long after the sandbox's program said it runs.
var killMoments = []struct {
	name    string
	program string
	afterStart,
	afterReady time.Duration
}{
	{"at-start", "/bin/true", 0, -1},
	{"start-up-1ms", "/bin/true", time.Millisecond, -1},
	{"start-up-3ms", "/bin/true", 3 * time.Millisecond, -1},
	{"start-up-6ms", "/bin/true", 6 * time.Millisecond, -1},
	{"start-up-10ms", "/bin/true", 10 * time.Millisecond, -1},
	{"running", "echo ready; read x", 0, 0},
	{"fork-exec-storm", "echo ready; while :; do /bin/true & /bin/true; done", 0, 50 * time.Millisecond},
	{"thread-storm", "echo ready; for i in 1 2 3 4 5 6 7 8; do (while :; do /bin/true; done) & done; wait", 0, 100 * time.Millisecond},
}

// TestKillNine kills runsc-lite with SIGKILL at several moments, on both
// platforms, from a helper process that is a child subreaper (so that
// anything of the sandbox that outlived it would become the helper's):
// no process of the sandbox is left, none of its mounts is in the host's
// mount table, and the next runsc-lite removes the cgroup the killed one
// left.
func TestKillNine(t *testing.T) {
	if os.Getenv("RUNSC_LITE_KILL9") != "" {
		killNineHelper(t)
		return
	}
	bases, err := cgroup.Bases()
	if err != nil {
		t.Fatal(err)
	}
	for _, platform := range platforms {
		for _, m := range killMoments {
			t.Run(platform+"/"+m.name, func(t *testing.T) {
				skipKnownGap(t)
				cmd := exec.Command(os.Args[0], "-test.run=^TestKillNine$")
				cmd.Env = append(os.Environ(), "RUNSC_LITE_BIN="+runscBin,
					fmt.Sprintf("RUNSC_LITE_KILL9=%s\x1f%s\x1f%d\x1f%d", platform, m.program, m.afterStart, m.afterReady))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("the helper failed: %v\n%s", err, out)
				}
				var killed int
				var left string
				for _, line := range strings.Split(string(out), "\n") {
					if v, ok := strings.CutPrefix(line, "killed "); ok {
						killed, _ = strconv.Atoi(v)
					}
					if v, ok := strings.CutPrefix(line, "left "); ok {
						left = v
					}
				}
				if killed == 0 {
					t.Fatalf("the helper did not say what it killed:\n%s", out)
				}
				if left != "" {
					t.Errorf("processes of the sandbox outlived runsc-lite %d: %s", killed, left)
				}
				// The next start removes the killed one's cgroup.
				if r := runscLite(t, runOpts{dir: "/"}, "run", "--platform", platform, "--", "/bin/true"); r.code != 0 {
					t.Fatalf("the next run: %v", r)
				}
				if mi, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(mi), "runsc-lite-s") {
					t.Errorf("a mount of the sandbox is in the host's mount table:\n%s", mi)
				}
				for _, base := range bases {
					stale, _ := filepath.Glob(filepath.Join(base, fmt.Sprintf("%s%d-*", cgroup.Prefix, killed)))
					if len(stale) > 0 {
						t.Errorf("the cgroup of the killed runsc-lite %d is still there after the next start: %v", killed, stale)
					}
				}
			})
		}
	}
}

// killNineHelper starts runsc-lite, kills it as RUNSC_LITE_KILL9 says,
// and prints "killed PID" and, if anything of the sandbox is left after a
// few seconds, "left ...".
func killNineHelper(t *testing.T) {
	f := strings.Split(os.Getenv("RUNSC_LITE_KILL9"), "\x1f")
	afterStart, _ := strconv.ParseInt(f[2], 10, 64)
	afterReady, _ := strconv.ParseInt(f[3], 10, 64)
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(runscBin, "run", "--platform", f[0], "--pids-limit=64", "--", "/bin/sh", "-c", f[1])
	cmd.Dir = "/"
	stdin, _ := cmd.StdinPipe()
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Duration(afterStart))
	if afterReady >= 0 {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if line != "ready\n" {
			cmd.Process.Kill()
			t.Fatalf("the sandbox printed %q (%v), want ready", line, err)
		}
		time.Sleep(time.Duration(afterReady))
	}
	cmd.Process.Kill()
	cmd.Wait()
	fmt.Printf("killed %d\n", cmd.Process.Pid)
	// Orphans of the sandbox would be this process's children now. Wait
	// until it has none at all: a process whose first thread is a zombie
	// may still be tearing down its PID namespace in another thread.
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG|syscall.WALL, nil)
		if err == syscall.ECHILD {
			break
		}
		if pid > 0 || time.Now().Before(deadline) {
			continue
		}
		for _, p := range hostProcs() {
			if p.ppid == os.Getpid() {
				cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/cmdline")
				left = append(left, fmt.Sprintf("%d (%s) %q", p.pid, p.state, strings.ReplaceAll(string(cmdline), "\x00", " ")))
			}
		}
		break
	}
	if len(left) > 0 {
		fmt.Printf("left %s\n", strings.Join(left, "; "))
	}
}
