package stub

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBlobIsFresh fails when stub.bin or stub.stamp no longer match the
// sources: run `go generate ./stub` and commit the result.
func TestBlobIsFresh(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Fatal("gcc is needed to check the stub blob: install gcc")
	}
	out := t.TempDir()
	cmd := exec.Command("sh", "c/build.sh", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the stub: %v\n%s", err, b)
	}
	stamp := func(dir string) (sources, compiler string) {
		b, err := os.ReadFile(filepath.Join(dir, "stub.stamp"))
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
	committedSrc, committedCC := stamp(".")
	builtSrc, builtCC := stamp(out)
	if committedSrc != builtSrc {
		t.Fatal("stub sources changed since stub.bin was built: run `go generate ./stub` and commit stub.bin and stub.stamp")
	}
	if committedCC != builtCC {
		t.Skipf("committed blob was built by %q, this machine has %q: bytes not compared", committedCC, builtCC)
	}
	built, err := os.ReadFile(filepath.Join(out, "stub.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, image) {
		t.Fatal("stub.bin differs from a fresh build of its sources: run `go generate ./stub` and commit it")
	}
}

func TestSymbols(t *testing.T) {
	s, err := LoadSymbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, addr := range s.SyscallInstructions() {
		off := addr - ImageBase
		if addr < ImageBase || int(off)+2 > len(image) {
			t.Fatalf("syscall instruction %#x is outside the image", addr)
		}
	}
	if s.ImageEnd <= ImageBase || s.ImageEnd%4096 != 0 {
		t.Fatalf("image end %#x", s.ImageEnd)
	}
}
