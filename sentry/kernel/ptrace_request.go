package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sentry/mm"
)

// The requests of ptrace(2) (kernel/ptrace.c's ptrace_request and
// arch_ptrace): attaching, the requests on a stopped tracee, resuming.

// Ptrace is ptrace(2) for the caller t.
func (t *Task) Ptrace(req int64, pid int, addr, data uintptr) (uintptr, error) {
	if pid > 0 {
		pid = t.KernelIDOf(pid) // 0, no task, for one outside t's namespace
	}
	switch req {
	case linux.PTRACE_TRACEME:
		return 0, t.ptraceTraceMe()
	case linux.PTRACE_ATTACH, linux.PTRACE_SEIZE:
		return 0, t.ptraceAttach(pid, req == linux.PTRACE_SEIZE, addr, data)
	}
	k := t.K
	k.mu.Lock()
	tracee := k.tasks[pid]
	if tracee == nil || tracee.ptrace.tracer != t {
		k.mu.Unlock()
		return 0, unix.ESRCH
	}
	switch req {
	case linux.PTRACE_KILL:
		k.mu.Unlock()
		tracee.TG.Kill(int(unix.SIGKILL))
		return 0, nil
	case linux.PTRACE_INTERRUPT:
		if !tracee.ptrace.seized {
			k.mu.Unlock()
			return 0, unix.EIO
		}
		tracee.setPtraceInterrupt(true)
		if st := tracee.ptrace.stop; st != nil && st.listening {
			// A listening tracee reports its stop again.
			select {
			case st.notify <- struct{}{}:
			default:
			}
		}
		k.mu.Unlock()
		tracee.wake()
		return 0, nil
	}
	if tracee.ptrace.stop == nil || tracee.ptrace.stop.listening {
		// Running, or listening: not in a ptrace-stop.
		k.mu.Unlock()
		return 0, unix.ESRCH
	}
	// The tracee is stopped and stays so until this tracer resumes it:
	// its registers and memory are the tracer's to use without k.mu.
	k.mu.Unlock()
	return t.ptraceStopped(tracee, req, addr, data)
}

