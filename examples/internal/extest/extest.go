// Package extest runs the examples' programs in sandboxes for their tests:
// C programs compiled with gcc at test time, run in-process with hooks.
package extest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"runsc-lite/interpose"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/sandbox"
)

// Build compiles the C source src into a static binary in a directory the
// sandbox's unprivileged identity can read, and returns its path.
func Build(t *testing.T, src string) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "extest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	c := filepath.Join(dir, "prog.c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "prog")
	if out, err := exec.Command("gcc", "-static", "-O1", "-o", bin, c).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return bin
}

// Run runs argv in a sandbox on platform (systrap or ptrace) with hooks h
// and returns how it ended.
func Run(t *testing.T, platform string, h *interpose.Hooks, argv ...string) kernel.ExitStatus {
	t.Helper()
	st, err := sandbox.Run(sandbox.Config{Root: "/", Cwd: "/", Platform: platform, Argv: argv,
		Env: []string{"PATH=/usr/bin:/bin"}, Hooks: h})
	if err != nil {
		t.Fatalf("running %v: %v", argv, err)
	}
	return st
}
