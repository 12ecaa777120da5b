package abi

import "gvisor.dev/gvisor/pkg/abi/linux"

// The x86-64 signal frame, which the sentry builds for an application's
// handler (sentry/kernel) and the host kernel builds for the stub's
// (platform/systrap): rt_sigframe { pretcode; ucontext; siginfo }, then,
// 64-byte aligned, the XSAVE area ending with FPXStateMagic2.

// SigContext is struct sigcontext (asm/sigcontext.h), a frame's
// uc_mcontext: the general registers, then the fault's details and the
// address of the XSAVE area.
type SigContext struct {
	R8, R9, R10, R11, R12, R13, R14, R15 uint64
	Rdi, Rsi, Rbp, Rbx, Rdx, Rax, Rcx    uint64
	Rsp, Rip, Eflags                     uint64
	Cs, Gs, Fs, Ss                       uint16
	Err, Trapno, Oldmask, Cr2            uint64
	Fpstate                              uint64
	Reserved1                            [8]uint64
}

// Gregs are the general registers of c in sigcontext order, R8 to Eflags.
func (c *SigContext) Gregs() [18]*uint64 {
	return [18]*uint64{
		&c.R8, &c.R9, &c.R10, &c.R11, &c.R12, &c.R13, &c.R14, &c.R15,
		&c.Rdi, &c.Rsi, &c.Rbp, &c.Rbx, &c.Rdx, &c.Rax, &c.Rcx, &c.Rsp,
		&c.Rip, &c.Eflags,
	}
}

// UContext is the kernel's struct ucontext (asm-generic/ucontext.h), whose
// mask is the kernel's 8-byte sigset, last.
type UContext struct {
	Flags    uint64
	Link     uint64
	Stack    linux.SignalStack
	MContext SigContext
	Sigmask  linux.SignalSet
}

// uc_flags (arch/x86/include/uapi/asm/ucontext.h).
const (
	UC_FP_XSTATE         = 0x1
	UC_SIGCONTEXT_SS     = 0x2
	UC_STRICT_RESTORE_SS = 0x4
)

// RTSigFrame is struct rt_sigframe (arch/x86/include/asm/sigframe.h, not a
// uapi header): the handler returns to Pretcode, sa_restorer, which calls
// rt_sigreturn with the stack pointer at UC.
type RTSigFrame struct {
	Pretcode uint64
	UC       UContext
	Info     linux.SignalInfo
}

// FPXSwBytes is struct _fpx_sw_bytes (asm/sigcontext.h), kept at
// FPXSwBytesOffset in the software-reserved bytes of a frame's FXSAVE area:
// it tells rt_sigreturn that an XSAVE area of XstateSize bytes follows,
// ending with FPXStateMagic2 at ExtendedSize-4.
type FPXSwBytes struct {
	Magic1       uint32
	ExtendedSize uint32
	Xfeatures    uint64
	XstateSize   uint32
	Padding      [7]uint32
}

// FPXSwBytesOffset is where FPXSwBytes is in the FXSAVE area.
const FPXSwBytesOffset = 464

// FP_XSTATE_MAGIC1 marks FPXSwBytes as valid (asm/sigcontext.h);
// FP_XSTATE_MAGIC2 (x/sys/unix) ends the XSAVE area.
const FP_XSTATE_MAGIC1 = 0x46505853
