// Package kernfs is what the sentry's generated filesystems (proc, sys,
// cgroup) are made of: read-only files whose contents a function makes
// when they are opened, symlinks whose target a function computes, and
// directories whose children a function lists or that hold a fixed set.
//
// Design decisions:
//   - A file's contents are made once, at open, so every read of one open
//     file sees one consistent snapshot, as seq_file gives Linux's readers
//     that read a small file at once.
//   - Everything is read-only: opening a file for writing fails with
//     EACCES (its mode is 0444), or EROFS in a Tree mounted read-only,
//     and no directory can be changed (there is no DirWriter).
//   - Inode numbers are derived from the path (FNV-1a), so they are stable
//     between lookups without a table; st_dev is the Tree's.
//   - A directory made with Tree.Fixed is one value for the life of its
//     filesystem, so another filesystem can be mounted on it (the VFS keys
//     mount points by inode); directories whose children change (a task's)
//     are made afresh with Tree.Dir.
package kernfs

import (
	"context"
	"errors"
	"hash/fnv"
	"sort"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// Content makes a file's contents (or a symlink's target).
type Content func(ctx context.Context) (string, error)

// Children lists a directory's children by name.
type Children func(ctx context.Context) (map[string]vfs.Inode, error)

// Static is the Content that is always s.
func Static(s string) Content {
	return func(context.Context) (string, error) { return s, nil }
}

// Tree makes the inodes of one filesystem, which share its device number.
type Tree struct {
	Dev uint64
	// ReadOnly is a filesystem mounted read-only: opening a file for
	// writing fails with EROFS.
	ReadOnly bool
	// Time is every inode's access, change and modification time: when
	// the filesystem was made, as Linux's proc and sysfs inodes show when
	// they were made (not the epoch).
	Time unix.Timespec
}

// File returns a regular file at path (inside the filesystem, for its
// inode number) whose contents gen makes at open.
func (tr Tree) File(path string, gen Content) *File {
	f := &File{node: tr.node(path, unix.S_IFREG|0o444), gen: gen, writeErr: unix.EACCES}
	if tr.ReadOnly {
		f.writeErr = unix.EROFS
	}
	return f
}

// Symlink returns a symbolic link whose target target computes.
func (tr Tree) Symlink(path string, target Content) *Link {
	return &Link{node: tr.node(path, unix.S_IFLNK|0o777), target: target}
}

// MagicLink returns a symbolic link that is one of Linux's magic links
// (vfs.MagicLink): it names an object (a task's file, executable,
// directory, namespace) more than a path.
func (tr Tree) MagicLink(path string, target Content) *Link {
	l := tr.Symlink(path, target)
	l.magic = true
	return l
}

// Dir returns a directory whose children are listed by children at every
// lookup and listing.
func (tr Tree) Dir(path string, children Children) *Dir {
	return &Dir{node: tr.node(path, unix.S_IFDIR|0o555), children: children}
}

// Fixed returns a directory that always holds entries.
func (tr Tree) Fixed(path string, entries map[string]vfs.Inode) *Dir {
	return tr.Dir(path, func(context.Context) (map[string]vfs.Inode, error) { return entries, nil })
}

// Ino is the inode number of the file at path.
func Ino(path string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(path))
	return h.Sum64() | 1
}

// node is what every inode has: a device, a path (for its inode number),
// a mode and its times.
type node struct {
	dev  uint64
	path string
	mode uint32
	time unix.Timespec
}

func (tr Tree) node(path string, mode uint32) node {
	return node{dev: tr.Dev, path: path, mode: mode, time: tr.Time}
}

// Stat implements vfs.Inode.
func (n node) Stat(ctx context.Context) (unix.Stat_t, error) {
	nlink := uint64(1)
	if vfs.IsDir(n.mode) {
		nlink = 2
	}
	return unix.Stat_t{Dev: n.dev, Ino: Ino(n.path), Mode: n.mode, Nlink: nlink, Blksize: 4096, Atim: n.time, Mtim: n.time, Ctim: n.time}, nil
}

// Open implements vfs.Inode for directories and symlinks, which the VFS
// never opens through it.
func (n node) Open(ctx context.Context, flags int) (vfs.FileImpl, error) { return nil, unix.EISDIR }

// File is a regular file whose contents gen makes at open.
type File struct {
	node
	gen      Content
	writeErr error // what opening for writing fails with
}

// Open implements vfs.Inode.
func (f *File) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, f.writeErr
	}
	s, err := f.gen(ctx)
	var re ErrOnRead
	if errors.As(err, &re) {
		return failing{re.Err}, nil
	}
	if err != nil {
		return nil, err
	}
	return snapshot(s), nil
}

// ErrOnRead is what a Content returns for a file that opens but whose
// reads fail with Err, as a sysfs attribute whose show method fails (a
// down interface's carrier: EINVAL).
type ErrOnRead struct{ Err error }

func (e ErrOnRead) Error() string { return "read: " + e.Err.Error() }
func (e ErrOnRead) Unwrap() error { return e.Err }

