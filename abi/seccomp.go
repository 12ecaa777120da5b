package abi

// SockFprog is struct sock_fprog (include/uapi/linux/filter.h) as the
// application passes it to seccomp(2): unix's and pkg/abi/linux's have a
// Go pointer for the filter, which application bytes may not be copied
// into.
type SockFprog struct {
	Len    uint16
	_      [6]byte
	Filter uint64 // struct sock_filter *
}

// Bounds of a seccomp filter chain (kernel/seccomp.c), which no header
// exports.
const (
	SECCOMP_MAX_INSNS_PER_PATH = (1 << 18) / 8 // MAX_INSNS_PER_PATH: 32768 instructions
	SECCOMP_FILTER_OVERHEAD    = 4             // what each filter counts beyond its own
)
