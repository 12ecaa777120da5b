package mm_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usage"
)

// TestMaxMapCount checks vm.max_map_count as Linux applies it: mmap fails
// once the count passes the limit (so it may reach limit+1), and at the
// limit a munmap or an mprotect that would split a mapping fails, while
// one that splits nothing goes through.
func TestMaxMapCount(t *testing.T) {
	mem := usage.NewMemory(0)
	m := newAccountedMM(t, mem)
	const base, page = uintptr(0x10000000), uintptr(4096)
	start := 0 // mappings counted: all but the platform's ranges
	for _, v := range m.VMAs() {
		if v.Name != "[platform]" {
			start++
		}
	}
	// Room for 8 more mappings, 3 pages each, with gaps so none merge.
	if err := mem.SetMaxMapCount(int64(start + 8)); err != nil {
		t.Fatal(err)
	}
	n := 0
	for ; n < 100; n++ {
		_, err := m.Mmap(mm.MmapOpts{Addr: base + uintptr(n)*6*page, Length: 3 * page, Prot: unix.PROT_NONE,
			Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED_NOREPLACE})
		if errors.Is(err, unix.ENOMEM) {
			break
		}
		if err != nil {
			t.Fatalf("mmap %d: %v", n, err)
		}
	}
	if n < 8 || n > 9 {
		t.Fatalf("%d mappings made under a limit of %d with %d at the start", n, start+8, start)
	}
	if err := m.Munmap(base+page, page); !errors.Is(err, unix.ENOMEM) {
		t.Errorf("munmap splitting a mapping at the limit: %v, want ENOMEM", err)
	}
	if err := m.Mprotect(base+page, page, unix.PROT_READ); !errors.Is(err, unix.ENOMEM) {
		t.Errorf("mprotect splitting a mapping at the limit: %v, want ENOMEM", err)
	}
	if err := m.Mprotect(base+page, page, unix.PROT_NONE); err != nil {
		t.Errorf("mprotect that changes nothing at the limit: %v", err)
	}
	if err := m.Munmap(base, page); err != nil {
		t.Errorf("munmap of a mapping's first page at the limit: %v", err)
	}
	if err := m.Munmap(base+6*page, 3*page); err != nil {
		t.Errorf("munmap of a whole mapping: %v", err)
	}
	if err := mem.SetMaxMapCount(-1); !errors.Is(err, unix.EINVAL) {
		t.Errorf("SetMaxMapCount(-1): %v, want EINVAL", err)
	}
}