// ptraceStopped serves the requests on a tracee in a ptrace-stop.
func (t *Task) ptraceStopped(tracee *Task, req int64, addr, data uintptr) (uintptr, error) {
	switch req {
	case linux.PTRACE_PEEKTEXT, linux.PTRACE_PEEKDATA:
		var w [8]byte
		if _, err := tracee.MM().CopyIn(addr, w[:]); err != nil {
			return 0, unix.EIO
		}
		return 0, t.CopyOut(data, w[:])
	case linux.PTRACE_POKETEXT, linux.PTRACE_POKEDATA:
		return 0, tracee.forceWrite(addr, binary.LittleEndian.AppendUint64(nil, uint64(data)))
	case linux.PTRACE_PEEKUSR:
		v, err := tracee.peekUser(addr)
		if err != nil {
			return 0, err
		}
		return 0, t.CopyOut(data, binary.LittleEndian.AppendUint64(nil, v))
	case linux.PTRACE_POKEUSR:
		return 0, tracee.pokeUser(addr, uint64(data))
	case linux.PTRACE_GETREGS:
		r := ptraceRegs(&tracee.Regs)
		return 0, t.CopyOut(data, abi.AsBytes(&r))
	case linux.PTRACE_SETREGS:
		var r linux.PtraceRegs
		if err := t.CopyIn(data, abi.AsBytes(&r)); err != nil {
			return 0, err
		}
		return 0, tracee.setPtraceRegs(&r)
	case linux.PTRACE_GETFPREGS:
		return 0, t.CopyOut(data, tracee.FP.Bytes()[:fxsaveSize])
	case linux.PTRACE_SETFPREGS:
		return 0, t.setFP(tracee, data, fxsaveSize)
	case linux.PTRACE_GETREGSET, linux.PTRACE_SETREGSET:
		return 0, t.ptraceRegset(tracee, req == linux.PTRACE_SETREGSET, addr, data)
	case linux.PTRACE_GETSIGINFO, linux.PTRACE_SETSIGINFO:
		t.K.mu.Lock()
		si := tracee.ptrace.siginfo
		t.K.mu.Unlock()
		if req == linux.PTRACE_GETSIGINFO {
			return 0, t.CopyOut(data, abi.AsBytes(&si))
		}
		if err := t.CopyIn(data, abi.AsBytes(&si)); err != nil {
			return 0, err
		}
		t.K.mu.Lock()
		tracee.ptrace.siginfo = si
		t.K.mu.Unlock()
		return 0, nil
	case linux.PTRACE_GETEVENTMSG:
		t.K.mu.Lock()
		msg := tracee.ptrace.eventMsg
		t.K.mu.Unlock()
		return 0, t.CopyOut(data, binary.LittleEndian.AppendUint64(nil, msg))
	case linux.PTRACE_SETOPTIONS:
		return 0, t.ptraceSetOptions(tracee, data)
	case linux.PTRACE_GETSIGMASK:
		if addr != 8 {
			return 0, unix.EINVAL
		}
		return 0, t.CopyOut(data, binary.LittleEndian.AppendUint64(nil, tracee.SigMask()))
	case linux.PTRACE_SETSIGMASK:
		if addr != 8 {
			return 0, unix.EINVAL
		}
		var b [8]byte
		if err := t.CopyIn(data, b[:]); err != nil {
			return 0, err
		}
		tracee.SetSigMask(binary.LittleEndian.Uint64(b[:]) &^ UnblockableSignals)
		return 0, nil
	case unix.PTRACE_GET_SYSCALL_INFO:
		return t.ptraceSyscallInfo(tracee, addr, data)
	case linux.PTRACE_PEEKSIGINFO:
		return t.ptracePeekSigInfo(tracee, addr, data)
	case linux.PTRACE_ARCH_PRCTL:
		// do_arch_prctl_64(child, data, addr): the option is data.
		return 0, t.ArchPrctl(tracee, int(int32(data)), addr)
	case linux.PTRACE_CONT, linux.PTRACE_SYSCALL, linux.PTRACE_SINGLESTEP,
		linux.PTRACE_SYSEMU, linux.PTRACE_SYSEMU_SINGLESTEP, linux.PTRACE_DETACH, linux.PTRACE_LISTEN:
		return 0, t.ptraceResume(tracee, req, data)
	}
	return 0, unix.EIO
}

// ptraceTraceMe is PTRACE_TRACEME: the parent traces the caller.
func (t *Task) ptraceTraceMe() error {
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	// The thread that created the caller traces it; one that is exiting
	// (it has let go of its tracees already) cannot, as in Linux, where
	// a PF_EXITING parent makes PTRACE_TRACEME fail.
	parent := t.TG.parentTask
	if t.ptrace.tracer != nil || parent == nil || parent.ptrace.gone || !t.yamaAllowsTraceMeLocked(parent) {
		return unix.EPERM
	}
	parent.attachLocked(t, false, 0)
	return nil
}

// ptraceAttach is PTRACE_ATTACH (a SIGSTOP follows) and PTRACE_SEIZE
// (options in data, no stop).
func (t *Task) ptraceAttach(pid int, seize bool, addr, data uintptr) error {
	if seize && (addr != 0 || uint32(data)&^ptraceOptions != 0) {
		return unix.EIO
	}
	k := t.K
	k.mu.Lock()
	tracee := k.tasks[pid]
	switch {
	case tracee == nil || tracee.TG.zombie:
		k.mu.Unlock()
		return unix.ESRCH
	case tracee.TG == t.TG, tracee.ptrace.tracer != nil:
		k.mu.Unlock()
		return unix.EPERM
	}
	if !t.mayAttachLocked(tracee) {
		k.mu.Unlock()
		return unix.EPERM
	}
	options := uint32(0)
	if seize {
		options = uint32(data)
	}
	t.attachLocked(tracee, seize, options)
	stopped := tracee.TG.job.stopSig != 0
	k.mu.Unlock()
	if !seize {
		tracee.SendSignal(NewSigInfo(int32(unix.SIGSTOP), linux.SI_USER, t.PID(), t.Creds().UID.Real))
	}
	if stopped {
		tracee.trapStopped()
	}
	return nil
}

