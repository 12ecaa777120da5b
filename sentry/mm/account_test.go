package mm_test

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usage"
)

const mib = 1 << 20

// TestAccounting follows the sandbox account through the operations that
// charge and uncharge it.
func TestAccounting(t *testing.T) {
	mem := usage.NewMemory(64 * mib)
	m := newAccountedMM(t, mem)
	a := anon(t, m, 0, 32*mib, 0)
	if got := mem.Used(); got != 32*mib {
		t.Fatalf("after a 32 MiB mapping: %d bytes charged", got)
	}
	if _, err := m.Mmap(mm.MmapOpts{Length: 33 * mib, Prot: rw, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS}); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("mmap beyond the limit: %v, want ENOMEM", err)
	}
	// Read-only private memory is not charged; making it writable is.
	ro, err := m.Mmap(mm.MmapOpts{Length: 40 * mib, Prot: unix.PROT_READ, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Mprotect(ro, 40*mib, rw); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("mprotect beyond the limit: %v, want ENOMEM", err)
	}
	// Replacing a mapping in place (MADV_DONTNEED) needs no new charge.
	if err := m.Madvise(a, 32*mib, unix.MADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	// Fork charges the copy: 32 + 32 fits in 64.
	c, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if got := mem.Used(); got != 64*mib {
		t.Fatalf("after fork: %d bytes charged, want 64 MiB", got)
	}
	if _, err := m.Fork(); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("a second fork: %v, want ENOMEM", err)
	}
	c.Release()
	if err := m.Munmap(a, 16*mib); err != nil {
		t.Fatal(err)
	}
	if got := mem.Used(); got != 16*mib {
		t.Fatalf("after release and munmap: %d bytes charged, want 16 MiB", got)
	}
	// Shared anonymous memory is charged once, however many share it.
	if _, err := m.Mmap(mm.MmapOpts{Length: 8 * mib, Prot: rw, Flags: unix.MAP_SHARED | unix.MAP_ANONYMOUS}); err != nil {
		t.Fatal(err)
	}
	c, err = m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	if got := mem.Used(); got != 16*mib+16*mib+8*mib {
		t.Fatalf("fork with shared memory: %d bytes charged, want 40 MiB", got)
	}
	c.Release()
	m.Release()
	if got := mem.Used(); got != 0 {
		t.Fatalf("after release: %d bytes still charged", got)
	}
}

// TestRlimits checks RLIMIT_AS and RLIMIT_DATA.
func TestRlimits(t *testing.T) {
	m := newMM(t)
	m.SetRlimits(^uint64(0), 16*mib)
	if _, err := m.Mmap(mm.MmapOpts{Length: 32 * mib, Prot: rw, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS}); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("a data mapping beyond RLIMIT_DATA: %v, want ENOMEM", err)
	}
	if _, err := m.Mmap(mm.MmapOpts{Length: 32 * mib, Prot: unix.PROT_READ, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS}); err != nil {
		t.Fatalf("a read-only mapping is not data: %v", err)
	}
	m.SetRlimits(16*mib, ^uint64(0))
	if _, err := m.Mmap(mm.MmapOpts{Length: 4096, Prot: unix.PROT_READ, Flags: unix.MAP_PRIVATE | unix.MAP_ANONYMOUS}); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("a mapping beyond RLIMIT_AS: %v, want ENOMEM", err)
	}
}

// TestNoReserve checks MAP_NORESERVE under each vm.overcommit_memory: not
// charged in the default mode 0, nor after mprotect, mremap or fork, and
// charged in mode 2 as Linux ignores the flag there.
func TestNoReserve(t *testing.T) {
	mem := usage.NewMemory(64 * mib)
	m := newAccountedMM(t, mem)
	const huge = 1 << 40 // a sanitizer's shadow is terabytes
	nr := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_NORESERVE
	a, err := m.Mmap(mm.MmapOpts{Length: huge, Prot: rw, Flags: nr})
	if err != nil {
		t.Fatalf("1 TiB MAP_NORESERVE in mode 0: %v", err)
	}
	ro, err := m.Mmap(mm.MmapOpts{Length: 128 * mib, Prot: unix.PROT_READ, Flags: nr})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Mprotect(ro, 128*mib, rw); err != nil {
		t.Fatalf("mprotect of a MAP_NORESERVE mapping to writable: %v", err)
	}
	if _, err := m.Mremap(ro, 128*mib, 256*mib, unix.MREMAP_MAYMOVE, 0); err != nil {
		t.Fatalf("mremap growing a MAP_NORESERVE mapping: %v", err)
	}
	c, err := m.Fork()
	if err != nil {
		t.Fatalf("fork with MAP_NORESERVE mappings: %v", err)
	}
	c.Release()
	if _, err := m.Mmap(mm.MmapOpts{Length: 128 * mib, Prot: rw, Flags: unix.MAP_SHARED | unix.MAP_ANONYMOUS | unix.MAP_NORESERVE}); err != nil {
		t.Fatalf("shared anonymous MAP_NORESERVE: %v", err)
	}
	if got := mem.Used(); got != 0 {
		t.Fatalf("MAP_NORESERVE mappings charged %d bytes", got)
	}
	if err := m.Munmap(a, huge); err != nil {
		t.Fatal(err)
	}
	if err := mem.SetOvercommit(usage.OvercommitNever); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Mmap(mm.MmapOpts{Length: 128 * mib, Prot: rw, Flags: nr}); !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("MAP_NORESERVE beyond the limit in mode 2: %v, want ENOMEM", err)
	}
	if err := mem.SetOvercommit(3); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("overcommit mode 3: %v, want EINVAL", err)
	}
	m.Release()
}
