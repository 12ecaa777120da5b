package abi

// System V shared memory commands (linux/shm.h) that
// gvisor.dev/gvisor/pkg/abi/linux does not define.
const (
	// SHM_STAT_ANY is SHM_STAT without the read permission check.
	SHM_STAT_ANY = 15
)
