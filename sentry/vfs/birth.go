package vfs

import (
	"context"

	"golang.org/x/sys/unix"
)

// Birth times (statx(2)'s stx_btime, STATX_BTIME in stx_mask) are kept
// where Linux keeps them: the memory filesystems give each file the time
// it was made, as tmpfs and devtmpfs do (shmem_getattr, since 5.x), and
// host files pass through the host's, where the host's filesystem has one
// (ext4, xfs, btrfs, tmpfs); files copied up into the root overlay keep
// their host file's, as they keep its inode number. /proc, /sys, cgroup,
// devpts, pipes, sockets and the other pseudo-files have none, as in
// Linux.

// Birth is a file's birth time; Known is false where it has none.
type Birth struct {
	Time  unix.Timespec
	Known bool
}

// BirthTimer is implemented by inodes whose filesystem may keep birth
// times.
type BirthTimer interface {
	BirthTime(ctx context.Context) Birth
}

// BirthOf returns i's birth time, if it has one.
func BirthOf(ctx context.Context, i Inode) Birth {
	if b, ok := i.(BirthTimer); ok {
		return b.BirthTime(ctx)
	}
	return Birth{}
}
