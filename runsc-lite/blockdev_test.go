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
	want, err := os.ReadFile(filepath.Join("testdata", "e2e", "loop.out"))
	if err != nil {
		t.Fatal(err)
	}
	prog := buildC(t, filepath.Join("testdata", "e2e", "loop.c"), false)
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			skipKnownGap(t)
			t.Parallel()
			dir := workDir(t, "loop")
			r := runscLite(t, runOpts{dir: dir}, "run", "--platform="+platform, "--", prog)
			if r.code != 0 || r.stdout != string(want) {
				t.Errorf("want exit 0 and testdata/e2e/loop.out, got %v", r)
			}
		})
	}
}
