package linux

import (
	"errors"
	"math"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/socket/hostinet"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/sentry/vfs"
)

// Handlers that control descriptors and open files: fcntl, ioctl, flock.

func registerControl(st *kernel.SyscallTable) {
	fd, hex, i := kernel.ArgFD, kernel.ArgHex, kernel.ArgInt
	reg(st, unix.SYS_FCNTL, "fcntl", fcntl, fd, i, hex)
	reg(st, unix.SYS_IOCTL, "ioctl", ioctl, fd, hex, hex)
	reg(st, unix.SYS_FLOCK, "flock", flock, fd, i)
}

// pathFcntl reports whether cmd applies to an O_PATH descriptor, as
// Linux's check_fcntl_cmd: only the descriptor's own commands do.
func pathFcntl(cmd int32) bool {
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC, unix.F_GETFD, unix.F_SETFD, unix.F_GETFL:
		return true
	}
	return false
}

func fcntl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fd, cmd := a.Int(0), a.Int(1)
	f, err := getFileRaw(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if f.Flags()&unix.O_PATH != 0 && !pathFcntl(cmd) {
		return 0, unix.EBADF
	}
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		nfd, err := t.FDs().Install(f, int(a.Int(2)), cmd == unix.F_DUPFD_CLOEXEC)
		return uintptr(nfd), err
	case unix.F_GETFD:
		on, err := t.FDs().CloseOnExecFlag(fd)
		if on {
			return unix.FD_CLOEXEC, err
		}
		return 0, err
	case unix.F_SETFD:
		return 0, t.FDs().SetCloexec(fd, a.Int(2)&unix.FD_CLOEXEC != 0)
	case unix.F_GETFL:
		// O_LARGEFILE is in the flags of files open(2) and memfd_create
		// made, not of pipes, sockets or eventfds, as in Linux.
		return uintptr(f.Flags()), nil
	case unix.F_SETFL:
		return 0, f.SetStatusFlagsFD(t.Ctx(), t.FSCreds(), int(a.Int(2)), fd)
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW, unix.F_OFD_GETLK, unix.F_OFD_SETLK, unix.F_OFD_SETLKW:
		return 0, recordLock(t, f, cmd, a.Pointer(2))
	case unix.F_GETOWN:
		return uintptr(getOwn(t, f)), nil
	case unix.F_SETOWN:
		return 0, setOwn(t, f, a.Int(2))
	case linux.F_GETOWN_EX:
		return 0, getOwnEx(t, f, a.Pointer(2))
	case linux.F_SETOWN_EX:
		return 0, setOwnEx(t, f, a.Pointer(2))
	case unix.F_GETSIG:
		return uintptr(f.Sig()), nil
	case unix.F_SETSIG:
		return 0, f.SetSig(a.Int(2))
	case unix.F_GETPIPE_SZ, unix.F_SETPIPE_SZ:
		return pipeSize(t, f, cmd, int64(uint32(a.Int(2))))
	case unix.F_SETLEASE:
		return 0, setLease(t, f, fd, a.Int(2))
	case unix.F_GETLEASE:
		return uintptr(f.GetLease()), nil
	case unix.F_ADD_SEALS:
		return 0, addSeals(t, f, uint64(a.Pointer(2)))
	case unix.F_GET_SEALS:
		return getSeals(f)
	case unix.F_NOTIFY:
		return 0, f.SetDirNotify(t.Ctx(), t.FDs(), fd, uint32(a.Int(2)), t.NewLeaseOwner())
	}
	return 0, unix.EINVAL
}

// addSeals is F_ADD_SEALS (memfd_add_seals): EINVAL for bits above 32, EPERM
// on a file not open for writing, then the file's own checks; EINVAL on
// a file that takes no seals.
//
// F_SEAL_WRITE is EBUSY while a host mapping of the file is shared and
// writable. A process that exited may still hold one for a moment when
// the platform unmaps in the background; Linux unmapped it before the
// process could be waited for, so an EBUSY is retried once after the
// platform has finished releasing address spaces.
func addSeals(t *kernel.Task, f *vfs.File, seals uint64) error {
	if seals > math.MaxUint32 {
		return unix.EINVAL
	}
	if !f.Writable() {
		return unix.EPERM
	}
	s, ok := f.Impl().(vfs.Sealer)
	if !ok {
		return unix.EINVAL
	}
	err := s.AddSeals(uint32(seals))
	if errors.Is(err, unix.EBUSY) {
		if w, ok := t.K.Platform.(platform.ReleaseWaiter); ok {
			w.WaitReleased()
			err = s.AddSeals(uint32(seals))
		}
	}
	return err
}

