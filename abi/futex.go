package abi

// FutexWaitv is struct futex_waitv (include/uapi/linux/futex.h), one
// word of futex_waitv(2)'s array.
type FutexWaitv struct {
	Val      uint64
	Uaddr    uint64
	Flags    uint32
	Reserved uint32
}

// futex_waitv's limits and flags (include/uapi/linux/futex.h).
const (
	FutexWaitvMax  = 128
	Futex2SizeU32  = 0x02
	Futex2SizeMask = 0x03
	Futex2NUMA     = 0x04
	Futex2Private  = 128
)
