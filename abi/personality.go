package abi

// Flags of a personality(2) persona (include/uapi/linux/personality.h)
// that change what the sentry does.
const (
	// ADDR_NO_RANDOMIZE makes an execve lay the new program out without
	// randomization (no PF_RANDOMIZE): a debugger sets it so that
	// addresses are the same from run to run.
	ADDR_NO_RANDOMIZE = 0x0040000
	// STICKY_TIMEOUTS makes select, pselect6 and ppoll leave their
	// timeout argument as it was, and not restart an interrupted call
	// (poll_select_finish).
	STICKY_TIMEOUTS = 0x4000000
)
