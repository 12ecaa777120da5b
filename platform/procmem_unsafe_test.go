package platform

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The copies run on this process's own memory, named by address as another
// process would name it (unsafe: the address of a slice's first byte);
// process_vm_readv needs no permission on oneself.

// addrOf is the address of b's first byte, as another process would name it.
func addrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func TestProcessMemoryVecStopsAtReserved(t *testing.T) {
	src := []byte("0123456789abcdef")
	at := addrOf(src)
	reserved := Range{Start: at + 12, End: at + 4096}
	dst := make([]byte, 16)
	rs := []Range{{Start: at + 4, End: at + 8}, {Start: at, End: at}, {Start: at + 8, End: at + 16}}
	n, err := ReadProcessMemoryVec(os.Getpid(), reserved, dst, rs)
	if n != 8 || !errors.Is(err, unix.EFAULT) || string(dst[:n]) != "456789ab" {
		t.Errorf("ReadProcessMemoryVec up to a reserved range = %d (%q), %v; want 8 (\"456789ab\"), EFAULT", n, dst[:n], err)
	}
}

// BenchmarkProcessMemory reads 16 ranges of 4 KiB and 256 ranges of 64
// bytes of this process's memory: with one process_vm_readv per range, as
// ReadAt does, and with one for them all (ReadProcessMemoryVec).
func BenchmarkProcessMemory(b *testing.B) {
	for _, shape := range []struct{ n, size int }{{16, 4096}, {256, 64}} {
		src := make([]byte, shape.n*shape.size)
		dst := make([]byte, len(src))
		rs := make([]Range, shape.n)
		for i := range rs {
			rs[i] = RangeOf(addrOf(src)+uintptr(i*shape.size), shape.size)
		}
		pid := os.Getpid()
		b.Run(fmt.Sprintf("%dx%d/per-range", shape.n, shape.size), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				for i, r := range rs {
					if _, err := ReadProcessMemory(pid, Range{}, dst[i*shape.size:(i+1)*shape.size], r.Start); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("%dx%d/vectored", shape.n, shape.size), func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			for b.Loop() {
				if _, err := ReadProcessMemoryVec(pid, Range{}, dst, rs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
