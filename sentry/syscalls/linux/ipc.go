package linux

import (
	"math/bits"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/ipc"
	"runsc-lite/sentry/mm"
)

func registerIPC(st *kernel.SyscallTable) {
	reg(st, unix.SYS_SHMGET, "shmget", shmget, kernel.ArgHex, kernel.ArgInt, kernel.ArgOct)
	reg(st, unix.SYS_SHMAT, "shmat", shmat, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_SHMDT, "shmdt", shmdt, kernel.ArgHex)
	partial(st, unix.SYS_SHMCTL, "shmctl", shmctl, "SHM_INFO does not measure resident or swapped pages", kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_SEMGET, "semget", semget, kernel.ArgHex, kernel.ArgInt, kernel.ArgOct)
	reg(st, unix.SYS_SEMOP, "semop", semop, kernel.ArgInt, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_SEMTIMEDOP, "semtimedop", semtimedop, kernel.ArgInt, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_SEMCTL, "semctl", semctl, kernel.ArgInt, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_MSGGET, "msgget", msgget, kernel.ArgHex, kernel.ArgOct)
	reg(st, unix.SYS_MSGSND, "msgsnd", msgsnd, kernel.ArgInt, kernel.ArgHex, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_MSGRCV, "msgrcv", msgrcv, kernel.ArgInt, kernel.ArgHex, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_MSGCTL, "msgctl", msgctl, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
}

// ipcCaller describes t to its IPC namespace; CAP_IPC_OWNER counts in the
// user namespace that owns it (ipcperms' ns_capable).
func ipcCaller(t *kernel.Task) *ipc.Caller {
	c := t.Creds()
	return &ipc.Caller{
		PID: t.PID(), KernelPID: t.KernelPID(), ShowPID: t.IDOf, UID: c.UID.Effective, GID: c.GID.Effective, Groups: c.Groups,
		Privileged: c.HasCapIn(t.IPCNS().UserNS(), unix.CAP_IPC_OWNER),
		Interrupt:  t.Interrupted(),
		Memory:     t.MemoryAccount(),
		IDs:        c.UserNS,
	}
}

func shmget(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	id, err := t.IPCNS().SysV.ShmGet(ipcCaller(t), a.Int(0), uint64(a.Pointer(1)), int(a.Int(2)))
	return uintptr(id), err
}

// shmat flags (linux/shm.h).
const (
	shmLBA = abi.PageSize
)

// shmat maps a segment shared, like a MAP_SHARED mapping of its memfd:
// at an address the sentry picks, or at shmaddr (rounded down with
// SHM_RND), which must not overlap a mapping unless SHM_REMAP.
func shmat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	id, addr, flags := int(a.Int(0)), a.Pointer(1), int(a.Int(2))
	if id < 0 {
		return 0, unix.EINVAL
	}
	mflags := unix.MAP_SHARED
	if addr != 0 {
		if addr%shmLBA != 0 {
			if flags&linux.SHM_RND == 0 {
				return 0, unix.EINVAL
			}
			addr &^= shmLBA - 1
			if addr == 0 && flags&linux.SHM_REMAP != 0 {
				return 0, unix.EINVAL
			}
		}
		mflags |= unix.MAP_FIXED_NOREPLACE
		if flags&linux.SHM_REMAP != 0 {
			mflags = unix.MAP_SHARED | unix.MAP_FIXED
		}
	} else if flags&linux.SHM_REMAP != 0 {
		return 0, unix.EINVAL
	}
	prot := unix.PROT_READ | unix.PROT_WRITE
	if flags&linux.SHM_RDONLY != 0 {
		prot = unix.PROT_READ
	}
	if flags&linux.SHM_EXEC != 0 {
		prot |= unix.PROT_EXEC
	}
	att, err := t.IPCNS().SysV.ShmAttach(ipcCaller(t), id, flags&linux.SHM_RDONLY != 0, flags&linux.SHM_EXEC != 0)
	if err != nil {
		return 0, err
	}
	length := uintptr(att.Size)
	if addr != 0 && addr+length < addr {
		att.File.Close()
		return 0, unix.EINVAL
	}
	// SHM_RDONLY opens the segment for reading only: mprotect may never
	// make the mapping writable (do_shmat).
	at, err := t.MM().Mmap(mm.MmapOpts{Addr: addr, Length: length, Prot: prot, Flags: mflags,
		File: att.File, Name: att.Name, Dev: att.Dev, Ino: att.Ino, ReadOnlyFile: flags&linux.SHM_RDONLY != 0})
	if err == unix.EEXIST {
		return 0, unix.EINVAL // an overlap without SHM_REMAP
	}
	if err != nil {
		return 0, err
	}
	t.IPCNS().SysV.Attached(att.Dev, att.Ino, t.KernelPID())
	return at, nil
}