// failing is an open file whose reads fail (ErrOnRead).
type failing struct{ err error }

func (f failing) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, f.err
}

func (f failing) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EACCES
}

func (f failing) Release() {}

// Events is what an EventFile polls: a count of changes, and the queue
// notified after each.
type Events func() (count uint64, q *vfs.Queue)

// EventFile returns a regular file whose contents gen makes at open and
// that poll and epoll may watch for changes, as Linux's /proc/PID/mounts
// (mounts_poll): always readable, and POLLPRI|POLLERR once after each
// change that happened since the file was opened or last polled.
func (tr Tree) EventFile(path string, gen Content, events Events) *EventFile {
	return &EventFile{File: tr.File(path, gen), events: events}
}

// EventFile is a File whose changes poll reports.
type EventFile struct {
	*File
	events Events
}

// Open implements vfs.Inode.
func (f *EventFile) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	impl, err := f.File.Open(ctx, flags)
	if err != nil {
		return nil, err
	}
	n, _ := f.events()
	e := &eventSnapshot{snapshot: impl.(snapshot), events: f.events}
	e.seen.Store(n)
	return e, nil
}

// eventSnapshot is an open EventFile.
type eventSnapshot struct {
	snapshot
	events Events
	seen   atomic.Uint64 // the change count last reported (seq_file's poll_event)
}

// PollableRegular implements vfs.PollableRegular.
func (e *eventSnapshot) PollableRegular() {}

// EventQueue implements vfs.Waitable.
func (e *eventSnapshot) EventQueue() *vfs.Queue {
	_, q := e.events()
	return q
}

// Readiness implements vfs.Readiness: a change is reported once.
func (e *eventSnapshot) Readiness(mask int16) int16 {
	r := int16(unix.POLLIN | linux.POLLRDNORM)
	if n, _ := e.events(); e.seen.Swap(n) != n {
		r |= unix.POLLERR | unix.POLLPRI
	}
	return r & (mask | unix.POLLERR) // POLLERR whatever was asked, as poll(2) reports it
}

// snapshot is an open file's contents.
type snapshot string

func (s snapshot) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off >= int64(len(s)) {
		return 0, nil
	}
	return copy(p, s[off:]), nil
}

func (s snapshot) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EACCES
}

func (s snapshot) Release() {}

// Link is a symbolic link whose target a function computes.
type Link struct {
	node
	target Content
	magic  bool
	// jump, if set, is where following the link lands (vfs.LinkJumper).
	jump func(ctx context.Context) (*vfs.Dentry, error)
}

// JumpLink returns a magic link that following jumps to the Dentry jump
// returns (vfs.LinkJumper), as Linux's /proc/PID/fd/N does; its text,
// target, is what readlink reads.
func (tr Tree) JumpLink(path string, target Content, jump func(ctx context.Context) (*vfs.Dentry, error)) *Link {
	l := tr.MagicLink(path, target)
	l.jump = jump
	return l
}

// WithPerm gives l the permission bits perm instead of 0777 (a
// /proc/PID/fd link shows its file's access mode) and returns it.
func (l *Link) WithPerm(perm uint32) *Link {
	l.mode = unix.S_IFLNK | perm
	return l
}

// Jump implements vfs.LinkJumper: nil for a link followed by its text.
func (l *Link) Jump(ctx context.Context) (*vfs.Dentry, error) {
	if l.jump == nil {
		return nil, nil
	}
	return l.jump(ctx)
}

// Magic implements vfs.MagicLink.
func (l *Link) Magic() bool { return l.magic }

// Readlink implements vfs.Symlink.
func (l *Link) Readlink(ctx context.Context) (string, error) { return l.target(ctx) }

// Dir is a directory whose children a function lists.
type Dir struct {
	node
	children Children
	// searchable, if set, says whether the directory may be searched
	// (the error of a lookup in it, whatever its children), as Linux's
	// inode permission check answers before a lookup.
	searchable func() error
}

// Searchable returns d, whose lookups first ask check (its error is
// theirs); listings do not.
func (d *Dir) Searchable(check func() error) *Dir {
	d.searchable = check
	return d
}

// Lookup implements vfs.Dir.
func (d *Dir) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	if d.searchable != nil {
		if err := d.searchable(); err != nil {
			return nil, err
		}
	}
	c, err := d.children(ctx)
	if err != nil {
		return nil, err
	}
	if i, ok := c[name]; ok {
		return i, nil
	}
	return nil, unix.ENOENT
}

// ReadDir implements vfs.Dir: the children sorted by name.
func (d *Dir) ReadDir(ctx context.Context) ([]vfs.Dirent, error) {
	c, err := d.children(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(c))
	for name := range c {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]vfs.Dirent, 0, len(names))
	for _, name := range names {
		st, _ := c[name].Stat(ctx)
		out = append(out, vfs.Dirent{Name: name, Ino: st.Ino, Type: vfs.DirentType(st.Mode)})
	}
	return out, nil
}
