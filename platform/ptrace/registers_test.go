package ptrace

import (
	"reflect"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// TestRegistersMatchPtrace checks the invariant ptrace_unsafe.go relies on:
// platform.Registers has the layout of struct user_regs_struct, which
// unix.PtraceRegs mirrors.
func TestRegistersMatchPtrace(t *testing.T) {
	ours, theirs := reflect.TypeFor[platform.Registers](), reflect.TypeFor[unix.PtraceRegs]()
	if ours.Size() != theirs.Size() || ours.NumField() != theirs.NumField() {
		t.Fatalf("platform.Registers is %d bytes in %d fields, user_regs_struct %d in %d",
			ours.Size(), ours.NumField(), theirs.Size(), theirs.NumField())
	}
	for i := range ours.NumField() {
		a, b := ours.Field(i), theirs.Field(i)
		if !strings.EqualFold(a.Name, strings.ReplaceAll(b.Name, "_", "")) || a.Offset != b.Offset || a.Type.Size() != b.Type.Size() {
			t.Errorf("field %d: %s at %d, user_regs_struct has %s at %d", i, a.Name, a.Offset, b.Name, b.Offset)
		}
	}
}
