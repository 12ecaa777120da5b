package mm_test

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/mm"
)

// TestForkSharesFiles: a fork's child maps the parent's file descriptors
// without duplicating them, and the file is closed when the last memory
// manager mapping it is released, whichever it is.
func TestForkSharesFiles(t *testing.T) {
	for _, childFirst := range []bool{true, false} {
		parent := newMM(t)
		f, err := os.CreateTemp(t.TempDir(), "mapped")
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(4 * 4096)
		// Two pieces of one mapping: the file is released once.
		addr, err := parent.Mmap(mm.MmapOpts{Length: 4 * 4096, Prot: unix.PROT_READ, Flags: unix.MAP_PRIVATE, File: f})
		if err != nil {
			t.Fatal(err)
		}
		if err := parent.Mprotect(addr, 4096, unix.PROT_NONE); err != nil {
			t.Fatal(err)
		}
		child, err := parent.Fork()
		if err != nil {
			t.Fatal(err)
		}
		first, second := parent, child
		if childFirst {
			first, second = child, parent
		}
		first.Release()
		if f.Fd() == ^uintptr(0) {
			t.Fatalf("childFirst=%v: the file was closed while the other memory manager maps it", childFirst)
		}
		second.Release()
		if f.Fd() != ^uintptr(0) {
			t.Errorf("childFirst=%v: the file is still open after both memory managers were released", childFirst)
		}
	}
}
