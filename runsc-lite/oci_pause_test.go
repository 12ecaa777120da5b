package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// frozenState reads what testdata/frozen.c last wrote.
func frozenState(t *testing.T, out string) (n, events, chld int) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(out, "state"))
	fmt.Sscan(string(b), &n, &events, &chld)
	return n, events, chld
}

// TestOCIPause: pause freezes every task of the sandbox (the count stops)
// without the application seeing it: no stop or continue of its child
// reported by waitpid(WUNTRACED|WCONTINUED), no SIGCHLD; resume lets it
// count on; a paused sandbox can be killed.
func TestOCIPause(t *testing.T) {
	skipUnlessRunnable(t, "gcc")
	bundle := ociBundle(t, "true")
	bin := buildC(t, filepath.Join("testdata", "frozen.c"), true)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "rootfs", "bin", "frozen"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	out := sandboxWritableDir(t, "frozen-out")
	writeConfig(t, bundle, func(s *specs.Spec) {
		s.Process.Args = []string{"/bin/frozen"}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/out", Type: "bind", Source: out, Options: []string{"rbind", "rw"}})
	})
	stateDir := workDir(t, "state")
	ociCreateStarted(t, stateDir, bundle, "p1")
	countsPast := func(past int) {
		t.Helper()
		for end := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if n, _, _ := frozenState(t, out); n > past {
				return
			}
			if time.Now().After(end) {
				n, _, _ := frozenState(t, out)
				t.Fatalf("the count is %d, never past %d", n, past)
			}
		}
	}
	countsPast(5)
	if r := oci(t, stateDir, "pause", "p1"); r.code != 0 {
		t.Fatalf("pause: %v", r)
	}
	if st := ociStatus(t, stateDir, "p1"); st.Status != "paused" {
		t.Errorf("state after pause: %s, want paused", st.Status)
	}
	n1, _, _ := frozenState(t, out)
	time.Sleep(300 * time.Millisecond)
	if n2, _, _ := frozenState(t, out); n2 != n1 {
		t.Errorf("the count went on while paused: %d, then %d", n1, n2)
	}
	if r := oci(t, stateDir, "resume", "p1"); r.code != 0 {
		t.Fatalf("resume: %v", r)
	}
	if st := ociStatus(t, stateDir, "p1"); st.Status != specs.StateRunning {
		t.Errorf("state after resume: %s, want running", st.Status)
	}
	countsPast(n1 + 5)
	if _, events, chld := frozenState(t, out); events != 0 || chld != 0 {
		t.Errorf("the application saw the pause: %d stops or continues of its child, %d SIGCHLDs; want none", events, chld)
	}
	if r := oci(t, stateDir, "pause", "p1"); r.code != 0 {
		t.Fatalf("pause again: %v", r)
	}
	if r := oci(t, stateDir, "kill", "p1", "KILL"); r.code != 0 {
		t.Fatalf("kill of a paused container: %v", r)
	}
	waitStatus(t, stateDir, "p1", specs.StateStopped)
}
