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

// SeccompNotifAddFD is struct seccomp_notif_addfd
// (include/uapi/linux/seccomp.h), SECCOMP_IOCTL_NOTIF_ADDFD's argument;
// pkg/abi/linux has none.
type SeccompNotifAddFD struct {
	ID         uint64
	Flags      uint32 // unix.SECCOMP_ADDFD_FLAG_SETFD, unix.SECCOMP_ADDFD_FLAG_SEND
	SrcFD      uint32 // the supervisor's descriptor
	NewFD      uint32 // with SETFD, the target's descriptor to use
	NewFDFlags uint32 // O_CLOEXEC or 0
}

// SECCOMP_NOTIFY_ADDFD_SIZE_VER0 is the size of the first
// seccomp_notif_addfd (include/linux/seccomp.h), the least ADDFD takes.
const SECCOMP_NOTIFY_ADDFD_SIZE_VER0 = 24

// SECCOMP_IOCTL_NOTIF_ID_VALID_WRONG_DIR is SECCOMP_IOCTL_NOTIF_ID_VALID
// as Linux 5.0 to 5.6 defined it (_IOR), which Linux still accepts.
const SECCOMP_IOCTL_NOTIF_ID_VALID_WRONG_DIR = 0x80082102
