package mm

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FileResidency sets vec[i] to 1 where page i of f from off is in the
// host's page cache (for a memfd: allocated, written or not), by asking the host's mincore about a mapping of it in
// the sentry that is never touched.
//
// Invariant: mincore(2) is given the addresses of two live Go slices, b and
// cached, for their lengths; x/sys/unix has no wrapper for it.
func FileResidency(f *os.File, off int64, vec []byte) error {
	b, err := unix.Mmap(int(f.Fd()), off, len(vec)*pageSize, unix.PROT_NONE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mapping a file to read its residency: %w", err)
	}
	defer unix.Munmap(b)
	cached := make([]byte, len(vec))
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), uintptr(unsafe.Pointer(&cached[0]))); errno != 0 {
		return fmt.Errorf("reading a file's residency: %w", errno)
	}
	for i, c := range cached {
		vec[i] |= c & 1
	}
	return nil
}
