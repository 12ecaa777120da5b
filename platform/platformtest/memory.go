package platformtest

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

func testMmapFile(t *testing.T, f Factory, _ Options) {
	const want = 0xfeedface12345678
	p := newPlatform(t, f)
	th, _ := newProcess(t, p, `
	mov 0x100(%rbx), %rdi
	mov $39, %eax
	syscall
	ud2
`)
	// Two pages; the mapping shows the second one, so the offset counts.
	content := bytes.Repeat([]byte{0xee}, 2*pageSize)
	binary.LittleEndian.PutUint64(content[pageSize+0x100:], want)
	file := tempFile(t, content)

	addr, err := th.as.Mmap(faultAddr, pageSize, unix.PROT_READ, unix.MAP_SHARED, file, pageSize)
	if err != nil {
		t.Fatalf("Mmap(hint %#x, one page of a file at offset %#x): %v", faultAddr, pageSize, err)
	}
	if addr == 0 || addr%pageSize != 0 {
		t.Fatalf("Mmap returned address %#x, want a non-zero page-aligned address", addr)
	}
	// The mapping must not depend on the caller keeping its descriptor.
	file.Close()

	th.regs.Rbx = uint64(addr)
	th.runToSyscall(unix.SYS_GETPID)
	expectReg(t, "rdi (qword the program read from the file mapping)", th.regs.Rdi, want)
	expectUint64(t, th.as, addr+0x100, want, "ReadAt of the file mapping")
}

func testMmapMemfd(t *testing.T, f Factory, _ Options) {
	const (
		initial    = 0x0abc0abc0abc0abc
		fromApp    = 0x5151515151515151
		fromSentry = 0x7777777777777777
	)
	p := newPlatform(t, f)
	th, _ := newProcess(t, p, `
	movabs $0x40000000, %rbx
	mov 0(%rbx), %rdi
	movabs $0x5151515151515151, %rcx
	mov %rcx, 8(%rbx)
	mov $39, %eax
	syscall
	mov 16(%rbx), %rdi
	mov $39, %eax
	syscall
	ud2
`)
	fd, err := unix.MemfdCreate("platformtest", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatalf("memfd_create: %v", err)
	}
	memfd := os.NewFile(uintptr(fd), "platformtest-memfd")
	t.Cleanup(func() { memfd.Close() })
	if err := memfd.Truncate(pageSize); err != nil {
		t.Fatal(err)
	}
	pwriteUint64(t, memfd, 0, initial)

	if addr, err := th.as.Mmap(faultAddr, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED, memfd, 0); err != nil || addr != faultAddr {
		t.Fatalf("Mmap(%#x, shared RW memfd) = %#x, %v; want %#x, nil", faultAddr, addr, err, faultAddr)
	}

	th.runToSyscall(unix.SYS_GETPID)
	expectReg(t, "rdi (qword written to the memfd before the mapping)", th.regs.Rdi, initial)
	if got := preadUint64(t, memfd, 8); got != fromApp {
		t.Errorf("memfd at offset 8 after the program's store = %#x, want %#x", got, fromApp)
	}
	expectUint64(t, th.as, faultAddr+8, fromApp, "ReadAt of the program's store")

	pwriteUint64(t, memfd, 16, fromSentry)
	th.runToSyscall(unix.SYS_GETPID)
	expectReg(t, "rdi (qword written to the memfd while mapped)", th.regs.Rdi, fromSentry)
}

func pwriteUint64(t testing.TB, f *os.File, off int64, v uint64) {
	t.Helper()
	if _, err := f.WriteAt(binary.LittleEndian.AppendUint64(nil, v), off); err != nil {
		t.Fatalf("pwrite %s at %d: %v", f.Name(), off, err)
	}
}

