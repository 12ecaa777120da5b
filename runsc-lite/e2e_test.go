package main

// End-to-end tests of `runsc-lite run`: the harness (TestMain builds the
// command once; runOut runs a program with a time limit), real host binaries
// run natively and in the sandbox with their outputs compared, and bad input
// (missing or unexecutable commands, bad flags) that must fail with one line
// on stderr. The differential tests with C programs are in diff_test.go.
//
// Work directories are never under /tmp or /dev/shm: the sandbox has its own,
// empty, /tmp and /dev/shm, so host files there are invisible to it.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// knownGaps lists the subtests that fail today because the sentry (or the
// command) lacks a feature, each with the reason. They are skipped with that
// reason; set RUNSC_LITE_E2E_GAPS=1 to run them anyway, to see whether an
// entry can be removed. Every test not listed here must pass. A key is a
// path.Match pattern of test names; "*" stands for the platform in
// "TestDiff/*/dirs/static".
var knownGaps = map[string]string{}

// skipKnownGap skips t if it is listed in knownGaps.
func skipKnownGap(t *testing.T) {
	t.Helper()
	if os.Getenv("RUNSC_LITE_E2E_GAPS") != "" {
		return
	}
	for pattern, reason := range knownGaps {
		if ok, _ := path.Match(pattern, t.Name()); ok {
			t.Skip("known gap: " + reason)
		}
	}
}

// skipUnlessRunnable skips t if it is a known gap or needs a program, need
// (if not ""), that the host lacks.
func skipUnlessRunnable(t *testing.T, need string) {
	t.Helper()
	skipKnownGap(t)
	if need == "" {
		return
	}
	if _, err := exec.LookPath(need); err != nil {
		pkg, ok := map[string]string{"/bin/busybox": "busybox-static", "/usr/lib/postgresql/15/bin/initdb": "postgresql-15"}[need]
		if !ok {
			pkg = filepath.Base(need)
		}
		t.Skipf("%s is not installed (apt-get install -y %s)", need, pkg)
	}
}

// platforms are the platforms the sandbox tests run on, each in a subtest
// named after it.
var platforms = []string{"systrap", "ptrace"}

const runTimeout = 60 * time.Second

var (
	// runscBin is the runsc-lite command built by TestMain.
	runscBin string
	// workRoot holds every test's files; the sandbox can see it.
	workRoot string
)

