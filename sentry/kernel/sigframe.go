package kernel

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
)

// The x86-64 signal frame is abi.RTSigFrame, followed, 64-byte aligned, by
// the XSAVE area and FP_XSTATE_MAGIC2; the handler runs below the red zone.
const redZone = 128

// sigaltstack's flag SS_AUTODISARM and its least stack, MINSIGSTKSZ
// (uapi asm/signal.h), which the libraries do not name.
const (
	ssAutodisarm = 1 << 31
	minSigStack  = 2048
)

// altStack returns the task's sigaltstack and whether it is enabled: it
// has a size (SS_DISABLE leaves none, as Linux's sas_ss_size).
func (t *Task) altStack() (linux.SignalStack, bool) {
	ss := t.AltStack
	return ss, ss.Size != 0
}

// OnAltStack reports whether sp is inside the task's signal stack
// (on_sig_stack): never with SS_AUTODISARM, which disarms the stack as a
// handler starts on it.
func (t *Task) OnAltStack(sp uint64) bool {
	ss, ok := t.altStack()
	return ok && ss.Flags&ssAutodisarm == 0 && sp > ss.Addr && sp-ss.Addr <= ss.Size
}

// SigAltStack is sigaltstack(2) (do_sigaltstack) for a task whose stack
// pointer is sp: it returns the stack as it was, with SS_DISABLE when it
// has none and SS_ONSTACK when sp is on it, and sets ss unless ss is nil
// (EPERM on the stack, EINVAL for another mode than 0, SS_ONSTACK and
// SS_DISABLE, ENOMEM below MINSIGSTKSZ). The flags are kept as given,
// as a signal frame saves them.
func (t *Task) SigAltStack(ss *linux.SignalStack, sp uint64) (linux.SignalStack, error) {
	old := t.AltStack
	old.Flags &= ssAutodisarm
	switch {
	case old.Size == 0:
		old.Flags |= linux.SS_DISABLE
	case t.OnAltStack(sp):
		old.Flags |= linux.SS_ONSTACK
	}
	if ss == nil {
		return old, nil
	}
	if t.OnAltStack(sp) {
		return old, unix.EPERM
	}
	n := *ss
	switch n.Flags &^ ssAutodisarm {
	case linux.SS_DISABLE:
		n.Addr, n.Size = 0, 0
	case 0, linux.SS_ONSTACK:
		if n.Size < minSigStack {
			return old, unix.ENOMEM
		}
	default:
		return old, unix.EINVAL
	}
	t.AltStack = n
	return old, nil
}

// savedAltStack is the stack_t a signal frame saves (__save_altstack):
// the stack with its flags as set; SS_DISABLE for a task that never set
// one, as Linux's tasks start with.
func (t *Task) savedAltStack() linux.SignalStack {
	ss := t.AltStack
	if ss.Size == 0 {
		ss.Flags = linux.SS_DISABLE | ss.Flags&ssAutodisarm
	}
	return ss
}

// pushFrame builds the frame for a handled signal and points the task at
// the handler.
func (t *Task) pushFrame(sig int, si SigInfo, act linux.SigAction) error {
	if act.Flags&linux.SA_RESTORER == 0 {
		return unix.EFAULT
	}
	sp := t.Regs.Rsp - redZone
	ss, altOK := t.altStack()
	onAlt := t.OnAltStack(t.Regs.Rsp)
	if act.Flags&linux.SA_ONSTACK != 0 && altOK && !onAlt {
		sp = ss.Addr + ss.Size
	}
	fpSize := uint64(platform.Host.Size)
	fpAddr := (sp - fpSize - 4) &^ 63
	frame := ((fpAddr - abi.RTSigFrameSize) &^ 15) - 8

	f := abi.RTSigFrame{Pretcode: act.Restorer, Info: si}
	f.UC.Flags = abi.UC_FP_XSTATE | abi.UC_SIGCONTEXT_SS | abi.UC_STRICT_RESTORE_SS
	f.UC.Stack = t.savedAltStack()
	mc := &f.UC.MContext
	regs := t.Regs.SigContextGregs()
	for i, p := range mc.Gregs() {
		*p = *regs[i]
	}
	mc.Cs, mc.Ss = platform.UserCS, platform.UserSS
	if sig == int(unix.SIGSEGV) || sig == int(unix.SIGBUS) {
		mc.Cr2 = si.Addr()
	}
	mc.Fpstate = fpAddr
	saved := t.SigMask()
	if t.savedMask != nil {
		saved, t.savedMask = *t.savedMask, nil
	}
	f.UC.Sigmask = linux.SignalSet(saved)

	// The frame and the XSAVE area above it go out in one vectored copy
	// (one process_vm_writev), leaving the alignment gap between them
	// untouched as Linux does. Both are built in the task's scratch
	// buffer, and the FP state is copied into it once, straight from
	// where the platform holds it.
	buf := t.sigFrameBuf(int(abi.RTSigFrameSize) + int(fpSize) + 4)
	copy(buf, abi.AsBytes(&f))
	fp := buf[abi.RTSigFrameSize:]
	t.FP.CopyTo(fp[:fpSize])
	if x := abi.View[abi.XSave](fp); x != nil {
		sw := &x.FX.SwReserved
		sw.Magic1 = abi.FP_XSTATE_MAGIC1
		sw.ExtendedSize = uint32(fpSize + 4)
		sw.Xfeatures = platform.Host.XCR0
		sw.XstateSize = uint32(fpSize)
	}
	magic2 := uint32(unix.FP_XSTATE_MAGIC2)
	copy(fp[fpSize:], abi.AsBytes(&magic2))
	ranges := [2]platform.Range{platform.RangeOf(uintptr(frame), int(abi.RTSigFrameSize)), platform.RangeOf(uintptr(fpAddr), len(fp))}
	if _, err := t.MM().CopyOutVec(buf, ranges[:]); err != nil {
		return unix.EFAULT
	}
	if ss.Flags&ssAutodisarm != 0 {
		// SS_AUTODISARM: the handler runs with no signal stack until
		// rt_sigreturn restores the one saved in the frame (sas_ss_reset).
		t.AltStack = linux.SignalStack{Flags: linux.SS_DISABLE}
	}

	mask := t.SigMask() | uint64(act.Mask)
	if act.Flags&linux.SA_NODEFER == 0 {
		mask |= 1 << (sig - 1)
	}
	t.SetSigMask(mask &^ UnblockableSignals)
	t.Regs.Rsp = frame
	t.Regs.Rip = act.Handler
	t.Regs.Rdi = uint64(sig)
	t.Regs.Rsi = frame + abi.RTSigFrameInfo
	t.Regs.Rdx = frame + abi.RTSigFrameUC
	t.Regs.Rax = 0
	t.Regs.Eflags &^= 1<<8 | 1<<10 | 1<<16 // TF, DF, RF
	t.Regs.OrigRax = ^uint64(0)
	t.FP.Reset()
	return nil
}

