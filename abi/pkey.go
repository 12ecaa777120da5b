package abi

// pkey_alloc(2)'s access rights (include/uapi/asm-generic/mman-common.h),
// which pkg/abi/linux lacks.
const (
	PKEY_DISABLE_ACCESS = 0x1
	PKEY_DISABLE_WRITE  = 0x2
)
