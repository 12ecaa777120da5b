package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// Seccomp of the application's own (seccomp(2), prctl PR_SET_SECCOMP), as
// Linux's kernel/seccomp.c: a task in strict mode may make only read,
// write, exit and rt_sigreturn; a task in filter mode runs its classic BPF
// programs on every syscall, after the ptrace syscall-entry stop, and the
// most severe answer wins (KILL_PROCESS, KILL_THREAD, TRAP, ERRNO,
// USER_NOTIF, TRACE, LOG, ALLOW). The sentry runs the programs itself
// (gVisor's pkg/bpf interpreter, over the seccomp_data the syscall's
// registers make); the host never sees them. Filters are kept as a chain,
// newest first, shared by the forks and threads that inherit it and by
// execve; a new filter is a new head.
//
// User notification is in seccomp_notify.go. Not implemented:
// SECCOMP_RET_LOG and the LOG flag do not reach an audit log (the
// sentry's debug log has them). Linux's check that a program reads no
// scratch word before writing it is not made (the interpreter starts with
// zeroed words).

// seccompFilter is one installed program.
type seccompFilter struct {
	prog bpf.Program
	log  bool           // SECCOMP_FILTER_FLAG_LOG
	prev *seccompFilter // installed before this one
	// pathLen is the instructions of this filter and all before it, each
	// counted with abi.SECCOMP_FILTER_OVERHEAD, as Linux bounds them.
	pathLen int
	count   int // filters in the chain, this one included
	// listener is the filter's user-notification listener, if it was
	// installed with one (SECCOMP_FILTER_FLAG_NEW_LISTENER).
	listener *SeccompListener
	// waitKillable is SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: a received
	// notification's wait ends only for a fatal signal.
	waitKillable bool
}

// seccompState is a task's mode and filters; immutable once published.
type seccompState struct {
	mode int // unix.SECCOMP_MODE_STRICT or linux.SECCOMP_MODE_FILTER
	last *seccompFilter
}

// SeccompMode is the task's seccomp mode (PR_GET_SECCOMP, /proc/PID/status)
// and its number of filters.
func (t *Task) SeccompMode() (mode, filters int) {
	s := t.seccomp.Load()
	if s == nil {
		return linux.SECCOMP_MODE_NONE, 0
	}
	if s.last != nil {
		filters = s.last.count
	}
	return s.mode, filters
}

// SetSeccompStrict puts the task in strict mode: EINVAL if it has filters.
func (t *Task) SetSeccompStrict() error {
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	if s := t.seccomp.Load(); s != nil {
		if s.mode != unix.SECCOMP_MODE_STRICT {
			return unix.EINVAL
		}
		return nil
	}
	t.seccomp.Store(&seccompState{mode: unix.SECCOMP_MODE_STRICT})
	return nil
}

// SeccompFilterOpts are the flags of seccomp(SECCOMP_SET_MODE_FILTER).
type SeccompFilterOpts struct {
	Log        bool // SECCOMP_FILTER_FLAG_LOG
	TSync      bool // SECCOMP_FILTER_FLAG_TSYNC
	TSyncESRCH bool // SECCOMP_FILTER_FLAG_TSYNC_ESRCH
	// Listener (SECCOMP_FILTER_FLAG_NEW_LISTENER) makes the filter's
	// user-notification listener, installed close-on-exec in the task's
	// table; its descriptor is the result.
	Listener bool
	// WaitKillable is SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV.
	WaitKillable bool
}

// AddSeccompFilter installs prog, made by CheckSeccompFilter, on the
// task, or with o.TSync on every thread of its process whose filters the
// task's extend; a thread whose filters do not is the result (its TID),
// or ESRCH with o.TSyncESRCH, and nothing changes. With o.Listener the
// result is the listener's descriptor.
func (t *Task) AddSeccompFilter(prog bpf.Program, o SeccompFilterOpts) (int, error) {
	k := t.K
	var l *SeccompListener
	if o.Listener {
		// A descriptor first, as Linux reserves one before attaching.
		if err := t.FDs().Room(); err != nil {
			return 0, err
		}
		l = newSeccompListener(k)
	}
	k.mu.Lock()
	fd, err := t.addSeccompFilterLocked(prog, o, l)
	k.mu.Unlock()
	if err != nil || l == nil {
		return fd, err
	}
	file := vfs.NewFile(nil, nil, l, l, unix.O_RDWR)
	defer file.DecRef()
	n, err := t.FDs().Install(file, 0, true)
	if err != nil {
		// The filter stays, without a listener: ENOSYS for whatever it
		// would notify, as Linux after the listener is closed.
		return 0, err
	}
	return int(n), nil
}

