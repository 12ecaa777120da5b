package linux

import (
	"context"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/inotify"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

const inotifyNote = "events of the sandbox's own file operations only, not host-side changes; IN_DELETE_SELF does not wait for open descriptors to close; no IN_ACCESS for getdents"

func registerInotify(st *kernel.SyscallTable) {
	partial(st, unix.SYS_INOTIFY_INIT, "inotify_init", inotifyInit, inotifyNote)
	partial(st, unix.SYS_INOTIFY_INIT1, "inotify_init1", inotifyInit1, inotifyNote, kernel.ArgHex)
	partial(st, unix.SYS_INOTIFY_ADD_WATCH, "inotify_add_watch", inotifyAddWatch, inotifyNote, kernel.ArgFD, kernel.ArgPath, kernel.ArgHex)
	reg(st, unix.SYS_INOTIFY_RM_WATCH, "inotify_rm_watch", inotifyRmWatch, kernel.ArgFD, kernel.ArgInt)
}

func inotifyInit(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return inotifyInitImpl(t, 0)
}

func inotifyInit1(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return inotifyInitImpl(t, int(a.Int(0)))
}

func inotifyInitImpl(t *kernel.Task, flags int) (uintptr, error) {
	f, err := inotify.New(t.K.VFS, flags, inotify.Account{Users: t.K.Inotify, UID: t.Creds().UID.Effective})
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&inotify.CloseExec != 0)
	return uintptr(fd), mfile(err)
}

// inotifyOf returns the instance of descriptor fd: EBADF if fd is not
// open, EINVAL if it is not an inotify file.
func inotifyOf(t *kernel.Task, fd int32) (*inotify.Inotify, func(), error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, nil, err
	}
	in, ok := inotify.FromFile(f)
	if !ok {
		f.DecRef()
		return nil, nil, unix.EINVAL
	}
	return in, f.DecRef, nil
}

// inotifyAddWatch checks in Linux's order: the mask, the descriptor, then
// the path, which must be readable (EACCES) and, with IN_ONLYDIR, a
// directory.
func inotifyAddWatch(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	mask := a.Uint(2)
	if !inotify.ValidMask(mask) {
		return 0, unix.EINVAL
	}
	in, done, err := inotifyOf(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer done()
	var wd int32
	err = pathAt(t, unix.AT_FDCWD, a.Pointer(1), func(ctx context.Context, _ *vfs.File, path string) error {
		d, err := t.K.VFS.Lookup(ctx, t.FSCreds(), t.FS(), nil, path, mask&unix.IN_DONT_FOLLOW == 0)
		if err != nil {
			return err
		}
		key, dir, err := vfs.KeyOf(ctx, d.Inode())
		if err != nil {
			return err
		}
		if mask&unix.IN_ONLYDIR != 0 && !dir {
			return unix.ENOTDIR
		}
		if err := t.K.VFS.Access(ctx, t.FSCreds(), t.FS(), nil, path, unix.R_OK, mask&unix.IN_DONT_FOLLOW == 0); err != nil {
			return err
		}
		wd, err = in.AddWatch(key, mask)
		return err
	})
	return uintptr(wd), err
}

func inotifyRmWatch(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	in, done, err := inotifyOf(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer done()
	return 0, in.RmWatch(a.Int(1))
}
