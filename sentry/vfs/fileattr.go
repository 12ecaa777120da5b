package vfs

import (
	"context"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
)

// Inode attribute flags (chattr(1), FS_IOC_GETFLAGS and FS_IOC_SETFLAGS,
// FS_IOC_FSGETXATTR and FS_IOC_FSSETXATTR) are kept by the filesystems
// that have them (FlagHolder: the memory filesystems, as Linux's tmpfs
// since 6.0) and enforced here, as Linux enforces them in its VFS:
//
//   - An immutable file refuses what needs write permission on it
//     (inode_permission's EPERM, before EACCES): opening it for writing or
//     truncation, truncate(2), access(2)'s W_OK, and in an immutable
//     directory creating, removing and renaming names. It cannot be
//     removed, renamed or linked to (may_delete, vfs_link), and its mode,
//     owner, times and extended attributes do not change (may_setattr,
//     xattr_permission): EPERM.
//   - An append-only file opens for writing only with O_APPEND, never
//     with O_TRUNC (may_open), keeps O_APPEND (setfl), is not truncated
//     or deallocated (vfs_truncate, do_sys_ftruncate, vfs_fallocate), not
//     removed, renamed or linked to, and its mode, owner, explicit times
//     and extended attributes do not change: EPERM. Names may be added to
//     an append-only directory but not removed.
//   - Changing the flags needs the owner or CAP_FOWNER, and changing the
//     immutable or append-only flag also CAP_LINUX_IMMUTABLE (EPERM,
//     vfs_fileattr_set); a flag the filesystem does not keep is
//     EOPNOTSUPP, a file whose filesystem keeps none ENOTTY.
//
// Host files (volumes, bind mounts, host descriptors) have no flags here:
// the ioctls answer ENOTTY and statx shows no attribute, as in gVisor,
// which has no inode flags at all. Passing the ioctls through would let the
// sandbox read the host's flags and, with a writable volume, try to
// change them; and a file the host made immutable still refuses writes on
// the host side (EPERM from the host's open or write), which the sandbox
// reports as the host returns it.

// FlagHolder is implemented by inodes that keep inode attribute flags.
type FlagHolder interface {
	// InodeFlags returns the file's FS_*_FL flags.
	InodeFlags() uint32
	// SetInodeFlags replaces them; the VFS has checked the caller.
	// EOPNOTSUPP for a flag the filesystem does not keep.
	SetInodeFlags(ctx context.Context, flags uint32) error
}

// inodeFlags returns i's flags, 0 when its filesystem keeps none.
func inodeFlags(i Inode) uint32 {
	if h, ok := i.(FlagHolder); ok {
		return h.InodeFlags()
	}
	return 0
}

// isImmutable is Linux's IS_IMMUTABLE.
func isImmutable(i Inode) bool { return inodeFlags(i)&abi.FS_IMMUTABLE_FL != 0 }

// isAppend is Linux's IS_APPEND.
func isAppend(i Inode) bool { return inodeFlags(i)&abi.FS_APPEND_FL != 0 }

// Immutable reports whether f's inode is immutable (IS_IMMUTABLE).
func (f *File) Immutable() bool { return isImmutable(f.inode) }

// AppendOnly reports whether f's inode is append-only (IS_APPEND).
func (f *File) AppendOnly() bool { return isAppend(f.inode) }

// immutableErr is inode_permission's check for a write: EPERM when i is
// immutable.
func immutableErr(i Inode) error {
	if isImmutable(i) {
		return unix.EPERM
	}
	return nil
}

// flagHolder returns the FlagHolder an ioctl on f acts on: EBADF for an
// O_PATH file, ENOTTY when f's filesystem keeps no flags.
func (f *File) flagHolder() (FlagHolder, error) {
	if f.isPath() {
		return nil, unix.EBADF
	}
	h, ok := f.inode.(FlagHolder)
	if !ok {
		return nil, unix.ENOTTY
	}
	return h, nil
}

// InodeFlags implements FS_IOC_GETFLAGS (vfs_fileattr_get).
func (f *File) InodeFlags() (uint32, error) {
	h, err := f.flagHolder()
	if err != nil {
		return 0, err
	}
	return h.InodeFlags(), nil
}

// SetInodeFlags implements FS_IOC_SETFLAGS for creds (ioctl_setflags,
// vfs_fileattr_set).
func (f *File) SetInodeFlags(ctx context.Context, creds Creds, flags uint32) error {
	h, err := f.mayChangeFlags(ctx, creds, flags)
	if err != nil {
		return err
	}
	if err := h.SetInodeFlags(ctx, flags); err != nil {
		return err
	}
	f.v.inodeEvent(ctx, f.d, f.inode, unix.IN_ATTRIB)
	return nil
}

