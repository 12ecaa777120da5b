package confine

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// capHeader and capData are capset's arguments: version 3, pid 0 (the
// calling thread), and the sets of capabilities 0-31 and 32-63.
var (
	capHeader = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	capData   [2]unix.CapUserData
)

// setCapabilities makes keep the permitted and effective sets, and empties
// the inheritable set, of every thread (of the calling one only where Go
// cannot reach all). keep must be a subset of what the threads have.
//
// Invariant: capHeader and capData are package variables, so the pointers
// stay valid while every thread runs the syscall; Drop and Seal, their only
// users, run one after the other on the main goroutine.
func setCapabilities(d *Dropped, keep uint64) error {
	for i := range capData {
		set := uint32(keep >> (32 * i))
		capData[i] = unix.CapUserData{Effective: set, Permitted: set}
	}
	return allThreads(d, unix.SYS_CAPSET, uintptr(unsafe.Pointer(&capHeader)), uintptr(unsafe.Pointer(&capData[0])), 0)
}