func TestMain(m *testing.M) {
	// Native runs and sandboxed runs must start from the same umask.
	syscall.Umask(0o22)
	sweepTestNetworks()
	var err error
	workRoot, err = makeWorkRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	// RUNSC_LITE_BIN names a prebuilt command to test instead (debugging).
	runscBin = os.Getenv("RUNSC_LITE_BIN")
	if runscBin == "" {
		runscBin = filepath.Join(workRoot, "runsc-lite")
		build := exec.Command(goTool(), "build", "-o", runscBin, ".")
		// CGO_ENABLED=0: netstack imports package net, whose resolver would
		// otherwise link the sentry with C (see sentry/confine, cgo.go).
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
			os.RemoveAll(workRoot)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(workRoot)
	os.Exit(code)
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(os.Getenv("GOROOT"), "bin", "go")
}

// makeWorkRoot makes a directory the sandbox can see: not under /tmp or
// /dev/shm (the sandbox mounts its own) nor /dev or /proc, and below
// directories anyone may search: a sandbox started by root reads host
// files as nobody (--host-uid), so root's own home (mode 0700) will not do.
func makeWorkRoot() (string, error) {
	var bases []string
	if d := os.Getenv("RUNSC_LITE_E2E_DIR"); d != "" {
		bases = append(bases, d)
	}
	if d, err := os.UserCacheDir(); err == nil {
		bases = append(bases, d)
	}
	if d, err := os.Getwd(); err == nil {
		bases = append(bases, d)
	}
	// Last, the directory for temporary files that the sandbox shows (its
	// /tmp is its own), for a checkout below a directory only root may
	// search.
	bases = append(bases, "/var/tmp")
	for _, base := range bases {
		if hiddenInSandbox(base) || !reachableByOthers(base) {
			continue
		}
		if err := os.MkdirAll(base, 0o755); err != nil {
			continue
		}
		d, err := os.MkdirTemp(base, "runsc-lite-e2e-")
		if err != nil {
			continue
		}
		if err := os.Chmod(d, 0o755); err != nil {
			os.RemoveAll(d)
			continue
		}
		return d, nil
	}
	return "", fmt.Errorf("no directory outside /tmp and /dev/shm to work in (tried %q); set RUNSC_LITE_E2E_DIR", bases)
}

// reachableByOthers reports whether every existing directory from / to dir
// lets anyone search it.
func reachableByOthers(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for p := abs; ; p = filepath.Dir(p) {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o001 == 0 {
			return false
		}
		if p == "/" {
			return true
		}
	}
}

func hiddenInSandbox(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return true
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	for _, p := range []string{"/tmp", "/dev", "/proc", "/sys"} {
		if abs == p || strings.HasPrefix(abs, p+"/") {
			return true
		}
	}
	return false
}

// workDir returns a fresh, empty directory (mode 0755) under workRoot.
func workDir(t *testing.T, name string) string {
	t.Helper()
	d, err := os.MkdirTemp(workRoot, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// result is what a run produced.
type result struct {
	stdout, stderr string
	code           int // exit status, or 128+N if killed by signal N
	dur            time.Duration
}

func (r result) String() string {
	return fmt.Sprintf("exit %d after %v\nstdout:\n%s\nstderr:\n%s", r.code, r.dur.Round(time.Millisecond), clip(r.stdout), clip(r.stderr))
}

func clip(s string) string {
	const max = 4000
	if len(s) > max {
		return s[:max/2] + "\n[... " + strconv.Itoa(len(s)-max) + " bytes ...]\n" + s[len(s)-max/2:]
	}
	return s
}

// runOpts are the details of one run.
type runOpts struct {
	dir   string   // working directory; "" for the test's
	stdin string   // standard input
	env   []string // environment; nil for the test's
	// timeout is the time limit; 0 for runTimeout.
	timeout time.Duration
}

// runOut runs argv in its own process group with a time limit, and checks
// that no process of that group survives it.
func runOut(t *testing.T, o runOpts, argv ...string) result {
	t.Helper()
	r, err := runGroup(t, o, argv...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// runGroup is runOut's work; it may run in any goroutine: it fails t
// only with Errorf (a process left behind), and returns the errors runOut
// treats as fatal.
func runGroup(t *testing.T, o runOpts, argv ...string) (result, error) {
	t.Helper()
	limit := o.timeout
	if limit == 0 {
		limit = runTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = o.dir
	cmd.Env = o.env
	cmd.Stdin = strings.NewReader(o.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), dur: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return r, fmt.Errorf("%q did not finish within %v\n%v", argv, limit, r)
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		} else {
			r.code = ws.ExitStatus()
		}
	case err != nil:
		return r, fmt.Errorf("running %q: %v", argv, err)
	}
	if cmd.Process != nil {
		checkNoStrays(t, cmd.Process.Pid, argv)
	}
	return r, nil
}

// checkNoStrays fails t if a process of group pgid (the run's own group) is
// still alive a little after the run ended, and kills it.
func checkNoStrays(t *testing.T, pgid int, argv []string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		strays := groupMembers(pgid)
		if len(strays) == 0 {
			return
		}
		if time.Now().After(deadline) {
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Errorf("%q left processes behind: %s", argv, strings.Join(strays, "; "))
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// groupMembers describes the live (not zombie) processes of group pgid.
func groupMembers(pgid int) []string {
	var out []string
	for _, p := range hostProcs() {
		if p.pgrp == pgid && p.state != "Z" && p.state != "X" {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/cmdline")
			out = append(out, fmt.Sprintf("pid %d %q", p.pid, strings.ReplaceAll(string(cmdline), "\x00", " ")))
		}
	}
	return out
}

// runscLite runs `runsc-lite ARGS...`.
func runscLite(t *testing.T, o runOpts, args ...string) result {
	t.Helper()
	return runOut(t, o, append([]string{runscBin}, args...)...)
}

// compareRuns runs argv natively in nativeDir and with `runsc-lite run
// --platform PLATFORM` in sandboxDir, and requires the same stdout and exit
// status; with sameStderr, the same stderr too.
func compareRuns(t *testing.T, platform, nativeDir, sandboxDir string, sameStderr bool, argv ...string) (native, sandboxed result) {
	t.Helper()
	return compareRunsArgs(t, platform, nativeDir, sandboxDir, sameStderr, argv, argv)
}

// compareRunsArgs is compareRuns with different arguments for the two runs
// (typically the work directory).
func compareRunsArgs(t *testing.T, platform, nativeDir, sandboxDir string, sameStderr bool, nativeArgv, sandboxArgv []string) (native, sandboxed result) {
	t.Helper()
	return compareRunsFlags(t, platform, nativeDir, sandboxDir, sameStderr, nil, nativeArgv, sandboxArgv)
}

// compareRunsFlags is compareRunsArgs with more flags for `run`.
func compareRunsFlags(t *testing.T, platform, nativeDir, sandboxDir string, sameStderr bool, flags, nativeArgv, sandboxArgv []string) (native, sandboxed result) {
	t.Helper()
	native = runOut(t, runOpts{dir: nativeDir}, nativeArgv...)
	args := append([]string{"run", "--platform", platform, "--cwd", sandboxDir}, flags...)
	args = append(append(args, "--"), sandboxArgv...)
	sandboxed = runscLite(t, runOpts{dir: sandboxDir}, args...)
	t.Logf("native %v, sandbox %v", native.dur.Round(time.Millisecond), sandboxed.dur.Round(time.Millisecond))
	bad := false
	if native.code != sandboxed.code {
		t.Errorf("exit status: native %d, sandbox %d", native.code, sandboxed.code)
		bad = true
	}
	if native.stdout != sandboxed.stdout {
		t.Errorf("stdout differs (- native, + sandbox):\n%s", lineDiff(native.stdout, sandboxed.stdout))
		bad = true
	}
	if sameStderr && native.stderr != sandboxed.stderr {
		t.Errorf("stderr differs (- native, + sandbox):\n%s", lineDiff(native.stderr, sandboxed.stderr))
		bad = true
	}
	if bad {
		t.Logf("sandbox stderr:\n%s", clip(sandboxed.stderr))
	} else if !sameStderr && sandboxed.stderr != native.stderr {
		t.Logf("stderr differs (allowed here): native %q, sandbox %q", clip(native.stderr), clip(sandboxed.stderr))
	}
	return native, sandboxed
}

// lineDiff shows where two outputs part: the common prefix is skipped but for
// a few lines of context, then up to 20 lines of each side.
func lineDiff(a, b string) string {
	al, bl := strings.SplitAfter(a, "\n"), strings.SplitAfter(b, "\n")
	i := 0
	for i < len(al) && i < len(bl) && al[i] == bl[i] {
		i++
	}
	var sb strings.Builder
	start := max(0, i-3)
	fmt.Fprintf(&sb, "first difference at line %d\n", i+1)
	for _, l := range al[start:i] {
		sb.WriteString("  " + strings.TrimSuffix(l, "\n") + "\n")
	}
	for k, l := range al[i:] {
		if k == 20 {
			sb.WriteString("- ...\n")
			break
		}
		fmt.Fprintf(&sb, "- %q\n", l)
	}
	for k, l := range bl[i:] {
		if k == 20 {
			sb.WriteString("+ ...\n")
			break
		}
		fmt.Fprintf(&sb, "+ %q\n", l)
	}
	return sb.String()
}

// TestHostBinaries runs real programs of the host natively and in the
// sandbox, and compares stdout and exit status (and stderr where it is
// deterministic).
func TestHostBinaries(t *testing.T) {
	var lines strings.Builder
	for i := range 40 {
		fmt.Fprintf(&lines, "line %02d %d\n", i, (i*37)%23)
	}
	files := map[string]string{
		"data.txt":  strings.Repeat("the quick brown fox jumps over the lazy dog\n", 1000),
		"lines.txt": lines.String(),
	}
	cases := []struct {
		name       string
		argv       []string
		need       string // skip unless this file exists
		sameStderr bool
	}{
		{name: "echo", argv: []string{"/bin/echo", "hello", "world"}, sameStderr: true},
		{name: "cat-os-release", argv: []string{"/bin/cat", "/etc/os-release"}, sameStderr: true},
		{name: "ls-la-usr", argv: []string{"/bin/ls", "-la", "/usr"}, sameStderr: true},
		{name: "ls-missing", argv: []string{"/bin/ls", "/nonexistent"}, sameStderr: true},
		{name: "sha256sum", argv: []string{"sha256sum", "data.txt", "lines.txt"}, sameStderr: true},
		{name: "head", argv: []string{"head", "-n", "3", "lines.txt"}, sameStderr: true},
		{name: "tail", argv: []string{"tail", "-n", "4", "lines.txt"}, sameStderr: true},
		{name: "sort", argv: []string{"sort", "-k3n", "-k2r", "lines.txt"}, sameStderr: true},
		{name: "wc", argv: []string{"wc", "lines.txt", "data.txt"}, sameStderr: true},
		{name: "busybox-ls", argv: []string{"/bin/busybox", "ls", "/"}, need: "/bin/busybox", sameStderr: true},
		{name: "sqlite3", argv: []string{"sqlite3", ":memory:", "select 1+1"}, need: "sqlite3", sameStderr: true},
		{name: "perl", argv: []string{"perl", "-e", "print 42"}, need: "perl", sameStderr: true},
		{name: "python3", argv: []string{"/usr/bin/python3", "-c", "print(sum(range(10)))"}, need: "/usr/bin/python3", sameStderr: true},
		// bubblewrap: user and mount namespaces, a tmpfs root it pivots
		// into, bind mounts and their read-only remounts, proc, a devpts
		// instance, device nodes bound from /dev.
		{name: "bwrap", argv: []string{"bwrap", "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib64", "/lib64",
			"--symlink", "usr/lib", "/lib", "--symlink", "usr/bin", "/bin", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
			"--", "/bin/sh", "-c", "ls / /dev /dev/pts; echo x > /tmp/f && cat /tmp/f; echo y > /dev/null; touch /usr/x 2>&1; n=0; while read -r id parent dev root point rest; do [ \"$point\" = / ] && n=$((n+1)); done < /proc/self/mountinfo; echo $n mounts on /"},
			need: "bwrap", sameStderr: true},
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					skipUnlessRunnable(t, tc.need)
					t.Parallel()
					dirs := [2]string{workDir(t, "native"), workDir(t, "sandbox")}
					for _, d := range dirs {
						for name, content := range files {
							if err := os.WriteFile(filepath.Join(d, name), []byte(content), 0o644); err != nil {
								t.Fatal(err)
							}
						}
					}
					native, _ := compareRuns(t, platform, dirs[0], dirs[1], tc.sameStderr, tc.argv...)
					if tc.name != "ls-missing" && (native.code != 0 || native.stdout == "") {
						t.Errorf("the native run itself is not a useful reference: %v", native)
					}
				})
			}
		})
	}
}

// TestDD writes with dd to the sandbox's /tmp: same exit status and record
// counts as natively, and nothing reaches the host's /tmp.
func TestDD(t *testing.T) {
	skipKnownGap(t)
	t.Parallel()
	dir := workDir(t, "dd")
	name := filepath.Base(dir) + ".out" // unique; dd writes /tmp/NAME
	hostTmp := filepath.Join("/tmp", name)
	if _, err := os.Stat(hostTmp); err == nil {
		t.Fatalf("%s exists already", hostTmp)
	}
	native := runOut(t, runOpts{dir: dir}, "dd", "if=/dev/zero", "of="+filepath.Join(dir, "x"), "bs=4k", "count=16")
	sb := runscLite(t, runOpts{dir: dir}, "run", "--", "dd", "if=/dev/zero", "of="+hostTmp, "bs=4k", "count=16")
	if native.code != 0 || sb.code != native.code || sb.stdout != native.stdout {
		t.Errorf("native: %v\nsandbox: %v", native, sb)
	}
	// "16+0 records in", "16+0 records out"; the third line has a time.
	first2 := func(s string) string {
		return strings.Join(strings.SplitAfterN(s, "\n", 3)[:min(2, strings.Count(s, "\n"))], "")
	}
	if first2(sb.stderr) != first2(native.stderr) || first2(native.stderr) == "" {
		t.Errorf("dd's record counts: native %q, sandbox %q", native.stderr, sb.stderr)
	}
	if _, err := os.Stat(hostTmp); err == nil {
		os.Remove(hostTmp)
		t.Errorf("the sandbox's dd wrote the host's %s", hostTmp)
	}
	// Reading it back in the same sandbox.
	sb = runscLite(t, runOpts{dir: dir}, "run", "--", "/bin/sh", "-c",
		"dd if=/dev/zero of=/tmp/x bs=4k count=16 2>/dev/null && wc -c < /tmp/x && ls -A /tmp")
	if sb.code != 0 || sb.stdout != "65536\nx\n" {
		t.Errorf("dd then wc in /tmp: want \"65536\\nx\\n\", got %v", sb)
	}
}

// TestCommandBehaviour checks the command's own promises: exit statuses,
// standard input, environment flags, --cwd, --rootfs, --strace-log,
// --cpuprofile and --trace, the read-only host view and the empty /tmp.
func TestCommandBehaviour(t *testing.T) {
	hello := buildC(t, filepath.Join("testdata", "e2e", "hello.c"), true)
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		env   []string
		code  int
		out   string // exact stdout, unless check is set
		check func(t *testing.T, r result)
	}{
		{name: "exit-status", args: []string{"run", "--", "/bin/sh", "-c", "exit 3"}, code: 3},
		{name: "exit-status-2", args: []string{"run", "--", "/bin/sh", "-c", "exit 2"}, code: 2},
		{name: "exit-status-255", args: []string{"run", "--", "/bin/sh", "-c", "exit 255"}, code: 255},
		{name: "killed-by-signal", args: []string{"run", "--", "/bin/sh", "-c", "kill -9 $$"}, code: 128 + 9},
		{name: "do-alias", args: []string{"do", "--", "/bin/echo", "via do"}, out: "via do\n"},
		{name: "no-dashes", args: []string{"run", "/bin/echo", "a", "b"}, out: "a b\n"},
		{name: "path-lookup", args: []string{"run", "--", "echo", "looked up"}, out: "looked up\n"},
		{name: "stdin", args: []string{"run", "--", "/bin/cat"}, stdin: "from stdin\nline 2\n", out: "from stdin\nline 2\n"},
		{name: "stderr", args: []string{"run", "--", "/bin/sh", "-c", "echo to-stderr >&2"}, check: func(t *testing.T, r result) {
			if r.stderr != "to-stderr\n" || r.stdout != "" {
				t.Errorf("want only \"to-stderr\\n\" on stderr, got %v", r)
			}
		}},
		{name: "env-inherited", args: []string{"run", "--", "/bin/sh", "-c", "echo $E2E_MARK"}, env: []string{"E2E_MARK=inherited", "PATH=/usr/bin:/bin"}, out: "inherited\n"},
		{name: "env-flag", args: []string{"run", "--env", "A=1", "--env", "B=two words", "--", "/bin/sh", "-c", "echo $A $B $E2E_MARK"}, env: []string{"E2E_MARK=kept", "PATH=/usr/bin:/bin"}, out: "1 two words kept\n"},
		{name: "clear-env", args: []string{"run", "--clear-env", "--env", "ONLY=this", "--", "/usr/bin/env"}, env: []string{"E2E_MARK=dropped"}, out: "ONLY=this\n"},
		{name: "cwd", args: []string{"run", "--cwd", "/usr/share", "--", "/bin/pwd"}, out: "/usr/share\n"},
		{name: "cwd-relative-open", args: []string{"run", "--cwd", "/etc", "--", "/bin/cat", "hostname"}, check: func(t *testing.T, r result) {
			want, _ := os.ReadFile("/etc/hostname")
			if r.code != 0 || r.stdout != string(want) {
				t.Errorf("want %q, got %v", want, r)
			}
		}},
		{name: "tmp-empty", args: []string{"run", "--", "/bin/ls", "-A", "/tmp", "/dev/shm"}, out: "/dev/shm:\n\n/tmp:\n"},
		{name: "dev-nodes", args: []string{"run", "--", "/bin/sh", "-c",
			"for f in null zero full random urandom; do test -c /dev/$f && echo $f; done; head -c 3 /dev/zero | od -An -tx1; echo x > /dev/null && echo null-ok; echo x > /dev/full || echo full-fails"},
			out: "null\nzero\nfull\nrandom\nurandom\n 00 00 00\nnull-ok\nfull-fails\n"},
		{name: "root-dir", args: []string{"run", "--rootfs", filepath.Dir(hello), "--", "/hello", "rooted"}, out: "hello rooted\n/etc/passwd: ENOENT\n/hello: reg\n"},
		{name: "strace-log", check: nil},
		{name: "profiles", check: nil},
		{name: "host-unchanged", check: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipKnownGap(t)
			t.Parallel()
			dir := workDir(t, "cmd")
			switch tc.name {
			case "strace-log":
				log := filepath.Join(dir, "strace.log")
				r := runscLite(t, runOpts{dir: dir}, "run", "--strace-log", log, "--", "/bin/echo", "traced")
				b, _ := os.ReadFile(log)
				if r.code != 0 || r.stdout != "traced\n" || !bytes.Contains(b, []byte("write")) || !bytes.Contains(b, []byte("exit_group")) {
					t.Errorf("want \"traced\" and a log naming write and exit_group; got %v\nlog:\n%s", r, clip(string(b)))
				}
				if strings.Contains(r.stderr, "exit_group") {
					t.Errorf("--strace-log also traced to stderr: %q", clip(r.stderr))
				}
				return
			case "profiles":
				prof, trace := filepath.Join(dir, "cpu.pprof"), filepath.Join(dir, "exec.trace")
				r := runscLite(t, runOpts{dir: dir}, "run", "--cpuprofile", prof, "--trace", trace, "--", "/bin/sh", "-c", "echo profiled")
				p, _ := os.ReadFile(prof)
				tr, _ := os.ReadFile(trace)
				// A pprof profile is gzipped; an execution trace starts "go 1.NN trace".
				if r.code != 0 || r.stdout != "profiled\n" || !bytes.HasPrefix(p, []byte{0x1f, 0x8b}) || !bytes.HasPrefix(tr, []byte("go 1.")) || len(tr) < 1024 {
					t.Errorf("want \"profiled\", a gzipped profile and an execution trace; got %v, profile %d bytes %q, trace %d bytes %q", r, len(p), clip(string(p[:min(len(p), 8)])), len(tr), clip(string(tr[:min(len(tr), 16)])))
				}
				return
			case "host-unchanged":
				f := filepath.Join(dir, "file")
				if err := os.WriteFile(f, []byte("original\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				r := runscLite(t, runOpts{dir: dir}, "run", "--", "/bin/sh", "-c",
					"echo changed > file && cat file && echo new > created && cat created && rm file && test ! -e file && echo removed && mkdir sub && echo made-dir")
				if r.code != 0 || r.stdout != "changed\nnew\nremoved\nmade-dir\n" {
					t.Errorf("writes inside the sandbox: %v", r)
				}
				b, err := os.ReadFile(f)
				if err != nil || string(b) != "original\n" {
					t.Errorf("the host's file changed: %q, %v", b, err)
				}
				ents, _ := os.ReadDir(dir)
				if len(ents) != 1 {
					t.Errorf("the host's directory changed: %v", ents)
				}
				return
			}
			env := tc.env
			if env == nil {
				env = os.Environ()
			}
			r := runscLite(t, runOpts{dir: dir, stdin: tc.stdin, env: env}, tc.args...)
			if tc.check != nil {
				tc.check(t, r)
				return
			}
			if r.code != tc.code || r.stdout != tc.out {
				t.Errorf("want exit %d and stdout %q; got %v", tc.code, tc.out, r)
			}
		})
	}
}

