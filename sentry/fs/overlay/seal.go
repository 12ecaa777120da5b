package overlay

import (
	"os"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// File seals (fcntl(2) "File Sealing"), as Linux 6.1, the release the
// sandbox reports, has them in mm/memfd.c.
//
// A memfd made with MFD_ALLOW_SEALING keeps its contents in a host memfd
// made with MFD_ALLOW_SEALING too, and its seals are that host memfd's:
// F_ADD_SEALS adds them on the host, so the host kernel enforces each one
// where Linux does, on every path the data takes (the sentry's pwrite,
// ftruncate and fallocate of it get EPERM; the application's mmap and
// mprotect of it, which the host performs on a duplicate of the same
// host descriptor, get EPERM and EACCES), and F_SEAL_WRITE is EBUSY while
// the application has a shared writable mapping, which is a host mapping
// of the same host file. Seals belong to the node, so every open file of
// it, /proc/self/fd reopenings and forked children share them.
//
// Other files of a memory filesystem (tmpfs: /tmp, /dev/shm, memfds made
// without MFD_ALLOW_SEALING) are shmem files in Linux 6.1, whose inodes
// start with F_SEAL_SEAL (shmem_get_inode): F_GET_SEALS reports it and
// F_ADD_SEALS is EPERM. Files of an overlay with a lower layer are
// overlayfs files there: EINVAL for both.

// allSeals are the seals Linux 6.1 knows (F_ALL_SEALS; F_SEAL_EXEC came
// in 6.3).
const allSeals = unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_FUTURE_WRITE

// newSealableMemfd returns an empty memory file that accepts seals.
func newSealableMemfd() (*os.File, error) {
	fd, err := unix.MemfdCreate("runsc-lite", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "memfd:runsc-lite"), nil
}

// AllowSealing makes ino, a regular file of a memory filesystem just
// created and not yet shared, accept seals (memfd_create's
// MFD_ALLOW_SEALING).
func AllowSealing(ino vfs.Inode) error {
	n, ok := ino.(*node)
	if !ok {
		return unix.EINVAL
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if n.data != nil || !n.up {
		return unix.EINVAL
	}
	m, err := newSealableMemfd()
	if err != nil {
		return err
	}
	n.setData(m, &dataCharge{space: n.fs.space})
	n.sealable = true
	return nil
}

// sealData returns the host memfd holding a sealable node's seals, or
// nil, with what F_GET_SEALS shows of a node without: F_SEAL_SEAL on a
// memory filesystem, EINVAL on an overlay.
func (n *node) sealData() (*os.File, uint32, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	switch {
	case n.sealable:
		return n.data, 0, nil
	case n.fs.lower == nil:
		return nil, unix.F_SEAL_SEAL, nil
	}
	return nil, 0, unix.EINVAL
}

// Seals implements vfs.Sealer.
func (f *file) Seals() (uint32, error) {
	data, seals, err := f.n.sealData()
	if data == nil {
		return seals, err
	}
	s, err := unix.FcntlInt(data.Fd(), unix.F_GET_SEALS, 0)
	if err != nil {
		return 0, err
	}
	return uint32(s) & allSeals, nil
}

// AddSeals implements vfs.Sealer.
func (f *file) AddSeals(seals uint32) error {
	if seals&^allSeals != 0 {
		return unix.EINVAL
	}
	data, have, err := f.n.sealData()
	if err != nil {
		return err
	}
	if data == nil {
		if have&unix.F_SEAL_SEAL != 0 {
			return unix.EPERM
		}
		return unix.EINVAL
	}
	// dataMu orders the seal after writes and truncations under way, as
	// Linux's inode lock does.
	f.n.dataMu.Lock()
	defer f.n.dataMu.Unlock()
	_, err = unix.FcntlInt(data.Fd(), unix.F_ADD_SEALS, int(seals))
	return err
}
