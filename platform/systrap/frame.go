package systrap

import (
	"errors"

	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sysmsg"
)

// The kernel's signal frame for x86-64 (abi.RTSigFrame), as the stub's
// handler publishes it in sysmsg: its ucontext, its siginfo and its XSAVE
// area, each in the thread's signal stack.

// The page fault's trap number and error code bits (arch/x86's
// X86_TRAP_PF and X86_PF_*).
const (
	pageFaultTrap = 14
	pfWrite       = 1 << 1
	pfInstruction = 1 << 4
)

// frame is a signal frame inside a thread's slot, as the sentry sees it:
// typed views of the shared memory, which the application can write too.
type frame struct {
	uc *abi.UContext
	si *linux.SignalInfo
	fp []byte
}

var errBadFrame = errors.New("signal frame outside the thread's signal stack")

// locateFrame finds the frame the handler published in m, refusing any
// pointer that leads outside slot's signal stack, or that is misaligned:
// the application can write m and the frame.
func locateFrame(sh *sysmsg.Shared, slot int, m *sysmsg.Msg) (frame, error) {
	var f frame
	ucb, ok1 := sh.Bytes(slot, uintptr(m.Ucontext), uintptr(abi.UContextSize))
	sib, ok2 := sh.Bytes(slot, uintptr(m.Siginfo), uintptr((*linux.SignalInfo)(nil).SizeBytes()))
	if !ok1 || !ok2 {
		return f, errBadFrame
	}
	f.uc, f.si = abi.View[abi.UContext](ucb), abi.View[linux.SignalInfo](sib)
	if f.uc == nil || f.si == nil {
		return f, errBadFrame
	}
	var ok3 bool
	f.fp, ok3 = sh.Bytes(slot, uintptr(f.uc.MContext.Fpstate), uintptr(platform.Host.Size))
	if !ok3 {
		return f, errBadFrame
	}
	return f, nil
}

// checkXSAVE reports whether the kernel's frame uses the XSAVE layout and
// size that platform.FPState assumes.
func (f frame) checkXSAVE() bool {
	if platform.Host.Size == 512 {
		return true
	}
	sw := abi.View[abi.FPXSwBytes](f.fp[abi.FPXSwBytesOffset:])
	return sw != nil && sw.Magic1 == abi.FP_XSTATE_MAGIC1 && sw.XstateSize == uint32(platform.Host.Size)
}

func (f frame) loadRegs(r *platform.Registers) {
	mc := &f.uc.MContext
	saved := mc.Gregs()
	for i, p := range r.SigContextGregs() {
		*p = *saved[i]
	}
	r.Cs, r.Gs, r.Fs, r.Ss = uint64(mc.Cs), uint64(mc.Gs), uint64(mc.Fs), uint64(mc.Ss)
	r.Ds, r.Es = 0, 0
	r.OrigRax = ^uint64(0)
}

// storeRegs writes into the frame the registers in r that differ from
// prev, the values loaded from it: every line of the frame the sentry
// writes must travel back to the stub's CPU. The segment selectors are
// forced to the user ones, which rt_sigreturn requires.
func (f frame) storeRegs(r, prev *platform.Registers) {
	mc := &f.uc.MContext
	next, old, dst := r.SigContextGregs(), prev.SigContextGregs(), mc.Gregs()
	for i, p := range next {
		if *p != *old[i] {
			*dst[i] = *p
		}
	}
	if prev.Cs != platform.UserCS || prev.Ss != platform.UserSS {
		mc.Cs, mc.Ss = platform.UserCS, platform.UserSS
	}
}

// fillFP copies the FP state of the frame fp is lazily loaded from
// (context.lazyFP, set by Switch) into b. The frame stays valid until the
// thread runs again (the context loads fp before that) or the address space
// is released, after which the thread's FP state no longer matters and
// reads as a fresh thread's.
func (l *lazyFP) fillFP(b []byte) {
	as := l.as
	// TryRLock, not RLock: the caller may hold the read lock already,
	// and a second RLock would wait for a pending Release forever.
	if !as.use.TryRLock() {
		copy(b, platform.NewFPState().Bytes())
		return
	}
	defer as.use.RUnlock()
	if as.released.Load() {
		copy(b, platform.NewFPState().Bytes())
		return
	}
	copy(b, l.fp)
}

// storeFP writes fp into the frame, keeping the frame's software-reserved
// bytes, which tell rt_sigreturn how the area is laid out.
func (f frame) storeFP(fp *platform.FPState) {
	fp.Sanitize()
	var sw abi.FPXSwBytes
	swb := abi.AsBytes(&sw)
	copy(swb, f.fp[abi.FPXSwBytesOffset:])
	copy(f.fp, fp.Bytes())
	copy(f.fp[abi.FPXSwBytesOffset:], swb)
}

func (f frame) siginfo() linux.SignalInfo { return *f.si }

// clearSigmask sets the host signal mask rt_sigreturn restores to empty.
func (f frame) clearSigmask() { f.uc.Sigmask = 0 }

// seccompSyscall returns si_syscall and si_arch of a SIGSYS siginfo.
func (f frame) seccompSyscall() (nr uint64, arch uint32) {
	return uint64(uint32(f.si.Syscall())), f.si.Arch()
}

// fault describes a SIGSEGV from a page fault; ok is false for other
// SIGSEGVs (a general protection fault, say).
func (f frame) fault() (platform.Fault, bool) {
	mc := &f.uc.MContext
	if mc.Trapno != pageFaultTrap {
		return platform.Fault{}, false
	}
	access := platform.AccessRead
	switch {
	case mc.Err&pfInstruction != 0:
		access = platform.AccessExec
	case mc.Err&pfWrite != 0:
		access = platform.AccessWrite
	}
	return platform.Fault{Addr: uintptr(mc.Cr2), Access: access}, true
}

// lazyFP is where a lazily loaded FP state comes from: a frame's XSAVE
// area in an address space.
type lazyFP struct {
	fp []byte
	as *addressSpace
}
