package dev

import (
	"context"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// Loop devices: /dev/loop-control and /dev/loop0 to /dev/loop7, block
// devices whose blocks are a file of the sandbox (loop(4)).
//
// Decision: the sandbox serves loop devices so that programs that need a
// block device get one (LTP's tests acquire one before anything else, mkfs
// formats one), its data in a file the sandbox already holds, which never
// reaches the host. It has no filesystem that lives on a block device, so
// mounting one is ENODEV (see the syscall mount and tools/ltp/README.md).
// A loop device cannot be backed by a loop device (EINVAL), which keeps
// reads from going round a cycle of devices; partitions are not scanned.

const (
	loopCount        = 8
	loopMajor        = 7
	loopControlMinor = 237
	diskGroup        = 6 // the "disk" group, which owns block devices
	sectorSize       = 512
)

// loop is one loop device's state, shared by every open file of it.
type loop struct {
	n int

	mu        sync.Mutex
	backing   *vfs.File       // nil while free; guarded by mu
	info      unix.LoopInfo64 // offset, size limit, flags, names; guarded by mu
	blockSize uint32          // guarded by mu
	readOnly  bool            // guarded by mu
}

// loopFlagsSettable are the LO_FLAGS_ that LOOP_SET_STATUS may change.
const loopFlagsSettable = unix.LO_FLAGS_AUTOCLEAR | unix.LO_FLAGS_PARTSCAN

// loopDevice is /dev/loopN.
type loopDevice struct {
	st unix.Stat_t
	l  *loop
}

func (d *loopDevice) Stat(ctx context.Context) (unix.Stat_t, error) { return d.st, nil }

// BirthTime implements vfs.BirthTimer.
func (d *loopDevice) BirthTime(ctx context.Context) vfs.Birth { return born(d.st) }

func (d *loopDevice) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return &loopFile{l: d.l}, nil
}

// loopControl is /dev/loop-control.
type loopControl struct {
	st    unix.Stat_t
	loops []*loop
}

func (c *loopControl) Stat(ctx context.Context) (unix.Stat_t, error) { return c.st, nil }

// BirthTime implements vfs.BirthTimer.
func (c *loopControl) BirthTime(ctx context.Context) vfs.Birth { return born(c.st) }

func (c *loopControl) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return &controlFile{loops: c.loops}, nil
}

// controlFile is an open /dev/loop-control.
type controlFile struct{ loops []*loop }

func (f *controlFile) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EINVAL
}

func (f *controlFile) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EINVAL
}

func (f *controlFile) Release() {}

// Ioctl implements vfs.Ioctler: LOOP_CTL_GET_FREE returns the first free
// device; there are loopCount, and no more can be added (ENOSPC).
func (f *controlFile) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	switch cmd {
	case unix.LOOP_CTL_GET_FREE:
		for _, l := range f.loops {
			l.mu.Lock()
			free := l.backing == nil
			l.mu.Unlock()
			if free {
				return uintptr(l.n), nil
			}
		}
		return 0, unix.ENOSPC
	case unix.LOOP_CTL_ADD, unix.LOOP_CTL_REMOVE:
		if arg < loopCount {
			return 0, unix.EEXIST
		}
		return 0, unix.ENOSPC
	}
	return 0, unix.ENOTTY
}

// loopFile is an open /dev/loopN.
type loopFile struct{ l *loop }

// bound returns the backing file with a reference, the offset of the
// device's first byte in it and the device's size, or a nil file.
func (l *loop) bound(ctx context.Context) (*vfs.File, int64, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.backing == nil {
		return nil, 0, 0
	}
	l.backing.IncRef()
	return l.backing, int64(l.info.Offset), l.sizeLocked(ctx)
}

// sizeLocked is the device's size: the backing file past the offset, at
// most the size limit, in whole sectors.
func (l *loop) sizeLocked(ctx context.Context) int64 {
	st, err := l.backing.StatCtx(ctx)
	if err != nil {
		return 0
	}
	size := st.Size - int64(l.info.Offset)
	if lim := int64(l.info.Sizelimit); lim > 0 && lim < size {
		size = lim
	}
	return max(size, 0) &^ (sectorSize - 1)
}

// ReadAt implements vfs.FileImpl: a free device has no blocks.
func (f *loopFile) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	b, base, size := f.l.bound(ctx)
	if b == nil {
		return 0, nil
	}
	defer b.DecRef()
	if off >= size {
		return 0, nil
	}
	return b.PRead(ctx, usermem.BytesSequence(p[:min(int64(len(p)), size-off)]), base+off)
}

// WriteAt implements vfs.FileImpl: writing past the end is ENOSPC.
func (f *loopFile) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	b, base, size := f.l.bound(ctx)
	if b == nil {
		return 0, unix.ENOSPC
	}
	defer b.DecRef()
	f.l.mu.Lock()
	ro := f.l.readOnly
	f.l.mu.Unlock()
	switch {
	case ro:
		return 0, unix.EPERM
	case off < 0:
		return 0, unix.EINVAL
	case off >= size:
		return 0, unix.ENOSPC
	}
	return b.PWrite(ctx, usermem.BytesSequence(p[:min(int64(len(p)), size-off)]), base+off)
}

