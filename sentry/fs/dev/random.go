package dev

import (
	"context"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// poolBits is what RNDGETENTCNT and /proc/sys/kernel/random/entropy_avail
// say: the input pool's init_bits once the generator is seeded, which
// since Linux 5.18 stays at 256.
const poolBits = 256

// randPoolInfo is struct rand_pool_info, RNDADDENTROPY's argument; its
// bytes follow it.
type randPoolInfo struct {
	EntropyCount int32
	BufSize      int32
}

// randomIoctl is random_ioctl. The sandbox's bytes come from the host's
// generator, so entropy a privileged caller adds is read and dropped, and
// the counter never moves, as in Linux once seeded.
func randomIoctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) error {
	if cmd == unix.RNDGETENTCNT {
		n := int32(poolBits)
		return mem.CopyOut(arg, abi.AsBytes(&n))
	}
	switch cmd {
	case unix.RNDADDTOENTCNT, unix.RNDADDENTROPY, unix.RNDZAPENTCNT, unix.RNDCLEARPOOL, unix.RNDRESEEDCRNG:
	default:
		return unix.EINVAL
	}
	c, ok := vfs.TaskOf(ctx).(interface{ FSCreds() vfs.Creds })
	if !ok || !c.FSCreds().HasCap(linux.CAP_SYS_ADMIN) {
		return unix.EPERM
	}
	switch cmd {
	case unix.RNDADDTOENTCNT:
		var n int32
		if err := mem.CopyIn(arg, abi.AsBytes(&n)); err != nil {
			return err
		}
		if n < 0 {
			return unix.EINVAL
		}
	case unix.RNDADDENTROPY:
		return addEntropy(mem, arg)
	}
	return nil
}

// addEntropy reads RNDADDENTROPY's pool info and every byte after it, to
// fail as Linux fails on a bad buffer.
func addEntropy(mem vfs.Memory, arg uintptr) error {
	var info randPoolInfo
	hdr := abi.AsBytes(&info)
	if err := mem.CopyIn(arg, hdr); err != nil {
		return err
	}
	if info.EntropyCount < 0 {
		return unix.EINVAL
	}
	n := int64(info.BufSize)
	if n < 0 || n > int64(linux.MAX_RW_COUNT) {
		return unix.EFAULT // import_ubuf takes at most MAX_RW_COUNT: not all would be credited
	}
	buf := make([]byte, min(n, 4096))
	start := arg + uintptr(len(hdr))
	for off := int64(0); off < n; off += int64(len(buf)) {
		if err := mem.CopyIn(start+uintptr(off), buf[:min(int64(len(buf)), n-off)]); err != nil {
			return unix.EFAULT
		}
	}
	return nil
}