// shmdt unmaps the attachment found at addr or above it (a mapping of a
// segment whose offset is its distance from addr, as do_shmdt looks for
// it), and every other piece of that attachment within the segment's
// size.
func shmdt(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	addr := a.Pointer(0)
	if addr%abi.PageSize != 0 {
		return 0, unix.EINVAL
	}
	vmas := t.MM().VMAs()
	var dev, ino, size uint64
	found := false
	for _, v := range vmas {
		if v.Start < addr || v.File == nil || v.Start-addr != uintptr(v.Offset) {
			continue
		}
		// The segment's namespace, which may no longer be t's.
		if _, sz, ok := t.K.ShmSegment(v.Dev, v.Ino); ok {
			dev, ino, size, found = v.Dev, v.Ino, (sz+abi.PageSize-1)&^(abi.PageSize-1), true
			break
		}
	}
	if !found {
		return 0, unix.EINVAL
	}
	for _, v := range vmas {
		if v.Start >= addr && uint64(v.End-addr) <= size && v.File != nil && v.Dev == dev && v.Ino == ino &&
			v.Start-addr == uintptr(v.Offset) {
			if err := t.MM().Munmap(v.Start, v.End-v.Start); err != nil {
				return 0, err
			}
		}
	}
	t.K.ShmDetached(dev, ino, t.KernelPID())
	return 0, nil
}

func shmctl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ns := t.IPCNS().SysV
	return ipcCtlKind(t, a, ipcKind{linux.SHM_INFO, linux.SHM_STAT, abi.SHM_STAT_ANY, ns.ShmInfo, ns.ShmIDAt,
		func(c *ipc.Caller, id int, buf uintptr) error {
			var ds linux.ShmidDS
			if err := ns.ShmCtl(c, id, ipc.STAT, &ds); err != nil {
				return err
			}
			return kernel.CopyOut(t, buf, &ds)
		}}, func() error { return ipcCtl(t, a, ns.ShmCtl) })
}

func msgctl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	ns := t.IPCNS().SysV
	return ipcCtlKind(t, a, ipcKind{linux.MSG_INFO, linux.MSG_STAT, linux.MSG_STAT_ANY, ns.MsgInfo, ns.MsgIDAt,
		func(c *ipc.Caller, id int, buf uintptr) error {
			var ds linux.MsqidDS
			if err := ns.MsgCtl(c, id, ipc.STAT, &ds); err != nil {
				return err
			}
			return kernel.CopyOut(t, buf, &ds)
		}}, func() error { return ipcCtl(t, a, ns.MsgCtl) })
}

// ipcCtlKind runs shmctl or msgctl: a negative identifier or command is
// EINVAL first, then the namespace-wide commands, then the object's
// (object).
func ipcCtlKind(t *kernel.Task, a kernel.SyscallArguments, kind ipcKind, object func() error) (uintptr, error) {
	if a.Int(0) < 0 || a.Int(1) < 0 {
		return 0, unix.EINVAL
	}
	if r, ok, err := ipcNamespaceCtl(t, a.Int(0), a.Int(1), a.Pointer(2), kind); ok {
		return r, err
	}
	return 0, object()
}

