package abi

// The start of an XSAVE area in standard format (Intel SDM vol. 1, 13.4),
// which the kernel puts in signal frames and ptrace's NT_X86_XSTATE: the
// 512-byte legacy region FXSAVE writes, then the 64-byte XSAVE header.
// Further components (AVX's upper halves...) lie at offsets CPUID gives.

// FXSave is the legacy region, struct _fpstate (bits/sigcontext.h; the
// kernel's struct _fpstate_64): x87 and SSE state, and the bytes software
// may use, where a signal frame keeps FPXSwBytes.
type FXSave struct {
	Cwd, Swd, Ftw, Fop uint16
	Rip, Rdp           uint64
	Mxcsr, MxcsrMask   uint32
	St                 [8][16]byte
	Xmm                [16][16]byte
	Reserved           [12]uint32
	SwReserved         FPXSwBytes
}

// FXSaveSize is sizeof(struct _fpstate).
const FXSaveSize = 512

// XSaveHeader is the XSAVE header, struct _xsave_hdr (the kernel's struct
// xstate_header): which components hold state (a clear bit means the
// initial state, whatever the area holds), the compacted-format word, and
// bytes XRSTOR requires to be zero.
type XSaveHeader struct {
	XstateBV uint64
	XcompBV  uint64
	Reserved [6]uint64
}

// XSave is the legacy region and the header, struct _xstate up to its
// ymmh.
type XSave struct {
	FX     FXSave
	Header XSaveHeader
}
