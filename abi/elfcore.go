package abi

// ElfPrstatus is struct elf_prstatus (linux/elfcore.h, x86-64): a thread's
// NT_PRSTATUS note in a core file.
type ElfPrstatus struct {
	SigSigno, SigCode, SigErrno int32 // struct elf_siginfo
	CurSig                      int16
	_                           [2]byte
	SigPend, SigHold            uint64
	Pid, PPid, Pgrp, Sid        int32
	UTime, STime                Timeval
	CUTime, CSTime              Timeval
	Reg                         [27]uint64 // elf_gregset_t: struct user_regs_struct (platform.Registers)
	FPValid                     int32
	_                           [4]byte
}

// Timeval is struct __kernel_old_timeval.
type Timeval struct{ Sec, Usec int64 }

// ElfPrpsinfo is struct elf_prpsinfo (linux/elfcore.h, x86-64): the
// process's NT_PRPSINFO note.
type ElfPrpsinfo struct {
	State, Sname, Zomb, Nice int8
	_                        [4]byte
	Flag                     uint64
	UID, GID                 uint32
	Pid, PPid, Pgrp, Sid     int32
	Fname                    [16]byte
	Psargs                   [80]byte
}
