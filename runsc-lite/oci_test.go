package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ociBundle makes a bundle whose root holds a static busybox, with args
// as the process.
func ociBundle(t *testing.T, args ...string) string {
	t.Helper()
	skipUnlessRunnable(t, "/bin/busybox")
	dir := workDir(t, "bundle")
	root := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"sh", "echo", "sleep", "cat", "id", "hostname"} {
		os.Symlink("busybox", filepath.Join(root, "bin", n))
	}
	writeConfig(t, dir, func(s *specs.Spec) { s.Process.Args = args })
	return dir
}

// writeConfig writes the default config.json of `spec`, changed by edit.
func writeConfig(t *testing.T, dir string, edit func(*specs.Spec)) {
	t.Helper()
	os.Remove(filepath.Join(dir, "config.json"))
	if r := runscLite(t, runOpts{}, "spec", "--bundle", dir); r.code != 0 {
		t.Fatalf("spec: %v", r)
	}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s specs.Spec
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	edit(&s)
	if b, err = json.Marshal(&s); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// oci runs an OCI verb with state directory stateDir.
func oci(t *testing.T, stateDir string, args ...string) result {
	t.Helper()
	return runscLite(t, runOpts{}, append([]string{"--root", stateDir}, args...)...)
}

func ociStatus(t *testing.T, stateDir, id string) specs.State {
	t.Helper()
	r := oci(t, stateDir, "state", id)
	var st specs.State
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &st) != nil {
		t.Fatalf("state %s: %v", id, r)
	}
	return st
}

// waitStatus waits for container id to reach status want.
func waitStatus(t *testing.T, stateDir, id string, want specs.ContainerState) {
	t.Helper()
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if ociStatus(t, stateDir, id).Status == want {
			return
		}
	}
	t.Fatalf("container %s is %s, never %s", id, ociStatus(t, stateDir, id).Status, want)
}

// TestOCILifecycle drives a container through runc's verbs as containerd
// does: create (blocked), start, state, ps, exec, debug, kill, delete.
func TestOCILifecycle(t *testing.T) {
	bundle := ociBundle(t, "sh", "-c", "echo started; exec sleep 1000")
	stateDir := workDir(t, "state")
	pidFile := filepath.Join(stateDir, "pid")
	out := filepath.Join(stateDir, "out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(runscBin, "--root", stateDir, "create", "--bundle", bundle, "--pid-file", pidFile, "c1")
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out)
		t.Fatalf("create: %v: %s", err, b)
	}
	t.Cleanup(func() { oci(t, stateDir, "delete", "--force", "c1") })
	b, _ := os.ReadFile(pidFile)
	pid, err := strconv.Atoi(string(b))
	if err != nil {
		t.Fatalf("pid file %q: %v", b, err)
	}
	if st := ociStatus(t, stateDir, "c1"); st.Status != specs.StateCreated || st.Pid != pid {
		t.Fatalf("after create: %+v, want created with pid %d", st, pid)
	}
	if fi, err := os.Stat(filepath.Join(stateDir, "c1", "control.sock")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket: %v %v, want mode 0600", fi, err)
	}
	if b, _ := os.ReadFile(out); len(b) != 0 {
		t.Fatalf("the process ran before start: %q", b)
	}
	if r := oci(t, stateDir, "create", "--bundle", bundle, "c1"); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
		t.Errorf("duplicate create: %v", r)
	}
	if r := oci(t, stateDir, "start", "c1"); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	waitStatus(t, stateDir, "c1", specs.StateRunning)
	r := oci(t, stateDir, "ps", "--format", "json", "c1")
	var pids []int
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &pids) != nil || len(pids) != 1 || pids[0] != 1 {
		t.Errorf("ps --format json: %v, want [1]", r)
	}
	if r := oci(t, stateDir, "exec", "c1", "sh", "-c", "echo in; exit 3"); r.code != 3 || r.stdout != "in\n" {
		t.Errorf("exec: %v, want \"in\" and status 3", r)
	}
	if r := oci(t, stateDir, "debug", "--ps", "c1"); r.code != 0 || !strings.Contains(r.stdout, "sleep 1000") {
		t.Errorf("debug --ps: %v", r)
	}
	if r := oci(t, stateDir, "debug", "--metrics", "c1"); r.code != 0 ||
		!strings.Contains(r.stdout, `runsc_lite_syscall_duration_seconds_count{name="execve"}`) ||
		!strings.Contains(r.stdout, "runsc_lite_tasks 1") {
		t.Errorf("debug --metrics: %v", r)
	}
	prof := filepath.Join(stateDir, "heap.pprof")
	if r := oci(t, stateDir, "debug", "--profile-heap", prof, "c1"); r.code != 0 {
		t.Errorf("debug --profile-heap: %v", r)
	} else if fi, err := os.Stat(prof); err != nil || fi.Size() == 0 {
		t.Errorf("heap profile: %v %v", fi, err)
	}
	if r := oci(t, stateDir, "events", "--stats", "c1"); r.code != 0 || !strings.Contains(r.stdout, `"type":"stats"`) {
		t.Errorf("events --stats: %v", r)
	}
	if r := oci(t, stateDir, "delete", "c1"); r.code == 0 {
		t.Errorf("delete of a running container: %v", r)
	}
	if r := oci(t, stateDir, "kill", "c1", "TERM"); r.code != 0 {
		t.Fatalf("kill: %v", r)
	}
	waitStatus(t, stateDir, "c1", specs.StateStopped)
	if b, _ := os.ReadFile(out); string(b) != "started\n" {
		t.Errorf("the process wrote %q", b)
	}
	if r := oci(t, stateDir, "delete", "c1"); r.code != 0 {
		t.Fatalf("delete: %v", r)
	}
	if _, err := os.Stat(filepath.Join(stateDir, "c1")); !os.IsNotExist(err) {
		t.Errorf("the state is left: %v", err)
	}
	if unix.Kill(pid, 0) == nil {
		if st, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); !strings.Contains(string(st), ") Z") {
			t.Errorf("the sandbox process %d is left", pid)
		}
	}
}

