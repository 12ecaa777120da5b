package vfs

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

var nextAnonMinor atomic.Uint32

// NewDeviceID returns a fresh st_dev for a filesystem with no device, as
// Linux's anonymous block devices (major 0).
func NewDeviceID() uint64 {
	return unix.Mkdev(0, 0x40+nextAnonMinor.Add(1))
}