// addSeccompFilterLocked is AddSeccompFilter's work; k.mu is held.
func (t *Task) addSeccompFilterLocked(prog bpf.Program, o SeccompFilterOpts, l *SeccompListener) (int, error) {
	old := t.seccomp.Load()
	if old != nil && old.mode != linux.SECCOMP_MODE_FILTER {
		return 0, unix.EINVAL
	}
	f := &seccompFilter{prog: prog, log: o.Log, pathLen: prog.Length() + abi.SECCOMP_FILTER_OVERHEAD, count: 1,
		listener: l, waitKillable: o.WaitKillable}
	if old != nil && old.last != nil {
		f.prev = old.last
		f.pathLen += old.last.pathLen
		f.count += old.last.count
	}
	if f.pathLen > abi.SECCOMP_MAX_INSNS_PER_PATH {
		return 0, unix.ENOMEM
	}
	if l != nil {
		if hasListener(f.prev) {
			return 0, unix.EBUSY // one listener per chain
		}
		l.filter = f
	}
	next := &seccompState{mode: linux.SECCOMP_MODE_FILTER, last: f}
	if o.TSync {
		for _, other := range t.TG.tasks {
			if other != t && !extends(f.prev, other.seccomp.Load()) {
				if o.TSyncESRCH {
					return 0, unix.ESRCH
				}
				return other.vtid, nil // the same namespace as t
			}
		}
		noNewPrivs := t.NoNewPrivs()
		for _, o := range t.TG.tasks {
			o.seccomp.Store(next)
			if noNewPrivs {
				o.SetNoNewPrivs()
			}
		}
		return 0, nil
	}
	t.seccomp.Store(next)
	return 0, nil
}

// extends reports whether chain, the filters a new one goes on top of,
// holds all of s's (TSYNC's is_ancestor): s has none, or its newest is in
// chain.
func extends(chain *seccompFilter, s *seccompState) bool {
	if s == nil {
		return true
	}
	if s.mode != linux.SECCOMP_MODE_FILTER {
		return false
	}
	for f := chain; ; f = f.prev {
		if f == s.last {
			return true
		}
		if f == nil {
			return false
		}
	}
}

// CheckSeccompFilter checks a program as seccomp_check_filter does and
// compiles it: loads only of seccomp_data's 32-bit words (a length load
// becomes its size), no packet-relative loads; EINVAL otherwise.
func CheckSeccompFilter(insns []bpf.Instruction) (bpf.Program, error) {
	if len(insns) == 0 || len(insns) > bpf.MaxInstructions {
		return bpf.Program{}, unix.EINVAL
	}
	const dataSize = 64 // sizeof(struct seccomp_data)
	for i, in := range insns {
		switch in.OpCode {
		case bpf.Ld | bpf.W | bpf.Abs:
			if in.K >= dataSize || in.K%4 != 0 {
				return bpf.Program{}, unix.EINVAL
			}
		case bpf.Ld | bpf.W | bpf.Len:
			insns[i] = bpf.Stmt(bpf.Ld|bpf.Imm, dataSize)
		case bpf.Ldx | bpf.W | bpf.Len:
			insns[i] = bpf.Stmt(bpf.Ldx|bpf.Imm, dataSize)
		default:
			cls := in.OpCode & 0x07 // BPF_CLASS
			if cls == bpf.Ld && in.OpCode != bpf.Ld|bpf.Imm && in.OpCode != bpf.Ld|bpf.W|bpf.Mem ||
				cls == bpf.Ldx && in.OpCode != bpf.Ldx|bpf.Imm && in.OpCode != bpf.Ldx|bpf.W|bpf.Mem {
				return bpf.Program{}, unix.EINVAL
			}
		}
	}
	prog, err := bpf.Compile(insns, false)
	if err != nil {
		return bpf.Program{}, unix.EINVAL
	}
	return prog, nil
}

// seccompAllows runs the task's seccomp checks on syscall nr with args
// and reports whether the syscall runs; if not, the task's registers hold
// what the caller sees (its Rax), or the task is dying.
func (t *Task) seccompAllows(nr uintptr, args SyscallArguments) bool {
	s := t.seccomp.Load()
	if s == nil {
		return true
	}
	if s.mode == unix.SECCOMP_MODE_STRICT {
		switch nr {
		case unix.SYS_READ, unix.SYS_WRITE, unix.SYS_EXIT, unix.SYS_RT_SIGRETURN:
			return true
		}
		t.Log().Debug("seccomp strict mode: killed", "nr", nr)
		t.seccompKillThread(int(unix.SIGKILL))
		return false
	}
	return t.seccompFilterAllows(s, nr, args, false)
}

