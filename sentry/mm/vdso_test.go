package mm_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMprotectVDSO: the vDSO and its data pages are reprotected whole, as
// Linux's special mappings: the vDSO may become writable and the process
// writes its own copy; the data pages may become PROT_NONE, never
// writable nor executable; neither is split.
func TestMprotectVDSO(t *testing.T) {
	m := newMM(t)
	v, vv := m.AddressSpace().VDSO(), m.AddressSpace().VVAR()
	if v.End <= v.Start || vv.End <= vv.Start {
		t.Skip("the platform maps no vDSO")
	}
	const rwx = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC
	if v.End-v.Start > 4096 {
		if err := m.Mprotect(v.Start, 4096, rwx); !errors.Is(err, unix.EINVAL) {
			t.Errorf("mprotect of part of the vDSO: %v, want EINVAL", err)
		}
	}
	if err := m.Mprotect(v.Start, v.End-v.Start, rwx); err != nil {
		t.Fatalf("mprotect(vDSO, rwx): %v", err)
	}
	if _, err := m.CopyOut(v.Start+9, []byte{0x5a}); err != nil {
		t.Errorf("writing the writable vDSO: %v", err)
	}
	if err := m.Mprotect(v.Start, v.End-v.Start, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		t.Errorf("mprotect(vDSO, r-x): %v", err)
	}
	for _, prot := range []int{unix.PROT_READ | unix.PROT_WRITE, unix.PROT_READ | unix.PROT_EXEC} {
		if err := m.Mprotect(vv.Start, vv.End-vv.Start, prot); !errors.Is(err, unix.EACCES) {
			t.Errorf("mprotect(vvar, %#x): %v, want EACCES", prot, err)
		}
	}
	if err := m.Mprotect(vv.Start, vv.End-vv.Start, unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect(vvar, PROT_NONE): %v", err)
	}
	if _, err := m.CopyIn(vv.Start, make([]byte, 1)); err == nil {
		t.Error("reading the PROT_NONE vvar page succeeded")
	}
	if err := m.Mprotect(vv.Start, vv.End-vv.Start, unix.PROT_READ); err != nil {
		t.Errorf("mprotect(vvar, PROT_READ): %v", err)
	}
}
