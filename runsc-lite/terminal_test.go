package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestTerminal runs testdata/terminal/tty.c natively and in the sandbox on
// a pseudo-terminal that is its stdio and controlling terminal, as a shell
// on a terminal would, types Ctrl-C or Ctrl-Z where a scenario asks for
// it, and requires the same output and exit status.
func TestTerminal(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatal("the terminal test needs gcc")
	}
	prog := buildC(t, filepath.Join("testdata", "terminal", "tty.c"), false)
	typing := func(keys string) func(*os.File) error {
		return func(m *os.File) error { _, err := m.Write([]byte(keys)); return err }
	}
	resize := func(m *os.File) error {
		return unix.IoctlSetWinsize(int(m.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 30, Col: 100})
	}
	scenarios := []struct {
		name string
		act  func(master *os.File) error // after the program prints "ready"
	}{
		{"basic", nil},
		{"intr", typing("\x03")},
		{"intr-read", typing("\x03")}, // the child is blocked reading the terminal
		{"quit", typing("\x1c")},
		{"stop", typing("\x1a")},
		{"winch", resize},
		{"sigio", typing("hello\n")}, // O_ASYNC and poll on the host terminal
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			for _, sc := range scenarios {
				t.Run(sc.name, func(t *testing.T) {
					skipKnownGap(t)
					dir := workDir(t, "tty")
					native := runOnPTY(t, dir, sc.act, prog, sc.name)
					sandboxed := runOnPTY(t, dir, sc.act, runscBin, "run", "--platform", platform, "--cwd", dir, "--", prog, sc.name)
					t.Logf("native output:\n%s", native)
					if native != sandboxed {
						t.Errorf("output differs (- native, + sandbox):\n%s", lineDiff(native, sandboxed))
					}
					if !strings.HasSuffix(native, "parent: done\nexit 0\n") {
						t.Errorf("the program fails natively:\n%s", native)
					}
				})
			}
		})
	}
}

// runOnPTY runs argv in a new session whose controlling terminal is a new
// pseudo-terminal, its stdin, stdout and stderr; once the output shows
// "ready", it acts on the terminal (types, resizes). It returns the output, with the terminal's \r\n
// as \n, and a last line with the exit status.
func runOnPTY(t *testing.T, dir string, act func(master *os.File) error, argv ...string) string {
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Start(); err != nil {
		slave.Close()
		t.Fatalf("starting %q: %v", argv, err)
	}
	slave.Close()

	var mu sync.Mutex
	var out bytes.Buffer
	readDone := make(chan struct{})
	sawReady := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		signaled := false
		for {
			n, err := master.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			if !signaled && strings.Contains(out.String(), "ready") {
				signaled = true
				close(sawReady)
			}
			mu.Unlock()
			if err != nil {
				return // EIO: every slave descriptor is closed
			}
		}
	}()
	var err error
	waitDone := make(chan struct{})
	go func() { err = cmd.Wait(); close(waitDone) }()
	if act != nil {
		select {
		case <-sawReady:
			// Let the child reach pause(); a keystroke earlier is fine
			// too, its handler is in place.
			time.Sleep(100 * time.Millisecond)
			if err := act(master); err != nil {
				t.Errorf("acting on the terminal: %v", err)
			}
		case <-waitDone:
		}
	}
	<-waitDone
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
	}
	if ctx.Err() != nil {
		t.Fatalf("%q did not finish within %v; output:\n%s", argv, runTimeout, out.String())
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %q: %v", argv, err)
	}
	mu.Lock()
	defer mu.Unlock()
	return strings.ReplaceAll(out.String(), "\r\n", "\n") + fmt.Sprintf("exit %d\n", code)
}

// openPTY opens a new pseudo-terminal: /dev/ptmx, unlockpt, ptsname.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(master.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetUint32(fd, unix.TIOCGPTN)
	if err != nil {
		master.Close()
		t.Fatalf("ptsname: %v", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		t.Fatalf("opening the pty's slave: %v", err)
	}
	return master, slave
}
