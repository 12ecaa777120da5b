package fuzzci

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// fuzzTime is how long each target is fuzzed.
const fuzzTime = "3s"

// hang bounds one target's run, build included: far beyond what the
// fuzzing takes, it only catches a fuzzer that never ends.
const hang = 10 * time.Minute

// target is one fuzz function and the package directory that holds it.
type target struct{ dir, name string }

var fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)

// moduleRoot returns the directory of go.mod above the working directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// findTargets lists the fuzz functions in the module's test files.
// Other packages' tests run beside this one and make and remove
// directories in the module (runsc-lite's e2e tests put theirs there so
// the sandbox's host identity can read them): an entry gone between the
// listing and the visit is skipped, not an error.
func findTargets(t *testing.T, root string) []target {
	t.Helper()
	var found []target
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, m := range fuzzFunc.FindAllSubmatch(src, -1) {
			found = append(found, target{dir: "./" + filepath.ToSlash(rel), name: string(m[1])})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(found, func(a, b target) int { return strings.Compare(a.dir+"."+a.name, b.dir+"."+b.name) })
	return found
}

// goTool returns the go command of the toolchain running the tests.
func goTool(t *testing.T) string {
	t.Helper()
	if p := filepath.Join(runtime.GOROOT(), "bin", "go"); fileExists(p) {
		return p
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to fuzz with")
	}
	return p
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestTargetsFound keeps the list honest: the targets this module is
// known to have are all found (a renamed or moved one would otherwise
// silently stop being fuzzed).
func TestTargetsFound(t *testing.T) {
	want := []string{
		"./sentry/kernel/ipc.FuzzIPC",
		"./sentry/loader.FuzzLoad",
		"./sentry/socket/unix.FuzzAddressAndOptions",
		"./sentry/syscalls/linux.FuzzCloneArgs",
		"./sentry/syscalls/linux.FuzzMsghdr",
		"./sentry/vfs.FuzzPathWalk",
	}
	var got []string
	for _, tg := range findTargets(t, moduleRoot(t)) {
		got = append(got, tg.dir+"."+tg.name)
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("fuzz target %s not found (found %q)", w, got)
		}
	}
}

// TestFuzzTargets fuzzes every target for fuzzTime, one at a time, and
// fails for each one the fuzzer reports a failure in.
func TestFuzzTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("fuzzing takes about a minute")
	}
	root := moduleRoot(t)
	goCmd := goTool(t)
	targets := findTargets(t, root)
	if len(targets) == 0 {
		t.Fatal("no fuzz targets found")
	}
	for _, tg := range targets {
		t.Run(strings.TrimPrefix(tg.dir, "./")+"/"+tg.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), hang)
			defer cancel()
			fuzz := func() ([]byte, error) {
				cmd := exec.CommandContext(ctx, goCmd, "test", "-run", "^$", "-fuzz", "^"+tg.name+"$",
					"-fuzztime", fuzzTime, "-parallel", "1", tg.dir)
				cmd.Dir = root
				return cmd.CombinedOutput()
			}
			out, err := fuzz()
			if err != nil && engineDeadline(out) {
				// The fuzzing engine's own -fuzztime deadline, reached
				// while a worker was busy, with no failing input: the
				// engine's report, not the target's; fuzzed again.
				t.Logf("fuzzing %s %s: the engine reported its own deadline; again:\n%s", tg.dir, tg.name, tail(out))
				out, err = fuzz()
			}
			if ctx.Err() != nil {
				t.Fatalf("fuzzing %s %s did not end within %v:\n%s", tg.dir, tg.name, hang, tail(out))
			}
			if err != nil {
				if input, ok := failingInput(out); ok && !reproduces(t, goCmd, root, tg, input) {
					// A failure that its own input does not bring back is
					// the reference's or the environment's (the host
					// kernel under load, say), not a bug a rerun can
					// show: logged, kept out of the corpus, not failed.
					t.Logf("fuzzing %s %s failed on %s, which passes when rerun; not kept:\n%s", tg.dir, tg.name, input, tail(out))
					os.Remove(filepath.Join(root, tg.dir, input))
					return
				}
				t.Fatalf("fuzzing %s %s failed (%v):\n%s", tg.dir, tg.name, err, tail(out))
			}
			if !strings.Contains(string(out), "\nok ") && !strings.HasPrefix(string(out), "ok ") {
				t.Fatalf("fuzzing %s %s did not report ok:\n%s", tg.dir, tg.name, tail(out))
			}
		})
	}
}

// engineDeadline reports whether a failed fuzzing run is only the
// engine's "context deadline exceeded" at the end of -fuzztime, with no
// failing input written.
func engineDeadline(out []byte) bool {
	_, input := failingInput(out)
	return !input && strings.Contains(string(out), "context deadline exceeded")
}

// failingInput returns the corpus file the fuzzer wrote its failing input
// to ("testdata/fuzz/FuzzX/HASH"), as its report names it.
func failingInput(out []byte) (string, bool) {
	const mark = "Failing input written to "
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, mark); i >= 0 {
			return strings.TrimSpace(line[i+len(mark):]), true
		}
	}
	return "", false
}

// reproduces reports whether the failing input fails again, in any of
// three plain test runs.
func reproduces(t *testing.T, goCmd, root string, tg target, input string) bool {
	for range 3 {
		cmd := exec.Command(goCmd, "test", "-count=1", "-run", "^"+tg.name+"$/^"+filepath.Base(input)+"$", tg.dir)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("rerun of %s: %v\n%s", input, err, tail(out))
			return true
		}
	}
	return false
}

// tail returns the last lines of the fuzzer's output, where its report is.
func tail(out []byte) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return strings.Join(lines[max(0, len(lines)-40):], "\n")
}
