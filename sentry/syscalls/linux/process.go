package linux

import (
	"fmt"
	"math"
	"math/bits"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/hostarch"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

func registerProcess(st *kernel.SyscallTable) {
	partial(st, unix.SYS_CLONE, "clone", clone, "no thread pidfds", kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_CLONE3, "clone3", clone3, "no thread pidfds, no CLONE_INTO_CGROUP", kernel.ArgHex, kernel.ArgInt)
	partial(st, unix.SYS_SETNS, "setns", setns, "namespace files only (EINVAL for pidfds)", kernel.ArgFD, kernel.ArgHex)
	reg(st, unix.SYS_UNSHARE, "unshare", unshare, kernel.ArgHex)
	reg(st, unix.SYS_FORK, "fork", fork)
	reg(st, unix.SYS_VFORK, "vfork", vfork)
	reg(st, unix.SYS_EXECVE, "execve", execve, kernel.ArgPath, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_EXECVEAT, "execveat", execveat, kernel.ArgFD, kernel.ArgPath, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_WAIT4, "wait4", wait4, "rusage: CPU times and ru_maxrss (of an exit, or so far for a stop or continue), the rest zero; zero for a tracee's exit", kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_WAITID, "waitid", waitid, "rusage: CPU times and ru_maxrss (of an exit, or so far for a stop or continue), the rest zero; zero for a tracee's exit", kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_GETPGID, "getpgid", getpgid, kernel.ArgInt)
	reg(st, unix.SYS_GETPGRP, "getpgrp", getpgrp)
	reg(st, unix.SYS_SETPGID, "setpgid", setpgid, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_GETSID, "getsid", getsid, kernel.ArgInt)
	reg(st, unix.SYS_SETSID, "setsid", setsid)
	partial(st, unix.SYS_PIDFD_OPEN, "pidfd_open", pidfdOpen, "no PIDFD_THREAD", kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_PIDFD_SEND_SIGNAL, "pidfd_send_signal", pidfdSendSignal, kernel.ArgFD, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_KCMP, "kcmp", kcmp, "no KCMP_IO, KCMP_SYSVSEM, KCMP_EPOLL_TFD (EINVAL)", kernel.ArgInt, kernel.ArgInt, kernel.ArgInt, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_PIDFD_GETFD, "pidfd_getfd", pidfdGetfd, kernel.ArgFD, kernel.ArgInt, kernel.ArgHex)
}

// setns enters the namespace of a namespace file (Task.SetNS); any other
// descriptor is EINVAL.
func setns(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	ns, ok := f.Inode().(*kernel.NSInode)
	if !ok {
		return 0, unix.EINVAL
	}
	return 0, t.SetNS(ns, int(a.Int(1)))
}

func unshare(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Unshare(uint64(a[0]))
}

// kcmp finds both tasks, zombies too (ESRCH), then compares (Task.Kcmp).
func kcmp(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	t1, t2 := t.LookupTaskOrZombie(int(a.Int(0))), t.LookupTaskOrZombie(int(a.Int(1)))
	if t1 == nil || t2 == nil {
		return 0, unix.ESRCH
	}
	r, err := t.Kcmp(t1, t2, int(a.Int(2)), a.Int(3), a.Int(4))
	return uintptr(r), err
}

func clone(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	// x86-64 order: flags, stack, parent_tid, child_tid, tls.
	tid, err := t.Clone(kernel.CloneArgs{
		Flags: uint64(a[0]) &^ 0xff, ExitSignal: int(a[0] & 0xff),
		Stack: a.Pointer(1), ParentTID: a.Pointer(2), ChildTID: a.Pointer(3), TLS: a.Pointer(4),
		PidFD: a.Pointer(2), // CLONE_PIDFD's pidfd goes to parent_tid
	})
	return uintptr(tid), err
}

// cloneArgsSize is sizeof(struct clone_args) up to cgroup
// (CLONE_ARGS_SIZE_VER2), what the kernel reads of a larger one.
const cloneArgsSize = linux.CLONE_ARGS_SIZE_VER2

// maxPidNSLevel is MAX_PID_NS_LEVEL, the most set_tid entries.
const maxPidNSLevel = 32

func clone3(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	size := a.Pointer(1)
	if size > hostarch.PageSize {
		return 0, unix.E2BIG
	}
	if size < linux.CLONE_ARGS_SIZE_VER0 {
		return 0, unix.EINVAL
	}
	b := make([]byte, size)
	if err := t.CopyIn(a.Pointer(0), b); err != nil {
		return 0, err
	}
	args, setTID, err := parseCloneArgs(b)
	if err != nil {
		return 0, err
	}
	if setTID.n > 0 {
		args.SetTID = make([]int32, setTID.n)
		if err := kernel.CopyInSlice(t, setTID.addr, args.SetTID); err != nil {
			return 0, err
		}
	}
	tid, err := t.Clone(args)
	return uintptr(tid), err
}

// parseCloneArgs decodes clone3's struct clone_args, the size bytes the
// caller gave (64 to a page), with the checks of Linux's
// copy_clone_args_from_user and clone3_args_valid: E2BIG for a nonzero
// byte past the fields the kernel knows; EINVAL for a bad set_tid or
// set_tid_size, an exit signal beyond 64 or with bits above CSIGNAL, a
// cgroup beyond INT_MAX, unknown flags, CSIGNAL bits or CLONE_DETACHED in
// the flags, CLONE_SIGHAND with CLONE_CLEAR_SIGHAND, an exit signal with
// CLONE_THREAD or CLONE_PARENT, a stack size without a stack or a stack
// without a size or past the user address space. It returns the arguments
// of Task.Clone, which checks the flag combinations clone and clone3
// share, and where set_tid's array is (the child's IDs, for checkpoint
// and restore: Task.Clone checks them).
func parseCloneArgs(b []byte) (kernel.CloneArgs, tidArray, error) {
	for _, extra := range b[min(len(b), cloneArgsSize):] {
		if extra != 0 {
			return kernel.CloneArgs{}, tidArray{}, fmt.Errorf("clone_args of %d bytes with unknown fields set: %w", len(b), unix.E2BIG)
		}
	}
	var raw [cloneArgsSize]byte
	copy(raw[:], b)
	var ca linux.CloneArgs
	if !abi.Decode(raw[:], &ca) {
		return kernel.CloneArgs{}, tidArray{}, fmt.Errorf("decoding clone_args: %w", unix.EINVAL)
	}
	const known = 0xffffffff | linux.CLONE_CLEAR_SIGHAND | linux.CLONE_INTO_CGROUP
	stackEnd := ca.Stack + ca.StackSize
	var why string
	switch {
	case ca.SetTIDSize > maxPidNSLevel || (ca.SetTID == 0) != (ca.SetTIDSize == 0):
		why = "set_tid"
	case ca.ExitSignal&^linux.CSIGNAL != 0 || ca.ExitSignal > 64:
		why = "exit signal"
	case ca.Flags&linux.CLONE_INTO_CGROUP != 0 && (ca.Cgroup > math.MaxInt32 || len(b) < linux.CLONE_ARGS_SIZE_VER2):
		why = "cgroup"
	case ca.Flags&^known != 0 || ca.Flags&(linux.CLONE_DETACHED|linux.CSIGNAL&^unix.CLONE_NEWTIME) != 0:
		why = "flags"
	case ca.Flags&(linux.CLONE_SIGHAND|linux.CLONE_CLEAR_SIGHAND) == linux.CLONE_SIGHAND|linux.CLONE_CLEAR_SIGHAND:
		why = "CLONE_SIGHAND with CLONE_CLEAR_SIGHAND"
	case ca.Flags&(linux.CLONE_THREAD|linux.CLONE_PARENT) != 0 && ca.ExitSignal != 0:
		why = "exit signal of a thread or sibling"
	case (ca.Stack == 0) != (ca.StackSize == 0) || stackEnd < ca.Stack || stackEnd > mm.TaskSize:
		why = "stack"
	}
	if why != "" {
		return kernel.CloneArgs{}, tidArray{}, fmt.Errorf("clone3: %s: %w", why, unix.EINVAL)
	}
	stack := uintptr(0)
	if ca.Stack != 0 {
		stack = uintptr(stackEnd)
	}
	return kernel.CloneArgs{
		Flags: ca.Flags, ExitSignal: int(ca.ExitSignal), Stack: stack,
		ChildTID: uintptr(ca.ChildTID), ParentTID: uintptr(ca.ParentTID), TLS: uintptr(ca.TLS), PidFD: uintptr(ca.Pidfd),
	}, tidArray{uintptr(ca.SetTID), int(ca.SetTIDSize)}, nil
}

// tidArray is where clone3's set_tid is and how many IDs it holds.
type tidArray struct {
	addr uintptr
	n    int
}

func fork(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	tid, err := t.Clone(kernel.CloneArgs{ExitSignal: int(unix.SIGCHLD)})
	return uintptr(tid), err
}

func vfork(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	tid, err := t.Clone(kernel.CloneArgs{Flags: unix.CLONE_VM | unix.CLONE_VFORK, ExitSignal: int(unix.SIGCHLD)})
	return uintptr(tid), err
}

// maxArgs bounds argv and envp entries, as MAX_ARG_STRINGS does.
const maxArgs = 0x7fffffff / 8

// copyInStrings reads a NULL-terminated array of string pointers and the
// strings. The array is read a page-bounded chunk at a time and the
// strings with one vectored copy (Task.CopyInStrings): a shell's
// environment of forty variables was eighty host calls, one per pointer
// and one per string.
func copyInStrings(t *kernel.Task, addr uintptr) ([]string, error) {
	if addr == 0 {
		return nil, nil
	}
	ptrs, err := copyInPointers(t, addr)
	if err != nil {
		return nil, err
	}
	out, err := t.CopyInStrings(ptrs, 128<<10)
	if err == unix.ENAMETOOLONG {
		return nil, unix.E2BIG
	}
	if err != nil {
		return nil, err
	}
	total := 0
	for _, s := range out {
		if total += len(s) + 1; total > 32*128<<10 {
			return nil, unix.E2BIG
		}
	}
	return out, nil
}

// copyInPointers reads the pointers of a NULL-terminated array, at most
// maxArgs of them (E2BIG beyond), up to 64 at a time but never past the
// page the NULL is in.
func copyInPointers(t *kernel.Task, addr uintptr) ([]uintptr, error) {
	var out []uintptr
	var chunk [64]uintptr
	for {
		// An unaligned array's pointer may straddle a page boundary:
		// then it is read alone.
		n := max(1, min(len(chunk), int(abi.PageSize-addr%abi.PageSize)/(bits.UintSize/8)))
		if err := kernel.CopyInSlice(t, addr, chunk[:n]); err != nil {
			return nil, err
		}
		for _, p := range chunk[:n] {
			if p == 0 {
				return out, nil
			}
			if len(out) == maxArgs {
				return nil, unix.E2BIG
			}
			out = append(out, p)
		}
		addr += uintptr(n * bits.UintSize / 8)
	}
}

func execve(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	p, err := copyInPath(t, a.Pointer(0))
	if err != nil {
		return 0, err
	}
	return 0, doExec(t, p, a.Pointer(1), a.Pointer(2))
}

func execveat(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	p, err := copyInPath(t, a.Pointer(1))
	if err != nil {
		return 0, err
	}
	flags := a.Int(4)
	if flags&^(unix.AT_EMPTY_PATH|unix.AT_SYMLINK_NOFOLLOW) != 0 {
		return 0, unix.EINVAL
	}
	dirfd := a.Int(0)
	if p == "" || p[0] != '/' && dirfd != unix.AT_FDCWD {
		// Resolving relative to a descriptor needs its path; the VFS knows it.
		f, err := getFileRaw(t, dirfd)
		if err != nil {
			return 0, err
		}
		base := fdPath(t, f)
		defer f.DecRef()
		if p == "" {
			if flags&unix.AT_EMPTY_PATH == 0 {
				return 0, unix.ENOENT
			}
			// The file itself, named or not (a memfd).
			return 0, doExecFile(t, f, fmt.Sprintf("/dev/fd/%d", dirfd), a.Pointer(2), a.Pointer(3))
		} else {
			p = base + "/" + p
		}
	}
	return 0, doExec(t, p, a.Pointer(2), a.Pointer(3))
}

// doExecFile is doExec of an open file, called name.
func doExecFile(t *kernel.Task, f *vfs.File, name string, argvAddr, envAddr uintptr) error {
	argv, envv, err := execArgs(t, argvAddr, envAddr)
	if err != nil {
		return err
	}
	return t.ExecFile(f, name, argv, envv)
}

// execArgs copies in execve's argv and envp.
func execArgs(t *kernel.Task, argvAddr, envAddr uintptr) ([]string, []string, error) {
	argv, err := copyInStrings(t, argvAddr)
	if err != nil {
		return nil, nil, err
	}
	envv, err := copyInStrings(t, envAddr)
	if err != nil {
		return nil, nil, err
	}
	if len(argv) == 0 {
		// Linux passes an empty string as argv[0] rather than none.
		argv = []string{""}
	}
	return argv, envv, nil
}

func doExec(t *kernel.Task, p string, argvAddr, envAddr uintptr) error {
	argv, envv, err := execArgs(t, argvAddr, envAddr)
	if err != nil {
		return err
	}
	return t.Exec(p, argv, envv)
}

// wait options the sentry understands.
const waitOptions = unix.WNOHANG | unix.WUNTRACED | unix.WCONTINUED | unix.WALL | unix.WCLONE | unix.WNOTHREAD

func wait4(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if uint32(a.Int(2))&^waitOptions != 0 {
		return 0, unix.EINVAL
	}
	if a.Int(0) == math.MinInt32 {
		// -INT_MIN would be no process group: Linux refuses it first.
		return 0, unix.ESRCH
	}
	opts := a.Int(2)
	res, err := t.Wait(kernel.WaitOptions{Pid: int(a.Int(0)), NoHang: opts&unix.WNOHANG != 0,
		Stopped: opts&unix.WUNTRACED != 0, Continued: opts&unix.WCONTINUED != 0,
		Clone: uint32(opts)&unix.WCLONE != 0, All: opts&unix.WALL != 0})
	if err != nil || res.PID == 0 {
		return 0, err
	}
	if a.Pointer(1) != 0 {
		status := res.WaitStatus()
		if err := kernel.CopyOut(t, a.Pointer(1), &status); err != nil {
			return 0, err
		}
	}
	if err := copyOutChildUsage(t, a.Pointer(3), res.Usage); err != nil {
		return 0, err
	}
	return uintptr(res.PID), nil
}

// copyOutChildUsage writes the rusage of a child wait4 or waitid found to
// addr, unless it is 0: its CPU times and peak of resident memory (in
// KiB), the rest zero, as the sentry does not count them.
func copyOutChildUsage(t *kernel.Task, addr uintptr, u kernel.ChildUsage) error {
	if addr == 0 {
		return nil
	}
	ru := linux.Rusage{UTime: timeval(u.User), STime: timeval(u.Sys), MaxRSS: int64(u.MaxRSS / 1024)}
	return kernel.CopyOut(t, addr, &ru)
}

func waitid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	idtype, id, options := a.Int(0), int(a.Int(1)), a.Int(3)
	if uint32(options)&^(waitOptions|unix.WEXITED|unix.WSTOPPED|unix.WNOWAIT) != 0 || options&(unix.WEXITED|unix.WSTOPPED|unix.WCONTINUED) == 0 {
		return 0, unix.EINVAL
	}
	o := kernel.WaitOptions{NoHang: options&unix.WNOHANG != 0, NoWait: options&unix.WNOWAIT != 0,
		Stopped: options&unix.WSTOPPED != 0, Continued: options&unix.WCONTINUED != 0, NoExit: options&unix.WEXITED == 0,
		Clone: uint32(options)&unix.WCLONE != 0, All: options&unix.WALL != 0}
	// eagain: a non-blocking pidfd's wait does not block, and says EAGAIN
	// where WNOHANG would say "none".
	eagain := false
	switch idtype {
	case unix.P_ALL:
		o.Pid = -1
	case unix.P_PID:
		if id <= 0 {
			return 0, unix.EINVAL
		}
		o.Pid = id
	case unix.P_PGID:
		if id < 0 {
			return 0, unix.EINVAL
		}
		o.Pid = -id
		if id == 0 {
			o.Pid = 0
		}
	case unix.P_PIDFD:
		if id < 0 {
			return 0, unix.EINVAL
		}
		f, err := getFile(t, int32(id))
		if err != nil {
			return 0, err
		}
		nonblock := f.Flags()&unix.O_NONBLOCK != 0
		p, err := kernel.PidFDOf(f)
		f.DecRef()
		if err != nil {
			return 0, err
		}
		if o.Pid = p.PIDFor(t); o.Pid == 0 {
			return 0, unix.ECHILD // not a child: none is outside t's namespace
		}
		if nonblock && !o.NoHang {
			o.NoHang, eagain = true, true
		}
	default:
		return 0, unix.EINVAL
	}
	res, err := t.Wait(o)
	if err != nil {
		return 0, err
	}
	if res.PID == 0 && eagain {
		return 0, unix.EAGAIN
	}
	if res.PID == 0 {
		return 0, clearSiginfo(t, a.Pointer(2))
	}
	if err := copyOutChildUsage(t, a.Pointer(4), res.Usage); err != nil {
		return 0, err
	}
	if a.Pointer(2) != 0 {
		code, status := int32(linux.CLD_EXITED), int32(res.Status.Code)
		switch {
		case res.Stopped != 0:
			code, status = linux.CLD_STOPPED, int32(res.Stopped)
		case res.Continued:
			code, status = linux.CLD_CONTINUED, int32(unix.SIGCONT)
		case res.Status.Signal != 0:
			code, status = res.Status.ChildCode(), int32(res.Status.Signal)
		}
		si := kernel.ChildInfo(int32(unix.SIGCHLD), code, res.PID, t.UserNS().ShowUID(res.UID), status)
		if err := kernel.CopyOut(t, a.Pointer(2), &si); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// clearSiginfo zeroes si_signo and si_pid, which is how waitid says "none".
func clearSiginfo(t *kernel.Task, addr uintptr) error {
	if addr == 0 {
		return nil
	}
	var none linux.SignalInfo
	return kernel.CopyOut(t, addr, &none)
}

func getpgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pgid, err := t.Pgid(int(a.Int(0)))
	return uintptr(pgid), err
}

func getpgrp(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	pgid, err := t.Pgid(0)
	return uintptr(pgid), err
}

func setpgid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.Setpgid(int(a.Int(0)), int(a.Int(1)))
}

func getsid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	sid, err := t.Sid(int(a.Int(0)))
	return uintptr(sid), err
}

func setsid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	sid, err := t.Setsid()
	return uintptr(sid), err
}

// fdPath is the path the descriptor was opened with, from the task's root.
func fdPath(t *kernel.Task, f *vfs.File) string {
	if d := f.Dentry(); d != nil {
		return vfs.PathOf(t.FS().Root(), d)
	}
	return ""
}

// pidTask returns the task pid names, the caller for 0, a zombie
// included: ESRCH if there is none.
func pidTask(t *kernel.Task, pid int32) (*kernel.Task, error) {
	if pid == 0 {
		return t, nil
	}
	if o := t.LookupTaskOrZombie(int(pid)); o != nil {
		return o, nil
	}
	return nil, unix.ESRCH
}