func preadUint64(t testing.TB, f *os.File, off int64) uint64 {
	t.Helper()
	var b [8]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatalf("pread %s at %d: %v", f.Name(), off, err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

func testReadWriteUnmapped(t *testing.T, f Factory, _ Options) {
	const (
		mapped   = faultAddr              // one read-write page
		hole     = faultAddr + pageSize   // unmapped
		noAccess = faultAddr + 2*pageSize // PROT_NONE
		far      = 0x50000000             // unmapped
	)
	p := newPlatform(t, f)
	as, _ := newAddressSpace(t, p)
	mapAnon(t, as, mapped, pageSize, unix.PROT_READ|unix.PROT_WRITE)
	mapAnon(t, as, noAccess, pageSize, unix.PROT_NONE)

	copyCases := []struct {
		name string
		copy func([]byte, uintptr) (int, error)
	}{
		{"ReadAt", as.ReadAt},
		{"WriteAt", as.WriteAt},
	}
	for _, c := range copyCases {
		for _, tc := range []struct {
			what   string
			addr   uintptr
			length int
			wantN  int
		}{
			{"an unmapped page", far, 16, 0},
			{"a PROT_NONE page", noAccess, 16, 0},
			{"a mapped page into an unmapped one", hole - 100, 200, 100},
			{"the last byte of the address space, wrapping around", ^uintptr(0), 16, 0},
			{"the top of the address space, wrapping around", ^uintptr(0) - 7, 16, 0},
		} {
			n, err := c.copy(make([]byte, tc.length), tc.addr)
			if n != tc.wantN || !errors.Is(err, unix.EFAULT) {
				t.Errorf("%s of %d bytes at %#x (%s) = %d, %v; want %d and an error wrapping EFAULT",
					c.name, tc.length, tc.addr, tc.what, n, err, tc.wantN)
			}
		}
	}

	// A short write still copies the part that is mapped.
	pattern := bytes.Repeat([]byte{0x5a}, 200)
	if n, err := as.WriteAt(pattern, hole-100); n != 100 || !errors.Is(err, unix.EFAULT) {
		t.Fatalf("WriteAt(200 bytes at %#x) = %d, %v; want 100, EFAULT", hole-100, n, err)
	}
	if got := read(t, as, hole-100, 100); !bytes.Equal(got, pattern[:100]) {
		t.Errorf("the mapped part of a short WriteAt holds % x, want % x", got, pattern[:100])
	}
}

func testReadWriteVec(t *testing.T, f Factory, _ Options) {
	p := newPlatform(t, f)
	as, _ := newAddressSpace(t, p)
	CheckVectoredCopies(t, as)
}

// CheckVectoredCopies checks ReadVec and WriteVec on as, which has nothing
// mapped from faultAddr for three pages: ranges are taken in order, empty
// ones skipped, and the copy moves the smaller of the buffer and the
// ranges, as one copy even beyond IOV_MAX ranges; it stops at a hole with
// what came before it, and at the platform's reserved ranges, which a
// copy may never reach. It is exported for platforms that run nothing
// (memplatform) and so do not run the whole suite.
func CheckVectoredCopies(t *testing.T, as platform.AddressSpace) {
	const (
		base = faultAddr
		hole = faultAddr + 2*pageSize
	)
	mapAnon(t, as, base, 2*pageSize, unix.PROT_READ|unix.PROT_WRITE)
	rs := []platform.Range{{Start: base + pageSize - 3, End: base + pageSize + 5}, {Start: base + 100, End: base + 100}, {Start: base + 10, End: base + 14}}
	msg := []byte("abcdefghijkl")
	if n, err := as.WriteVec(msg, rs); n != len(msg) || err != nil {
		t.Fatalf("WriteVec of %d bytes over %v = %d, %v", len(msg), rs, n, err)
	}
	if got := string(read(t, as, base+pageSize-3, 8)) + string(read(t, as, base+10, 4)); got != string(msg) {
		t.Errorf("WriteVec stored %q, want %q", got, msg)
	}
	for _, tc := range []struct {
		what   string
		length int
		want   string
	}{
		{"as long as the ranges", len(msg), string(msg)},
		{"shorter than the ranges", 5, "abcde"},
		{"longer than the ranges", 20, string(msg)},
	} {
		b := make([]byte, tc.length)
		if n, err := as.ReadVec(b, rs); string(b[:n]) != tc.want || err != nil {
			t.Errorf("ReadVec into a buffer %s = %d (%q), %v; want %q, nil", tc.what, n, b[:n], err, tc.want)
		}
	}

	// One range per two bytes, more than IOV_MAX of them.
	many := make([]platform.Range, 1500)
	for i := range many {
		many[i] = platform.Range{Start: base + uintptr(4*i), End: base + uintptr(4*i+2)}
	}
	pattern := bytes.Repeat([]byte("xy"), len(many))
	if n, err := as.WriteVec(pattern, many); n != len(pattern) || err != nil {
		t.Fatalf("WriteVec over %d ranges = %d, %v", len(many), n, err)
	}
	back := make([]byte, len(pattern))
	if n, err := as.ReadVec(back, many); n != len(back) || err != nil || !bytes.Equal(back, pattern) {
		t.Errorf("ReadVec over %d ranges = %d, %v, equal: %v", len(many), n, err, bytes.Equal(back, pattern))
	}

	into := []platform.Range{{Start: base + 10, End: base + 14}, {Start: hole - 2, End: hole + 2}, {Start: base, End: base + 4}}
	for _, c := range []struct {
		name string
		copy func([]byte, []platform.Range) (int, error)
	}{{"ReadVec", as.ReadVec}, {"WriteVec", as.WriteVec}} {
		if n, err := c.copy(make([]byte, 12), into); n != 6 || !errors.Is(err, unix.EFAULT) {
			t.Errorf("%s over %v, the second range into a hole = %d, %v; want 6 and an error wrapping EFAULT", c.name, into, n, err)
		}
		for _, r := range as.Reserved() {
			reach := []platform.Range{{Start: base, End: base + 4}, {Start: r.Start, End: r.Start + 4}}
			if n, err := c.copy(make([]byte, 8), reach); n != 4 || !errors.Is(err, unix.EFAULT) {
				t.Errorf("%s over %v, the second range reserved = %d, %v; want 4 and an error wrapping EFAULT", c.name, reach, n, err)
			}
		}
	}
	// A copy that would wrap around the top of the address space is
	// EFAULT, never a short success that a caller would retry forever.
	for _, addr := range []uintptr{^uintptr(0) - 7, ^uintptr(0)} {
		if n, err := as.ReadAt(make([]byte, 16), addr); !errors.Is(err, unix.EFAULT) {
			t.Errorf("ReadAt of 16 bytes at %#x = %d, %v; want an error wrapping EFAULT", addr, n, err)
		}
		if n, err := as.WriteAt(make([]byte, 16), addr); !errors.Is(err, unix.EFAULT) {
			t.Errorf("WriteAt of 16 bytes at %#x = %d, %v; want an error wrapping EFAULT", addr, n, err)
		}
	}
	for _, r := range as.Reserved() {
		if n, err := as.ReadAt(make([]byte, 4), r.Start); n != 0 || !errors.Is(err, unix.EFAULT) {
			t.Errorf("ReadAt of the reserved range at %#x = %d, %v; want 0 and an error wrapping EFAULT", r.Start, n, err)
		}
		if n, err := as.WriteAt(make([]byte, 4), r.Start); n != 0 || !errors.Is(err, unix.EFAULT) {
			t.Errorf("WriteAt of the reserved range at %#x = %d, %v; want 0 and an error wrapping EFAULT", r.Start, n, err)
		}
	}
}

// testMremap moves a shared memfd mapping with Mremap: the moved pages are
// still the memfd's. Mremap must refuse to reach the platform's reserved
// ranges, whatever the flags.
func testMremap(t *testing.T, f Factory, _ Options) {
	const moved = faultAddr + 16*pageSize
	p := newPlatform(t, f)
	as, _ := newAddressSpace(t, p)
	fd, err := unix.MemfdCreate("platformtest", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatalf("memfd_create: %v", err)
	}
	memfd := os.NewFile(uintptr(fd), "platformtest-memfd")
	t.Cleanup(func() { memfd.Close() })
	if err := memfd.Truncate(2 * pageSize); err != nil {
		t.Fatal(err)
	}
	if _, err := as.Mmap(faultAddr, 2*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_FIXED, memfd, 0); err != nil {
		t.Fatal(err)
	}
	move := unix.MREMAP_MAYMOVE | unix.MREMAP_FIXED
	if got, err := as.Mremap(faultAddr, 2*pageSize, 2*pageSize, move, moved); err != nil || got != moved {
		t.Fatalf("Mremap(%#x to %#x) = %#x, %v", faultAddr, moved, got, err)
	}
	writeUint64(t, as, moved+pageSize, 0x1234)
	if got := preadUint64(t, memfd, pageSize); got != 0x1234 {
		t.Errorf("memfd after a write through the moved mapping holds %#x, want 0x1234", got)
	}
	vec := make([]byte, 2)
	if err := as.Resident(moved, vec); err != nil || vec[1] != 1 {
		t.Errorf("Resident after a write to the second page = %v, %v; want it present", vec, err)
	}

	for _, r := range as.Reserved() {
		for _, c := range []struct {
			what                      string
			old, oldLen, newLen, addr uintptr
			flags                     int
		}{
			{"move the reserved range", r.Start, pageSize, pageSize, faultAddr, move},
			{"duplicate the reserved range", r.Start, 0, pageSize, faultAddr, move},
			{"move onto the reserved range", moved, pageSize, pageSize, r.Start, move},
			{"grow into the reserved range", r.Start - pageSize, pageSize, 2 * pageSize, 0, 0},
			{"let the host choose", moved, pageSize, 64 * pageSize, 0, unix.MREMAP_MAYMOVE},
		} {
			if got, err := as.Mremap(c.old, c.oldLen, c.newLen, c.flags, c.addr); err == nil {
				t.Errorf("Mremap to %s (%#x, %#x, %#x, %#x, %#x) = %#x, want an error", c.what, c.old, c.oldLen, c.newLen, c.flags, c.addr, got)
			}
		}
	}
}

// testPeakResident checks the high-water mark of resident memory: pages
// written count in it, and it stays after they are unmapped.
func testPeakResident(t *testing.T, f Factory, _ Options) {
	const size = 4 << 20
	p := newPlatform(t, f)
	as, _ := newAddressSpace(t, p)
	before, err := as.PeakResident()
	if err != nil {
		t.Fatalf("PeakResident: %v", err)
	}
	mapAnon(t, as, faultAddr, size, unix.PROT_READ|unix.PROT_WRITE)
	write(t, as, faultAddr, bytes.Repeat([]byte{1}, size))
	if err := as.Munmap(faultAddr, size); err != nil {
		t.Fatalf("Munmap: %v", err)
	}
	after, err := as.PeakResident()
	if err != nil || after < before || after < size {
		t.Errorf("PeakResident after %d bytes were written and unmapped = %d, %v; want at least %d and %d before", size, after, err, size, before)
	}
}
