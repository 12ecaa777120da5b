// Package dev is the sandbox's /dev: null, zero, full, random, urandom,
// tty, the fd/stdin/stdout/stderr symlinks into /proc/self/fd, an empty
// shm directory on which the sandbox mounts a tmpfs, and loop devices with
// their loop-control (loop.go).
//
// Design decisions:
//   - The tree is fixed: creating, removing or changing anything in /dev
//     fails with EROFS (there is no DirWriter or AttrSetter). Devices are
//     emulated by the sentry; no host device is ever opened.
//   - /dev/tty opens the caller's controlling terminal: the host terminal
//     that the sandbox's stdio is, for the processes of the session that
//     owns it (kernel/tty.go); ENXIO for the others, and when the stdio
//     is not a terminal. The calling task (vfs.Caller.Task) opens it.
//   - Mapping /dev/zero is anonymous memory (vfs.AnonymousMapper); the
//     other devices cannot be mapped (ENODEV).
//   - A device node made elsewhere with mknod(2) opens the device of this
//     tree with its type and numbers (vfs.DeviceOpener), as a node opens
//     its driver in Linux; ENXIO for numbers without one.
//   - Files have birth times, as devtmpfs's (shmem) have: nothing here
//     changes, so each file's change time is when it was made (born).
//   - ptmx is the multiplexer of the devpts mounted at /dev/pts (pts is an
//     empty directory here, the mount point): opening it makes a new
//     pseudo-terminal pair there.
package dev

import (
	"context"
	"crypto/rand"
	"sort"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/devpts"
	"runsc-lite/sentry/vfs"
)

// FS is a /dev.
type FS struct {
	dev  uint64
	root *dir
	// pts holds the pseudo-terminal slaves, whose nodes open through
	// OpenDevice too.
	pts *devpts.FS
}

// New returns a /dev whose ptmx makes pseudo-terminals in pts.
func New(pts *devpts.FS) *FS {
	fs := &FS{dev: vfs.NewDeviceID(), pts: pts}
	now := vfs.Now()
	attr := func(ino uint64, mode uint32, rdev uint64) unix.Stat_t {
		return unix.Stat_t{Dev: fs.dev, Ino: ino, Mode: mode, Nlink: 1, Rdev: rdev, Blksize: 4096, Atim: now, Mtim: now, Ctim: now}
	}
	chr := func(ino uint64, major, minor uint32, k kind) vfs.Inode {
		return &device{st: attr(ino, unix.S_IFCHR|0o666, unix.Mkdev(major, minor)), kind: k}
	}
	link := func(ino uint64, target string) vfs.Inode {
		st := attr(ino, unix.S_IFLNK|0o777, 0)
		st.Size = int64(len(target))
		return &symlink{st: st, target: target}
	}
	shm := &dir{st: attr(3, unix.S_IFDIR|0o1777, 0), entries: map[string]vfs.Inode{}}
	shm.st.Nlink = 2
	ptsDir := &dir{st: attr(30, unix.S_IFDIR|0o755, 0), entries: map[string]vfs.Inode{}}
	ptsDir.st.Nlink = 2
	fs.root = &dir{st: attr(2, unix.S_IFDIR|0o755, 0), entries: map[string]vfs.Inode{
		"null":    chr(4, 1, 3, null),
		"zero":    chr(5, 1, 5, zero),
		"full":    chr(6, 1, 7, full),
		"random":  chr(7, 1, 8, random),
		"urandom": chr(8, 1, 9, urandom),
		"tty":     chr(9, 5, 0, tty),
		"fd":      link(10, "/proc/self/fd"),
		"stdin":   link(11, "/proc/self/fd/0"),
		"stdout":  link(12, "/proc/self/fd/1"),
		"stderr":  link(13, "/proc/self/fd/2"),
		"shm":     shm,
		"pts":     ptsDir,
		"ptmx":    pts.Ptmx(attr(31, unix.S_IFCHR|0o666, unix.Mkdev(5, 2)), vfs.Birth{Time: now, Known: true}),
	}}
	for name, i := range loopEntries(attr, 14) {
		fs.root.entries[name] = i
	}
	fs.root.st.Nlink = 4
	return fs
}

// OpenDevice implements vfs.DeviceOpener: the device of /dev with that
// type and number, wherever the node opened is (mknod makes nodes in any
// filesystem); ENXIO for a number without a device here, as Linux says of
// one without a driver. Only the sandbox's devices are ever opened.
func (fs *FS) OpenDevice(ctx context.Context, typ uint32, rdev uint64, flags int) (vfs.FileImpl, error) {
	for _, i := range fs.root.entries {
		if st, err := i.Stat(ctx); err == nil && st.Mode&unix.S_IFMT == typ && st.Rdev == rdev {
			return i.Open(ctx, flags)
		}
	}
	if typ == unix.S_IFCHR {
		return fs.pts.OpenDevice(ctx, rdev, flags)
	}
	return nil, unix.ENXIO
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Statfs implements vfs.FileSystem.
func (fs *FS) Statfs(ctx context.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: unix.TMPFS_MAGIC, Bsize: 4096, Frsize: 4096, Namelen: 255, Flags: unix.ST_RDONLY | unix.ST_NOSUID}, nil
}

