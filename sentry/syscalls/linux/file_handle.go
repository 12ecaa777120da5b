package linux

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// File handles: name_to_handle_at and open_by_handle_at, in fs/fhandle.c's
// order of checks. Package vfs has the handles' decision.

func registerFileHandle(st *kernel.SyscallTable) {
	const note = "handles stay valid for the files the sandbox asked handles of lately (the VFS remembers 4096); others are stale"
	partial(st, unix.SYS_NAME_TO_HANDLE_AT, "name_to_handle_at", nameToHandleAt, note, kernel.ArgFD, kernel.ArgPath, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_OPEN_BY_HANDLE_AT, "open_by_handle_at", openByHandleAt, note, kernel.ArgFD, kernel.ArgHex, kernel.ArgHex)
}

func nameToHandleAt(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := a.Int(4)
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH|abi.AT_HANDLE_FID|abi.AT_HANDLE_MNT_ID_UNIQUE|abi.AT_HANDLE_CONNECTABLE) != 0 ||
		flags&abi.AT_HANDLE_CONNECTABLE != 0 && flags&abi.AT_HANDLE_FID != 0 {
		return 0, unix.EINVAL
	}
	at := flags & unix.AT_EMPTY_PATH
	if flags&unix.AT_SYMLINK_FOLLOW == 0 {
		at |= unix.AT_SYMLINK_NOFOLLOW
	}
	return 0, withTarget(t, a.Int(0), a.Pointer(1), at, unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW, func(tg target) error {
		d, err := tg.dentry(t)
		if err == errAnonymous {
			return unix.EOPNOTSUPP
		}
		if err != nil {
			return err
		}
		var h abi.FileHandle
		if err := kernel.CopyIn(t, a.Pointer(2), &h); err != nil {
			return err
		}
		if h.HandleBytes > abi.MAX_HANDLE_SZ {
			return unix.EINVAL
		}
		handle, err := t.K.VFS.Handle(tg.ctx, d)
		if err != nil {
			return err
		}
		fits := int(h.HandleBytes) >= len(handle)
		h.HandleBytes, h.HandleType = uint32(len(handle)), vfs.HandleType
		if !fits {
			h.HandleType = 0
		}
		mountID := uint64(vfs.MountID(d))
		var idErr error
		if flags&abi.AT_HANDLE_MNT_ID_UNIQUE != 0 {
			idErr = kernel.CopyOut(t, a.Pointer(3), &mountID)
		} else {
			id := int32(mountID)
			idErr = kernel.CopyOut(t, a.Pointer(3), &id)
		}
		if idErr != nil || kernel.CopyOut(t, a.Pointer(2), &h) != nil {
			return unix.EFAULT
		}
		if !fits {
			return unix.EOVERFLOW
		}
		return t.CopyOut(a.Pointer(2)+8, handle)
	})
}

func openByHandleAt(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var anchor *vfs.Dentry
	if fd := a.Int(0); fd == unix.AT_FDCWD {
		anchor = t.FS().Cwd()
	} else {
		f, err := getFileRaw(t, fd)
		if err != nil {
			return 0, err
		}
		anchor = f.Dentry()
		f.DecRef()
		if anchor == nil {
			return 0, unix.ESTALE
		}
	}
	if !t.FSCreds().HasCap(linux.CAP_DAC_READ_SEARCH) {
		return 0, unix.EPERM
	}
	var h abi.FileHandle
	if err := kernel.CopyIn(t, a.Pointer(1), &h); err != nil {
		return 0, err
	}
	if h.HandleBytes == 0 || h.HandleBytes > abi.MAX_HANDLE_SZ || h.HandleType < 0 {
		return 0, unix.EINVAL
	}
	handle := make([]byte, h.HandleBytes)
	if err := t.CopyIn(a.Pointer(1)+8, handle); err != nil {
		return 0, err
	}
	v := t.K.VFS
	d, err := v.HandleDentry(t.Ctx(), anchor, h.HandleType, handle)
	if err != nil {
		return 0, err
	}
	flags := int(a.Int(2)) &^ unix.O_CREAT
	f, err := v.OpenDentry(t.Ctx(), t.FSCreds(), d, flags)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&unix.O_CLOEXEC != 0)
	return uintptr(fd), mfile(err)
}
