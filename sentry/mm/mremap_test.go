package mm_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usage"
)

const pg = 4096

func TestMremapMovesPrivateMemory(t *testing.T) {
	m := newMM(t)
	a := anon(t, m, 0, 16*pg, 0)
	m.CopyOut(a, []byte{7})
	if got, err := m.Mremap(a, 16*pg, 4*pg, 0, 0); err != nil || got != a {
		t.Fatalf("shrink: %#x, %v", got, err)
	}
	anon(t, m, a+4*pg, pg, unix.MAP_FIXED) // in-place growth is impossible now
	if _, err := m.Mremap(a, 4*pg, 64*pg, 0, 0); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("grow without MREMAP_MAYMOVE: %v, want ENOMEM", err)
	}
	got, err := m.Mremap(a, 4*pg, 64*pg, unix.MREMAP_MAYMOVE, 0)
	if err != nil || got == a {
		t.Fatalf("grow with MREMAP_MAYMOVE: %#x, %v", got, err)
	}
	expectByte(t, m, got, 7, "moved memory")
	if _, err := m.CopyIn(a, make([]byte, 1)); err == nil {
		t.Error("old range still mapped after the move")
	}
}

// TestMremapMovesSharedMemory moves a shared anonymous mapping that a forked
// copy also maps: both must keep seeing each other's writes.
func TestMremapMovesSharedMemory(t *testing.T) {
	mem := usage.NewMemory(64 * mib)
	m := newAccountedMM(t, mem)
	a, err := m.Mmap(mm.MmapOpts{Length: 4 * pg, Prot: rw, Flags: unix.MAP_SHARED | unix.MAP_ANONYMOUS})
	if err != nil {
		t.Fatal(err)
	}
	c, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	const dst = 0x40000000
	got, err := m.Mremap(a, 4*pg, 4*pg, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, dst)
	if err != nil || got != dst {
		t.Fatalf("MREMAP_FIXED to %#x: %#x, %v", dst, got, err)
	}
	m.CopyOut(dst+pg, []byte{9})
	expectByte(t, c, a+pg, 9, "the fork's view of the parent's write")
	c.CopyOut(a+2*pg, []byte{5})
	expectByte(t, m, dst+2*pg, 5, "the moved view of the fork's write")
	if used := mem.Used(); used != 4*pg {
		t.Errorf("%d bytes charged, want the object's %d", used, 4*pg)
	}
	// Growing the object's mapping in place keeps the same object.
	if got, err := m.Mremap(dst, 4*pg, 8*pg, 0, 0); err != nil || got != dst {
		t.Fatalf("grow in place: %#x, %v", got, err)
	}
	expectByte(t, m, dst+pg, 9, "grown mapping")
	if used := mem.Used(); used != 4*pg {
		t.Errorf("after growing: %d bytes charged, want %d", used, 4*pg)
	}
}

