package abi

// kcmp(2) types (include/uapi/linux/kcmp.h), which pkg/abi/linux lacks.
const (
	KCMP_FILE = iota
	KCMP_VM
	KCMP_FILES
	KCMP_FS
	KCMP_SIGHAND
	KCMP_IO
	KCMP_SYSVSEM
	KCMP_EPOLL_TFD
	KCMP_TYPES
)
