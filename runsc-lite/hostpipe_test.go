package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHostPipes: the sandbox's stdin and stdout as pipes from the host,
// as event loops use them (testdata/e2e/hostpipe.c): poll, select and
// epoll see no input until the host writes, O_NONBLOCK gives EAGAIN both
// ways, and blocking writes wait for the host reader and lose nothing.
// The program's reports (its stderr) must be the same natively and in
// the sandbox. Before, a host pipe was always ready and never
// non-blocking: a Node.js timer next to an idle stdin fired seconds late.
func TestHostPipes(t *testing.T) {
	bin := buildC(t, filepath.Join("testdata", "e2e", "hostpipe.c"), false)
	for _, mode := range []string{"in", "out"} {
		native := ""
		for _, platform := range platforms {
			t.Run(platform+"/"+mode, func(t *testing.T) {
				skipKnownGap(t)
				if native == "" {
					native = drivePipes(t, mode, bin)
				}
				sandboxed := drivePipes(t, mode, runscBin, "run", "--platform", platform, "--", bin)
				if native != sandboxed {
					t.Errorf("native and sandbox differ:\n%s", lineDiff(native, sandboxed))
				}
			})
		}
	}
}

// drivePipes runs argv with the mode's pipes and plays the host's side:
// for "in", it writes a line after the program says it is ready, then
// closes stdin; for "out", it reads nothing until the program says the
// pipe is full, then reads and checks every byte. It returns the
// program's reports.
func drivePipes(t *testing.T, mode string, argv ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], append(argv[1:], mode)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var reports strings.Builder
	lines := bufio.NewScanner(stderr)
	waitFor := func(want string) {
		for lines.Scan() {
			reports.WriteString(lines.Text() + "\n")
			if lines.Text() == want {
				return
			}
		}
		t.Errorf("%q: the program ended before saying %q:\n%s", argv, want, reports.String())
	}
	var read int
	switch mode {
	case "in":
		waitFor("ready")
		time.Sleep(100 * time.Millisecond) // the program waits in epoll_wait by now, or soon
		io.WriteString(stdin, "go\n")
		waitFor("read: 3 go")
		stdin.Close()
		io.Copy(io.Discard, stdout)
	case "out":
		stdin.Close()
		waitFor("full")
		b, _ := io.ReadAll(stdout)
		if bytes.Count(b, []byte("x")) != len(b) {
			t.Errorf("%q: stdout holds bytes other than the program's", argv)
		}
		read = len(b)
	}
	for lines.Scan() {
		reports.WriteString(lines.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("%q: %v\n%s", argv, err, reports.String())
	}
	checkNoStrays(t, cmd.Process.Pid, argv)
	if mode == "out" && read < 4<<20 {
		t.Errorf("%q: read %d bytes of stdout, want the blocking writes' 4 MiB and more", argv, read)
	}
	return reports.String()
}

// TestHostStdioReopened: a script opens its stdio again by path, as
// scripts do (`echo > /dev/stderr`, `cat /dev/stdin`), with stdin and
// stdout host files and stderr a host pipe: the same files and output
// as natively, O_TRUNC and O_APPEND included. Before, each open was
// ENXIO.
func TestHostStdioReopened(t *testing.T) {
	const script = `echo one; echo two > /dev/stdout; echo three >> /dev/stdout
echo err > /dev/stderr; cat /dev/stdin; cat < /proc/self/fd/0`
	run := func(t *testing.T, argv ...string) string {
		dir := t.TempDir()
		in := filepath.Join(dir, "in")
		if err := os.WriteFile(in, []byte("input\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		stdin, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		defer stdin.Close()
		stdout, err := os.Create(filepath.Join(dir, "out"))
		if err != nil {
			t.Fatal(err)
		}
		defer stdout.Close()
		var stderr bytes.Buffer
		ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("%q: %v\n%s", argv, err, stderr.String())
		}
		out, err := os.ReadFile(stdout.Name())
		if err != nil {
			t.Fatal(err)
		}
		return "stdout file:\n" + string(out) + "stderr:\n" + stderr.String()
	}
	native := run(t, "bash", "-c", script)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			skipKnownGap(t)
			if got := run(t, runscBin, "run", "--platform", platform, "--", "bash", "-c", script); got != native {
				t.Errorf("native and sandbox differ:\n%s", lineDiff(native, got))
			}
		})
	}
}