// getSeals is F_GET_SEALS (memfd_get_seals): EINVAL on a file that has
// no seals to show.
func getSeals(f *vfs.File) (uintptr, error) {
	s, ok := f.Impl().(vfs.Sealer)
	if !ok {
		return 0, unix.EINVAL
	}
	seals, err := s.Seals()
	return uintptr(seals), err
}

// ownerEx returns the file's owner as F_GETOWN_EX reads it, its ID as t
// sees it (0 outside t's PID namespace): a file never given one reads as
// a thread owner 0, as Linux's zeroed f_owner.
func ownerEx(t *kernel.Task, f *vfs.File) linux.FOwnerEx {
	o := f.Owner()
	if o == nil {
		return linux.FOwnerEx{Type: linux.F_OWNER_TID}
	}
	typ, id := o.ID()
	return linux.FOwnerEx{Type: typ, PID: int32(t.IDOf(int(id)))}
}

// getOwn is F_GETOWN (f_getown): the owning process or thread, minus the
// owning group, 0 when none or once it has gone.
func getOwn(t *kernel.Task, f *vfs.File) int32 {
	o := ownerEx(t, f)
	if o.Type == linux.F_OWNER_PGRP {
		return -o.PID
	}
	return o.PID
}

// setOwn is F_SETOWN (f_setown): a process, or minus a process group;
// ESRCH if none has the ID, EINVAL for INT_MIN, which has no opposite.
func setOwn(t *kernel.Task, f *vfs.File, who int32) error {
	typ := int32(linux.F_OWNER_PID)
	if who < 0 {
		if who == math.MinInt32 {
			return unix.EINVAL
		}
		typ, who = linux.F_OWNER_PGRP, -who
	}
	o, err := t.NewFileOwner(typ, who)
	if err != nil {
		return err
	}
	f.SetOwner(o)
	return nil
}

// getOwnEx is F_GETOWN_EX: the owner's kind and ID at addr.
func getOwnEx(t *kernel.Task, f *vfs.File, addr uintptr) error {
	o := ownerEx(t, f)
	return kernel.CopyOut(t, addr, &o)
}

// setOwnEx is F_SETOWN_EX: the struct f_owner_ex at addr names a thread,
// a process or a process group.
func setOwnEx(t *kernel.Task, f *vfs.File, addr uintptr) error {
	var ex linux.FOwnerEx
	if err := kernel.CopyIn(t, addr, &ex); err != nil {
		return err
	}
	o, err := t.NewFileOwner(ex.Type, ex.PID)
	if err != nil {
		return err
	}
	f.SetOwner(o)
	return nil
}

// lockRange converts a struct flock's whence, start and len to a range.
func lockRange(t *kernel.Task, f *vfs.File, fl *linux.Flock) (vfs.Range, error) {
	var base int64
	switch fl.Whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		off, err := f.Seek(t.Ctx(), 0, unix.SEEK_CUR)
		if err != nil {
			return vfs.Range{}, err
		}
		base = off
	case unix.SEEK_END:
		st, err := f.Stat()
		if err != nil {
			return vfs.Range{}, err
		}
		base = st.Size
	default:
		return vfs.Range{}, unix.EINVAL
	}
	start := base + fl.Start
	if start < 0 {
		return vfs.Range{}, unix.EINVAL
	}
	switch {
	case fl.Len == 0:
		return vfs.Range{Start: start, End: vfs.LockEOF}, nil
	case fl.Len > 0:
		if start > vfs.LockEOF-fl.Len {
			return vfs.Range{}, unix.EOVERFLOW
		}
		return vfs.Range{Start: start, End: start + fl.Len - 1}, nil
	default:
		if start+fl.Len < 0 {
			return vfs.Range{}, unix.EINVAL
		}
		return vfs.Range{Start: start + fl.Len, End: start - 1}, nil
	}
}

