package abi

// The sizes of PTRACE_GET_SYSCALL_INFO's answers
// (include/uapi/linux/ptrace.h).
const (
	// PtraceSyscallInfoHeader is the size of the members before the
	// union, what a stop that is no syscall stop answers; an exit
	// answers up to is_error, PtraceSyscallInfoExitSize.
	PtraceSyscallInfoHeader   = 24
	PtraceSyscallInfoExitSize = PtraceSyscallInfoHeader + 8 + 1
)

// PtraceSyscallInfo is struct ptrace_syscall_info with its entry member
// (the union's largest but seccomp's): what PTRACE_GET_SYSCALL_INFO
// copies out, up to the size the tracer asked for.
type PtraceSyscallInfo struct {
	Op                 uint8
	_                  [3]uint8
	Arch               uint32
	InstructionPointer uint64
	StackPointer       uint64
	// Entry: Nr and Args; exit: Nr is rval (s64), Args[0]'s low byte
	// is_error.
	Nr   uint64
	Args [6]uint64
}

// PtraceSyscallInfoExit is the exit member of the union, over Nr and
// Args of PtraceSyscallInfo.
type PtraceSyscallInfoExit struct {
	Op                 uint8
	_                  [3]uint8
	Arch               uint32
	InstructionPointer uint64
	StackPointer       uint64
	Rval               int64
	IsError            uint8
	_                  [7 + 40]uint8
}

// PtracePeekSigInfoArgs is struct ptrace_peeksiginfo_args, the argument
// of PTRACE_PEEKSIGINFO: from the Off-th pending signal, Nr of them, from
// the process's shared queue if Flags has PTRACE_PEEKSIGINFO_SHARED.
type PtracePeekSigInfoArgs struct {
	Off   uint64
	Flags uint32
	Nr    int32
}