// TestBadInput: a command that cannot be run, or a bad flag, ends with the
// shell's exit status and exactly one line on stderr, "runsc-lite: ...", with
// no Go stack trace and no process left behind.
func TestBadInput(t *testing.T) {
	dir := workDir(t, "bad")
	notELF := filepath.Join(dir, "not-elf")
	if err := os.WriteFile(notELF, []byte("just some text\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	noExec := filepath.Join(dir, "true-without-x")
	b, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(noExec, b, 0o644); err != nil {
		t.Fatal(err)
	}
	shortELF := filepath.Join(dir, "truncated-elf")
	if err := os.WriteFile(shortELF, b[:100], 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"missing-command", []string{"run", "--", "/nonexistent/cmd"}, 127},
		{"missing-command-in-path", []string{"run", "--", "no-such-command-runsc-lite-e2e"}, 127},
		{"missing-command-do", []string{"do", "--", "/nonexistent/cmd"}, 127},
		{"directory", []string{"run", "--", "/usr"}, 126},
		{"not-elf", []string{"run", "--", notELF}, 126},
		{"no-exec-permission", []string{"run", "--", noExec}, 126},
		{"truncated-elf", []string{"run", "--", shortELF}, 126},
		{"bad-root", []string{"run", "--rootfs", "/nonexistent-root", "--", "/bin/true"}, 1},
		{"root-is-a-file", []string{"run", "--rootfs", "/etc/passwd", "--", "/bin/true"}, 1},
		{"unknown-flag", []string{"run", "--bogus", "--", "/bin/true"}, 2},
		{"unknown-platform", []string{"run", "--platform", "bogus", "--", "/bin/true"}, 2},
		{"bad-env", []string{"run", "--env", "NOEQUALS", "--", "/bin/true"}, 2},
		{"no-command", []string{"run"}, 2},
		{"no-command-after-dashes", []string{"run", "--"}, 2},
		{"bad-cwd", []string{"run", "--cwd", "/nonexistent-dir", "--", "/bin/true"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipKnownGap(t)
			r := runscLite(t, runOpts{dir: dir}, tc.args...)
			if r.code != tc.code {
				t.Errorf("exit status %d, want %d", r.code, tc.code)
			}
			if r.stdout != "" {
				t.Errorf("stdout: %q, want nothing", r.stdout)
			}
			if !strings.HasPrefix(r.stderr, "runsc-lite: ") || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
				t.Errorf("stderr: want one line starting with \"runsc-lite: \", got %q", clip(r.stderr))
			}
			for _, bad := range []string{"goroutine", "panic"} {
				if strings.Contains(r.stderr, bad) {
					t.Errorf("stderr mentions %q: %q", bad, clip(r.stderr))
				}
			}
			t.Logf("stderr: %q", r.stderr)
		})
	}
}
