package platform

// Registers are the general-purpose registers of an x86-64 thread, in the
// order of the kernel's struct user_regs_struct (so that ptrace can use them
// as they are).
type Registers struct {
	R15, R14, R13, R12, Rbp, Rbx, R11, R10 uint64
	R9, R8, Rax, Rcx, Rdx, Rsi, Rdi        uint64
	// OrigRax is the syscall number at a syscall stop, ^0 otherwise.
	OrigRax         uint64
	Rip, Cs, Eflags uint64
	Rsp, Ss         uint64
	FsBase, GsBase  uint64
	Ds, Es, Fs, Gs  uint64
}

// User-mode segment selectors on x86-64 Linux.
const (
	UserCS = 0x33
	UserSS = 0x2b
)

// SyscallArgs returns the six syscall argument registers in order.
func (r *Registers) SyscallArgs() [6]uint64 {
	return [6]uint64{r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9}
}

// SigContextGregs returns r's general registers in the order of a signal
// frame's sigcontext, as abi.SigContext.Gregs does for the frame.
func (r *Registers) SigContextGregs() [18]*uint64 {
	return [18]*uint64{
		&r.R8, &r.R9, &r.R10, &r.R11, &r.R12, &r.R13, &r.R14, &r.R15,
		&r.Rdi, &r.Rsi, &r.Rbp, &r.Rbx, &r.Rdx, &r.Rax, &r.Rcx, &r.Rsp,
		&r.Rip, &r.Eflags,
	}
}
