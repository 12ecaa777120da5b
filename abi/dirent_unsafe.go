package abi

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// A directory record of getdents64 is unix.Dirent (struct linux_dirent64)
// cut after its name: its fixed part, up to d_name, then the name, a NUL
// and padding to 8 bytes. The old getdents writes struct linux_dirent,
// whose fixed part is the same up to d_reclen, with d_name where
// linux_dirent64 has d_type, and d_type in the record's last byte.
const (
	// Dirent64NameOffset is offsetof(struct linux_dirent64, d_name).
	Dirent64NameOffset = int(unsafe.Offsetof(unix.Dirent{}.Name))
	// DirentNameOffset is offsetof(struct linux_dirent, d_name).
	DirentNameOffset = int(unsafe.Offsetof(unix.Dirent{}.Type))
)
