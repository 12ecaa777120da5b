package abi

// SigsetArgpack is pselect6's sixth argument: the signal mask to wait
// with and its size (struct sigset_argpack of fs/select.c, which no
// exported header declares).
type SigsetArgpack struct {
	Mask uint64 // address of a sigset_t, or 0
	Size uint64
}
