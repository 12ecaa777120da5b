package mm_test

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform/systrap"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usage"
)

func newMM(t *testing.T) *mm.MemoryManager { return newAccountedMM(t, nil) }

// newAccountedMM returns a memory manager charging mem.
func newAccountedMM(t *testing.T, mem *usage.Memory) *mm.MemoryManager {
	t.Helper()
	p, err := systrap.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	m := mm.New(as, mem)
	t.Cleanup(m.Release)
	return m
}

const rw = unix.PROT_READ | unix.PROT_WRITE

func anon(t *testing.T, m *mm.MemoryManager, addr, length uintptr, flags int) uintptr {
	t.Helper()
	a, err := m.Mmap(mm.MmapOpts{Addr: addr, Length: length, Prot: rw, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | flags})
	if err != nil {
		t.Fatalf("mmap(%#x, %#x): %v", addr, length, err)
	}
	return a
}

func TestMmapArguments(t *testing.T) {
	m := newMM(t)
	for _, c := range []struct {
		name string
		o    mm.MmapOpts
		want error
	}{
		{"zero length", mm.MmapOpts{Length: 0, Prot: rw, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS}, unix.EINVAL},
		{"neither private nor shared", mm.MmapOpts{Length: 4096, Prot: rw, Flags: unix.MAP_ANONYMOUS}, unix.EINVAL},
		{"unaligned fixed", mm.MmapOpts{Addr: 0x10000001, Length: 4096, Prot: rw, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED}, unix.EINVAL},
		{"no file", mm.MmapOpts{Length: 4096, Prot: rw, Flags: unix.MAP_PRIVATE}, unix.EBADF},
		{"below mmap_min_addr", mm.MmapOpts{Addr: 0x1000, Length: 4096, Prot: rw, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED}, unix.ENOMEM},
		{"platform range", mm.MmapOpts{Addr: 0x7ff000000000, Length: 4096, Prot: rw, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED}, unix.ENOMEM},
		{"bad prot", mm.MmapOpts{Length: 4096, Prot: 0x100, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS}, unix.EINVAL},
	} {
		if _, err := m.Mmap(c.o); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestMmapPlacementAndCopy(t *testing.T) {
	m := newMM(t)
	a := anon(t, m, 0, 3*4096, 0)
	b := anon(t, m, 0, 4096, 0)
	if a%4096 != 0 || b%4096 != 0 || b+4096 > a && b < a+3*4096 {
		t.Fatalf("placement overlaps: %#x and %#x", a, b)
	}
	if _, err := m.CopyOut(a+4090, []byte("hello world")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 11)
	if _, err := m.CopyIn(a+4090, got); err != nil || string(got) != "hello world" {
		t.Fatalf("read back %q, %v", got, err)
	}
	hint := anon(t, m, 0x40000000, 4096, 0)
	if hint != 0x40000000 {
		t.Errorf("free hint not honoured: got %#x", hint)
	}
	if _, err := m.Mmap(mm.MmapOpts{Addr: hint, Length: 4096, Prot: rw, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED_NOREPLACE}); !errors.Is(err, unix.EEXIST) {
		t.Errorf("MAP_FIXED_NOREPLACE over a mapping: %v, want EEXIST", err)
	}
}

func TestMunmapAndMprotectSplit(t *testing.T) {
	m := newMM(t)
	a := anon(t, m, 0x50000000, 4*4096, unix.MAP_FIXED)
	if err := m.Munmap(a+4096, 4096); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CopyOut(a+4096, []byte{1}); err == nil {
		t.Error("write to an unmapped page succeeded")
	}
	if err := m.Mprotect(a, 4*4096, unix.PROT_READ); !errors.Is(err, unix.ENOMEM) {
		t.Errorf("mprotect over a hole: %v, want ENOMEM", err)
	}
	if err := m.Mprotect(a+2*4096, 4096, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	if _, err := m.CopyOut(a+2*4096, []byte{1}); err == nil {
		t.Error("write to a read-only page succeeded")
	}
	if _, err := m.CopyOut(a+3*4096, []byte{1}); err != nil {
		t.Errorf("write to the page after the read-only one: %v", err)
	}
	maps := m.Maps(nil)
	for _, want := range []string{"50000000-50001000 rw-p", "50002000-50003000 r--p", "50003000-50004000 rw-p"} {
		if !strings.Contains(maps, want) {
			t.Errorf("maps lacks %q:\n%s", want, maps)
		}
	}
	if err := m.Munmap(0x7ff000000000, 4096); !errors.Is(err, unix.EINVAL) {
		t.Errorf("munmap of the platform range: %v, want EINVAL", err)
	}
}

func TestBrk(t *testing.T) {
	m := newMM(t)
	m.SetBrkStart(0x60000000)
	start := m.Brk(0)
	if start < 0x60000000 {
		t.Fatalf("brk start %#x below the end of the executable", start)
	}
	if got := m.Brk(start + 10000); got != start+10000 {
		t.Fatalf("brk grow: got %#x", got)
	}
	if _, err := m.CopyOut(start+9999, []byte{7}); err != nil {
		t.Fatalf("heap not writable: %v", err)
	}
	if got := m.Brk(start); got != start {
		t.Fatalf("brk shrink: got %#x", got)
	}
	if _, err := m.CopyOut(start+8192, []byte{7}); err == nil {
		t.Error("heap still mapped after shrinking")
	}
	if got := m.Brk(start - 4096); got != start {
		t.Errorf("brk below its start moved it to %#x", got)
	}
}

func TestForkCopiesMirrorAndMemory(t *testing.T) {
	m := newMM(t)
	a := anon(t, m, 0x70000000, 4096, unix.MAP_FIXED)
	m.CopyOut(a, []byte("parent"))
	c, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	c.CopyOut(a, []byte("child!"))
	got := make([]byte, 6)
	m.CopyIn(a, got)
	if string(got) != "parent" {
		t.Errorf("parent sees %q after the child wrote", got)
	}
	if c.Maps(nil) != m.Maps(nil) {
		t.Errorf("child mirror differs:\n%s\nvs\n%s", c.Maps(nil), m.Maps(nil))
	}
}

func TestMadviseDontneedZeroes(t *testing.T) {
	m := newMM(t)
	a := anon(t, m, 0x71000000, 2*4096, unix.MAP_FIXED)
	m.CopyOut(a, []byte{1, 2, 3})
	if err := m.Madvise(a, 4096, unix.MADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 3)
	m.CopyIn(a, got)
	if got[0] != 0 || got[1] != 0 || got[2] != 0 {
		t.Errorf("page not zeroed after MADV_DONTNEED: %v", got)
	}
}

// TestFutexKeyAmongManyMappings checks FutexKey's search among many
// mappings: every word of a mapping has its own private key, the same
// each time, and a gap between mappings is EFAULT.
func TestFutexKeyAmongManyMappings(t *testing.T) {
	m := newMM(t)
	var starts []uintptr
	for i := 0; i < 64; i++ {
		// Alternating protections keep neighbouring mappings apart.
		prot := unix.PROT_READ | unix.PROT_WRITE
		if i%2 == 1 {
			prot = unix.PROT_READ
		}
		addr, err := m.Mmap(mm.MmapOpts{Length: 2 * abi.PageSize, Prot: prot, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS})
		if err != nil {
			t.Fatal(err)
		}
		starts = append(starts, addr)
	}
	seen := map[any]bool{}
	for _, a := range starts {
		for _, addr := range []uintptr{a, a + 4, a + 2*abi.PageSize - 4} {
			k1, err1 := m.FutexKey(addr, false)
			k2, err2 := m.FutexKey(addr, true)
			if err1 != nil || err2 != nil || k1 != k2 {
				t.Fatalf("FutexKey(%#x) = %v, %v / %v, %v: want the same private key", addr, k1, err1, k2, err2)
			}
			if seen[k1] {
				t.Fatalf("FutexKey(%#x) repeats another word's key", addr)
			}
			seen[k1] = true
		}
	}
	if err := m.Munmap(starts[10], 2*abi.PageSize); err != nil {
		t.Fatal(err)
	}
	if _, err := m.FutexKey(starts[10]+8, false); err != unix.EFAULT {
		t.Errorf("shared FutexKey in an unmapped gap: %v, want EFAULT", err)
	}
	// A private futex is its address, mapped or not (get_futex_key).
	if _, err := m.FutexKey(starts[10]+8, true); err != nil {
		t.Errorf("private FutexKey in an unmapped gap: %v, want a key", err)
	}
}

// The sandbox is a kernel without KSM (its /sys has no kernel/mm/ksm):
// MADV_MERGEABLE and MADV_UNMERGEABLE are EINVAL, as there; and without
// memory-failure handling: MADV_HWPOISON and MADV_SOFT_OFFLINE are EINVAL
// (they were taken and did nothing). The host may have either, and
// poisoning a page natively as root loses it, so no differential program
// can check this.
func TestMadviseWithoutKSM(t *testing.T) {
	m := newMM(t)
	addr, err := m.Mmap(mm.MmapOpts{Length: abi.PageSize, Prot: unix.PROT_READ | unix.PROT_WRITE, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS})
	if err != nil {
		t.Fatal(err)
	}
	for _, advice := range []int{unix.MADV_MERGEABLE, unix.MADV_UNMERGEABLE, unix.MADV_HWPOISON, linux.MADV_SOFT_OFFLINE} {
		if err := m.Madvise(addr, abi.PageSize, advice); err != unix.EINVAL {
			t.Errorf("madvise(%d) = %v, want EINVAL", advice, err)
		}
	}
	if err := m.Madvise(addr, abi.PageSize, unix.MADV_HUGEPAGE); err != nil {
		t.Errorf("MADV_HUGEPAGE: %v", err)
	}
}
