package abi

import "gvisor.dev/gvisor/pkg/abi/linux"

// Inode attribute flags (linux/fs.h): what FS_IOC_GETFLAGS and
// FS_IOC_SETFLAGS carry, chattr(1)'s letters. x/sys has the ioctls but not
// the bits.
const (
	FS_SYNC_FL        = 0x00000008 // chattr +S
	FS_IMMUTABLE_FL   = 0x00000010 // chattr +i
	FS_APPEND_FL      = 0x00000020 // chattr +a
	FS_NODUMP_FL      = 0x00000040 // chattr +d
	FS_NOATIME_FL     = 0x00000080 // chattr +A
	FS_DAX_FL         = 0x02000000 // chattr +x
	FS_PROJINHERIT_FL = 0x20000000 // chattr +P
)

// The same attributes as struct fsxattr's fsx_xflags name them
// (FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR).
const (
	FS_XFLAG_IMMUTABLE   = 0x00000008
	FS_XFLAG_APPEND      = 0x00000010
	FS_XFLAG_SYNC        = 0x00000020
	FS_XFLAG_NOATIME     = 0x00000040
	FS_XFLAG_NODUMP      = 0x00000080
	FS_XFLAG_PROJINHERIT = 0x00000200
	FS_XFLAG_DAX         = 0x00008000
)

// Fsxattr is struct fsxattr (linux/fs.h), the extended inode attributes
// FS_IOC_FSGETXATTR returns and FS_IOC_FSSETXATTR takes.
type Fsxattr struct {
	Xflags     uint32
	Extsize    uint32
	Nextents   uint32
	Projid     uint32
	Cowextsize uint32
	Pad        [8]byte
}

// FsxattrSize is sizeof(struct fsxattr), checked against the C header.
const FsxattrSize = 28

// The ioctls of struct fsxattr.
var (
	FS_IOC_FSGETXATTR = linux.IOR('X', 31, FsxattrSize)
	FS_IOC_FSSETXATTR = linux.IOW('X', 32, FsxattrSize)
)