// trapStopped makes a task that was in a group stop when it was attached
// enter a ptrace-stop, and waits until it has, so that the tracer's next
// request finds it stopped (ptrace_attach's JOBCTL_TRAP_STOP |
// JOBCTL_TRAPPING). A non-seized attach stops it at its SIGSTOP; a
// seize at a PTRACE_EVENT_STOP.
func (tracee *Task) trapStopped() {
	k := tracee.K
	k.mu.Lock()
	if tracee.ptrace.seized {
		tracee.setPtraceInterrupt(true)
	}
	k.mu.Unlock()
	tracee.wakeStopped()
	k.mu.Lock()
	defer k.mu.Unlock()
	for tracee.ptrace.tracer != nil && tracee.ptrace.stop == nil && !tracee.killedLocked() {
		k.treeChanged.Wait()
	}
}

// mayAttachLocked is ptrace_may_access with PTRACE_MODE_ATTACH_REALCREDS:
// __ptrace_may_access's checks (mayInspect: the caller's own process, or
// the same user and group IDs, dumpable and no capability beyond the
// caller's, or CAP_SYS_PTRACE over the target's user namespace), then
// Yama's scope (yama.go). k.mu is held.
func (t *Task) mayAttachLocked(tracee *Task) bool {
	if t.TG == tracee.TG {
		return true // Linux lets no security module deny introspection
	}
	return t.mayInspect(tracee, false) && t.yamaAllowsLocked(tracee)
}

// MayAttach reports whether t may attach to target, read and write its
// memory (process_vm_readv/writev): mayAttachLocked.
func (t *Task) MayAttach(target *Task) bool {
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	return t.mayAttachLocked(target)
}

// ptraceOptions are the PTRACE_O_* options SETOPTIONS takes.
const ptraceOptions = linux.PTRACE_O_TRACESYSGOOD | linux.PTRACE_O_TRACEFORK | linux.PTRACE_O_TRACEVFORK |
	linux.PTRACE_O_TRACECLONE | linux.PTRACE_O_TRACEEXEC | linux.PTRACE_O_TRACEVFORKDONE |
	linux.PTRACE_O_TRACEEXIT | linux.PTRACE_O_TRACESECCOMP | linux.PTRACE_O_EXITKILL | linux.PTRACE_O_SUSPEND_SECCOMP

func (t *Task) ptraceSetOptions(tracee *Task, data uintptr) error {
	if uint64(data)&^ptraceOptions != 0 {
		return unix.EINVAL
	}
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	tracee.ptrace.options = uint32(data)
	return nil
}

// ptraceResume ends the stop: CONT, SYSCALL, SYSEMU, SINGLESTEP (the trap
// flag: the CPU traps after one instruction, a SIGTRAP), DETACH; LISTEN
// leaves it stopped.
func (t *Task) ptraceResume(tracee *Task, req int64, data uintptr) error {
	if data > 64 {
		return unix.EIO
	}
	sig := int(data)
	k := t.K
	k.mu.Lock()
	defer k.mu.Unlock()
	if req == linux.PTRACE_LISTEN {
		// Only from a PTRACE_EVENT_STOP of a seized tracee: it stays
		// stopped, not in a ptrace-stop a wait reports, until a signal
		// comes (ptraceNotifyListener).
		st := tracee.ptrace.stop
		if !tracee.ptrace.seized || st.status>>8 != linux.PTRACE_EVENT_STOP {
			return unix.EIO
		}
		st.reported, st.listening = true, true
		return nil
	}
	step := req == linux.PTRACE_SINGLESTEP || req == linux.PTRACE_SYSEMU_SINGLESTEP
	if step {
		tracee.Regs.Eflags |= eflagsTF
	} else if tracee.ptrace.singlestep {
		tracee.Regs.Eflags &^= eflagsTF
	}
	if req == linux.PTRACE_DETACH {
		t.detachLocked(tracee, sig)
		k.treeChanged.Broadcast()
		return nil
	}
	tracee.ptrace.singlestep = step
	tracee.ptrace.syscallStops = req == linux.PTRACE_SYSCALL
	tracee.ptrace.sysemu = req == linux.PTRACE_SYSEMU || req == linux.PTRACE_SYSEMU_SINGLESTEP
	tracee.ptraceResumeLocked(sig)
	return nil
}

