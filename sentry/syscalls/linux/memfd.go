package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/tmpfs"
	"runsc-lite/sentry/kernel"
)

func registerMemfd(st *kernel.SyscallTable) {
	partial(st, unix.SYS_MEMFD_CREATE, "memfd_create", memfdCreate, "no huge pages", kernel.ArgString, kernel.ArgHex)
}

// memfdNameMax is the longest name memfd_create takes (249 bytes + NUL
// after the "memfd:" prefix makes NAME_MAX).
const memfdNameMax = 249

func memfdCreate(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := a.Uint(1)
	// MFD_NOEXEC_SEAL and MFD_EXEC came with Linux 6.3: 6.1 refuses them
	// as any unknown flag.
	if flags&^(unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING|unix.MFD_HUGETLB) != 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.MFD_HUGETLB != 0 {
		return 0, unix.EINVAL
	}
	name, err := t.CopyInString(a.Pointer(0), memfdNameMax)
	if err == unix.ENAMETOOLONG {
		return 0, unix.EINVAL
	}
	if err != nil {
		return 0, err
	}
	f, err := tmpfs.NewMemFD(t.Ctx(), t.FSCreds(), name, 0, flags&unix.MFD_ALLOW_SEALING != 0)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&unix.MFD_CLOEXEC != 0)
	return uintptr(fd), mfile(err)
}
