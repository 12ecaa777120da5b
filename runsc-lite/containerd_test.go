package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestContainerd runs containers on runsc-lite through containerd's runc
// shim (ctr run --runc-binary), with a containerd of the test's own: its
// configuration, state and socket in a temporary directory.
func TestContainerd(t *testing.T) {
	for _, p := range []string{"containerd", "ctr", "containerd-shim-runc-v2"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (apt-get install -y containerd)", p)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("containerd needs root")
	}
	bundle := ociBundle(t, "true")
	rootfs := filepath.Join(bundle, "rootfs")
	// A short directory: the socket's path must fit in a socket address.
	dir, err := os.MkdirTemp("/var/tmp", "ctd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "c.sock")
	conf := fmt.Sprintf("version = 2\nroot = %q\nstate = %q\ndisabled_plugins = [\"io.containerd.grpc.v1.cri\"]\n[grpc]\n  address = %q\n",
		filepath.Join(dir, "root"), filepath.Join(dir, "state"), sock)
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	daemon := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	daemon.Stdout, daemon.Stderr = logf, logf
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		daemon.Process.Kill()
		daemon.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "containerd.log"))
			t.Logf("containerd's log:\n%s", clip(string(b)))
		}
	})
	ctr := func(args ...string) result {
		t.Helper()
		cmd := exec.Command("ctr", append([]string{"-a", sock}, args...)...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		cmd.WaitDelay = 5 * time.Second
		timer := time.AfterFunc(2*runTimeout, func() { cmd.Process.Kill() })
		err := cmd.Run()
		timer.Stop()
		r := result{stdout: out.String(), stderr: errb.String()}
		if err != nil {
			r.code = -1
			if ee, ok := err.(*exec.ExitError); ok {
				r.code = ee.ExitCode()
			}
		}
		return r
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if ctr("version").code == 0 {
			break
		}
		if time.Now().After(end) {
			t.Fatal("containerd did not answer")
		}
	}
	run := []string{"run", "--rootfs", "--runc-binary", runscBin}
	r := ctr(append(run, "--rm", rootfs, "t1", "sh", "-c", "echo hi")...)
	if r.code != 0 || r.stdout != "hi\n" {
		t.Fatalf("ctr run: %v, want hi", r)
	}
	// A long-running container: exec, ps, metrics, kill.
	if r := ctr(append(run, "-d", rootfs, "t2", "sleep", "1000")...); r.code != 0 {
		t.Fatalf("ctr run -d: %v", r)
	}
	t.Cleanup(func() {
		ctr("task", "kill", "-s", "SIGKILL", "t2")
		ctr("task", "delete", "-f", "t2")
		ctr("container", "delete", "t2")
	})
	if r := ctr("task", "exec", "--exec-id", "e1", "t2", "sh", "-c", "echo in; exit 4"); r.code != 4 || r.stdout != "in\n" {
		t.Errorf("ctr task exec: %v, want in and status 4", r)
	}
	if r := ctr("task", "ps", "t2"); r.code != 0 || !strings.Contains(r.stdout, "\n1 ") {
		t.Errorf("ctr task ps: %v, want pid 1", r)
	}
	if r := ctr("task", "metrics", "t2"); r.code != 0 || !strings.Contains(r.stdout, "memory") {
		t.Errorf("ctr task metrics: %v", r)
	}
	if r := ctr("task", "kill", "t2"); r.code != 0 {
		t.Errorf("ctr task kill: %v", r)
	}
	for end := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r := ctr("task", "ls")
		if strings.Contains(r.stdout, "STOPPED") {
			break
		}
		if time.Now().After(end) {
			t.Fatalf("t2 did not stop: %v", r)
		}
	}
	if r := ctr("task", "delete", "t2"); r.code != 0 {
		t.Errorf("ctr task delete: %v", r)
	}
	if r := ctr("container", "delete", "t2"); r.code != 0 {
		t.Errorf("ctr container delete: %v", r)
	}
}
