package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// fileClone is the FICLONE and FICLONERANGE ioctls on dst
// (ioctl_file_clone, vfs_clone_file_range, in its order of checks): share srcFD's blocks instead
// of copying them. No filesystem of the sandbox shares blocks between
// files (tmpfs has no remap_file_range either), so a clone that passes
// Linux's checks is EOPNOTSUPP, and programs (cp --reflink=auto) copy.
func fileClone(t *kernel.Task, dst *vfs.File, cmd uint32, arg uintptr) error {
	srcFD := int32(arg)
	if cmd == unix.FICLONERANGE {
		var r unix.FileCloneRange
		if err := kernel.CopyIn(t, arg, &r); err != nil {
			return err
		}
		srcFD = int32(r.Src_fd)
	}
	src, err := getFile(t, srcFD)
	if err != nil {
		return err
	}
	defer src.DecRef()
	srcSt, err := src.Stat()
	if err != nil {
		return err
	}
	dstSt, err := dst.Stat()
	if err != nil {
		return err
	}
	if srcSt.Dev != dstSt.Dev {
		return unix.EXDEV
	}
	if err := regularPair(src, dst); err != nil {
		return err
	}
	if !src.Readable() || !dst.Writable() {
		return unix.EBADF
	}
	return unix.EOPNOTSUPP
}
