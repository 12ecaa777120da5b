package vfs

import (
	"context"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// openat2's resolution restrictions (openat2(2), RESOLVE_*), which the
// walker applies as it goes:
//
//   - RESOLVE_NO_XDEV: every step stays on the starting directory's
//     mount (EXDEV), absolute paths and ".." included.
//   - RESOLVE_NO_MAGICLINKS: no procfs link that names an object rather
//     than a path (MagicLink) is followed (ELOOP).
//   - RESOLVE_NO_SYMLINKS: no symlink is followed (ELOOP).
//   - RESOLVE_BENEATH: the walk never leaves the starting directory: an
//     absolute path or symlink, or ".." above it, is EXDEV.
//   - RESOLVE_IN_ROOT: the starting directory is the walk's root: "/"
//     and ".." stop there, as in a chroot.
//   - RESOLVE_CACHED: the sentry's lookups never block on I/O the way the
//     host's uncached ones may, so every walk is "cached"; only what must
//     write (O_CREAT, O_TRUNC, O_TMPFILE) is EAGAIN, as in Linux.

// ResolveFlags are the RESOLVE_* flags openat2 knows.
const ResolveFlags = linux.RESOLVE_NO_XDEV | linux.RESOLVE_NO_MAGICLINKS | linux.RESOLVE_NO_SYMLINKS |
	linux.RESOLVE_BENEATH | linux.RESOLVE_IN_ROOT | linux.RESOLVE_CACHED

// MagicLink is implemented by symlinks that are Linux's "magic links"
// (/proc/PID/fd/N, exe, cwd, root, ns/*).
type MagicLink interface {
	Magic() bool
}

// MagicTarget is implemented by magic links that name an object with no
// path (/proc/PID/ns/*): following one reaches Target, the object's
// inode, in the link's place.
type MagicTarget interface {
	MagicTarget(ctx context.Context) (Inode, error)
}

// checkMount enforces RESOLVE_NO_XDEV on the dentry a step reached.
func (w *walker) checkMount(d *Dentry) error {
	if w.resolve&linux.RESOLVE_NO_XDEV != 0 && d.mnt != w.base.mnt {
		return unix.EXDEV
	}
	return nil
}

// mayFollow enforces RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS on a
// symlink about to be followed.
func (w *walker) mayFollow(d *Dentry) error {
	if w.resolve&linux.RESOLVE_NO_SYMLINKS != 0 {
		return unix.ELOOP
	}
	if m, ok := d.inode.(MagicLink); ok && m.Magic() && w.resolve&linux.RESOLVE_NO_MAGICLINKS != 0 {
		return unix.ELOOP
	}
	return nil
}

// OpenResolve is Open with openat2's resolve flags, already checked
// against ResolveFlags.
func (v *VFS) OpenResolve(ctx context.Context, creds Creds, fsc *FSContext, dir *File, path string, flags int, mode uint32, resolve uint64) (*File, error) {
	if resolve&linux.RESOLVE_CACHED != 0 && flags&(unix.O_CREAT|unix.O_TRUNC|unix.O_TMPFILE) != 0 {
		return nil, unix.EAGAIN
	}
	return v.open(ctx, creds, fsc, dir, path, flags, mode, resolve)
}
