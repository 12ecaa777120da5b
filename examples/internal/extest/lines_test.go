package extest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestExamplesSmall: every example is at most 40 lines, as issue 18 asks.
func TestExamplesSmall(t *testing.T) {
	mains, err := filepath.Glob("../../*/main.go")
	if err != nil || len(mains) < 4 {
		t.Fatalf("examples: %v %v, want at least 4", mains, err)
	}
	for _, m := range mains {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(b, []byte("\n")); n > 40 {
			t.Errorf("%s: %d lines, more than 40", m, n)
		}
	}
}
