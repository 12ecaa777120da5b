package kernel

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/platform"
)

// The x86-64 signal frame (arch/x86/include/asm/sigframe.h):
// rt_sigframe { pretcode; ucontext; siginfo } followed, 64-byte aligned,
// by the XSAVE area and FP_XSTATE_MAGIC2.
const (
	frameUC        = 8                // ucontext within the frame
	ucStack        = 16               // uc_stack within ucontext
	ucMcontext     = 40               // uc_mcontext
	ucFPState      = ucMcontext + 184 // mcontext.fpstate
	ucSigmask      = ucMcontext + 256 // uc_sigmask
	ucontextSize   = ucSigmask + 8
	frameInfo      = frameUC + ucontextSize
	frameSize      = frameInfo + 128
	redZone        = 128
	fpXstateMagic1 = 0x46505853
	ucFlags        = 0x1 | 0x2 | 0x4 // UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
)

// gregs lists the sigcontext general registers in order.
func gregs(r *platform.Registers) []*uint64 {
	return []*uint64{&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15,
		&r.Rdi, &r.Rsi, &r.Rbp, &r.Rbx, &r.Rdx, &r.Rax, &r.Rcx, &r.Rsp, &r.Rip, &r.Eflags}
}

// altStack returns the task's sigaltstack: base, size, and whether it is
// enabled.
func (t *Task) altStack() (uint64, uint64, bool) {
	sp := binary.LittleEndian.Uint64(t.AltStack[0:])
	flags := binary.LittleEndian.Uint32(t.AltStack[8:])
	size := binary.LittleEndian.Uint64(t.AltStack[16:])
	return sp, size, flags&linux.SS_DISABLE == 0 && size != 0
}

// OnAltStack reports whether sp is inside the task's signal stack.
func (t *Task) OnAltStack(sp uint64) bool {
	base, size, ok := t.altStack()
	return ok && sp > base && sp <= base+size
}

// pushFrame builds the frame for a handled signal and points the task at
// the handler.
func (t *Task) pushFrame(sig int, si SigInfo, act [32]byte) error {
	flags := sigFlags(act)
	if flags&linux.SA_RESTORER == 0 {
		return unix.EFAULT
	}
	sp := t.Regs.Rsp - redZone
	base, size, altOK := t.altStack()
	onAlt := t.OnAltStack(t.Regs.Rsp)
	if flags&linux.SA_ONSTACK != 0 && altOK && !onAlt {
		sp = base + size
	}
	fpSize := uint64(platform.Host.Size)
	fpAddr := (sp - fpSize - 4) &^ 63
	frame := ((fpAddr - frameSize) &^ 15) - 8

	fp := append([]byte(nil), t.FP.Bytes()...)
	if len(fp) >= 512+64 {
		sw := fp[464:]
		binary.LittleEndian.PutUint32(sw[0:], fpXstateMagic1)
		binary.LittleEndian.PutUint32(sw[4:], uint32(fpSize+4))
		binary.LittleEndian.PutUint64(sw[8:], platform.Host.XCR0)
		binary.LittleEndian.PutUint32(sw[16:], uint32(fpSize))
	}
	fp = binary.LittleEndian.AppendUint32(fp, unix.FP_XSTATE_MAGIC2)
	if err := t.CopyOut(uintptr(fpAddr), fp); err != nil {
		return err
	}

	f := make([]byte, frameSize)
	binary.LittleEndian.PutUint64(f[0:], sigRestorer(act))
	uc := f[frameUC:]
	binary.LittleEndian.PutUint64(uc[0:], ucFlags)
	binary.LittleEndian.PutUint64(uc[ucStack:], base)
	ssFlags := uint32(0)
	switch {
	case !altOK:
		ssFlags = linux.SS_DISABLE
	case onAlt:
		ssFlags = linux.SS_ONSTACK
	}
	binary.LittleEndian.PutUint32(uc[ucStack+8:], ssFlags)
	binary.LittleEndian.PutUint64(uc[ucStack+16:], size)
	for i, p := range gregs(&t.Regs) {
		binary.LittleEndian.PutUint64(uc[ucMcontext+8*i:], *p)
	}
	seg := uc[ucMcontext+18*8:]
	binary.LittleEndian.PutUint16(seg[0:], platform.UserCS)
	binary.LittleEndian.PutUint16(seg[6:], platform.UserSS)
	if sig == int(unix.SIGSEGV) || sig == int(unix.SIGBUS) {
		binary.LittleEndian.PutUint64(uc[ucMcontext+22*8:], binary.LittleEndian.Uint64(si[16:]))
	}
	binary.LittleEndian.PutUint64(uc[ucFPState:], fpAddr)
	saved := t.SigMask()
	if t.savedMask != nil {
		saved, t.savedMask = *t.savedMask, nil
	}
	binary.LittleEndian.PutUint64(uc[ucSigmask:], saved)
	copy(f[frameInfo:], si[:])
	if err := t.CopyOut(uintptr(frame), f); err != nil {
		return err
	}

	mask := t.SigMask() | sigMaskOf(act)
	if flags&linux.SA_NODEFER == 0 {
		mask |= 1 << (sig - 1)
	}
	t.SetSigMask(mask &^ unblockable)
	t.Regs.Rsp = frame
	t.Regs.Rip = sigHandler(act)
	t.Regs.Rdi = uint64(sig)
	t.Regs.Rsi = frame + frameInfo
	t.Regs.Rdx = frame + frameUC
	t.Regs.Rax = 0
	t.Regs.Eflags &^= 1<<8 | 1<<10 | 1<<16 // TF, DF, RF
	t.Regs.OrigRax = ^uint64(0)
	t.FP = platform.NewFPState()
	return nil
}

// SigReturn restores the state saved by pushFrame (rt_sigreturn) and
// returns the restored rax.
func (t *Task) SigReturn() (uintptr, error) {
	uc := make([]byte, ucontextSize)
	addr := uintptr(t.Regs.Rsp)
	if err := t.CopyIn(addr, uc); err != nil {
		t.ExitGroup(0, int(unix.SIGSEGV))
		return 0, nil
	}
	regs := t.Regs
	for i, p := range gregs(&regs) {
		*p = binary.LittleEndian.Uint64(uc[ucMcontext+8*i:])
	}
	const userFlags = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x100 | 0x400 | 0x800 | 0x40000 | 0x10000
	regs.Eflags = regs.Eflags&userFlags | 0x202&^userFlags | t.Regs.Eflags&^userFlags
	regs.Cs, regs.Ss = platform.UserCS, platform.UserSS
	regs.OrigRax = ^uint64(0)
	if fpAddr := binary.LittleEndian.Uint64(uc[ucFPState:]); fpAddr != 0 {
		b := make([]byte, platform.Host.Size)
		if err := t.CopyIn(uintptr(fpAddr), b); err != nil {
			t.ExitGroup(0, int(unix.SIGSEGV))
			return 0, nil
		}
		fp := platform.NewFPState()
		fp.SetBytes(b)
		fp.Sanitize()
		t.FP = fp
	} else {
		t.FP = platform.NewFPState()
	}
	t.SetSigMask(binary.LittleEndian.Uint64(uc[ucSigmask:]) &^ unblockable)
	t.Regs = regs
	return uintptr(regs.Rax), nil
}
