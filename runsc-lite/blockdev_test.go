package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestLoopDevice runs testdata/e2e/loop.c in the sandbox only (natively it
// would bind the host's loop devices) and compares its output with
// loop.out: a file's blocks through /dev/loop0, the loop and block ioctls,
// and ENODEV for a disk filesystem on it.
func TestLoopDevice(t *testing.T) {
	runAgainstOutput(t, "loop", false)
}

// runAgainstOutput builds testdata/e2e/NAME.c (static or not) and runs it
// in the sandbox on each platform: it must exit 0 and print
// testdata/e2e/NAME.out, what Linux printed where it could run safely
// (programs that would change the host natively).
func runAgainstOutput(t *testing.T, name string, static bool) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("testdata", "e2e", name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	prog := buildC(t, filepath.Join("testdata", "e2e", name+".c"), static)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			skipKnownGap(t)
			t.Parallel()
			r := runscLite(t, runOpts{dir: workDir(t, name)}, "run", "--platform="+platform, "--", prog)
			if r.code != 0 || r.stdout != string(want) {
				t.Errorf("want exit 0 and testdata/e2e/%s.out, got %v", name, r)
			}
		})
	}
}