// ipcKind is one kind's namespace-wide commands (package ipc's info.go);
// stat copies the object's IPC_STAT structure out to buf.
type ipcKind struct {
	infoCmd, statCmd, statAnyCmd int32
	info                         func(cmd int) ([]byte, int)
	idAt                         func(idx int) (int, error)
	stat                         func(c *ipc.Caller, id int, buf uintptr) error
}

// ipcNamespaceCtl runs cmd if it is one of the namespace-wide commands of
// kind (ok reports that it is): IPC_INFO and the kind's INFO copy the
// limits or the usage out and return the highest index in use; the
// kind's STAT and STAT_ANY take id as an index and return the identifier.
func ipcNamespaceCtl(t *kernel.Task, id, cmd int32, buf uintptr, kind ipcKind) (uintptr, bool, error) {
	switch cmd {
	case ipc.INFO, kind.infoCmd:
		out, maxIdx := kind.info(int(cmd))
		return uintptr(maxIdx), true, t.CopyOut(buf, out)
	case kind.statCmd, kind.statAnyCmd:
		full, err := kind.idAt(int(id))
		if err != nil {
			return 0, true, err
		}
		c := ipcCaller(t)
		if cmd == kind.statAnyCmd {
			// STAT_ANY reads any object: the read permission is not
			// asked (ipcperms is skipped).
			c.Privileged = true
		}
		if err := kind.stat(c, full, buf); err != nil {
			return 0, true, err
		}
		return uintptr(full), true, nil
	}
	return 0, false, nil
}

// ipcCtl runs shmctl or msgctl on their structure DS (shmid64_ds,
// msqid64_ds): IPC_SET's is read before the object is looked up,
// IPC_STAT's written after.
func ipcCtl[DS any](t *kernel.Task, a kernel.SyscallArguments, ctl func(*ipc.Caller, int, int, *DS) error) error {
	id, cmd, buf := int(a.Int(0)), int(a.Int(1)), a.Pointer(2)
	if id < 0 || cmd < 0 {
		return unix.EINVAL
	}
	var ds DS
	if cmd == ipc.SET {
		if err := kernel.CopyIn(t, buf, &ds); err != nil {
			return err
		}
	}
	if err := ctl(ipcCaller(t), id, cmd, &ds); err != nil || cmd != ipc.STAT {
		return err
	}
	return kernel.CopyOut(t, buf, &ds)
}

func semget(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	id, err := t.IPCNS().SysV.SemGet(ipcCaller(t), a.Int(0), int(a.Int(1)), int(a.Int(2)))
	return uintptr(id), err
}

func semop(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return semtimedopImpl(t, a.Int(0), a.Pointer(1), a.Pointer(2), 0)
}

func semtimedop(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return semtimedopImpl(t, a.Int(0), a.Pointer(1), a.Pointer(2), a.Pointer(3))
}

// semtimedopImpl checks the counts, reads the operations and the timeout
// (none when timeoutAddr is 0), then runs them.
func semtimedopImpl(t *kernel.Task, id int32, sopsAddr, nsops, timeoutAddr uintptr) (uintptr, error) {
	if nsops < 1 || id < 0 {
		return 0, unix.EINVAL
	}
	if nsops > 500 { // SEMOPM
		return 0, unix.E2BIG
	}
	sops := make([]linux.Sembuf, nsops)
	if err := kernel.CopyInSlice(t, sopsAddr, sops); err != nil {
		return 0, err
	}
	ops := make([]ipc.SemBuf, nsops)
	for i, o := range sops {
		ops[i] = ipc.SemBuf{Num: o.SemNum, Op: o.SemOp, Flags: o.SemFlg}
	}
	timeout := time.Duration(-1)
	if timeoutAddr != 0 {
		d, err := copyInTimespec(t, timeoutAddr)
		if err != nil {
			return 0, err
		}
		timeout = d
	}
	return 0, t.IPCNS().SysV.SemOp(ipcCaller(t), t.TG, int(id), ops, timeout)
}