// recordLock implements the F_*LK commands on a struct flock at addr.
func recordLock(t *kernel.Task, f *vfs.File, cmd int32, addr uintptr) error {
	var fl linux.Flock
	if err := kernel.CopyIn(t, addr, &fl); err != nil {
		return err
	}
	ofd := cmd == unix.F_OFD_GETLK || cmd == unix.F_OFD_SETLK || cmd == unix.F_OFD_SETLKW
	if ofd && fl.PID != 0 {
		return unix.EINVAL
	}
	r, err := lockRange(t, f, &fl)
	if err != nil {
		return err
	}
	owner := f.LockOwner(t.FDs(), ofd)
	ctx := t.Ctx()
	switch cmd {
	case unix.F_GETLK, unix.F_OFD_GETLK:
		info, err := f.TestLock(ctx, owner, fl.Type, r)
		if err != nil {
			return err
		}
		fl.Type = info.Type
		if info.Type != vfs.UnlockType {
			// The holder's kernel ID as the caller's PID namespace has
			// it, 0 outside it; -1 for an OFD lock (locks_translate_pid).
			pid := info.PID
			if pid > 0 {
				pid = int32(t.IDOf(int(pid)))
			}
			fl.Whence, fl.Start, fl.PID = unix.SEEK_SET, info.Range.Start, pid
			fl.Len = 0
			if info.Range.End != vfs.LockEOF {
				fl.Len = info.Range.End - info.Range.Start + 1
			}
		}
		return kernel.CopyOut(t, addr, &fl)
	}
	pid := int32(t.KernelPID())
	if ofd {
		pid = -1
	}
	wait := cmd == unix.F_SETLKW || cmd == unix.F_OFD_SETLKW
	return f.SetLock(ctx, owner, pid, fl.Type, r, wait)
}

func flock(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	return 0, f.Flock(t.Ctx(), int(a.Int(1)))
}

func ioctl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	fd, cmd, arg := a.Int(0), a.Uint(1), a.Pointer(2)
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	switch cmd {
	case linux.FIOCLEX:
		return 0, t.FDs().SetCloexec(fd, true)
	case linux.FIONCLEX:
		return 0, t.FDs().SetCloexec(fd, false)
	case linux.FIONBIO, linux.FIOASYNC:
		var on int32
		if err := kernel.CopyIn(t, arg, &on); err != nil {
			return 0, err
		}
		if cmd == linux.FIOASYNC {
			return 0, f.SetAsync(on != 0, fd)
		}
		fl := f.Flags() &^ unix.O_NONBLOCK
		if on != 0 {
			fl |= unix.O_NONBLOCK
		}
		return 0, f.SetStatusFlags(t.Ctx(), t.FSCreds(), fl)
	case linux.TIOCGPTPEER:
		if peer, ok := f.Impl().(interface{ PeerPath() string }); ok {
			return ptyPeer(t, peer.PeerPath(), int(arg))
		}
	case unix.FICLONE, unix.FICLONERANGE:
		return 0, fileClone(t, f, cmd, arg)
	case unix.FS_IOC_GETFLAGS, unix.FS_IOC_SETFLAGS, abi.FS_IOC_FSGETXATTR, abi.FS_IOC_FSSETXATTR:
		return 0, inodeFlagsIoctl(t, f, cmd, arg)
	case unix.TIOCINQ: // FIONREAD
		if n, ok := regularFIONREAD(t, f); ok {
			queued := int32(n)
			return 0, kernel.CopyOut(t, arg, &queued)
		}
	}
	if ns, ok := f.Inode().(*kernel.NSInode); ok {
		return t.NSIoctl(ns, cmd, arg)
	}
	if _, host := hostinet.FromFile(f); inet.IsDeviceIoctl(cmd) && isSocket(f) && !host {
		// Every socket answers the interface ioctls (sock_ioctl):
		// glibc's if_nametoindex asks an AF_UNIX socket. A
		// --network=host socket answers them about the host's
		// interfaces itself (hostinet).
		// An Internet socket asks its own namespace's stack (sock_net),
		// any other the caller's.
		st := t.NetNS().Inet
		if s, ok := inet.FromFile(f); ok {
			st = s.Stack()
		} else if s, ok := inet.PacketFromFile(f); ok {
			st = s.Stack()
		}
		return st.DeviceIoctl(t, cmd, arg, hasCap(t, unix.CAP_NET_ADMIN))
	}
	return f.Ioctl(t.Ctx(), t, cmd, arg)
}

