package main

// The sentry is concurrent (a goroutine per task, signals and wake-ups
// between them), so its races show only when real programs run. This test
// builds runsc-lite with the race detector and runs the most concurrent
// differential programs and the syscall fuzzer with it: a data race makes
// the race-enabled sentry print a report and exit 66.

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// raceDiffPrograms are the differential programs whose sentry paths are the
// most concurrent: signals, wake-ups, process trees, shared state.
var raceDiffPrograms = []string{"process", "restart", "signalfd", "stopcont", "futex2", "pidfd", "sockets", "sharedmem", "ipc", "reaper"}

func TestRaceDetector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds runsc-lite with -race")
	}
	raceBin := filepath.Join(workRoot, "runsc-lite-race")
	if out, err := exec.Command(goTool(), "build", "-race", "-o", raceBin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build -race: %v\n%s", err, out)
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			for _, name := range raceDiffPrograms {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					prog := buildC(t, filepath.Join("testdata", "diff", name+".c"), true)
					nd, sd := workDir(t, "native"), workDir(t, "sandbox")
					native := runOut(t, runOpts{dir: nd}, prog, nd)
					raced := runOut(t, runOpts{dir: sd}, raceBin, "run", "--platform", platform, "--cwd", sd, "--", prog, sd)
					checkNoRace(t, raced)
					if native.stdout != raced.stdout || native.code != raced.code {
						t.Errorf("exit %d and stdout differ from the native run's (exit %d):\n%s", raced.code, native.code, lineDiff(native.stdout, raced.stdout))
					}
				})
			}
			t.Run("fuzz", func(t *testing.T) {
				t.Parallel()
				prog := buildC(t, filepath.Join("testdata", "attack", "fuzz.c"), false)
				dir := workDir(t, "fuzz")
				raced := runOut(t, runOpts{dir: dir}, raceBin, "run", "--platform", platform, "--cwd", dir, "--", prog, "6", "200", "0", "3")
				checkNoRace(t, raced)
				if raced.code != 0 {
					t.Errorf("the fuzzer exited %d", raced.code)
				}
			})
		})
	}
}

// checkNoRace fails t with the race detector's report, if r has one.
func checkNoRace(t *testing.T, r result) {
	t.Helper()
	if strings.Contains(r.stderr, "WARNING: DATA RACE") || r.code == 66 {
		t.Errorf("the race detector found a race in the sentry:\n%s", r.stderr)
	}
}