// TestOCICrash kills the sandbox process of a running container: state
// says stopped and delete cleans up.
func TestOCICrash(t *testing.T) {
	bundle := ociBundle(t, "sleep", "1000")
	stateDir := workDir(t, "state")
	// The container's stdio is not a pipe the test waits on.
	if err := exec.Command(runscBin, "--root", stateDir, "create", "--bundle", bundle, "c2").Run(); err != nil {
		t.Fatalf("create: %v", err)
	}
	t.Cleanup(func() { oci(t, stateDir, "delete", "--force", "c2") })
	if r := oci(t, stateDir, "start", "c2"); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	st := ociStatus(t, stateDir, "c2")
	// An exec in flight when the sandbox dies ends with one line.
	execCmd := exec.Command(runscBin, "--root", stateDir, "exec", "c2", "sleep", "100")
	var execErr strings.Builder
	execCmd.Stderr = &execErr
	if err := execCmd.Start(); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if r := oci(t, stateDir, "ps", "--format", "json", "c2"); strings.Contains(r.stdout, "2") {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the exec'd process never showed in ps")
		}
	}
	unix.Kill(st.Pid, unix.SIGKILL)
	done := make(chan error, 1)
	go func() { done <- execCmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || strings.Count(execErr.String(), "\n") != 1 {
			t.Errorf("exec when the sandbox died: %v, stderr %q; want a failure in one line", err, execErr.String())
		}
	case <-time.After(20 * time.Second):
		execCmd.Process.Kill()
		t.Error("exec did not end when the sandbox died")
	}
	waitStatus(t, stateDir, "c2", specs.StateStopped)
	if r := oci(t, stateDir, "exec", "c2", "echo"); r.code == 0 || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("exec into a crashed container: %v", r)
	}
	if r := oci(t, stateDir, "delete", "c2"); r.code != 0 {
		t.Fatalf("delete: %v", r)
	}
	if r := oci(t, stateDir, "list", "--format", "json"); r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list after delete: %v", r)
	}
	// A create killed before it started the sandbox leaves a state that
	// says creating; delete removes it. Damaged state: delete --force.
	os.MkdirAll(filepath.Join(stateDir, "c3"), 0o700)
	os.WriteFile(filepath.Join(stateDir, "c3", "state.json"), []byte(`{"ID":"c3","Bundle":"/x"}`), 0o600)
	if st := ociStatus(t, stateDir, "c3"); st.Status != specs.StateCreating {
		t.Errorf("a half-made container: %+v, want creating", st)
	}
	if r := oci(t, stateDir, "delete", "c3"); r.code != 0 {
		t.Errorf("delete of a half-made container: %v", r)
	}
	os.MkdirAll(filepath.Join(stateDir, "c4"), 0o700)
	os.WriteFile(filepath.Join(stateDir, "c4", "state.json"), []byte(`{"ID":`), 0o600)
	if r := oci(t, stateDir, "delete", "c4"); r.code == 0 || !strings.Contains(r.stderr, "damaged") {
		t.Errorf("delete of a damaged state: %v", r)
	}
	if r := oci(t, stateDir, "delete", "--force", "c4"); r.code != 0 {
		t.Errorf("delete --force of a damaged state: %v", r)
	}
	if ents, _ := os.ReadDir(stateDir); len(ents) != 0 {
		t.Errorf("state left: %v", ents)
	}
}