// ptyPeer is TIOCGPTPEER on a pseudo-terminal master (ptm_open_peer):
// its slave, at path, opened with flags as a new descriptor. It opens the
// slave by its name in the sandbox's devpts where Linux opens it within
// the devpts the master came from, and checks the caller's permission on
// it, which Linux does not (the owner, or root, has it).
func ptyPeer(t *kernel.Task, path string, flags int) (uintptr, error) {
	flags &^= unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC | unix.O_DIRECTORY | unix.O_PATH | unix.O_TMPFILE
	f, err := t.K.VFS.Open(t.Ctx(), t.FSCreds(), t.FS(), nil, path, flags, 0)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&unix.O_CLOEXEC != 0)
	if err == unix.EINVAL {
		err = unix.EMFILE
	}
	return uintptr(fd), err
}

// regularFIONREAD answers FIONREAD for regular files: the bytes between
// the position and the end.
func regularFIONREAD(t *kernel.Task, f *vfs.File) (int64, bool) {
	st, err := f.Stat()
	if err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG || f.Dentry() == nil {
		return 0, false
	}
	off, err := f.Seek(t.Ctx(), 0, unix.SEEK_CUR)
	if err != nil {
		return 0, false
	}
	return max(st.Size-off, 0), true
}

// setLease implements F_SETLEASE: the file's owner (or CAP_LEASE) may
// take a lease on a regular file (vfs.File.SetLease). Its taker becomes
// the file's owner unless it has one (lease_setup), and its breaks send
// the owner SIGIO, or the F_SETSIG signal with POLL_MSG and si_fd fd
// (lease_break_callback). Unlike Linux, taking a lease does not show
// O_ASYNC in F_GETFL.
func setLease(t *kernel.Task, f *vfs.File, fd, typ int32) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if st.Uid != t.Creds().UID.FS && !t.HasCapability(linux.CAP_LEASE) {
		return unix.EACCES
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG || typ != unix.F_RDLCK && typ != unix.F_WRLCK && typ != unix.F_UNLCK {
		return unix.EINVAL
	}
	if err := f.SetLease(int16(typ), func() { f.SignalOwner(linux.POLL_MSG, fd) }); err != nil {
		return err
	}
	if typ != unix.F_UNLCK {
		f.SetDefaultOwner(t.NewLeaseOwner())
	}
	return nil
}

// inodeFlagsIoctl implements the inode attribute ioctls (chattr(1),
// lsattr(1)) on a file of a filesystem that keeps them (vfs.FlagHolder);
// others answer ENOTTY. The flags travel as an int, whatever the long
// the ioctl's number says (ioctl_getflags).
func inodeFlagsIoctl(t *kernel.Task, f *vfs.File, cmd uint32, arg uintptr) error {
	switch cmd {
	case unix.FS_IOC_GETFLAGS:
		flags, err := f.InodeFlags()
		if err != nil {
			return err
		}
		return kernel.CopyOut(t, arg, &flags)
	case unix.FS_IOC_SETFLAGS:
		var flags uint32
		if err := kernel.CopyIn(t, arg, &flags); err != nil {
			return err
		}
		return f.SetInodeFlags(t.Ctx(), t.FSCreds(), flags)
	case abi.FS_IOC_FSGETXATTR:
		flags, err := f.InodeFlags()
		if err != nil {
			return err
		}
		x := vfs.FsxattrOf(flags)
		return kernel.CopyOut(t, arg, &x)
	default: // FS_IOC_FSSETXATTR
		var x abi.Fsxattr
		if err := kernel.CopyIn(t, arg, &x); err != nil {
			return err
		}
		return f.SetFsxattr(t.Ctx(), t.FSCreds(), x)
	}
}
