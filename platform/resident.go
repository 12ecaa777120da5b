package platform

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
)

const pageSize = abi.PageSize

// pagemapPresent, pagemapSwapped and pagemapFile are the "page present",
// "page swapped" and "file-page or shared-anon" bits of a
// /proc/<pid>/pagemap entry.
const (
	pagemapPresent = 1 << 63
	pagemapSwapped = 1 << 62
	pagemapFile    = 1 << 61
)

// NoneInMemory reports whether no page of [addr, addr+length) of process
// pid is in memory or swapped out, from its pagemap: private anonymous
// memory there reads as zeros, so discarding it (Discard) changes
// nothing. It is false when the pagemap cannot be read.
func NoneInMemory(pid int, addr, length uintptr) bool {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/pagemap", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	const chunk = 2048 // entries per read
	entries := make([]uint64, chunk)
	for n := int(length / pageSize); n > 0; {
		k := min(chunk, n)
		b := abi.SliceBytes(entries[:k])
		if got, err := unix.Pread(fd, b, int64(addr/pageSize)*8); err != nil || got != len(b) {
			return false
		}
		for _, e := range entries[:k] {
			if e&(pagemapPresent|pagemapSwapped) != 0 {
				return false
			}
		}
		n -= k
		addr += uintptr(k) * pageSize
	}
	return true
}

// ResidentPages implements AddressSpace.Resident for platforms whose
// application memory is real memory of host process pid: it reads the
// present bit of each page's /proc/<pid>/pagemap entry, which needs no
// privilege (only the frame numbers do). A page the process has not
// faulted in reads as absent even if another process has it in memory.
func ResidentPages(pid int, addr uintptr, vec []byte) error {
	return pagemapPages(pid, addr, vec, func(e uint64) bool { return e&pagemapPresent != 0 })
}

// PrivatePages implements AddressSpace.Private for platforms whose
// application memory is real memory of host process pid, from the same
// pagemap: a page present or swapped out that is no file's page nor
// shared memory is the process's own anonymous copy.
func PrivatePages(pid int, addr uintptr, vec []byte) error {
	return pagemapPages(pid, addr, vec, func(e uint64) bool {
		return e&(pagemapPresent|pagemapSwapped) != 0 && e&pagemapFile == 0
	})
}

// pagemapPages sets vec[i] to 1 if the /proc/<pid>/pagemap entry of page
// i from addr passes test, else 0.
func pagemapPages(pid int, addr uintptr, vec []byte, test func(entry uint64) bool) error {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/pagemap")
	if err != nil {
		return fmt.Errorf("opening the pagemap of process %d: %w", pid, err)
	}
	defer f.Close()
	const chunk = 512 // entries per read
	entries := make([]uint64, chunk)
	for done := 0; done < len(vec); {
		n := min(chunk, len(vec)-done)
		off := int64(addr/pageSize+uintptr(done)) * 8
		if _, err := f.ReadAt(abi.SliceBytes(entries[:n]), off); err != nil {
			return fmt.Errorf("reading the pagemap of process %d: %w", pid, err)
		}
		for i := range n {
			vec[done+i] = 0
			if test(entries[i]) {
				vec[done+i] = 1
			}
		}
		done += n
	}
	return nil
}

// ProcessPeakResident implements AddressSpace.PeakResident for platforms
// whose application memory is real memory of host process pid: the VmHWM
// line of its /proc/<pid>/status, in bytes. The host keeps the mark as
// Linux does for any process (updated at every unmapping and discard, and
// when read), which a sentry that only sees the page tables through
// pagemap could not: it would have to walk them at every munmap.
func ProcessPeakResident(pid int) (uint64, error) {
	var kb uint64
	var found bool
	err := readProcFile(pid, "status", func(b []byte) { kb, found = statusKB(b, "VmHWM") })
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, fmt.Errorf("the status of process %d has no VmHWM line", pid)
	}
	return kb << 10, nil
}

// readProcFile has use read the first page of /proc/<pid>/<name>, which
// holds every line the platform reads there, with plain syscalls:
// os.ReadFile (an fstat, two reads) cost five times as much on the 2-core
// VM (55us against 10), at every exit and execve. use must not keep the
// bytes.
func readProcFile(pid int, name string, use func([]byte)) error {
	fd, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/"+name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("opening the %s of process %d: %w", name, pid, err)
	}
	defer unix.Close(fd)
	// A pooled buffer: a page on the caller's stack grew task goroutines'
	// stacks at every exit (runtime.newstack was 40% of the read's cost).
	bp := procBuffers.Get().(*[4096]byte)
	defer procBuffers.Put(bp)
	n, err := unix.Read(fd, bp[:])
	if err != nil {
		return fmt.Errorf("reading the %s of process %d: %w", name, pid, err)
	}
	use(bp[:max(n, 0)])
	return nil
}

// procBuffers holds readProcFile's read buffers.
var procBuffers = sync.Pool{New: func() any { return new([4096]byte) }}

// statusKB is the value of the line "name:  N kB" of a /proc/<pid>/status.
func statusKB(status []byte, name string) (uint64, bool) {
	_, rest, found := bytes.Cut(status, []byte("\n"+name+":"))
	if !found {
		return 0, false
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(string(line)), " kB"), 10, 64)
	return kb, err == nil
}

// PopulateAdvice is the madvise advice that populates pages for writing
// or for reading (AddressSpace.Populate).
func PopulateAdvice(write bool) uint64 {
	if write {
		return unix.MADV_POPULATE_WRITE
	}
	return unix.MADV_POPULATE_READ
}

// CheckMremap refuses the Mremap requests that could reach reserved: a
// host-chosen destination, an old range (even an empty one, which
// duplicates a shared mapping) or in-place growth touching it (EFAULT),
// a destination overlapping it (ENOMEM). The host checks the rest.
func CheckMremap(reserved Range, old, oldLen, newLen uintptr, flags int, newAddr uintptr) error {
	const move = unix.MREMAP_MAYMOVE | unix.MREMAP_FIXED
	switch {
	case flags != 0 && flags&^unix.MREMAP_DONTUNMAP != move:
		return unix.EINVAL
	case reserved.Overlaps(old, max(oldLen, pageSize)):
		return unix.EFAULT
	case flags == 0 && reserved.Overlaps(old, newLen):
		return unix.EFAULT
	case flags != 0 && reserved.Overlaps(newAddr, newLen):
		return unix.ENOMEM
	}
	return nil
}
