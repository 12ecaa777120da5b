package mm_test

import (
	"bytes"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHiwaterMarks checks the peaks of resident memory and of mapped size:
// they stay after munmap, a move of a mapping does not count it twice, a
// fork's start again at what it has (dup_mm), a release keeps them.
func TestHiwaterMarks(t *testing.T) {
	const size = 4 << 20
	m := newMM(t)
	vm := m.HiwaterVM()
	a := anon(t, m, 0x70000000, size, unix.MAP_FIXED)
	if _, err := m.CopyOut(a, bytes.Repeat([]byte{1}, size)); err != nil {
		t.Fatal(err)
	}
	if err := m.Munmap(a, size); err != nil {
		t.Fatal(err)
	}
	if got := m.HiwaterRSS(0); got < size {
		t.Errorf("HiwaterRSS after %d bytes written and unmapped = %d", size, got)
	}
	peak := m.HiwaterVM()
	if peak < vm+size {
		t.Errorf("HiwaterVM after a %d-byte mapping = %d, want at least %d", size, peak, vm+size)
	}
	// Moving 3 MiB: for a moment the mirror holds both copies, 6 MiB
	// more than at first, which is no peak.
	b := anon(t, m, 0x70000000, 3<<20, unix.MAP_FIXED)
	if _, err := m.Mremap(b, 3<<20, 3<<20, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, 0x78000000); err != nil {
		t.Fatal(err)
	}
	if got := m.HiwaterVM(); got != peak {
		t.Errorf("HiwaterVM after a move = %d, want %d as before", got, peak)
	}
	c, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	if got, want := c.HiwaterVM(), peak-size+3<<20; got != want {
		t.Errorf("the fork's HiwaterVM = %d, want its size %d", got, want)
	}
	if got := c.HiwaterRSS(0); got >= size {
		t.Errorf("the fork's HiwaterRSS = %d, want less than its parent's %d", got, size)
	}
	m.Release()
	if got := m.HiwaterRSS(0); got < size {
		t.Errorf("HiwaterRSS once released = %d, want at least %d", got, size)
	}
}
