package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// Hints about caching and residency. The host's page cache and memory
// manager serve the sandbox's files and memory, so these calls only
// validate their arguments as Linux does and succeed: application memory
// is never swapped out by the sentry (the host may still swap the stub's
// pages, which mlock does not prevent), and file data reaches its backing
// store as the host writes it back.
func registerHints(st *kernel.SyscallTable) {
	partial(st, unix.SYS_FADVISE64, "fadvise64", fadvise64, "advice is validated and ignored", kernel.ArgFD, kernel.ArgInt, kernel.ArgInt, kernel.ArgInt)
	partial(st, unix.SYS_READAHEAD, "readahead", readahead, "validated; the host's page cache reads ahead on its own", kernel.ArgFD, kernel.ArgInt, kernel.ArgInt)
	partial(st, unix.SYS_SYNC_FILE_RANGE, "sync_file_range", syncFileRange, "validated; data is written back when the host writes it back", kernel.ArgFD, kernel.ArgInt, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_MLOCK, "mlock", mlock, "recorded (VmLck); pages are not pinned on the host", kernel.ArgHex, kernel.ArgInt)
	partial(st, unix.SYS_MLOCK2, "mlock2", mlock2, "recorded (VmLck); pages are not pinned on the host", kernel.ArgHex, kernel.ArgInt, kernel.ArgHex)
	partial(st, unix.SYS_MUNLOCK, "munlock", munlock, "recorded (VmLck); pages are not pinned on the host", kernel.ArgHex, kernel.ArgInt)
	partial(st, unix.SYS_MLOCKALL, "mlockall", mlockall, "recorded (VmLck); pages are not pinned on the host", kernel.ArgHex)
	reg(st, unix.SYS_MUNLOCKALL, "munlockall", munlockall)
}

// hintFile returns the file fd names, refusing O_PATH descriptors as
// fdget does (EBADF).
func hintFile(t *kernel.Task, fd int32) (*vfs.File, unix.Stat_t, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return nil, unix.Stat_t{}, unix.EBADF
	}
	if f.Flags()&unix.O_PATH != 0 {
		f.DecRef()
		return nil, unix.Stat_t{}, unix.EBADF
	}
	st, err := f.Stat()
	if err != nil {
		f.DecRef()
		return nil, unix.Stat_t{}, err
	}
	return f, st, nil
}

func fadvise64(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, st, err := hintFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if st.Mode&unix.S_IFMT == unix.S_IFIFO {
		return 0, unix.ESPIPE
	}
	if a.Int(3) < unix.FADV_NORMAL || a.Int(3) > unix.FADV_NOREUSE {
		return 0, unix.EINVAL
	}
	return 0, nil
}

func readahead(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, st, err := hintFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if !f.Readable() {
		return 0, unix.EBADF
	}
	if m := st.Mode & unix.S_IFMT; m != unix.S_IFREG && m != unix.S_IFBLK {
		return 0, unix.EINVAL
	}
	return 0, nil
}

const syncFileRangeFlags = unix.SYNC_FILE_RANGE_WAIT_BEFORE | unix.SYNC_FILE_RANGE_WRITE | unix.SYNC_FILE_RANGE_WAIT_AFTER

func syncFileRange(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f, st, err := hintFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	off, n := a.Int64(1), a.Int64(2)
	end := uint64(off) + uint64(n)
	if a.Uint(3)&^syncFileRangeFlags != 0 || off < 0 || int64(end) < 0 || end < uint64(off) {
		return 0, unix.EINVAL
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG, unix.S_IFBLK, unix.S_IFDIR, unix.S_IFLNK:
		return 0, nil
	}
	return 0, unix.ESPIPE
}

// mlockRange checks that [addr, addr+length), widened to whole pages, is
// mapped: a hole is ENOMEM, a range that wraps EINVAL; and locks or
// unlocks it (package mm records locks; pages are not pinned on the host;
// mlockPopulate faults them in).
func mlockRange(t *kernel.Task, addr, length uintptr, locked bool) error {
	return t.MM().SetLocked(addr, length, locked)
}

// mlockPopulate is mlock's second step: Linux faults every page in, and a
// PROT_NONE page cannot be, which mlock reports as ENOMEM (the lock itself
// stays, as in Linux).
func mlockPopulate(t *kernel.Task, addr, length uintptr) error {
	if err := mlockRange(t, addr, length, true); err != nil {
		return err
	}
	t.MM().Populate(addr, length)
	end := addr + length
	for _, v := range t.MM().VMAs() {
		if v.Start < end && v.End > addr && v.Prot == unix.PROT_NONE {
			return unix.ENOMEM
		}
	}
	return nil
}

func mlock(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, mlockPopulate(t, a.Pointer(0), a.Pointer(1))
}

func mlock2(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Uint(2)&^unix.MLOCK_ONFAULT != 0 {
		return 0, unix.EINVAL
	}
	if a.Uint(2)&unix.MLOCK_ONFAULT != 0 {
		// Pages are locked as they are faulted in: none is populated now.
		return 0, mlockRange(t, a.Pointer(0), a.Pointer(1), true)
	}
	return 0, mlockPopulate(t, a.Pointer(0), a.Pointer(1))
}

func munlock(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, mlockRange(t, a.Pointer(0), a.Pointer(1), false)
}

func mlockall(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	f := a.Uint(0)
	if f == 0 || f&^(unix.MCL_CURRENT|unix.MCL_FUTURE|unix.MCL_ONFAULT) != 0 || f == unix.MCL_ONFAULT {
		return 0, unix.EINVAL
	}
	t.MM().LockAll(f&unix.MCL_CURRENT != 0, f&unix.MCL_FUTURE != 0)
	if f&unix.MCL_CURRENT != 0 && f&unix.MCL_ONFAULT == 0 {
		t.MM().Populate(0, mm.TaskSize)
	}
	return 0, nil
}

func munlockall(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	t.MM().UnlockAll()
	return 0, nil
}
