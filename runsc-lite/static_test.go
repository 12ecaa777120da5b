package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoCgo: runsc-lite must build as a static binary with the default
// settings (cgo on): the sentry executes itself again in an empty root,
// where no dynamic loader is, and its seccomp program has no room for
// glibc's threads (package confine). Package net links the C resolver, so
// it must not be a dependency (the Prometheus client library brings it).
func TestNoCgo(t *testing.T) {
	out, err := exec.Command(goTool(), "list", "-deps", "-f", "{{.ImportPath}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "net" || p == "runtime/cgo" || p == "os/user" {
			t.Errorf("runsc-lite depends on %s, which needs cgo: the sentry would be dynamically linked", p)
		}
	}
}