func semctl(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	id, num, cmd, arg := int(a.Int(0)), int(a.Int(1)), int(a.Int(2)), a.Pointer(3)
	if id < 0 {
		return 0, unix.EINVAL
	}
	ns := t.IPCNS().SysV
	if r, ok, err := ipcNamespaceCtl(t, a.Int(0), a.Int(2), arg, ipcKind{linux.SEM_INFO, linux.SEM_STAT, linux.SEM_STAT_ANY,
		ns.SemInfo, ns.SemIDAt, func(c *ipc.Caller, id int, buf uintptr) error {
			var ds linux.SemidDS
			if _, _, err := ns.SemCtl(c, id, 0, ipc.STAT, 0, &ds, nil); err != nil {
				return err
			}
			return kernel.CopyOut(t, buf, &ds)
		}}); ok {
		return r, err
	}
	var ds linux.SemidDS
	var vals []uint16
	switch cmd {
	case ipc.SET:
		if err := kernel.CopyIn(t, arg, &ds); err != nil {
			return 0, err
		}
	case linux.SETALL:
		n, err := t.IPCNS().SysV.SemCount(id)
		if err != nil {
			return 0, err
		}
		vals = make([]uint16, n)
		if err := kernel.CopyInSlice(t, arg, vals); err != nil {
			return 0, err
		}
	}
	ret, all, err := t.IPCNS().SysV.SemCtl(ipcCaller(t), id, num, cmd, int32(arg), &ds, vals)
	switch {
	case err != nil:
		return 0, err
	case cmd == ipc.STAT:
		return 0, kernel.CopyOut(t, arg, &ds)
	case cmd == linux.GETALL:
		return 0, kernel.CopyOutSlice(t, arg, all)
	}
	return uintptr(ret), nil
}

// msgTextOffset is offsetof(struct msgbuf, mtext): the text follows the
// type, a long.
const msgTextOffset = bits.UintSize / 8

func msgget(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	id, err := t.IPCNS().SysV.MsgGet(ipcCaller(t), a.Int(0), int(a.Int(1)))
	return uintptr(id), err
}

// msgsnd reads the type first, as Linux does (EFAULT before any other
// check), then the text.
func msgsnd(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	var mtype int64 // struct msgbuf's mtype
	if err := kernel.CopyIn(t, a.Pointer(1), &mtype); err != nil {
		return 0, err
	}
	size := a.Int64(2)
	if !t.IPCNS().SysV.MsgSizeOK(size) || a.Int(0) < 0 {
		return 0, unix.EINVAL
	}
	if mtype < 1 {
		return 0, unix.EINVAL
	}
	text := make([]byte, size)
	if err := t.CopyIn(a.Pointer(1)+msgTextOffset, text); err != nil {
		return 0, err
	}
	return 0, t.IPCNS().SysV.MsgSnd(ipcCaller(t), int(a.Int(0)), mtype, text, int(a.Int(3)))
}

func msgrcv(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Int(0) < 0 || a.Int64(2) < 0 {
		return 0, unix.EINVAL
	}
	typ, text, err := t.IPCNS().SysV.MsgRcv(ipcCaller(t), int(a.Int(0)), a.Int64(2), a.Int64(3), int(a.Int(4)))
	if err != nil {
		return 0, err
	}
	// The message has left the queue: a bad buffer loses it, as in Linux.
	if err := kernel.CopyOut(t, a.Pointer(1), &typ); err != nil {
		return 0, err
	}
	if err := t.CopyOut(a.Pointer(1)+msgTextOffset, text); err != nil {
		return 0, err
	}
	return uintptr(len(text)), nil
}
