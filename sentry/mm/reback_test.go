package mm_test

import (
	"os"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/mm"
)

// fakeBacking records the address spaces told of a mapping, and answers
// with moved once set.
type fakeBacking struct {
	mu     sync.Mutex
	spaces []*mm.MemoryManager
	moved  *os.File
}

func (b *fakeBacking) Mapped(m *mm.MemoryManager) (*os.File, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.spaces = append(b.spaces, m)
	if b.moved == nil {
		return nil, nil
	}
	fd, err := unix.Dup(int(b.moved.Fd()))
	return os.NewFile(uintptr(fd), "moved"), err
}

// pagesFile returns a memfd of one page per letter, each page filled
// with its letter.
func pagesFile(t *testing.T, letters string) *os.File {
	t.Helper()
	fd, err := unix.MemfdCreate("pages", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "pages")
	for i, l := range letters {
		if _, err := f.WriteAt([]byte(strings.Repeat(string(l), 4096)), int64(i)*4096); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// mapBacked maps a new descriptor of f with backing b.
func mapBacked(t *testing.T, m *mm.MemoryManager, f *os.File, b mm.Backing, prot, flags int) uintptr {
	t.Helper()
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	o := mm.MmapOpts{Length: 3 * 4096, Prot: prot, Flags: flags, File: os.NewFile(uintptr(fd), f.Name()), Backing: b, ReadOnlyFile: prot&unix.PROT_WRITE == 0}
	a, err := m.Mmap(o)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// firstBytes returns the first byte of each of the three pages at a.
func firstBytes(t *testing.T, m *mm.MemoryManager, a uintptr) string {
	t.Helper()
	var out []byte
	for i := range uintptr(3) {
		b := make([]byte, 1)
		if _, err := m.CopyIn(a+i*4096, b); err != nil {
			t.Fatal(err)
		}
		out = append(out, b[0])
	}
	return string(out)
}

// TestReback: Reback moves a shared mapping onto the new file whole and
// a private one but for the page the process wrote; a fork's copy is
// told to its backing; a mapping made once the contents moved maps the
// new file.
func TestReback(t *testing.T) {
	m := newMM(t)
	lower, upper := pagesFile(t, "abc"), pagesFile(t, "XYZ")
	defer lower.Close()
	defer upper.Close()
	b := &fakeBacking{}
	shared := mapBacked(t, m, lower, b, unix.PROT_READ, unix.MAP_SHARED)
	private := mapBacked(t, m, lower, b, rw, unix.MAP_PRIVATE)
	if _, err := m.CopyOut(private+4096, []byte("p")); err != nil {
		t.Fatal(err)
	}
	c, err := m.Fork()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Release()
	if len(b.spaces) != 3 || b.spaces[2] != c {
		t.Fatalf("the backing was told of %d mappings, the fork's last: %v", len(b.spaces), len(b.spaces) == 3 && b.spaces[2] == c)
	}
	if got := firstBytes(t, m, shared) + firstBytes(t, m, private); got != "abcapc" {
		t.Fatalf("before: %q", got)
	}
	for _, s := range []*mm.MemoryManager{m, c} {
		if err := s.Reback(b, upper); err != nil {
			t.Fatal(err)
		}
		if got := firstBytes(t, s, shared) + firstBytes(t, s, private); got != "XYZXpZ" {
			t.Errorf("after Reback: %q, want XYZXpZ", got)
		}
	}
	if _, err := upper.WriteAt([]byte("W"), 0); err != nil {
		t.Fatal(err)
	}
	if got := firstBytes(t, m, shared) + firstBytes(t, m, private); got != "WYZWpZ" {
		t.Errorf("after a write to the new file: %q, want WYZWpZ", got)
	}
	b.moved = upper
	late := mapBacked(t, m, lower, b, unix.PROT_READ, unix.MAP_SHARED)
	if got := firstBytes(t, m, late); got != "WYZ" {
		t.Errorf("mapped after the move: %q, want WYZ", got)
	}
	if err := m.Madvise(private, 3*4096, unix.MADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	if got := firstBytes(t, m, private); got != "WYZ" {
		t.Errorf("private after MADV_DONTNEED: %q, want WYZ", got)
	}
}