// mayChangeFlags checks that creds may give f flags: EROFS on a
// read-only mount, then EPERM for a caller who neither owns the file nor
// holds CAP_FOWNER, or who changes the immutable or append-only flag
// without CAP_LINUX_IMMUTABLE (fileattr_set_prepare).
func (f *File) mayChangeFlags(ctx context.Context, creds Creds, flags uint32) (FlagHolder, error) {
	h, err := f.flagHolder()
	if err != nil {
		return nil, err
	}
	if f.d.readOnly() {
		return nil, unix.EROFS
	}
	st, err := f.inode.Stat(ctx)
	if err != nil {
		return nil, err
	}
	if !creds.ownerOrCapable(&st) {
		return nil, unix.EPERM
	}
	if (flags^h.InodeFlags())&(abi.FS_APPEND_FL|abi.FS_IMMUTABLE_FL) != 0 && !creds.HasCap(linux.CAP_LINUX_IMMUTABLE) {
		return nil, unix.EPERM
	}
	return h, nil
}

// xflagBits pairs each FS_*_FL flag with its FS_XFLAG_* name
// (fileattr_fill_flags, fileattr_fill_xflags).
var xflagBits = [...]struct{ fl, xflag uint32 }{
	{abi.FS_SYNC_FL, abi.FS_XFLAG_SYNC},
	{abi.FS_IMMUTABLE_FL, abi.FS_XFLAG_IMMUTABLE},
	{abi.FS_APPEND_FL, abi.FS_XFLAG_APPEND},
	{abi.FS_NODUMP_FL, abi.FS_XFLAG_NODUMP},
	{abi.FS_NOATIME_FL, abi.FS_XFLAG_NOATIME},
	{abi.FS_DAX_FL, abi.FS_XFLAG_DAX},
	{abi.FS_PROJINHERIT_FL, abi.FS_XFLAG_PROJINHERIT},
}

// FsxattrOf returns the struct fsxattr FS_IOC_FSGETXATTR shows for flags.
func FsxattrOf(flags uint32) abi.Fsxattr {
	var x abi.Fsxattr
	for _, b := range xflagBits {
		if flags&b.fl != 0 {
			x.Xflags |= b.xflag
		}
	}
	return x
}

// FlagsOfFsxattr returns the FS_*_FL flags FS_IOC_FSSETXATTR asks for,
// and whether it asks for more than they say (other xflags, an extent
// size, a project): what no memory filesystem keeps (fileattr_has_fsx).
func FlagsOfFsxattr(x abi.Fsxattr) (flags uint32, more bool) {
	rest := x.Xflags
	for _, b := range xflagBits {
		if x.Xflags&b.xflag != 0 {
			flags |= b.fl
			rest &^= b.xflag
		}
	}
	return flags, rest != 0 || x.Extsize != 0 || x.Projid != 0 || x.Cowextsize != 0
}

// SetFsxattr implements FS_IOC_FSSETXATTR for creds: the checks of
// SetInodeFlags, then EOPNOTSUPP for what x asks beyond the flags, which
// no filesystem here keeps (shmem_fileattr_set).
func (f *File) SetFsxattr(ctx context.Context, creds Creds, x abi.Fsxattr) error {
	flags, more := FlagsOfFsxattr(x)
	if !more {
		return f.SetInodeFlags(ctx, creds, flags)
	}
	if _, err := f.mayChangeFlags(ctx, creds, flags); err != nil {
		return err
	}
	return unix.EOPNOTSUPP
}

// StatxAttributes returns statx(2)'s stx_attributes and
// stx_attributes_mask for i: the immutable, append-only and no-dump
// flags on a filesystem that keeps them (shmem_getattr).
func StatxAttributes(i Inode) (attrs, mask uint64) {
	h, ok := i.(FlagHolder)
	if !ok {
		return 0, 0
	}
	flags := h.InodeFlags()
	for _, b := range [...]struct {
		fl   uint32
		attr uint64
	}{
		{abi.FS_APPEND_FL, unix.STATX_ATTR_APPEND},
		{abi.FS_IMMUTABLE_FL, unix.STATX_ATTR_IMMUTABLE},
		{abi.FS_NODUMP_FL, unix.STATX_ATTR_NODUMP},
	} {
		mask |= b.attr
		if flags&b.fl != 0 {
			attrs |= b.attr
		}
	}
	return attrs, mask
}
