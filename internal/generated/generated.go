// Package generated checks committed build outputs against their sources:
// a blob built by a script (the stub, the vDSO) is committed with a stamp
// naming the hash of its sources and the compiler, and a test rebuilds it
// to say when it is stale.
package generated

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// CheckFresh runs `sh script OUTDIR`, which writes blob and stamp into
// OUTDIR, and fails t when the committed stamp (in the working directory)
// names other sources than a fresh build's, or, built by the same
// compiler, when embedded differs from the fresh blob. regenerate is the
// command that rebuilds them.
func CheckFresh(t *testing.T, script, blob, stamp string, embedded []byte, regenerate string) {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatalf("gcc is needed to check %s: install gcc", blob)
	}
	out := t.TempDir()
	if b, err := exec.Command("sh", script, out).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", blob, err, b)
	}
	read := func(dir string) (sources, compiler string) {
		b, err := os.ReadFile(filepath.Join(dir, stamp))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, " "); ok && k == "sources" {
				sources = v
			} else if ok && k == "compiler" {
				compiler = v
			}
		}
		return sources, compiler
	}
	committedSrc, committedCC := read(".")
	builtSrc, builtCC := read(out)
	if committedSrc != builtSrc {
		t.Fatalf("sources changed since %s was built: run `%s` and commit %s and %s", blob, regenerate, blob, stamp)
	}
	if committedCC != builtCC {
		t.Skipf("committed %s was built by %q, this machine has %q: bytes not compared", blob, committedCC, builtCC)
	}
	built, err := os.ReadFile(filepath.Join(out, blob))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, embedded) {
		t.Fatalf("%s differs from a fresh build of its sources: run `%s` and commit it", blob, regenerate)
	}
}
