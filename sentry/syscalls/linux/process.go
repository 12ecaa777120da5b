package linux

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

func registerProcess(st *kernel.SyscallTable) {
	partial(st, unix.SYS_CLONE, "clone", clone, "no namespaces, no thread pidfds", kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_CLONE3, "clone3", clone3, "no namespaces, no thread pidfds, no set_tid, no cgroup", kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_FORK, "fork", fork)
	reg(st, unix.SYS_VFORK, "vfork", vfork)
	reg(st, unix.SYS_EXECVE, "execve", execve, kernel.ArgPath, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_EXECVEAT, "execveat", execveat, kernel.ArgFD, kernel.ArgPath, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_WAIT4, "wait4", wait4, "rusage zero", kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_WAITID, "waitid", waitid, "rusage zero", kernel.ArgInt, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_GETPGID, "getpgid", getpgid, kernel.ArgInt)
	reg(st, unix.SYS_GETPGRP, "getpgrp", getpgrp)
	reg(st, unix.SYS_SETPGID, "setpgid", setpgid, kernel.ArgInt, kernel.ArgInt)
	reg(st, unix.SYS_GETSID, "getsid", getsid, kernel.ArgInt)
	reg(st, unix.SYS_SETSID, "setsid", setsid)
	partial(st, unix.SYS_PIDFD_OPEN, "pidfd_open", pidfdOpen, "no PIDFD_THREAD", kernel.ArgInt, kernel.ArgHex)
	reg(st, unix.SYS_PIDFD_SEND_SIGNAL, "pidfd_send_signal", pidfdSendSignal, kernel.ArgFD, kernel.ArgInt, kernel.ArgHex, kernel.ArgHex)
	partial(st, unix.SYS_PIDFD_GETFD, "pidfd_getfd", pidfdGetfd, "no ptrace permission check: the sandbox's user owns every process", kernel.ArgFD, kernel.ArgInt, kernel.ArgHex)
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

// cloneArgsSize is sizeof(struct clone_args) up to cgroup (CLONE_ARGS_SIZE_VER2).
const cloneArgsSize = 88

func clone3(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	size := a.Pointer(1)
	if size < 64 || size > 4096 {
		return 0, unix.EINVAL
	}
	b := make([]byte, size)
	if err := t.CopyIn(a.Pointer(0), b); err != nil {
		return 0, err
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	for _, extra := range b[min(size, cloneArgsSize):] {
		if extra != 0 {
			return 0, unix.E2BIG
		}
	}
	// flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
	// tls, set_tid, set_tid_size, cgroup.
	if size >= 80 && u(9) != 0 {
		return 0, unix.EINVAL
	}
	stack := uintptr(0)
	if u(5) != 0 {
		stack = uintptr(u(5) + u(6))
	}
	tid, err := t.Clone(kernel.CloneArgs{
		Flags: u(0), ExitSignal: int(u(4)), Stack: stack,
		ChildTID: uintptr(u(2)), ParentTID: uintptr(u(3)), TLS: uintptr(u(7)), PidFD: uintptr(u(1)),
	})
	return uintptr(tid), err
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

// copyInStrings reads a NULL-terminated array of string pointers.
func copyInStrings(t *kernel.Task, addr uintptr) ([]string, error) {
	var out []string
	if addr == 0 {
		return nil, nil
	}
	total := 0
	for i := 0; i < maxArgs; i++ {
		var b [8]byte
		if err := t.CopyIn(addr+uintptr(8*i), b[:]); err != nil {
			return nil, err
		}
		p := uintptr(binary.LittleEndian.Uint64(b[:]))
		if p == 0 {
			return out, nil
		}
		s, err := t.CopyInString(p, 128<<10)
		if err != nil {
			if err == unix.ENAMETOOLONG {
				return nil, unix.E2BIG
			}
			return nil, err
		}
		total += len(s) + 1
		if total > 32*128<<10 {
			return nil, unix.E2BIG
		}
		out = append(out, s)
	}
	return nil, unix.E2BIG
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
		f.DecRef()
		if p == "" {
			if flags&unix.AT_EMPTY_PATH == 0 {
				return 0, unix.ENOENT
			}
			p = base
		} else {
			p = base + "/" + p
		}
	}
	return 0, doExec(t, p, a.Pointer(2), a.Pointer(3))
}

func doExec(t *kernel.Task, p string, argvAddr, envAddr uintptr) error {
	argv, err := copyInStrings(t, argvAddr)
	if err != nil {
		return err
	}
	envv, err := copyInStrings(t, envAddr)
	if err != nil {
		return err
	}
	if len(argv) == 0 {
		// Linux passes an empty string as argv[0] rather than none.
		argv = []string{""}
	}
	return t.Exec(p, argv, envv)
}

// wait options the sentry understands.
const waitOptions = unix.WNOHANG | unix.WUNTRACED | unix.WCONTINUED | unix.WALL | unix.WCLONE | unix.WNOTHREAD

func wait4(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if uint32(a.Int(2))&^waitOptions != 0 {
		return 0, unix.EINVAL
	}
	opts := a.Int(2)
	res, err := t.Wait(kernel.WaitOptions{Pid: int(a.Int(0)), NoHang: opts&unix.WNOHANG != 0,
		Stopped: opts&unix.WUNTRACED != 0, Continued: opts&unix.WCONTINUED != 0})
	if err != nil || res.PID == 0 {
		return 0, err
	}
	if a.Pointer(1) != 0 {
		if err := t.CopyOut(a.Pointer(1), binary.LittleEndian.AppendUint32(nil, res.WaitStatus())); err != nil {
			return 0, err
		}
	}
	if a.Pointer(3) != 0 {
		if err := t.CopyOut(a.Pointer(3), make([]byte, 144)); err != nil {
			return 0, err
		}
	}
	return uintptr(res.PID), nil
}

func waitid(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	idtype, id, options := a.Int(0), int(a.Int(1)), a.Int(3)
	if uint32(options)&^(waitOptions|unix.WEXITED|unix.WSTOPPED|unix.WNOWAIT) != 0 || options&(unix.WEXITED|unix.WSTOPPED|unix.WCONTINUED) == 0 {
		return 0, unix.EINVAL
	}
	o := kernel.WaitOptions{NoHang: options&unix.WNOHANG != 0, NoWait: options&unix.WNOWAIT != 0,
		Stopped: options&unix.WSTOPPED != 0, Continued: options&unix.WCONTINUED != 0, NoExit: options&unix.WEXITED == 0}
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
		o.Pid = p.PID()
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
	if a.Pointer(2) != 0 {
		code, status := int32(linux.CLD_EXITED), int32(res.Status.Code)
		switch {
		case res.Stopped != 0:
			code, status = linux.CLD_STOPPED, int32(res.Stopped)
		case res.Continued:
			code, status = linux.CLD_CONTINUED, int32(unix.SIGCONT)
		case res.Status.Signal != 0:
			code, status = linux.CLD_KILLED, int32(res.Status.Signal)
		}
		si := kernel.ChildInfo(int32(unix.SIGCHLD), code, res.PID, res.UID, status)
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
		return vfs.PathOf(t.FS.Root(), d)
	}
	return ""
}