// eflagsTF is the trap flag.
const eflagsTF = 1 << 8

// fxsaveSize is struct user_fpregs_struct: the FXSAVE area.
const fxsaveSize = 512

// setFP replaces the first n bytes of tracee's XSAVE area with the
// tracer's at data.
func (t *Task) setFP(tracee *Task, data uintptr, n int) error {
	b := append([]byte(nil), tracee.FP.Bytes()...)
	if n > len(b) {
		n = len(b)
	}
	if err := t.CopyIn(data, b[:n]); err != nil {
		return err
	}
	if err := tracee.FP.SetBytes(b); err != nil {
		return unix.EINVAL
	}
	return nil
}

// ptraceRegset is PTRACE_GETREGSET and SETREGSET: an iovec at data, its
// length cut to the set's size on return.
func (t *Task) ptraceRegset(tracee *Task, set bool, which, data uintptr) error {
	var iov abi.Iovec
	if err := t.CopyIn(data, abi.AsBytes(&iov)); err != nil {
		return err
	}
	var b []byte
	switch which {
	case linux.NT_PRSTATUS:
		r := ptraceRegs(&tracee.Regs)
		b = append(b, abi.AsBytes(&r)...)
	case linux.NT_PRFPREG:
		b = append(b, tracee.FP.Bytes()[:fxsaveSize]...)
	case linux.NT_X86_XSTATE:
		b = append(b, tracee.FP.Bytes()...)
	default:
		return unix.EINVAL
	}
	n := min(uint64(len(b)), iov.Len)
	if set {
		switch which {
		case linux.NT_PRSTATUS:
			var r linux.PtraceRegs
			if n != uint64(len(b)) {
				return unix.EINVAL
			}
			if err := t.CopyIn(uintptr(iov.Base), abi.AsBytes(&r)); err != nil {
				return err
			}
			if err := tracee.setPtraceRegs(&r); err != nil {
				return err
			}
		default:
			if err := t.setFP(tracee, uintptr(iov.Base), int(n)); err != nil {
				return err
			}
		}
	} else if err := t.CopyOut(uintptr(iov.Base), b[:n]); err != nil {
		return err
	}
	iov.Len = n
	return t.CopyOut(data, abi.AsBytes(&iov))
}

// ptraceSyscallInfo is PTRACE_GET_SYSCALL_INFO: it copies at most size
// (addr) bytes and returns the size of the whole answer.
func (t *Task) ptraceSyscallInfo(tracee *Task, size, data uintptr) (uintptr, error) {
	t.K.mu.Lock()
	si := tracee.ptrace.syscallInfo
	t.K.mu.Unlock()
	r := &tracee.Regs
	info := abi.PtraceSyscallInfo{Op: si.op, Arch: linux.AUDIT_ARCH_X86_64, InstructionPointer: r.Rip, StackPointer: r.Rsp}
	full := abi.PtraceSyscallInfoHeader
	var b []byte
	switch si.op {
	case unix.PTRACE_SYSCALL_INFO_ENTRY:
		info.Nr, info.Args = r.OrigRax, r.SyscallArgs()
		b = abi.AsBytes(&info)
		full = len(b)
	case unix.PTRACE_SYSCALL_INFO_EXIT:
		ex := abi.PtraceSyscallInfoExit{Op: si.op, Arch: info.Arch, InstructionPointer: r.Rip, StackPointer: r.Rsp, Rval: si.rval}
		if si.rval < 0 && si.rval >= -4095 {
			ex.IsError = 1
		}
		full = abi.PtraceSyscallInfoExitSize
		b = abi.AsBytes(&ex)
	default:
		b = abi.AsBytes(&info)
	}
	n := min(int(size), full)
	if err := t.CopyOut(data, b[:n]); err != nil {
		return 0, err
	}
	return uintptr(full), nil
}

