package kernel

import (
	"testing"

	"golang.org/x/sys/unix"
)

// bytesMemory is application memory at address 0x1000.
type bytesMemory []byte

func (m bytesMemory) CopyIn(addr uintptr, dst []byte) error {
	off := int(addr) - 0x1000
	if off < 0 || off+len(dst) > len(m) {
		return unix.EFAULT
	}
	copy(dst, m[off:])
	return nil
}

// TestCopyInExtensible: a shorter structure leaves the rest zero, a
// longer one's zero tail is accepted and a nonzero byte in it is E2BIG,
// memory past what the caller gave is never read.
func TestCopyInExtensible(t *testing.T) {
	type ver1 struct{ A, B uint64 }
	mem := bytesMemory{1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9}
	var v ver1
	v.B = 7
	if err := CopyInExtensible(mem, 0x1000, 8, &v); err != nil || v != (ver1{1, 0}) {
		t.Errorf("8 bytes: got %+v, %v; want A=1 and B zero", v, err)
	}
	v = ver1{}
	if err := CopyInExtensible(mem, 0x1000, 24, &v); err != nil || v != (ver1{1, 2}) {
		t.Errorf("24 bytes, a zero tail: got %+v, %v", v, err)
	}
	if err := CopyInExtensible(mem, 0x1000, 25, &v); err != unix.E2BIG {
		t.Errorf("25 bytes, a nonzero tail: got %v, want E2BIG", err)
	}
	if err := CopyInExtensible(mem, 0x1000, 26, &v); err != unix.EFAULT {
		t.Errorf("past the memory: got %v, want EFAULT", err)
	}
}
