package abi

// SigsetArgpack is pselect6's sixth argument: the signal mask to wait
// with and its size (struct sigset_argpack of fs/select.c, which no
// exported header declares).
type SigsetArgpack struct {
	Mask uint64 // address of a sigset_t, or 0
	Size uint64
}

// STICKY_TIMEOUTS is the personality(2) flag (include/uapi/linux/personality.h)
// under which select, pselect6 and ppoll leave their timeout argument as
// it was, and an interrupted call is not restarted (poll_select_finish).
const STICKY_TIMEOUTS = 0x4000000
