package tmpfs

import (
	"context"
	"fmt"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/overlay"
	"runsc-lite/sentry/vfs"
)

// memfds is the hidden file system memfd_create's files live in, as Linux
// keeps them on an internal tmpfs mount.
var memfds = New(0o1777)

var memfdSeq atomic.Uint64

// NewMemFD returns an anonymous memory file (memfd_create(2)) owned by
// creds: a tmpfs file that no directory lists, readable, writable and
// mappable; with sealing, one that accepts seals (MFD_ALLOW_SEALING; the
// other tmpfs files show F_SEAL_SEAL: see package overlay's seal.go).
func NewMemFD(ctx context.Context, creds vfs.Creds, name string, flags int, sealing bool) (*vfs.File, error) {
	dir, ok := memfds.Root().(vfs.DirWriter)
	if !ok {
		return nil, unix.ENOSYS
	}
	unique := fmt.Sprintf("memfd-%d", memfdSeq.Add(1))
	ino, err := dir.Create(ctx, creds, unique, unix.S_IFREG|0o777, 0)
	if err != nil {
		return nil, err
	}
	// Once open, the file needs no name: unlink it so it goes with its last
	// reference.
	defer dir.Unlink(ctx, unique)
	// Linux names it so in /proc/PID/fd and /proc/PID/maps (shmem_file_setup's
	// "memfd:" name of an unlinked file).
	overlay.SetAnonName(ino, "/memfd:"+name+" (deleted)")
	if sealing {
		if err := overlay.AllowSealing(ino); err != nil {
			return nil, err
		}
	}
	impl, err := ino.Open(ctx, unix.O_RDWR)
	if err != nil {
		return nil, err
	}
	// O_LARGEFILE as memfd_create sets it (0o100000; x/sys/unix's is 0).
	return vfs.NewFile(nil, nil, ino, impl, unix.O_RDWR|flags&unix.O_NONBLOCK|0o100000), nil
}
