package mm_test

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestMremapMovesPrivateMemory(t *testing.T) {
	m := newMM(t)
	const pg = 4096
	a := anon(t, m, 0, 16*pg, 0)
	m.CopyOut(a, []byte{7})
	if got, err := m.Mremap(a, 16*pg, 4*pg, 0); err != nil || got != a {
		t.Fatalf("shrink: %#x, %v", got, err)
	}
	anon(t, m, a+4*pg, pg, unix.MAP_FIXED) // in-place growth is impossible now
	got, err := m.Mremap(a, 4*pg, 64*pg, unix.MREMAP_MAYMOVE)
	if err != nil || got == a {
		t.Fatalf("grow with MREMAP_MAYMOVE: %#x, %v", got, err)
	}
	b := make([]byte, 1)
	if _, err := m.CopyIn(got, b); err != nil || b[0] != 7 {
		t.Errorf("moved memory reads %v, %v; want [7]", b, err)
	}
	if _, err := m.CopyIn(a, b); err == nil {
		t.Error("old range still mapped after the move")
	}
	if _, err := m.Mremap(got, 64*pg, 128*pg, 0); err == nil {
		t.Log("grew in place")
	}
}
