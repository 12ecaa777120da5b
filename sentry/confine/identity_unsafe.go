package confine

import (
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// capsetArgs returns capset's arguments for keep as the permitted and
// effective sets and an empty inheritable set: version 3, pid 0 (the
// calling thread), and the sets of capabilities 0-31 and 32-63.
func capsetArgs(keep uint64) (*unix.CapUserHeader, *[2]unix.CapUserData) {
	h := &unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var d [2]unix.CapUserData
	for i := range d {
		set := uint32(keep >> (32 * i))
		d[i] = unix.CapUserData{Effective: set, Permitted: set}
	}
	return h, &d
}

// setCapabilities makes keep the permitted and effective capabilities,
// and nothing the inheritable ones, of every thread (of the calling one
// only where Go cannot reach all; allThreads says which); keep must be a
// subset of what each has.
//
// Invariant: h and d stay reachable (KeepAlive) until every thread has
// made the syscall, which AllThreadsSyscall returns only after.
func setCapabilities(keep uint64) (allThreads bool, err error) {
	h, d := capsetArgs(keep)
	allThreads, err = onAllThreads(unix.SYS_CAPSET, uintptr(unsafe.Pointer(h)), uintptr(unsafe.Pointer(&d[0])), 0)
	runtime.KeepAlive(h)
	runtime.KeepAlive(d)
	return allThreads, err
}
