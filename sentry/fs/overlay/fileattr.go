package overlay

import (
	"context"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// Inode attribute flags (chattr(1)) are those Linux's tmpfs keeps since
// 6.0 (mm/shmem.c, shmem_fileattr_set): immutable, append-only, no-dump
// and no-atime, stored on the node; anything else is EOPNOTSUPP. A new
// file takes the no-dump and no-atime flags of its directory
// (SHMEM_FL_INHERITED). The VFS enforces what they mean and checks who
// may change them (vfs.FlagHolder); the node only keeps them.
//
// A file of the root overlay not yet copied up has none: the host's own
// flags are not read, and setting flags copies the file up, so that the
// host file never changes (as Linux's overlayfs sets them on the upper
// file).
const (
	flagsModifiable = abi.FS_IMMUTABLE_FL | abi.FS_APPEND_FL | abi.FS_NODUMP_FL | abi.FS_NOATIME_FL
	flagsInherited  = abi.FS_NODUMP_FL | abi.FS_NOATIME_FL
)

// InodeFlags implements vfs.FlagHolder.
func (n *node) InodeFlags() uint32 {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.flags
}

// SetInodeFlags implements vfs.FlagHolder.
func (n *node) SetInodeFlags(ctx context.Context, flags uint32) error {
	if flags&^flagsModifiable != 0 {
		return unix.EOPNOTSUPP
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if err := n.copyUp(ctx); err != nil {
		return err
	}
	n.flags = flags
	n.st.Ctim = vfs.Now()
	return nil
}
