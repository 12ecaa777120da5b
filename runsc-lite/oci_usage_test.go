package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"runsc-lite/sentry/control"
)

// TestOCIUsage: debug --usage splits memory by kind from the sentry's
// accounting: 1 MiB written to the memory /tmp shows in files, the
// processes' private memory in anon, their mappings in mapped (busybox's
// from its host file in mapped_file); the kinds charged add up to the
// total, and the metrics carry them too.
func TestOCIUsage(t *testing.T) {
	bundle := ociBundle(t, "sh", "-c", "head -c 1048576 /dev/zero > /tmp/f; echo written; exec sleep 1000")
	linkApplets(bundle, "head")
	stateDir := workDir(t, "state")
	out := ociCreateStarted(t, stateDir, bundle, "u1")
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(out); strings.Contains(string(b), "written") {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the container never wrote its file")
		}
	}
	r := oci(t, stateDir, "debug", "--usage", "u1")
	var u control.Usage
	if r.code != 0 || json.Unmarshal([]byte(r.stdout), &u) != nil {
		t.Fatalf("debug --usage: %v", r)
	}
	m := u.Memory
	if m["files"] < 1<<20 || m["anon"] == 0 || m["mapped"] == 0 || m["mapped_file"] == 0 || m["mapped_file"] > m["mapped"] {
		t.Errorf("memory by kind: %v, want files >= 1 MiB, anon, mapped and mapped_file > 0", m)
	}
	if sum := m["anon"] + m["shmem"] + m["files"] + m["pipes"]; sum != u.MemoryUsed {
		t.Errorf("the kinds charged add up to %d, the total is %d", sum, u.MemoryUsed)
	}
	if r := oci(t, stateDir, "debug", "--metrics", "u1"); r.code != 0 || !strings.Contains(r.stdout, `runsc_lite_memory_bytes{kind="files"}`) {
		t.Errorf("debug --metrics: %v, want memory by kind", r)
	}
}

// ociCreateStarted creates and starts container id from bundle, its stdio
// a file (a pipe would stay open in the sandbox after create returns),
// whose path it returns; the container is deleted at the end.
func ociCreateStarted(t *testing.T, stateDir, bundle, id string) string {
	t.Helper()
	out := filepath.Join(stateDir, id+".out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(runscBin, "--root", stateDir, "create", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Run(); err != nil {
		b, _ := os.ReadFile(out)
		t.Fatalf("create: %v: %s", err, b)
	}
	t.Cleanup(func() { oci(t, stateDir, "delete", "--force", id) })
	if r := oci(t, stateDir, "start", id); r.code != 0 {
		t.Fatalf("start: %v", r)
	}
	return out
}