// forceWrite writes the tracer's word into the tracee's memory as
// FOLL_FORCE does: a read-only private mapping (text, for a breakpoint)
// is made writable for the write and restored. Only the application's
// own mappings can be written (EIO elsewhere): the stub's memory is no
// mapping of the address space.
func (t *Task) forceWrite(addr uintptr, b []byte) error {
	m := t.MM()
	if _, err := m.CopyOut(addr, b); err == nil {
		return nil
	}
	const page = 4096
	start := addr &^ (page - 1)
	end := (addr + uintptr(len(b)) + page - 1) &^ (page - 1)
	if end < start {
		return unix.EIO
	}
	type restore struct {
		at   uintptr
		prot int
	}
	var undo []restore
	for p := start; p < end; p += page {
		prot := -1
		for _, v := range m.VMAs() {
			if v.Start <= p && p < v.End {
				if !v.Shared {
					prot = v.Prot
				}
				break
			}
		}
		if prot < 0 || prot&(unix.PROT_READ|unix.PROT_EXEC) == 0 {
			break
		}
		if prot&unix.PROT_WRITE == 0 {
			if err := m.Mprotect(p, page, prot|unix.PROT_WRITE); err != nil {
				break
			}
			undo = append(undo, restore{p, prot})
		}
	}
	_, err := m.CopyOut(addr, b)
	for _, u := range undo {
		m.Mprotect(u.at, page, u.prot)
	}
	if err != nil {
		return unix.EIO
	}
	return nil
}

// ptraceRegs is r as struct user_regs_struct.
func ptraceRegs(r *platform.Registers) linux.PtraceRegs {
	return linux.PtraceRegs{
		R15: r.R15, R14: r.R14, R13: r.R13, R12: r.R12, Rbp: r.Rbp, Rbx: r.Rbx, R11: r.R11, R10: r.R10,
		R9: r.R9, R8: r.R8, Rax: r.Rax, Rcx: r.Rcx, Rdx: r.Rdx, Rsi: r.Rsi, Rdi: r.Rdi, Orig_rax: r.OrigRax,
		Rip: r.Rip, Cs: r.Cs, Eflags: r.Eflags, Rsp: r.Rsp, Ss: r.Ss, Fs_base: r.FsBase, Gs_base: r.GsBase,
		Ds: r.Ds, Es: r.Es, Fs: r.Fs, Gs: r.Gs,
	}
}

// userFlags are the flags a tracer may change (FLAG_MASK of
// arch/x86/kernel/ptrace.c): CF PF AF ZF SF TF DF OF and AC.
const userFlags = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x40000

// setPtraceRegs sets tracee's registers from user_regs_struct, as
// putreg does: segment selectors stay the user ones, only user flags
// change, and the bases must be canonical user addresses (EIO).
func (tracee *Task) setPtraceRegs(p *linux.PtraceRegs) error {
	const userTop = 1 << 47
	if p.Fs_base >= userTop || p.Gs_base >= userTop || p.Rip >= userTop {
		return unix.EIO
	}
	r := &tracee.Regs
	r.R15, r.R14, r.R13, r.R12, r.Rbp, r.Rbx, r.R11, r.R10 = p.R15, p.R14, p.R13, p.R12, p.Rbp, p.Rbx, p.R11, p.R10
	r.R9, r.R8, r.Rax, r.Rcx, r.Rdx, r.Rsi, r.Rdi, r.OrigRax = p.R9, p.R8, p.Rax, p.Rcx, p.Rdx, p.Rsi, p.Rdi, p.Orig_rax
	r.Rip, r.Rsp, r.FsBase, r.GsBase = p.Rip, p.Rsp, p.Fs_base, p.Gs_base
	r.Eflags = r.Eflags&^userFlags | p.Eflags&userFlags
	return nil
}

