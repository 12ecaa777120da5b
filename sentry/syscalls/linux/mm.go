package linux

import (
	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
)

func registerMM(st *kernel.SyscallTable) {
	reg(st, unix.SYS_MMAP, "mmap", mmap, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgFD, kernel.ArgHex)
	reg(st, unix.SYS_MUNMAP, "munmap", munmap, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_MPROTECT, "mprotect", mprotect, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_PKEY_MPROTECT, "pkey_mprotect", pkeyMprotect, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_PKEY_ALLOC, "pkey_alloc", pkeyAlloc, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_PKEY_FREE, "pkey_free", pkeyFree, kernel.ArgInt)
	reg(st, unix.SYS_BRK, "brk", brk, kernel.ArgHex)
	reg(st, unix.SYS_MREMAP, "mremap", mremap, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_MADVISE, "madvise", madvise, kernel.ArgHex, kernel.ArgHex, kernel.ArgInt)
	reg(st, unix.SYS_MSYNC, "msync", msync, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_REMAP_FILE_PAGES, "remap_file_pages", remapFilePages, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_MINCORE, "mincore", mincore, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
	reg(st, unix.SYS_MSEAL, "mseal", mseal, kernel.ArgHex, kernel.ArgHex, kernel.ArgHex)
}

func mmap(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	o := mm.MmapOpts{
		Addr: a.Pointer(0), Length: a.Pointer(1), Prot: int(a.Int(2)), Flags: int(a.Int(3)),
		Offset: a.Int64(5),
	}
	if o.Flags&unix.MAP_ANONYMOUS != 0 {
		o.Offset = 0
	} else if err := mappedFile(t, a.Int(4), &o); err != nil {
		return 0, err
	}
	return limitedMM(t).Mmap(o)
}

// limitedMM returns t's address space held to t's process's RLIMIT_AS and
// RLIMIT_DATA for the call about to be made.
func limitedMM(t *kernel.Task) *mm.MemoryManager {
	t.MM().SetRlimits(t.TG.MemoryRlimits())
	return t.MM()
}

func munmap(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.MM().Munmap(a.Pointer(0), a.Pointer(1))
}

func mprotect(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, limitedMM(t).Mprotect(a.Pointer(0), a.Pointer(1), int(a.Int(2)))
}

// pkeyMprotect is mprotect with a memory protection key, of which the
// sandbox has none (pkeyAlloc): only NoProtectionKey is accepted.
func pkeyMprotect(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, limitedMM(t).MprotectKey(a.Pointer(0), a.Pointer(1), int(a.Int(2)), int(a.Int(3)))
}

// pkeyAlloc answers as Linux on a CPU without protection keys (no pku in
// the sandbox's /proc/cpuinfo): flags and access rights are checked, and
// no key is left (ENOSPC). (Linux on such a CPU answers a process's
// first valid call with EINVAL, from arch_set_user_pkey_access, and
// ENOSPC after: the man page's ENOSPC is kept for every call.)
func pkeyAlloc(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(0) != 0 || a.Pointer(1)&^(abi.PKEY_DISABLE_ACCESS|abi.PKEY_DISABLE_WRITE) != 0 {
		return 0, unix.EINVAL
	}
	return 0, unix.ENOSPC
}

// pkeyFree frees a key pkeyAlloc gave, which it never does: EINVAL.
func pkeyFree(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, unix.EINVAL
}

// mseal seals mappings against changes (mm/mseal.go). Its flags are an
// unsigned long: any bit set is EINVAL.
func mseal(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if a.Pointer(2) != 0 {
		return 0, unix.EINVAL
	}
	return 0, t.MM().Mseal(a.Pointer(0), a.Pointer(1), 0)
}

func brk(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return limitedMM(t).Brk(a.Pointer(0)), nil
}

func mremap(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return limitedMM(t).Mremap(a.Pointer(0), a.Pointer(1), a.Pointer(2), int(a.Int(3)), a.Pointer(4))
}

// remapFilePages is the deprecated remap_file_pages(2), an mmap since
// Linux 4.0 (mm.RemapFilePages).
func remapFilePages(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, limitedMM(t).RemapFilePages(a.Pointer(0), a.Pointer(1), int(a.Int(2)), a.Pointer(3), int(a.Int(4)))
}

func madvise(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.MM().Madvise(a.Pointer(0), a.Pointer(1), int(a.Int(2)))
}

func msync(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return 0, t.MM().Msync(a.Pointer(0), a.Pointer(1), int(a.Int(2)))
}

func mincore(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	vec, err := t.MM().Mincore(a.Pointer(0), a.Pointer(1))
	if err != nil {
		return 0, err
	}
	return 0, t.CopyOut(a.Pointer(2), vec)
}
