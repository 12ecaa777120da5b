package linux

import (
	"io"
	"math"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// copy_file_range as Linux 6.1 answers it (the syscall, then
// vfs_copy_file_range and generic_copy_file_checks, in their order): the
// descriptors (EBADF) and the offsets' pointers (EFAULT) first, then the
// flags (EINVAL), the two files (generic_file_rw_checks), their file
// systems, and only then the offsets and the length, which is cut at the
// input's end of file rather than refused when it is large. No file system
// of the sandbox has a copy_file_range method of its own, so files of two
// superblocks are EXDEV (the cross-filesystem copies of 5.3 to 5.18 were
// undone in 5.19); the sandbox's st_dev is its superblock's identity.

// copyRange is one copy_file_range: the files and where each is used
// (an explicit offset, or the file's position when its pointer is NULL).
type copyRange struct {
	in, out       *vfs.File
	inOff, outOff *int64
}

func copyFileRange(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	in, err := getFile(t, a.Int(0))
	if err != nil {
		return 0, err
	}
	defer in.DecRef()
	out, err := getFile(t, a.Int(2))
	if err != nil {
		return 0, err
	}
	defer out.DecRef()
	c := copyRange{in: in, out: out}
	if c.inOff, err = copyInLoff(t, a.Pointer(1)); err != nil {
		return 0, err
	}
	if c.outOff, err = copyInLoff(t, a.Pointer(3)); err != nil {
		return 0, err
	}
	if a.Uint(5) != 0 {
		return 0, unix.EINVAL
	}
	count, err := c.checks(t, uint64(a.Int64(4)))
	if err != nil || count == 0 {
		return 0, err
	}
	n, err := transfer(t, endpoint{in, c.inOff}, endpoint{out, c.outOff}, min(count, usermem.MaxRW))
	if err != nil {
		return 0, err
	}
	if err := copyOutOffset(t, a.Pointer(1), c.inOff); err != nil {
		return 0, err
	}
	return uintptr(n), copyOutOffset(t, a.Pointer(3), c.outOff)
}

// copyInLoff reads a loff_t pointer argument (nil for NULL), any value:
// copy_file_range checks the offsets only once it has checked the files.
func copyInLoff(t *kernel.Task, addr uintptr) (*int64, error) {
	if addr == 0 {
		return nil, nil
	}
	var off int64
	if err := kernel.CopyIn(t, addr, &off); err != nil {
		return nil, err
	}
	return &off, nil
}

// checks is generic_copy_file_checks and the rw_verify_area calls after
// it: the count to copy (0: nothing to do), or why not.
func (c copyRange) checks(t *kernel.Task, count uint64) (int64, error) {
	if err := regularPair(c.in, c.out); err != nil {
		return 0, err
	}
	if !c.in.Readable() || !c.out.Writable() {
		return 0, unix.EBADF
	}
	inSt, err := c.in.Stat()
	if err != nil {
		return 0, err
	}
	outSt, err := c.out.Stat()
	if err != nil {
		return 0, err
	}
	if inSt.Dev != outSt.Dev {
		return 0, unix.EXDEV
	}
	if c.out.Immutable() {
		return 0, unix.EPERM
	}
	posIn, posOut := position(t, c.in, c.inOff), position(t, c.out, c.outOff)
	if uint64(posIn)+count < uint64(posIn) || uint64(posOut)+count < uint64(posOut) {
		return 0, unix.EOVERFLOW
	}
	// Cut at the input's end of file.
	if posIn >= inSt.Size {
		count = 0
	} else {
		count = min(count, uint64(inSt.Size-posIn))
	}
	n := int64(count)
	// No overlapping copy within one file.
	if inSt.Ino == outSt.Ino && posOut+n > posIn && posOut < posIn+n {
		return 0, unix.EINVAL
	}
	// rw_verify_area of each side.
	if posIn < 0 || posOut < 0 || posOut > math.MaxInt64-n {
		return 0, unix.EINVAL
	}
	return n, nil
}

// position is where a side of the copy starts: its explicit offset, or
// the file's position.
func position(t *kernel.Task, f *vfs.File, off *int64) int64 {
	if off != nil {
		return *off
	}
	pos, err := f.Seek(t.Ctx(), 0, io.SeekCurrent)
	if err != nil {
		return 0
	}
	return pos
}