// userRegsSize is sizeof(struct user_regs_struct); debugRegsOff is
// offsetof(struct user, u_debugreg), userSize sizeof(struct user).
const (
	userRegsSize = 27 * 8
	debugRegsOff = 848
	userSize     = 928
)

// peekUser is PTRACE_PEEKUSER: a register of struct user's regs, a debug
// register (what was stored), zero for the rest of struct user.
func (tracee *Task) peekUser(off uintptr) (uint64, error) {
	if off%8 != 0 || off >= userSize {
		return 0, unix.EIO
	}
	if off < userRegsSize {
		r := ptraceRegs(&tracee.Regs)
		return *userRegWords(&r)[off/8], nil
	}
	if n := (off - debugRegsOff) / 8; off >= debugRegsOff && n < 8 {
		tracee.K.mu.Lock()
		defer tracee.K.mu.Unlock()
		return tracee.ptrace.debugRegs[n], nil
	}
	return 0, nil
}

// pokeUser is PTRACE_POKEUSER of a register or a debug register; the rest
// of struct user is refused with EIO, as in Linux.
func (tracee *Task) pokeUser(off uintptr, v uint64) error {
	if off%8 != 0 || off >= userSize {
		return unix.EIO
	}
	if off >= debugRegsOff && off < debugRegsOff+8*8 {
		return tracee.setDebugReg(int(off-debugRegsOff)/8, v)
	}
	if off >= userRegsSize {
		return unix.EIO
	}
	r := ptraceRegs(&tracee.Regs)
	*userRegWords(&r)[off/8] = v
	return tracee.setPtraceRegs(&r)
}

// setDebugReg is ptrace_set_debugreg, without hardware breakpoints: the
// sentry cannot make the CPU trap on them (neither platform gives it the
// application's debug registers), so it stores what a debugger writes,
// checked as Linux checks it (DR0-DR3 only user addresses: EINVAL; no
// DR4, DR5: EIO), and refuses to enable a breakpoint in DR7 with EIO,
// rather than accept one that would never trap; a debugger then falls
// back to software breakpoints and watchpoints.
func (tracee *Task) setDebugReg(n int, v uint64) error {
	switch {
	case n < 4 && v >= uint64(mm.TaskSize):
		return unix.EINVAL
	case n == 4, n == 5:
		return unix.EIO
	case n == 7 && v&dr7Enable != 0:
		return unix.EIO
	}
	tracee.K.mu.Lock()
	defer tracee.K.mu.Unlock()
	tracee.ptrace.debugRegs[n] = v
	return nil
}

// dr7Enable are DR7's local and global enable bits.
const dr7Enable = 0xff

// ptracePeekSigInfo is PTRACE_PEEKSIGINFO (ptrace_peek_siginfo): copies
// out up to nr pending signals of the tracee's queue (the process's with
// PTRACE_PEEKSIGINFO_SHARED) from the off-th, oldest first, and returns
// how many; 0 past the end.
func (t *Task) ptracePeekSigInfo(tracee *Task, addr, data uintptr) (uintptr, error) {
	var a abi.PtracePeekSigInfoArgs
	if err := t.CopyIn(addr, abi.AsBytes(&a)); err != nil {
		return 0, err
	}
	if a.Flags&^unix.PTRACE_PEEKSIGINFO_SHARED != 0 || a.Nr < 0 {
		return 0, unix.EINVAL
	}
	var queued []SigInfo
	if a.Flags&unix.PTRACE_PEEKSIGINFO_SHARED != 0 {
		tg := tracee.TG
		tg.sigmu.Lock()
		queued = tg.pending.queued()
		tg.sigmu.Unlock()
	} else {
		tracee.sig.mu.Lock()
		queued = tracee.sig.pending.queued()
		tracee.sig.mu.Unlock()
	}
	n := uintptr(0)
	for ; n < uintptr(a.Nr) && a.Off+uint64(n) < uint64(len(queued)); n++ {
		si := queued[a.Off+uint64(n)]
		if err := t.CopyOut(data+n*uintptr(len(abi.AsBytes(&si))), abi.AsBytes(&si)); err != nil {
			if n > 0 {
				return n, nil
			}
			return 0, err
		}
	}
	return n, nil
}

