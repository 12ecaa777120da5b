package systrap

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// stubHolds reports whether the stub process has a descriptor of the file
// at path.
func stubHolds(t *testing.T, as *addressSpace, path string) bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", as.pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if l, _ := os.Readlink(dir + "/" + e.Name()); l == path {
			return true
		}
	}
	return false
}

// TestMapBatch: a batch maps anonymous memory and files, changes
// protections and unmaps, in order, in one request; it stops at the first
// call that fails, says how many were made, and leaves no descriptor
// behind in the stub.
func TestMapBatch(t *testing.T) {
	_, as := poolPlatform(t)
	const (
		page = pageSize
		a    = 0x500000000000 // two anonymous pages, the second made read-only
		b    = a + 16*page    // a file's page
		c    = a + 32*page    // mapped, then unmapped
	)
	content := bytes.Repeat([]byte("batch"), 100)
	f, err := os.CreateTemp(t.TempDir(), "batch")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.Write(content)
	f.Truncate(page)
	anon := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED
	rw := unix.PROT_READ | unix.PROT_WRITE
	n, err := as.MapBatch([]platform.MapOp{
		{Sysno: unix.SYS_MMAP, Addr: a, Length: 2 * page, Prot: rw, Flags: anon},
		{Sysno: unix.SYS_MPROTECT, Addr: a + page, Length: page, Prot: unix.PROT_READ},
		{Sysno: unix.SYS_MMAP, Addr: b, Length: page, Prot: unix.PROT_READ, Flags: unix.MAP_PRIVATE | unix.MAP_FIXED, File: f},
		{Sysno: unix.SYS_MMAP, Addr: c, Length: page, Prot: rw, Flags: anon},
		{Sysno: unix.SYS_MUNMAP, Addr: c, Length: page},
	})
	if n != 5 || err != nil {
		t.Fatalf("MapBatch = %d, %v; want 5, nil", n, err)
	}
	if _, err := as.WriteAt([]byte{1}, a); err != nil {
		t.Errorf("writing the read-write page: %v", err)
	}
	if _, err := as.WriteAt([]byte{1}, a+page); !errors.Is(err, unix.EFAULT) {
		t.Errorf("writing the page made read-only: %v, want EFAULT", err)
	}
	got := make([]byte, len(content))
	if _, err := as.ReadAt(got, b); err != nil || !bytes.Equal(got, content) {
		t.Errorf("the file's page holds %q (%v), want %q", got, err, content)
	}
	if _, err := as.ReadAt(got[:1], c); !errors.Is(err, unix.EFAULT) {
		t.Errorf("reading the unmapped page: %v, want EFAULT", err)
	}

	// The second call fails (nothing is mapped there): the first is made,
	// the third is not.
	n, err = as.MapBatch([]platform.MapOp{
		{Sysno: unix.SYS_MMAP, Addr: c, Length: page, Prot: rw, Flags: anon},
		{Sysno: unix.SYS_MPROTECT, Addr: c + 4*page, Length: page, Prot: unix.PROT_READ},
		{Sysno: unix.SYS_MMAP, Addr: c + 8*page, Length: page, Prot: unix.PROT_READ, Flags: unix.MAP_PRIVATE | unix.MAP_FIXED, File: f},
	})
	if n != 1 || !errors.Is(err, unix.ENOMEM) {
		t.Fatalf("MapBatch with a failing second call = %d, %v; want 1, ENOMEM", n, err)
	}
	if _, err := as.ReadAt(got[:1], c); err != nil {
		t.Errorf("the call before the failure was not made: %v", err)
	}
	if _, err := as.ReadAt(got[:1], c+8*page); !errors.Is(err, unix.EFAULT) {
		t.Errorf("the call after the failure was made: %v", err)
	}
	if stubHolds(t, as, f.Name()) {
		t.Error("the stub kept a descriptor of the batches' file")
	}

	// More calls than one request takes.
	var ops []platform.MapOp
	for i := range 70 {
		ops = append(ops, platform.MapOp{Sysno: unix.SYS_MMAP, Addr: a + uintptr(64+i)*page, Length: page, Prot: rw, Flags: anon})
	}
	if n, err := as.MapBatch(ops); n != len(ops) || err != nil {
		t.Errorf("MapBatch of %d calls = %d, %v", len(ops), n, err)
	}

	// The platform's own ranges are refused before anything is sent.
	if _, err := as.MapBatch([]platform.MapOp{{Sysno: unix.SYS_MUNMAP, Addr: reserved.Start, Length: page}}); err == nil {
		t.Error("a batch unmapping the reserved range was accepted")
	}
}

// TestDiscardUntouched: discarding memory no page of which is in memory
// asks the stub nothing; discarding written memory drops what was written.
func TestDiscardUntouched(t *testing.T) {
	_, as := poolPlatform(t)
	const (
		page = pageSize
		a    = 0x510000000000
	)
	if _, err := as.Mmap(a, 8*page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, nil, 0); err != nil {
		t.Fatal(err)
	}
	requests := func() uint32 {
		as.mu.Lock()
		defer as.mu.Unlock()
		return as.seq
	}
	before := requests()
	if err := as.Discard(a, 8*page); err != nil {
		t.Fatal(err)
	}
	if n := requests() - before; n != 0 {
		t.Errorf("discarding untouched memory made %d requests to the stub, want 0", n)
	}
	if _, err := as.WriteAt([]byte("x"), a+3*page); err != nil {
		t.Fatal(err)
	}
	before = requests()
	if err := as.Discard(a, 8*page); err != nil {
		t.Fatal(err)
	}
	if n := requests() - before; n != 1 {
		t.Errorf("discarding written memory made %d requests to the stub, want 1", n)
	}
	b := make([]byte, 1)
	if _, err := as.ReadAt(b, a+3*page); err != nil || b[0] != 0 {
		t.Errorf("the discarded page holds %q (%v), want a zero", b, err)
	}
}
