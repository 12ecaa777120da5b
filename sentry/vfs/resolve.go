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

// LinkJumper is implemented by magic links that are jumps rather than
// paths, as Linux's /proc/PID/fd/N is (proc_fd_link and nd_jump_link):
// following one lands on the Dentry Jump returns, the open file's own
// name and inode, whatever the link's text says. So a file whose name
// the walk cannot reach (a memfd, a pipe, a deleted file, a file outside
// the caller's root) is opened again as the same inode, with a new open
// file description and the flags asked for. Jump returns nil for a link
// to follow by its text.
type LinkJumper interface {
	Jump(ctx context.Context) (*Dentry, error)
}

// jump follows the magic link d if it is a jump: to is where it lands,
// nil for a link to follow by its text. A jump is refused with
// RESOLVE_NO_XDEV to another mount and with RESOLVE_BENEATH or
// RESOLVE_IN_ROOT, whose scope it would leave (nd_jump_link).
func (w *walker) jump(d *Dentry) (to *Dentry, err error) {
	j, ok := d.inode.(LinkJumper)
	if !ok {
		return nil, nil
	}
	if to, err = j.Jump(w.ctx); err != nil || to == nil {
		return nil, err
	}
	if w.resolve&(linux.RESOLVE_BENEATH|linux.RESOLVE_IN_ROOT) != 0 {
		return nil, unix.EXDEV
	}
	if err := w.checkMount(to); err != nil {
		return nil, err
	}
	return to, nil
}

// anonMount is the mount of the files no mount holds (memfds, pipes,
// sockets, eventfds...), as Linux's internal mounts of shmfs, pipefs and
// sockfs: reached only by a jump through /proc/PID/fd, never mounted
// anywhere, so ".." from it stays in it and no path leads to it.
var anonMount = &Mount{FS: anonFS{}}

// anonFS is anonMount's filesystem: statfs says pipefs, as fstatfs on an
// anonymous file does.
type anonFS struct{}

func (anonFS) Root() Inode { return nil }

func (anonFS) Statfs(context.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: unix.PIPEFS_MAGIC, Bsize: 4096, Frsize: 4096, Namelen: 255}, nil
}

// JumpTarget is where a magic link to f jumps: f's name, or for a file
// without one an anonymous Dentry of its inode.
func (f *File) JumpTarget() *Dentry {
	if f.d != nil {
		return f.d
	}
	return AnonDentry(f.inode)
}

// AnonDentry is where a magic link to an object without a path jumps (an
// anonymous file's inode, a namespace's file).
func AnonDentry(i Inode) *Dentry {
	return &Dentry{inode: i, mnt: anonMount}
}

// named is d as an open file keeps it: nil for an anonymous file's
// Dentry (JumpTarget), so that the file opened again through it is as
// anonymous as the first one (/proc/PID/fd names it the same way).
func (d *Dentry) named() *Dentry {
	if d.mnt == anonMount {
		return nil
	}
	return d
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