// TestOCIBadInput: each is one line and a non-zero status, and leaves no
// state behind.
func TestOCIBadInput(t *testing.T) {
	bundle := ociBundle(t, "echo", "hi")
	stateDir := workDir(t, "state")
	bad := workDir(t, "bad")
	os.WriteFile(filepath.Join(bad, "config.json"), []byte(`{"ociVersion": "1.0.0", "process": {"args": [`), 0o644)
	noRoot := workDir(t, "noroot")
	os.WriteFile(filepath.Join(noRoot, "config.json"), []byte(`{"ociVersion":"1.0.0","process":{"args":["sh"],"cwd":"/"},"root":{"path":"/nonexistent"}}`), 0o644)
	capBundle := ociBundle(t, "echo")
	writeConfig(t, capBundle, func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Effective: []string{"CAP_NOPE"}}
	})
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing bundle", []string{"create", "--bundle", "/nonexistent", "x"}, "bundle /nonexistent"},
		{"malformed config", []string{"create", "--bundle", bad, "x"}, "config.json"},
		{"missing root", []string{"create", "--bundle", noRoot, "x"}, "root.path"},
		{"unknown capability", []string{"create", "--bundle", capBundle, "x"}, "CAP_NOPE"},
		{"bad id", []string{"create", "--bundle", bundle, "../x"}, "container ID"},
		{"unknown id", []string{"state", "nope"}, "does not exist"},
		{"start unknown", []string{"start", "nope"}, "does not exist"},
		{"kill unknown", []string{"kill", "nope"}, "does not exist"},
		{"bad signal", []string{"kill", "nope", "SIGNOPE"}, "unknown signal"},
		{"exec unknown", []string{"exec", "nope", "echo"}, "does not exist"},
	} {
		r := oci(t, stateDir, tc.args...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: %v, want one line with %q", tc.name, r, tc.want)
		}
	}
	ents, _ := os.ReadDir(stateDir)
	if len(ents) != 0 {
		t.Errorf("state left behind: %v", ents)
	}
}

// TestOCIRun is runc's run: the container's output and status, and no
// state left.
func TestOCIRun(t *testing.T) {
	bundle := ociBundle(t, "sh", "-c", "echo x; id -u; exit 7")
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "echo x; id -u; exit 7"}
		s.Process.User = specs.User{UID: 1000, GID: 1000}
	})
	stateDir := workDir(t, "state")
	r := oci(t, stateDir, "run", "--bundle", bundle, "r1")
	if r.code != 7 || r.stdout != "x\n1000\n" {
		t.Errorf("run --bundle: %v, want x, uid 1000 and status 7", r)
	}
	if ents, _ := os.ReadDir(stateDir); len(ents) != 0 {
		t.Errorf("state left: %v", ents)
	}
}
