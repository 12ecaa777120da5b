package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/sentry/control"
)

// TestAttachHooks attaches hooks to a running container through its
// control socket (control.Client.Attach): they deny an open, change
// another's path argument, emulate getcwd by writing the task's memory and
// replace getuid's result; when the client goes away the container runs on
// unhooked, and a client slower than its timeout is detached without
// holding the container.
func TestAttachHooks(t *testing.T) {
	bundle := ociBundle(t, "sh", "-c", `while :; do echo "L $(busybox pwd) $(id -u) `+
		`$(busybox head -c 4 /x/bin/busybox 2>&1) $(cat /probe 2>&1)"; sleep 0.05; done`)
	stateDir := workDir(t, "state")
	out := filepath.Join(stateDir, "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(runscBin, "--root", stateDir, "create", "--bundle", bundle, "c1")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out)
		t.Fatalf("create: %v: %s", err, b)
	}
	t.Cleanup(func() { oci(t, stateDir, "delete", "--force", "c1") })
	if r := oci(t, stateDir, "start", "c1"); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	const unhooked = "L / 0 head: /x/bin/busybox: No such file or directory cat: can't open '/probe': No such file or directory"
	const hooked = "L /emulated 4242 \x7fELF cat: can't open '/probe': Permission denied"
	var seen int // bytes of out already looked at
	waitLine := func(want string) {
		t.Helper()
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			b, _ := os.ReadFile(out)
			for _, l := range strings.SplitAfter(string(b[seen:]), "\n") {
				if !strings.HasSuffix(l, "\n") {
					break
				}
				seen += len(l)
				if strings.TrimSuffix(l, "\n") == want {
					return
				}
			}
		}
		b, _ := os.ReadFile(out)
		t.Fatalf("no line %q; the output:\n%s", want, b)
	}
	waitLine(unhooked)

	h := &interpose.Hooks{}
	var sawBusybox atomic.Bool
	h.Before(unix.SYS_OPENAT, func(c *interpose.Call) interpose.Action {
		path, err := c.String(1, 4096)
		switch {
		case err != nil:
			t.Errorf("reading openat's path: %v", err)
		case path == "/probe":
			sawBusybox.Store(c.Task.PID > 1 && strings.HasSuffix(c.Task.Exe, "busybox"))
			return interpose.Deny(unix.EACCES)
		case path == "/x/bin/busybox":
			c.Args[1] += 2 // "/bin/busybox"
		}
		return interpose.Continue()
	})
	h.Before(unix.SYS_GETCWD, func(c *interpose.Call) interpose.Action {
		if err := interpose.Write(c.Mem, c.Args[0], [10]byte{'/', 'e', 'm', 'u', 'l', 'a', 't', 'e', 'd'}); err != nil {
			return interpose.Deny(unix.EFAULT)
		}
		return interpose.Return(10)
	})
	for _, nr := range []uintptr{unix.SYS_GETUID, unix.SYS_GETEUID} {
		h.After(nr, func(_ *interpose.Call, r *interpose.Result) { r.Value = 4242 })
	}
	client := control.Client{Dir: filepath.Join(stateDir, "c1")}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- client.Attach(ctx, h, 10*time.Second) }()
	waitLine(hooked)
	if !sawBusybox.Load() {
		t.Errorf("the hook did not see the calling task as a busybox process")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Attach after its context ended: %v, want nil", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Attach did not return after its context ended")
	}
	waitLine(unhooked)

	// A client whose hook takes longer than the timeout: detached, the
	// call and the container go on unhooked.
	slow := &interpose.Hooks{}
	slow.Before(unix.SYS_GETCWD, func(*interpose.Call) interpose.Action {
		time.Sleep(2 * time.Second)
		return interpose.Deny(unix.EPERM)
	})
	start := time.Now()
	err = client.Attach(context.Background(), slow, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "no answer about getcwd") {
		t.Errorf("Attach of a slow client: %v, want it detached for no answer about getcwd", err)
	}
	waitLine(unhooked)
	t.Logf("the slow client was detached after %v", time.Since(start))

	bad := &interpose.Hooks{}
	bad.Before(unix.SYS_GETCWD, func(*interpose.Call) interpose.Action { return interpose.Continue() })
	if err := client.Attach(context.Background(), bad, 2*time.Minute); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("Attach with a 2-minute timeout: %v, want refused", err)
	}
}
