package platformtest

import (
	"bytes"
	"testing"
)

func TestAssemble(t *testing.T) {
	prog := assemble(t, `
	nop
here:
	syscall
`)
	if want := []byte{0x90, 0x0f, 0x05}; !bytes.Equal(prog.code, want) {
		t.Errorf("nop; syscall assembled to % x, want % x", prog.code, want)
	}
	if got := prog.off(t, "here"); got != 1 {
		t.Errorf("label here at offset %d, want 1", got)
	}
	if again := assemble(t, "\n\tnop\nhere:\n\tsyscall\n"); again != prog {
		t.Error("assembling the same source twice did not hit the cache")
	}
}

func TestAssembleRejectsAbsoluteReferences(t *testing.T) {
	requireTools(t)
	// A symbol the assembler cannot resolve needs a relocation.
	if _, err := build(t.TempDir(), "\tmovabs $elsewhere, %rax\n"); err != errNotPIC {
		t.Errorf("assembling a reference to an undefined symbol: got error %v, want %v", err, errNotPIC)
	}
}
