package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Attacks on the sandbox's limits (docs/security.md): allocation storms
// under --memory-limit and a busy loop under RLIMIT_CPU must end inside the
// sandbox with the error or signal Linux gives, and leave no process and no
// file behind on the host.

// TestLimitsMemory runs each storm of testdata/limits/storm.c under a
// 256 MiB limit: it must fail with ENOMEM or ENOSPC near the limit, and the
// program, still answered by the sentry, reports it and exits 0.
func TestLimitsMemory(t *testing.T) {
	prog := buildC(t, filepath.Join("testdata", "limits", "storm.c"), true)
	hostFile := "/runsc-lite-limits-storm"
	storms := []struct {
		args []string
		want string // the report's regular expression; MiB is the count
	}{
		{[]string{"mmap"}, `^mmap: Cannot allocate memory after (\d+) MiB\n$`},
		{[]string{"shm"}, `^shared mmap: Cannot allocate memory after (\d+) MiB\n$`},
		{[]string{"brk"}, `^brk: Cannot allocate memory after (\d+) MiB\n$`},
		{[]string{"mremap"}, `^mremap: Cannot allocate memory after (\d+) MiB\n$`},
		{[]string{"write", "/tmp/storm"}, `^write: No space left on device after (\d+) MiB\n$`},
		{[]string{"write", "/dev/shm/storm"}, `^write: No space left on device after (\d+) MiB\n$`},
		{[]string{"write", hostFile}, `^write: No space left on device after (\d+) MiB\n$`},
		// A hole is free (TestSparseGrow), its data is not.
		{[]string{"write", "/tmp/storm", "sparse"}, `^write: No space left on device after (\d+) MiB\n$`},
		// 100 MiB held: the first child's copy fits, the second does not.
		{[]string{"fork"}, `^fork: Cannot allocate memory after 1 children\nchildren that answered: 1\n$`},
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			for _, s := range storms {
				t.Run(strings.Join(s.args, "_"), func(t *testing.T) {
					start := time.Now()
					args := append([]string{"run", "--platform", platform, "--memory-limit", "256m", "--", prog}, s.args...)
					// runAttack also checks that no host process of the
					// run's session outlives it.
					out, code := runAttack(t, args...)
					if code != 0 {
						t.Fatalf("the storm did not end with the expected error: exit %d, output:\n%s", code, out)
					}
					m := regexp.MustCompile(s.want).FindStringSubmatch(out)
					if m == nil {
						t.Fatalf("output does not match %q:\n%s", s.want, out)
					}
					if len(m) > 1 {
						// The program's own image, stack and libc take some.
						if mib, _ := strconv.Atoi(m[1]); mib < 200 || mib > 256 {
							t.Errorf("refused after %d MiB, want 200 to 256 under a 256 MiB limit", mib)
						}
					}
					if time.Since(start) > 15*time.Second {
						t.Errorf("the storm took %v", time.Since(start))
					}
					if _, err := os.Lstat(hostFile); err == nil {
						os.Remove(hostFile)
						t.Errorf("the sandbox wrote %s on the host", hostFile)
					}
				})
			}
		})
	}
}

// TestLimitsCPU spins with RLIMIT_CPU soft 1 s, hard 2 s and no syscalls:
// one SIGXCPU, then SIGKILL, as natively.
func TestLimitsCPU(t *testing.T) {
	prog := buildC(t, filepath.Join("testdata", "limits", "storm.c"), true)
	native := runOut(t, runOpts{}, prog, "cpu")
	if native.stdout != "SIGXCPU\n" || native.code != 128+int(syscall.SIGKILL) {
		t.Errorf("natively: want one SIGXCPU, then SIGKILL:\n%v", native)
	}
	// The program itself says if it outlives the hard limit by half a
	// second of CPU time: a wall-time bound here would fail on a loaded
	// machine.
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			out, code := runAttack(t, "run", "--platform", platform, "--", prog, "cpu")
			if out != native.stdout || code != native.code {
				t.Errorf("sandboxed: output %q, exit %d; natively %q, exit %d", out, code, native.stdout, native.code)
			}
		})
	}
}
