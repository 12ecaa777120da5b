package systrap

import (
	"encoding/binary"
	"errors"

	"runsc-lite/platform"
	"runsc-lite/sysmsg"
)

// The kernel's signal frame for x86-64: struct ucontext (with struct
// sigcontext as uc_mcontext) and siginfo_t. Offsets are from the start of
// the ucontext.
const (
	ucGregs       = 40
	ucCSGSFS      = ucGregs + 18*8
	ucErr         = ucGregs + 19*8
	ucTrapno      = ucGregs + 20*8
	ucCR2         = ucGregs + 22*8
	ucFPState     = ucGregs + 23*8
	ucSigmask     = ucFPState + 8 + 8*8
	ucontextSize  = ucSigmask + 8 // up to and with uc_sigmask
	siginfoSize   = 128
	fpSWReserved  = 464 // struct _fpx_sw_bytes in the FXSAVE area
	fpXstateMagic = 0x46505853

	pageFaultTrap = 14
	pfWrite       = 1 << 1
	pfInstruction = 1 << 4
)

// gregOrder maps uc_mcontext's general registers, in order, to Registers.
func gregOrder(r *platform.Registers) [18]*uint64 {
	return [18]*uint64{
		&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15,
		&r.Rdi, &r.Rsi, &r.Rbp, &r.Rbx, &r.Rdx, &r.Rax, &r.Rcx, &r.Rsp,
		&r.Rip, &r.Eflags,
	}
}

// frame is a signal frame inside a thread's slot, as the sentry sees it.
type frame struct {
	uc, si, fp []byte
}

var errBadFrame = errors.New("signal frame outside the thread's signal stack")

// locateFrame finds the frame the handler published in m, refusing any
// pointer that leads outside slot's signal stack: the application can write
// m and the frame.
func locateFrame(sh *sysmsg.Shared, slot int, m *sysmsg.Msg) (frame, error) {
	var f frame
	var ok1, ok2, ok3 bool
	f.uc, ok1 = sh.Bytes(slot, uintptr(m.Ucontext), ucontextSize)
	f.si, ok2 = sh.Bytes(slot, uintptr(m.Siginfo), siginfoSize)
	if !ok1 || !ok2 {
		return f, errBadFrame
	}
	f.fp, ok3 = sh.Bytes(slot, uintptr(le.Uint64(f.uc[ucFPState:])), uintptr(platform.Host.Size))
	if !ok3 {
		return f, errBadFrame
	}
	return f, nil
}

var le = binary.LittleEndian

// checkXSAVE reports whether the kernel's frame uses the XSAVE layout and
// size that platform.FPState assumes.
func (f frame) checkXSAVE() bool {
	if platform.Host.Size == 512 {
		return true
	}
	sw := f.fp[fpSWReserved:]
	return le.Uint32(sw) == fpXstateMagic && le.Uint32(sw[16:]) == uint32(platform.Host.Size)
}

func (f frame) loadRegs(r *platform.Registers) {
	for i, p := range gregOrder(r) {
		*p = le.Uint64(f.uc[ucGregs+8*i:])
	}
	r.Cs = uint64(le.Uint16(f.uc[ucCSGSFS:]))
	r.Gs = uint64(le.Uint16(f.uc[ucCSGSFS+2:]))
	r.Fs = uint64(le.Uint16(f.uc[ucCSGSFS+4:]))
	r.Ss = uint64(le.Uint16(f.uc[ucCSGSFS+6:]))
	r.Ds, r.Es = 0, 0
	r.OrigRax = ^uint64(0)
}

// storeRegs writes into the frame the registers in r that differ from
// prev, the values loaded from it: every line of the frame the sentry
// writes must travel back to the stub's CPU. The segment selectors are
// forced to the user ones, which rt_sigreturn requires.
func (f frame) storeRegs(r, prev *platform.Registers) {
	next, old := gregOrder(r), gregOrder(prev)
	for i, p := range next {
		if *p != *old[i] {
			le.PutUint64(f.uc[ucGregs+8*i:], *p)
		}
	}
	if prev.Cs != platform.UserCS || prev.Ss != platform.UserSS {
		le.PutUint16(f.uc[ucCSGSFS:], platform.UserCS)
		le.PutUint16(f.uc[ucCSGSFS+6:], platform.UserSS)
	}
}

// loadFP makes the frame the lazy source of fp: it stays valid until the
// thread runs again (the context loads it before that) or the address space
// is released, after which the thread's FP state no longer matters and
// reads as a fresh thread's.
func (f frame) loadFP(fp *platform.FPState, as *addressSpace) {
	fp.SetLazy(func(b []byte) {
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
		copy(b, f.fp)
	})
}

// storeFP writes fp into the frame, keeping the frame's software-reserved
// bytes, which tell rt_sigreturn how the area is laid out.
func (f frame) storeFP(fp *platform.FPState) {
	fp.Sanitize()
	var sw [48]byte
	copy(sw[:], f.fp[fpSWReserved:])
	copy(f.fp, fp.Bytes())
	copy(f.fp[fpSWReserved:], sw[:])
}

func (f frame) siginfo() platform.SignalInfo {
	var s platform.SignalInfo
	copy(s.Raw[:], f.si)
	s.Signo = int32(le.Uint32(f.si[0:]))
	s.Code = int32(le.Uint32(f.si[8:]))
	s.Addr = uintptr(le.Uint64(f.si[16:]))
	return s
}

// clearSigmask sets the host signal mask rt_sigreturn restores to empty.
func (f frame) clearSigmask() { le.PutUint64(f.uc[ucSigmask:], 0) }

// seccompSyscall returns si_syscall and si_arch of a SIGSYS siginfo.
func (f frame) seccompSyscall() (nr uint64, arch uint32) {
	return uint64(le.Uint32(f.si[24:])), le.Uint32(f.si[28:])
}

// fault describes a SIGSEGV from a page fault; ok is false for other
// SIGSEGVs (a general protection fault, say).
func (f frame) fault() (platform.Fault, bool) {
	if le.Uint64(f.uc[ucTrapno:]) != pageFaultTrap {
		return platform.Fault{}, false
	}
	code := le.Uint64(f.uc[ucErr:])
	access := platform.AccessRead
	switch {
	case code&pfInstruction != 0:
		access = platform.AccessExec
	case code&pfWrite != 0:
		access = platform.AccessWrite
	}
	return platform.Fault{Addr: uintptr(le.Uint64(f.uc[ucCR2:])), Access: access}, true
}
