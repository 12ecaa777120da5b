package linux

import (
	"slices"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/fs/proc"
	"runsc-lite/sentry/kernel"
)

// Handlers about filesystems as a whole, not a file of one: sysfs, which
// lists the filesystem types /proc/filesystems shows, and ustat, which
// describes a mounted one by its device number.

func registerFilesystem(st *kernel.SyscallTable) {
	reg(st, unix.SYS_SYSFS, "sysfs", sysfs, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_USTAT, "ustat", ustat, kernel.ArgHex, kernel.ArgHex)
}

// sysfs options (sysfs(2)).
const (
	sysfsIndex = 1 // the index of a type by name
	sysfsName  = 2 // the name of a type by index
	sysfsCount = 3 // how many types there are
)

func sysfs(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	types := proc.FilesystemTypes
	switch a.Int(0) {
	case sysfsIndex:
		name, err := t.CopyInString(a.Pointer(1), unix.PathMax-1)
		if err != nil {
			return 0, err
		}
		if i := slices.Index(types, name); i >= 0 {
			return uintptr(i), nil
		}
		return 0, unix.EINVAL
	case sysfsName:
		i := uint32(a[1])
		if int(i) >= len(types) {
			return 0, unix.EINVAL
		}
		return 0, t.CopyOut(a.Pointer(2), append([]byte(types[i]), 0))
	case sysfsCount:
		return uintptr(len(types)), nil
	}
	return 0, unix.EINVAL
}

// ustat describes the mounted filesystem of device dev, a 32-bit device
// number (new_decode_dev): its free blocks and inodes.
func ustat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	dev := uint32(a[0])
	major, minor := (dev&0xfff00)>>8, dev&0xff|(dev>>12)&0xfff00
	s, err := t.K.VFS.StatfsDev(t.Ctx(), t.MountNS().VFS, unix.Mkdev(major, minor))
	if err != nil {
		return 0, err
	}
	u := abi.Ustat{Tfree: int32(s.Bfree), Tinode: s.Ffree}
	return 0, kernel.CopyOut(t, a.Pointer(1), &u)
}
