package main

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOwnSession checks that a sentry without a terminal runs in a
// session of its own (and so, with the host's autogroups on, in a
// scheduling group of its own, as runsc's sandbox does), and that the
// signals a shell sends runsc-lite still reach the sandbox: ^Z (SIGTSTP)
// stops runsc-lite and the sentry until SIGCONT, and SIGINT reaches the
// sandbox's init. (TestTerminal covers a sentry with a terminal, in the
// caller's process group.)
func TestOwnSession(t *testing.T) {
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			skipKnownGap(t)
			cmd := exec.Command(runscBin, "run", "--platform", platform, "--", "/bin/sh", "-c",
				`trap 'echo got INT; exit 3' INT; echo ready; while :; do sleep 0.05; done`)
			cmd.Dir = "/"
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := bufio.NewReader(out)
			if line, err := lines.ReadString('\n'); line != "ready\n" {
				t.Fatalf("the sandbox printed %q (%v), want ready", line, err)
			}
			cli := cmd.Process.Pid
			sentry := sentryOf(t, cli)
			sid, err := unix.Getsid(sentry)
			if err != nil {
				t.Fatal(err)
			}
			callerSid, _ := unix.Getsid(cli)
			if sid != sentry || sid == callerSid {
				t.Errorf("the sentry %d is in session %d, runsc-lite %d in %d: want the sentry to lead a session of its own", sentry, sid, cli, callerSid)
			}
			if on, _ := os.ReadFile("/proc/sys/kernel/sched_autogroup_enabled"); strings.TrimSpace(string(on)) == "1" {
				a, _ := os.ReadFile("/proc/" + strconv.Itoa(sentry) + "/autogroup")
				b, _ := os.ReadFile("/proc/" + strconv.Itoa(cli) + "/autogroup")
				if len(a) == 0 || string(a) == string(b) {
					t.Errorf("the sentry's autogroup %q is runsc-lite's %q", a, b)
				}
			}

			if err := unix.Kill(cli, unix.SIGTSTP); err != nil {
				t.Fatal(err)
			}
			// Stopped as its parent sees it: every thread of runsc-lite
			// has stopped (its first thread's state in /proc comes
			// sooner).
			var ws syscall.WaitStatus
			for deadline := time.Now().Add(runTimeout); !ws.Stopped(); time.Sleep(10 * time.Millisecond) {
				if pid, err := syscall.Wait4(cli, &ws, syscall.WUNTRACED|syscall.WNOHANG, nil); err != nil || pid == cli && !ws.Stopped() || time.Now().After(deadline) {
					t.Fatalf("after SIGTSTP runsc-lite reports %v (%v) to its parent, want stopped", ws, err)
				}
			}
			waitState(t, "the sentry", sentry, func(s byte) bool { return s == 'T' }, "stopped")
			if err := unix.Kill(cli, unix.SIGCONT); err != nil {
				t.Fatal(err)
			}
			waitState(t, "the sentry", sentry, func(s byte) bool { return s != 'T' }, "running again")

			if err := unix.Kill(cli, unix.SIGINT); err != nil {
				t.Fatal(err)
			}
			if line, err := lines.ReadString('\n'); line != "got INT\n" {
				t.Errorf("after SIGINT the sandbox printed %q (%v), want got INT", line, err)
			}
			err = cmd.Wait()
			if code := cmd.ProcessState.ExitCode(); code != 3 {
				t.Errorf("runsc-lite exited with %d (%v), want init's 3", code, err)
			}
		})
	}
}

// sentryOf returns the pid of runsc-lite cli's sentry: its child whose
// argv[0] is the sentry's.
func sentryOf(t *testing.T, cli int) int {
	t.Helper()
	tasks, _ := os.ReadDir("/proc/" + strconv.Itoa(cli) + "/task")
	for _, task := range tasks {
		children, _ := os.ReadFile("/proc/" + strconv.Itoa(cli) + "/task/" + task.Name() + "/children")
		for _, c := range strings.Fields(string(children)) {
			argv, _ := os.ReadFile("/proc/" + c + "/cmdline")
			if strings.HasPrefix(string(argv), "runsc-lite-sentry\x00") {
				pid, _ := strconv.Atoi(c)
				return pid
			}
		}
	}
	t.Fatalf("runsc-lite %d has no sentry child", cli)
	return 0
}

// waitState waits until the state letter of process pid, called name, in
// /proc (R, S, T, ...) satisfies want, and fails the test if it does not
// within runTimeout.
func waitState(t *testing.T, name string, pid int, want func(byte) bool, what string) {
	t.Helper()
	var state byte
	for deadline := time.Now().Add(runTimeout); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatalf("%s %d: %v", name, pid, err)
		}
		// The state follows the command name's closing parenthesis.
		if i := strings.LastIndexByte(string(stat), ')'); i >= 0 && i+2 < len(stat) {
			if state = stat[i+2]; want(state) {
				return
			}
		}
	}
	t.Fatalf("%s %d is in state %c, want it %s", name, pid, state, what)
}

// TestBackgroundReadStops runs runsc-lite as a background job of a shell
// with job control, on a pseudo-terminal that is the sandbox's stdio, and
// types a line: the sentry, which reads the terminal for the sandbox, must
// stop with its job (SIGTTIN, "Stopped (tty input)"), as any program that
// reads its terminal from the background does, and not take the line
// typed to the shell.
func TestBackgroundReadStops(t *testing.T) {
	skipKnownGap(t)
	master, slave := openPTY(t)
	defer master.Close()
	go io.Copy(io.Discard, master) // the terminal's echo, and what the shell says
	pidFile := filepath.Join(t.TempDir(), "pid")
	cmd := exec.Command("/bin/bash", "--norc", "-c", `set -m; "$0" run -- /bin/cat & echo $! > "$1"; wait; exec sleep 600`, runscBin, pidFile)
	cmd.Dir = "/"
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	defer cmd.Wait()
	defer cmd.Process.Kill() // the shell, which waits on once the job stops
	var job int
	for deadline := time.Now().Add(runTimeout); job == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, _ := os.ReadFile(pidFile)
		job, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	if job == 0 {
		cmd.Process.Kill()
		t.Fatal("the shell did not start runsc-lite")
	}
	defer unix.Kill(-job, unix.SIGKILL) // the job's process group: runsc-lite and, here, the sentry
	if _, err := master.Write([]byte("typed to the shell\n")); err != nil {
		t.Fatal(err)
	}
	waitState(t, "runsc-lite", job, func(s byte) bool { return s == 'T' }, "stopped by SIGTTIN")
}