// dir is a fixed directory.
type dir struct {
	st      unix.Stat_t
	entries map[string]vfs.Inode
}

func (d *dir) Stat(ctx context.Context) (unix.Stat_t, error) { return d.st, nil }

// BirthTime implements vfs.BirthTimer.
func (d *dir) BirthTime(ctx context.Context) vfs.Birth { return born(d.st) }

func (d *dir) Open(ctx context.Context, flags int) (vfs.FileImpl, error) { return nil, unix.EISDIR }

func (d *dir) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	if i, ok := d.entries[name]; ok {
		return i, nil
	}
	return nil, unix.ENOENT
}

func (d *dir) ReadDir(ctx context.Context) ([]vfs.Dirent, error) {
	names := make([]string, 0, len(d.entries))
	for n := range d.entries {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]vfs.Dirent, 0, len(names))
	for _, n := range names {
		st, _ := d.entries[n].Stat(ctx)
		out = append(out, vfs.Dirent{Name: n, Ino: st.Ino, Type: vfs.DirentType(st.Mode)})
	}
	return out, nil
}

// symlink is a fixed symlink.
type symlink struct {
	st     unix.Stat_t
	target string
}

func (s *symlink) Stat(ctx context.Context) (unix.Stat_t, error) { return s.st, nil }

// BirthTime implements vfs.BirthTimer.
func (s *symlink) BirthTime(ctx context.Context) vfs.Birth { return born(s.st) }

func (s *symlink) Open(ctx context.Context, flags int) (vfs.FileImpl, error) { return nil, unix.ELOOP }

func (s *symlink) Readlink(ctx context.Context) (string, error) { return s.target, nil }

type kind int

const (
	null kind = iota
	zero
	full
	random
	urandom
	tty
)

// device is a character device emulated here.
type device struct {
	st   unix.Stat_t
	kind kind
}

func (d *device) Stat(ctx context.Context) (unix.Stat_t, error) { return d.st, nil }

// BirthTime implements vfs.BirthTimer.
func (d *device) BirthTime(ctx context.Context) vfs.Birth { return born(d.st) }

// born is the birth time of a file of /dev whose attributes are st.
func born(st unix.Stat_t) vfs.Birth { return vfs.Birth{Time: st.Ctim, Known: true} }

// terminalOwner is the calling task as /dev/tty needs it (kernel.Task).
type terminalOwner interface {
	OpenControllingTerminal(flags int) (vfs.FileImpl, error)
}

func (d *device) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	if d.kind == tty {
		if o, ok := vfs.TaskOf(ctx).(terminalOwner); ok {
			return o.OpenControllingTerminal(flags)
		}
		return nil, unix.ENXIO
	}
	return &file{kind: d.kind}, nil
}

// file is an open device.
type file struct{ kind kind }

// ReadAt implements vfs.FileImpl.
func (f *file) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	switch f.kind {
	case null:
		return 0, nil
	case random, urandom:
		return rand.Read(p)
	}
	clear(p)
	return len(p), nil
}

// WriteAt implements vfs.FileImpl.
func (f *file) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	if f.kind == full {
		return 0, unix.ENOSPC
	}
	return len(p), nil
}

// Seek implements vfs.Seeker: devices ignore the position, and lseek
// returns 0 as Linux's memory devices do.
func (f *file) Seek(ctx context.Context, off int64, whence int) (int64, error) {
	return 0, nil
}

// WriteBlind implements vfs.BlindWriter: /dev/null and /dev/zero share
// Linux's write_null, which takes every byte unread, and /dev/full's
// write_full refuses them unread.
func (f *file) WriteBlind(n int) (int, bool, error) {
	switch f.kind {
	case null, zero:
		return n, true, nil
	case full:
		return 0, true, unix.ENOSPC
	}
	return 0, false, nil
}

// Ioctl implements vfs.Ioctler: /dev/random's and /dev/urandom's; the
// memory devices have none.
func (f *file) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	if f.kind != random && f.kind != urandom {
		return 0, unix.ENOTTY
	}
	return 0, randomIoctl(ctx, mem, cmd, arg)
}

// ReadsEmpty implements vfs.EmptyReader: Linux's read_null.
func (f *file) ReadsEmpty() bool { return f.kind == null }

// ReadsZeros implements vfs.ZeroReader: /dev/zero and /dev/full share
// Linux's read_iter_zero.
func (f *file) ReadsZeros() bool { return f.kind == zero || f.kind == full }

// MapsAnonymous implements vfs.AnonymousMapper.
func (f *file) MapsAnonymous() bool { return f.kind == zero }

// Unpollable implements vfs.Unpollable: of these devices only
// /dev/random has a poll in Linux.
func (f *file) Unpollable() bool { return f.kind != random }

// Release implements vfs.FileImpl.
func (f *file) Release() {}
