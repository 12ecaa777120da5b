package sandbox_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/sentry/sandbox"
)

// TestHooksAttachedWhileRunning: a program waits for getppid to return
// 4242; the hook that makes it do so is registered after the sandbox
// started, on the Hooks it was given.
func TestHooksAttachedWhileRunning(t *testing.T) {
	dir, err := os.MkdirTemp("/var/tmp", "sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	src := filepath.Join(dir, "wait.c")
	os.WriteFile(src, []byte(`#include <unistd.h>
int main(void) { for (int i = 0; i < 20000; i++) { if (getppid() == 4242) return 0; usleep(1000); } return 1; }`), 0o644)
	bin := filepath.Join(dir, "wait")
	if out, err := exec.Command("gcc", "-static", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	h := &interpose.Hooks{}
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		st, err := sandbox.Run(sandbox.Config{Root: "/", Cwd: "/", Platform: "systrap", Argv: []string{bin}, Hooks: h})
		done <- result{st.Code, err}
	}()
	time.Sleep(100 * time.Millisecond)
	select {
	case r := <-done:
		t.Fatalf("the program ended before the hook was attached: %+v", r)
	default:
	}
	h.Before(unix.SYS_GETPPID, func(*interpose.Call) interpose.Action { return interpose.Return(4242) })
	select {
	case r := <-done:
		if r.err != nil || r.code != 0 {
			t.Errorf("exit %d, %v: want 0 once the hook answered", r.code, r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the program never saw the hook")
	}
}