// seccompFilterAllows runs the filters of s; after a tracer's
// PTRACE_EVENT_SECCOMP stop (rechecked) a TRACE answer lets it run.
func (t *Task) seccompFilterAllows(s *seccompState, nr uintptr, args SyscallArguments, rechecked bool) bool {
	// The address after the syscall instruction, which the instruction
	// left in rcx: Rip is a trap's once systrap patched a register site.
	ip := t.Regs.Rcx
	d := linux.SeccompData{Nr: int32(nr), Arch: linux.AUDIT_ARCH_X86_64, InstructionPointer: ip}
	for i, a := range args {
		d.Args[i] = uint64(a)
	}
	var buf [64]byte
	in := seccomp.DataAsBPFInput(&d, buf[:])
	ret := uint32(linux.SECCOMP_RET_ALLOW)
	var logged bool
	var match *seccompFilter // the filter whose answer ret is
	for f := s.last; f != nil; f = f.prev {
		r, err := bpf.Exec[bpf.NativeEndian](f.prog, in)
		if err != nil {
			// Checked programs only read seccomp_data: fail closed.
			t.Log().Warn("seccomp filter failed", "err", err)
			r = uint32(linux.SECCOMP_RET_KILL_PROCESS)
		}
		if int32(r&linux.SECCOMP_RET_ACTION_FULL) < int32(ret&linux.SECCOMP_RET_ACTION_FULL) {
			ret, logged, match = r, f.log, f
		}
	}
	data := ret & linux.SECCOMP_RET_DATA
	switch action := linux.BPFAction(ret & linux.SECCOMP_RET_ACTION_FULL); action {
	case linux.SECCOMP_RET_ALLOW:
		return true
	case unix.SECCOMP_RET_LOG:
		t.Log().Debug("seccomp: logged", "nr", nr)
		return true
	case linux.SECCOMP_RET_ERRNO:
		t.Regs.Rax = negErrno(unix.Errno(min(data, 4095))) // MAX_ERRNO
		return false
	case linux.SECCOMP_RET_TRAP:
		t.Regs.Rax = t.Regs.OrigRax // syscall_rollback
		t.forceSignal(seccompSigInfo(nr, ip, data))
		return false
	case linux.SECCOMP_RET_TRACE:
		if rechecked {
			return true
		}
		if !t.ptraceEvent(linux.PTRACE_EVENT_SECCOMP, linux.PTRACE_O_TRACESECCOMP, uint64(data)) {
			t.Regs.Rax = negErrno(unix.ENOSYS)
			return false
		}
		// The tracer may have changed or skipped (-1) the syscall.
		nr = uintptr(t.Regs.OrigRax)
		if nr == ^uintptr(0) {
			return false
		}
		a := t.Regs.SyscallArgs()
		return t.seccompFilterAllows(s, nr, SyscallArguments{uintptr(a[0]), uintptr(a[1]), uintptr(a[2]), uintptr(a[3]), uintptr(a[4]), uintptr(a[5])}, true)
	case linux.SECCOMP_RET_USER_NOTIF:
		if match.listener == nil {
			t.Regs.Rax = negErrno(unix.ENOSYS)
			return false
		}
		return t.seccompUserNotif(match, &d)
	default: // KILL_THREAD, KILL_PROCESS and unknown actions
		if logged || action != linux.SECCOMP_RET_KILL_THREAD {
			t.Log().Debug("seccomp: killed", "nr", nr, "action", action)
		}
		if action == linux.SECCOMP_RET_KILL_THREAD && !t.TG.lastTask(t.K) {
			t.Exit(0) // do_exit(SIGSYS): the thread alone
			return false
		}
		// The process dies of SIGSYS, with a core file where they are
		// made, whatever the signal's action and mask.
		t.TG.SetSigAction(int(unix.SIGSYS), linux.SigAction{})
		t.forceSignal(seccompSigInfo(nr, ip, data))
		t.Regs.Rax = t.Regs.OrigRax
		return false
	}
}

// seccompKillThread ends the task as do_exit(sig) does: the thread alone,
// or the process with it as its last thread.
func (t *Task) seccompKillThread(sig int) {
	if t.TG.lastTask(t.K) {
		t.TG.Kill(sig)
		return
	}
	t.Exit(0)
}

// seccompSigInfo is SECCOMP_RET_TRAP's SIGSYS (force_sig_seccomp).
func seccompSigInfo(nr uintptr, rip uint64, data uint32) SigInfo {
	si := SigInfo{Signo: int32(unix.SIGSYS), Errno: int32(data), Code: linux.SYS_SECCOMP}
	si.SetCallAddr(rip)
	si.SetSyscall(int32(nr))
	si.SetArch(linux.AUDIT_ARCH_X86_64)
	return si
}

// negErrno is e as a syscall returns it in Rax.
func negErrno(e unix.Errno) uint64 {
	n := int64(e)
	return uint64(-n)
}