// userRegWords are the fields of user_regs_struct in their order, the
// words PEEKUSER and POKEUSER address by offset/8.
func userRegWords(r *linux.PtraceRegs) [userRegsSize / 8]*uint64 {
	return [...]*uint64{
		&r.R15, &r.R14, &r.R13, &r.R12, &r.Rbp, &r.Rbx, &r.R11, &r.R10,
		&r.R9, &r.R8, &r.Rax, &r.Rcx, &r.Rdx, &r.Rsi, &r.Rdi, &r.Orig_rax,
		&r.Rip, &r.Cs, &r.Eflags, &r.Rsp, &r.Ss, &r.Fs_base, &r.Gs_base,
		&r.Ds, &r.Es, &r.Fs, &r.Gs,
	}
}

// MayAccessMemory reports whether caller may read and write target's
// memory through /proc/PID/mem (PTRACE_MODE_ATTACH): its own process, a
// tracee of it, or a task it may attach to.
func (caller *Task) MayAccessMemory(target *Task) bool {
	k := caller.K
	k.mu.Lock()
	defer k.mu.Unlock()
	return target.ptrace.tracer == caller || caller.mayAttachLocked(target)
}

// MayInspect reports whether caller may read target's state as
// ptrace_may_access(PTRACE_MODE_READ_REALCREDS) allows it
// (get_robust_list, kcmp): its own process, one whose user and group IDs
// (real, effective, saved) are all the caller's real ones and whose
// permitted capabilities are among the caller's, or any with
// CAP_SYS_PTRACE. YAMA's scope applies only to attaching.
func (caller *Task) MayInspect(target *Task) bool { return caller.mayInspect(target, false) }

// MayInspectFS is MayInspect with the caller's filesystem IDs and
// effective capabilities in place of its real IDs and permitted ones
// (PTRACE_MODE_READ_FSCREDS), as proc_fd_access_allowed asks for
// /proc/PID/exe, cwd and root.
func (caller *Task) MayInspectFS(target *Task) bool { return caller.mayInspect(target, true) }

// mayInspect is __ptrace_may_access for a read, with the caller's
// filesystem IDs (fsCreds) or its real ones.
func (caller *Task) mayInspect(target *Task, fsCreds bool) bool {
	c, tc := caller.Creds(), target.Creds()
	if caller.TG == target.TG || c.HasCapIn(tc.UserNS, linux.CAP_SYS_PTRACE) {
		return true
	}
	if c.UserNS != tc.UserNS {
		return false // cap_ptrace_access_check
	}
	uid, gid, caps := c.UID.Real, c.GID.Real, c.Caps.Permitted()
	if fsCreds {
		uid, gid, caps = c.UID.FS, c.GID.FS, c.Caps.Effective()
	}
	same := func(ids IDs, id uint32) bool { return ids.Real == id && ids.Effective == id && ids.Saved == id }
	// cap_ptrace_access_check: the target holds no capability beyond the
	// caller's.
	return same(tc.UID, uid) && same(tc.GID, gid) && target.Dumpable() && tc.Caps.Permitted()&^caps == 0
}

// Dumpable reports whether t's process may be inspected by a process of
// the same user without CAP_SYS_PTRACE (__ptrace_may_access's
// get_dumpable check): prctl(PR_SET_DUMPABLE, 0), as ssh-agent and gpg
// set it, keeps same-user ptrace, /proc/PID/mem and process_vm_readv out.
// A task without an address space has nothing to keep out.
func (t *Task) Dumpable() bool {
	m := t.MM()
	return m == nil || m.Dumpable()
}

// PokeMemory writes b into t's memory as a tracer's POKEDATA does, even
// into read-only private mappings (/proc/PID/mem); EIO where nothing of
// the application is mapped.
func (t *Task) PokeMemory(addr uintptr, b []byte) error { return t.forceWrite(addr, b) }
