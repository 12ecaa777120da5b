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

// EncodeDev is a device number as Linux shows it in 32 bits
// (new_encode_dev): /proc/PID/stat's tty_nr, statfs's f_fsid.
func EncodeDev(dev uint64) uint32 {
	major, minor := unix.Major(dev), unix.Minor(dev)
	return minor&0xff | major<<8 | (minor&^0xff)<<12
}