func TestMremapErrors(t *testing.T) {
	m := newMM(t)
	a := anon(t, m, 0, 4*pg, 0)
	for _, c := range []struct {
		name        string
		old, oldLen uintptr
		newLen      uintptr
		flags       int
		newAddr     uintptr
		want        error
	}{
		{"unknown flag", a, pg, pg, 0x100, 0, unix.EINVAL},
		{"FIXED without MAYMOVE", a, pg, pg, unix.MREMAP_FIXED, 0x40000000, unix.EINVAL},
		{"unaligned", a + 1, pg, pg, 0, 0, unix.EINVAL},
		{"zero new length", a, pg, 0, 0, 0, unix.EINVAL},
		{"overlapping ranges", a, 2 * pg, 2 * pg, unix.MREMAP_MAYMOVE | unix.MREMAP_FIXED, a + pg, unix.EINVAL},
		{"unmapped", 0x50000000, pg, 2 * pg, unix.MREMAP_MAYMOVE, 0, unix.EFAULT},
		{"past the mapping", a, 8 * pg, 16 * pg, unix.MREMAP_MAYMOVE, 0, unix.EFAULT},
		{"into the platform", a, pg, pg, unix.MREMAP_MAYMOVE | unix.MREMAP_FIXED, 0x7ff000000000, unix.ENOMEM},
		{"DONTUNMAP resizing", a, pg, 2 * pg, unix.MREMAP_MAYMOVE | unix.MREMAP_DONTUNMAP, 0, unix.EINVAL},
	} {
		if _, err := m.Mremap(c.old, c.oldLen, c.newLen, c.flags, c.newAddr); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

// TestMremapAccounting: moves keep the charge, growth is charged and held
// to the limit, DONTUNMAP charges both ranges.
func TestMremapAccounting(t *testing.T) {
	mem := usage.NewMemory(16 * mib)
	m := newAccountedMM(t, mem)
	a := anon(t, m, 0, 4*mib, 0)
	b, err := m.Mremap(a, 4*mib, 4*mib, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, 0x40000000)
	if err != nil {
		t.Fatal(err)
	}
	if used := mem.Used(); used != 4*mib {
		t.Fatalf("after a move: %d bytes charged, want 4 MiB", used)
	}
	if _, err := m.Mremap(b, 4*mib, 32*mib, unix.MREMAP_MAYMOVE, 0); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("growth beyond the limit: %v, want ENOMEM", err)
	}
	if _, err := m.Mremap(b, 4*mib, 8*mib, unix.MREMAP_MAYMOVE, 0); err != nil {
		t.Fatal(err)
	}
	if used := mem.Used(); used != 8*mib {
		t.Fatalf("after growing: %d bytes charged, want 8 MiB", used)
	}
	c := anon(t, m, 0, mib, 0)
	m.CopyOut(c, []byte{3})
	d, err := m.Mremap(c, mib, mib, unix.MREMAP_MAYMOVE|unix.MREMAP_DONTUNMAP, 0)
	if err != nil {
		t.Fatal(err)
	}
	expectByte(t, m, d, 3, "DONTUNMAP's new range")
	expectByte(t, m, c, 0, "DONTUNMAP's old range")
	if used := mem.Used(); used != 10*mib {
		t.Fatalf("after DONTUNMAP: %d bytes charged, want 10 MiB", used)
	}
}

func TestMincore(t *testing.T) {
	m := newMM(t)
	a := anon(t, m, 0, 4*pg, 0)
	vec, err := m.Mincore(a, 4*pg)
	if err != nil || len(vec) != 4 || vec[1] != 0 {
		t.Fatalf("fresh mapping: %v, %v; want 4 absent pages", vec, err)
	}
	m.CopyOut(a+pg, []byte{1})
	if vec, err = m.Mincore(a, 4*pg); err != nil || vec[1] != 1 || vec[2] != 0 {
		t.Fatalf("after a write to page 1: %v, %v", vec, err)
	}
	if _, err := m.Mincore(a, 8*pg); !errors.Is(err, unix.ENOMEM) {
		t.Errorf("past the mapping: %v, want ENOMEM", err)
	}
	if _, err := m.Mincore(a+1, pg); !errors.Is(err, unix.EINVAL) {
		t.Errorf("unaligned: %v, want EINVAL", err)
	}
}

func expectByte(t *testing.T, m *mm.MemoryManager, addr uintptr, want byte, what string) {
	t.Helper()
	b := make([]byte, 1)
	if _, err := m.CopyIn(addr, b); err != nil || b[0] != want {
		t.Errorf("%s at %#x reads %v, %v; want [%d]", what, addr, b, err, want)
	}
}

// TestMremapHostSplit: MAP_STACK keeps a host since Linux 6.7 from merging
// two mappings the mirror (Linux 6.1) shows as one; growing and moving
// them still work.
func TestMremapHostSplit(t *testing.T) {
	m := newMM(t)
	a := anon(t, m, 0, 4*pg, 0)
	anon(t, m, a+4*pg, 4*pg, unix.MAP_FIXED|unix.MAP_STACK)
	m.CopyOut(a, []byte{1})
	m.CopyOut(a+5*pg, []byte{2})
	if got, err := m.Mremap(a, 8*pg, 12*pg, 0, 0); err != nil || got != a {
		t.Fatalf("grow in place: %#x, %v", got, err)
	}
	const dst = 0x40000000
	// Resizing too, which the host never does across its mappings.
	if got, err := m.Mremap(a, 12*pg, 16*pg, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, dst); err != nil || got != dst {
		t.Fatalf("move: %#x, %v", got, err)
	}
	expectByte(t, m, dst+15*pg, 0, "the moved mapping's growth")
	expectByte(t, m, dst, 1, "first host mapping, moved")
	expectByte(t, m, dst+5*pg, 2, "second host mapping, moved")
	if _, err := m.CopyIn(a, make([]byte, 1)); err == nil {
		t.Error("old range still mapped after the move")
	}
}
