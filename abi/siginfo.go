package abi

// si_code values of a SIGSEGV (asm-generic/siginfo.h), which neither
// pkg/abi/linux nor x/sys defines.
const (
	SEGV_MAPERR = 1 // address not mapped
	SEGV_ACCERR = 2 // access not allowed by the mapping
	SEGV_PKUERR = 4 // access refused by a protection key
)

// SignalfdSiginfo is struct signalfd_siginfo (linux/signalfd.h) whole:
// pkg/abi/linux's SignalfdSiginfo leaves out ssi_syscall, ssi_call_addr and
// ssi_arch, which a SIGSYS record has.
type SignalfdSiginfo struct {
	Signo    uint32
	Errno    int32
	Code     int32
	PID      uint32
	UID      uint32
	FD       int32
	TID      uint32
	Band     uint32
	Overrun  uint32
	TrapNo   uint32
	Status   int32
	Int      int32
	Ptr      uint64
	UTime    uint64
	STime    uint64
	Addr     uint64
	AddrLSB  uint16
	_        uint16
	Syscall  int32
	CallAddr uint64
	Arch     uint32
	_        [28]uint8
}

// SigChld is siginfo_t's _sigchld member, the Fields of a
// linux.SignalInfo about a child: pkg/abi/linux has accessors for the pid,
// uid and status, not for the CPU times.
type SigChld struct {
	PID    int32
	UID    uint32
	Status int32
	_      int32
	UTime  int64
	STime  int64
}
