package stub

import (
	"testing"

	"runsc-lite/internal/generated"
)

// TestBlobIsFresh fails when stub.bin or stub.stamp no longer match the
// sources: run `go generate ./stub` and commit the result.
func TestBlobIsFresh(t *testing.T) {
	generated.CheckFresh(t, "c/build.sh", "stub.bin", "stub.stamp", image, "go generate ./stub")
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