// SigReturn restores the state saved by pushFrame (rt_sigreturn) and
// returns the restored rax.
func (t *Task) SigReturn() (uintptr, error) {
	uc, fpBytes, err := t.readSigFrame(uintptr(t.Regs.Rsp))
	if err != nil {
		t.ExitGroup(0, int(unix.SIGSEGV))
		return 0, nil
	}
	// The signal stack saved in the frame is set again, as sigaltstack
	// would set it from the stack pointer of the call; its errors are
	// ignored (restore_altstack).
	t.SigAltStack(&uc.Stack, t.Regs.Rsp)
	regs := t.Regs
	saved := uc.MContext.Gregs()
	for i, p := range regs.SigContextGregs() {
		*p = *saved[i]
	}
	const userFlags = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x40000 | 0x10000
	regs.Eflags = regs.Eflags&userFlags | 0x202&^userFlags | t.Regs.Eflags&^userFlags
	regs.Cs, regs.Ss = platform.UserCS, platform.UserSS
	regs.OrigRax = ^uint64(0)
	if fpBytes != nil {
		t.FP.SetBytes(fpBytes)
		t.FP.Sanitize()
	} else {
		t.FP.Reset()
	}
	t.SetSigMask(uint64(uc.Sigmask) &^ UnblockableSignals)
	t.Regs = regs
	return uintptr(regs.Rax), nil
}

// readSigFrame reads the ucontext at sp (where rt_sigreturn finds it) and
// the XSAVE area it points to (nil if none). Where pushFrame put the area
// (the first 64-byte boundary past the frame), both come in one copy of
// the whole frame (one process_vm_readv); a frame the handler moved or
// that the copy cannot read whole is read as Linux reads it, the
// ucontext first, then the area it names.
func (t *Task) readSigFrame(sp uintptr) (abi.UContext, []byte, error) {
	var uc abi.UContext
	ucBytes := abi.AsBytes(&uc)
	fpSize := platform.Host.Size
	fpAt := (sp + uintptr(abi.RTSigFrameSize) + 63) &^ 63
	if fpAt > sp {
		whole := t.sigFrameBuf(int(fpAt-sp) + fpSize)
		if _, err := t.MM().CopyIn(sp, whole); err == nil {
			copy(ucBytes, whole)
			if uintptr(uc.MContext.Fpstate) == fpAt {
				return uc, whole[fpAt-sp:], nil
			}
			return t.readXSave(uc)
		}
	}
	if err := CopyIn(t, sp, &uc); err != nil {
		return uc, nil, err
	}
	return t.readXSave(uc)
}

// readXSave reads the XSAVE area uc points to (nil if none).
func (t *Task) readXSave(uc abi.UContext) (abi.UContext, []byte, error) {
	fpSize := platform.Host.Size
	fpAddr := uc.MContext.Fpstate
	if fpAddr == 0 {
		return uc, nil, nil
	}
	fp := t.sigFrameBuf(fpSize)
	if err := t.CopyIn(uintptr(fpAddr), fp); err != nil {
		return uc, nil, err
	}
	return uc, fp, nil
}

// sigFrameBuf returns the task's scratch buffer for signal frames, n bytes
// long: delivery and rt_sigreturn build and read frames there instead of
// allocating two XSAVE-sized buffers per signal. Its contents are only
// valid until the next call.
func (t *Task) sigFrameBuf(n int) []byte {
	if cap(t.sigFrame) < n {
		t.sigFrame = make([]byte, n)
	}
	return t.sigFrame[:n]
}
