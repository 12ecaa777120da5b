package memplatform

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform/platformtest"
)

func TestCopiesHonourProtection(t *testing.T) {
	as := &AddressSpace{pages: make(map[uintptr]*page)}
	const base = 0x10000
	if _, err := as.Mmap(base, 2*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, nil, 0); err != nil {
		t.Fatal(err)
	}
	msg := []byte("across a page boundary")
	at := uintptr(base + pageSize - 5)
	if n, err := as.WriteAt(msg, at); n != len(msg) || err != nil {
		t.Fatalf("WriteAt = %d, %v", n, err)
	}
	got := make([]byte, len(msg))
	if n, err := as.ReadAt(got, at); n != len(msg) || err != nil || string(got) != string(msg) {
		t.Fatalf("ReadAt = %d, %v, %q", n, err, got)
	}
	if n, err := as.ReadAt(make([]byte, 10), base+2*pageSize-5); n != 5 || !errors.Is(err, unix.EFAULT) {
		t.Errorf("a read past the mapping: %d, %v; want 5, EFAULT", n, err)
	}
	if err := as.Mprotect(base+pageSize, pageSize, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if n, err := as.WriteAt(msg, at); n != 5 || !errors.Is(err, unix.EFAULT) {
		t.Errorf("a write into a read-only page: %d, %v; want 5, EFAULT", n, err)
	}
	if _, err := as.Mmap(base, pageSize, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, nil, 0); err != unix.EINVAL {
		t.Errorf("a mapping without MAP_FIXED: %v, want EINVAL", err)
	}
}

// TestVectoredCopies runs the platform conformance suite's checks of
// ReadVec and WriteVec.
func TestVectoredCopies(t *testing.T) {
	platformtest.CheckVectoredCopies(t, &AddressSpace{pages: make(map[uintptr]*page)})
}

func TestMremapAndFork(t *testing.T) {
	as := &AddressSpace{pages: make(map[uintptr]*page)}
	const base, dst = 0x10000, 0x40000
	if _, err := as.Mmap(base, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, nil, 0); err != nil {
		t.Fatal(err)
	}
	as.WriteAt([]byte("x"), base)
	child, err := as.Fork()
	if err != nil {
		t.Fatal(err)
	}
	as.WriteAt([]byte("y"), base)
	b := make([]byte, 1)
	if child.ReadAt(b, base); b[0] != 'x' {
		t.Errorf("the fork sees the parent's later write: %q", b)
	}
	if got, err := as.Mremap(base, pageSize, 2*pageSize, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, dst); got != dst || err != nil {
		t.Fatalf("Mremap = %#x, %v", got, err)
	}
	if as.ReadAt(b, dst); b[0] != 'y' {
		t.Errorf("the moved page holds %q", b)
	}
	if _, err := as.ReadAt(b, base); !errors.Is(err, unix.EFAULT) {
		t.Errorf("the old range is still mapped: %v", err)
	}
	vec := make([]byte, 3)
	as.Resident(dst, vec)
	if string(vec) != "\x01\x01\x00" {
		t.Errorf("Resident = %v, want the two pages of the grown mapping", vec)
	}
}