// Sync implements vfs.Syncer.
func (f *loopFile) Sync(ctx context.Context) error {
	b, _, _ := f.l.bound(ctx)
	if b == nil {
		return nil
	}
	defer b.DecRef()
	return b.Sync(ctx)
}

func (f *loopFile) Release() {}

// descriptors is the calling task as LOOP_SET_FD needs it (kernel.Task).
type descriptors interface {
	FDs() *vfs.FDTable
}

// Ioctl implements vfs.Ioctler: the loop driver's ioctls and the block
// device's.
func (f *loopFile) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	l := f.l
	switch cmd {
	case unix.LOOP_SET_FD:
		return 0, l.setFD(ctx, int32(arg))
	case unix.LOOP_CONFIGURE:
		var c unix.LoopConfig
		if err := mem.CopyIn(arg, abi.AsBytes(&c)); err != nil {
			return 0, err
		}
		if c.Size != 0 && !validBlockSize(c.Size) {
			return 0, unix.EINVAL
		}
		if err := l.setFD(ctx, int32(c.Fd)); err != nil {
			return 0, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		l.setStatusLocked(&c.Info)
		if c.Size != 0 {
			l.blockSize = c.Size
		}
		return 0, nil
	case unix.LOOP_CLR_FD:
		l.mu.Lock()
		b := l.backing
		l.backing, l.info, l.blockSize, l.readOnly = nil, unix.LoopInfo64{}, 0, false
		l.mu.Unlock()
		if b == nil {
			return 0, unix.ENXIO
		}
		b.DecRef()
		return 0, nil
	case unix.LOOP_SET_STATUS, unix.LOOP_SET_STATUS64:
		var info unix.LoopInfo64
		if cmd == unix.LOOP_SET_STATUS {
			var old abi.LoopInfo
			if err := mem.CopyIn(arg, abi.AsBytes(&old)); err != nil {
				return 0, err
			}
			info = unix.LoopInfo64{Offset: uint64(old.Offset), Flags: uint32(old.Flags)}
			copy(info.File_name[:], old.Name[:])
		} else if err := mem.CopyIn(arg, abi.AsBytes(&info)); err != nil {
			return 0, err
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.backing == nil {
			return 0, unix.ENXIO
		}
		l.setStatusLocked(&info)
		return 0, nil
	case unix.LOOP_GET_STATUS, unix.LOOP_GET_STATUS64:
		info, err := l.status(ctx)
		if err != nil {
			return 0, err
		}
		if cmd == unix.LOOP_GET_STATUS64 {
			return 0, mem.CopyOut(arg, abi.AsBytes(&info))
		}
		old := abi.LoopInfo{Number: int32(info.Number), Device: info.Device, Inode: info.Inode,
			Rdevice: info.Rdevice, Offset: int32(info.Offset), Flags: int32(info.Flags)}
		if info.Offset > 1<<31-1 {
			return 0, unix.EOVERFLOW
		}
		copy(old.Name[:], info.File_name[:])
		return 0, mem.CopyOut(arg, abi.AsBytes(&old))
	case unix.LOOP_SET_CAPACITY, unix.LOOP_SET_DIRECT_IO:
		if b, _, _ := l.bound(ctx); b != nil {
			b.DecRef()
			return 0, nil
		}
		return 0, unix.ENXIO
	case unix.LOOP_SET_BLOCK_SIZE:
		if !validBlockSize(uint32(arg)) || uint64(arg) > 1<<32-1 {
			return 0, unix.EINVAL
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.backing == nil {
			return 0, unix.ENXIO
		}
		l.blockSize = uint32(arg)
		return 0, nil
	}
	return l.blockIoctl(ctx, mem, cmd, arg)
}

// blockIoctl answers the ioctls of every block device (blkdev_ioctl).
func (l *loop) blockIoctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	l.mu.Lock()
	var size int64
	if l.backing != nil {
		size = l.sizeLocked(ctx)
	}
	logical, ro := uint32(sectorSize), l.readOnly
	if l.blockSize != 0 {
		logical = l.blockSize
	}
	l.mu.Unlock()
	putU32 := func(v uint32) error { return mem.CopyOut(arg, abi.AsBytes(&v)) }
	switch cmd {
	case unix.BLKGETSIZE64:
		v := uint64(size)
		return 0, mem.CopyOut(arg, abi.AsBytes(&v))
	case unix.BLKGETSIZE:
		v := uint64(size / sectorSize)
		return 0, mem.CopyOut(arg, abi.AsBytes(&v))
	case unix.BLKSSZGET, unix.BLKPBSZGET, unix.BLKIOMIN:
		return 0, putU32(logical)
	case unix.BLKBSZGET:
		if size%4096 == 0 {
			return 0, putU32(4096)
		}
		return 0, putU32(logical)
	case unix.BLKIOOPT, unix.BLKALIGNOFF, unix.BLKDISCARDZEROES:
		return 0, putU32(0)
	case unix.BLKROGET:
		if ro {
			return 0, putU32(1)
		}
		return 0, putU32(0)
	case unix.BLKROSET:
		var v int32
		if err := mem.CopyIn(arg, abi.AsBytes(&v)); err != nil {
			return 0, err
		}
		l.mu.Lock()
		l.readOnly = v != 0
		l.mu.Unlock()
		return 0, nil
	case unix.BLKFLSBUF:
		return 0, nil
	case unix.BLKRRPART:
		return 0, unix.EINVAL
	case unix.BLKDISCARD, unix.BLKZEROOUT:
		var r [2]uint64
		if err := mem.CopyIn(arg, abi.AsBytes(&r)); err != nil {
			return 0, err
		}
		return 0, l.clearRange(ctx, r[0], r[1], cmd == unix.BLKDISCARD)
	}
	return 0, unix.ENOTTY
}

// clearRange discards (punches out of the file) or zeroes length bytes at
// start.
func (l *loop) clearRange(ctx context.Context, start, length uint64, discard bool) error {
	b, base, size := l.bound(ctx)
	if b == nil {
		return unix.ENXIO
	}
	defer b.DecRef()
	if start%sectorSize != 0 || length%sectorSize != 0 || start+length < start || start+length > uint64(size) {
		return unix.EINVAL
	}
	if length == 0 {
		return nil
	}
	if discard {
		return b.Allocate(ctx, unix.FALLOC_FL_KEEP_SIZE|unix.FALLOC_FL_PUNCH_HOLE, base+int64(start), int64(length), nil)
	}
	// Zeroes are written, as the block layer does for a device that
	// cannot zero a range itself.
	zeros := make([]byte, min(length, 1<<16))
	for done := uint64(0); done < length; {
		n, err := b.PWrite(ctx, usermem.BytesSequence(zeros[:min(uint64(len(zeros)), length-done)]), base+int64(start+done))
		if err != nil {
			return err
		}
		done += uint64(n)
	}
	return nil
}

func validBlockSize(n uint32) bool {
	return n >= sectorSize && n <= 4096 && n&(n-1) == 0
}

// setFD binds the device to the caller's descriptor fd.
func (l *loop) setFD(ctx context.Context, fd int32) error {
	task, ok := vfs.TaskOf(ctx).(descriptors)
	if !ok {
		return unix.EBADF
	}
	f, err := task.FDs().Get(fd)
	if err != nil {
		return unix.EBADF
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.backing != nil {
		f.DecRef()
		return unix.EBUSY
	}
	st, err := f.StatCtx(ctx)
	if err != nil || f.Flags()&unix.O_PATH != 0 || st.Mode&unix.S_IFMT != unix.S_IFREG {
		// Not a regular file open for I/O: a directory, or a block
		// device, which can only be another loop device here.
		f.DecRef()
		return unix.EINVAL
	}
	l.backing, l.readOnly = f, !f.Writable()
	l.info = unix.LoopInfo64{Number: uint32(l.n), Device: st.Dev, Inode: st.Ino}
	if l.readOnly {
		l.info.Flags |= unix.LO_FLAGS_READ_ONLY
	}
	return nil
}

// setStatusLocked applies LOOP_SET_STATUS64's settable fields.
func (l *loop) setStatusLocked(info *unix.LoopInfo64) {
	l.info.Offset, l.info.Sizelimit = info.Offset, info.Sizelimit
	l.info.Flags = l.info.Flags&^loopFlagsSettable | info.Flags&loopFlagsSettable
	l.info.File_name, l.info.Crypt_name = info.File_name, info.Crypt_name
	l.info.File_name[len(l.info.File_name)-1] = 0
	l.info.Crypt_name[len(l.info.Crypt_name)-1] = 0
}

// status is LOOP_GET_STATUS64's answer.
func (l *loop) status(ctx context.Context) (unix.LoopInfo64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.backing == nil {
		return unix.LoopInfo64{}, unix.ENXIO
	}
	return l.info, nil
}

// loopEntries returns /dev's loop-control and loop devices, with inode
// numbers from ino on.
func loopEntries(attr func(ino uint64, mode uint32, rdev uint64) unix.Stat_t, ino uint64) map[string]vfs.Inode {
	loops := make([]*loop, loopCount)
	entries := make(map[string]vfs.Inode, loopCount+1)
	for i := range loops {
		loops[i] = &loop{n: i}
		st := attr(ino+1+uint64(i), unix.S_IFBLK|0o660, unix.Mkdev(loopMajor, uint32(i)))
		st.Gid = diskGroup
		entries["loop"+strconv.Itoa(i)] = &loopDevice{st: st, l: loops[i]}
	}
	st := attr(ino, unix.S_IFCHR|0o660, unix.Mkdev(linux.MISC_MAJOR, loopControlMinor))
	st.Gid = diskGroup
	entries["loop-control"] = &loopControl{st: st, loops: loops}
	return entries
}
