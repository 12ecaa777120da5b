package vfs

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// VFS is the mount tree of one sandbox, and its lock table.
//
// initNS and fifos are set before the VFS is used; the lock table and the
// watches lock themselves (locks.go has the order).
type VFS struct {
	mu sync.RWMutex // guards every mount's children, and lastID
	// initNS is the sandbox's first mount namespace, whose root is the
	// sandbox's /.
	initNS *MountNamespace
	locks  lockTable
	// leases are the files' leases and open counts (lease.go).
	leases leaseTable
	// writes are the files' writers and denials of writing (ETXTBSY:
	// writeaccess.go).
	writes writeCounts
	fifos  FIFOOpener // nil: FIFOs are opened by their filesystem
	// devices opens device nodes; nil: their filesystem does. Set once,
	// before the VFS is shared.
	devices DeviceOpener
	// watches are inotify's (notify.go).
	watches watchTable
	// dnotify are F_NOTIFY's requests (dnotify.go), whose marks are
	// watches.
	dnotify dnTable
	// handles are the dentries file handles name (handle.go); guarded by
	// mu.
	handles handleTable
	lastID  int // the last mount's ID; guarded by mu
}

// Mount is a filesystem mounted at a directory of another mount (or at /).
type Mount struct {
	FS FileSystem
	// on is where the mount is mounted: nil for a namespace's root. It
	// changes (MS_MOVE, pivot_root) under VFS.mu; walks read it without.
	on   atomic.Pointer[mountPoint]
	root *Dentry
	// opts describe a mount made by mount(2) (MountAt); the sandbox's
	// own mounts have none. Its Flags change with a remount: read and
	// written under VFS.mu, and mirrored in flags for the checks.
	opts  MountOptions
	flags atomic.Uint64
	id    int // MountID; guarded by VFS.mu while made
	// ns is the namespace the mount is in; made says mount(2) made it
	// (or it copies one that mount(2) made), so that it may be
	// unmounted; locked, that it was copied into a namespace of a less
	// privileged user namespace, which may not unmount it alone
	// (MNT_LOCKED); pivot_root moves both to the new root (under
	// VFS.mu, which readers hold). origin is the ID of the mount of the
	// first namespace it copies (its own ID there), immutable.
	ns     *MountNamespace
	made   bool
	locked bool
	origin int
	// rootPath is the path of the mount's root in its filesystem: "" for
	// the filesystem's root, a directory's for a bind mount. Immutable.
	rootPath string
	// children are the mounts on this one, by the inode each covers
	// (the top of a stack: a mount on a mount's root is that mount's
	// child); guarded by VFS.mu. A mount's table is its own, so a
	// namespace's mounts are the tree below its root, and a mount
	// unmounted lazily keeps the locked mounts below it for the files
	// still open in it (usermount.go).
	children map[Inode]*Mount
}

// mountPoint is where a mount is: a dentry of its parent mount.
type mountPoint struct {
	parent *Mount
	point  *Dentry
}

// mountedOn returns the mount m is on and the dentry of that mount it
// covers; nil, nil for a namespace's root.
func (m *Mount) mountedOn() (*Mount, *Dentry) {
	if p := m.on.Load(); p != nil {
		return p.parent, p.point
	}
	return nil, nil
}

// attach puts m on d, a dentry of this mount; VFS.mu is held.
func (p *Mount) attach(d *Dentry, m *Mount) {
	if p.children == nil {
		p.children = make(map[Inode]*Mount)
	}
	p.children[d.inode] = m
	m.on.Store(&mountPoint{parent: p, point: d})
}

// detach takes m off the mount it is on; VFS.mu is held. It keeps its
// place (on) for the walks of files still open in it: ".." at its root
// leads where it was, as the sandbox cannot tell a detached mount's
// files from others.
func (m *Mount) detach() {
	if parent, point := m.mountedOn(); parent != nil && parent.children[point.inode] == m {
		delete(parent.children, point.inode)
	}
}

// tree returns m and every mount below it, each after the one it is on
// (m first), the mounts on one mount in the order they were made; VFS.mu
// is held. (IDs alone do not give that order: a mount moved, or a root
// pivoted, may be on a newer one.)
func (m *Mount) tree() []*Mount {
	all := []*Mount{m}
	for i := 0; i < len(all); i++ {
		n := len(all)
		for _, c := range all[i].children {
			all = append(all, c)
		}
		slices.SortFunc(all[n:], byID)
	}
	return all
}

// byID orders mounts by ID: the order they were made, which /proc's
// mount tables list.
func byID(a, b *Mount) int { return a.id - b.id }

// Dentry is a name in a walk: an inode, the mount it was reached in, and
// the directory it was reached from. A mount's root has no parent. The
// chain is the walk's; current (place.go) gives the names and parents a
// rename has changed since.
type Dentry struct {
	parent *Dentry
	name   string
	inode  Inode
	mnt    *Mount
	// unnamed marks an O_TMPFILE file's dentry: its name ("#" and the
	// inode number) is in no directory, even once a link names the inode
	// (Linux's d_tmpfile leaves it unhashed).
	unnamed bool
}

// Inode returns the dentry's inode.
func (d *Dentry) Inode() Inode { return d.inode }

// Mount returns the mount the dentry belongs to.
func (d *Dentry) Mount() *Mount { return d.mnt }

// Unlinked reports whether d names nothing any more, so that its path is
// shown with " (deleted)" as Linux's d_path does for an unhashed dentry:
// an O_TMPFILE file's, a removed directory's, or one whose inode has no
// link left. (A name
// removed while the inode keeps another is not detected.)
func (d *Dentry) Unlinked(ctx context.Context) bool {
	if d.unnamed {
		return true
	}
	if d.parent == nil {
		return false
	}
	if r, ok := d.inode.(Removable); ok && r.Removed() {
		return true
	}
	if c, ok := d.inode.(LinkCounter); ok {
		return !c.HasLinks()
	}
	st, err := d.inode.Stat(ctx)
	return err == nil && st.Nlink == 0
}

// New returns a VFS with root mounted at /.
func New(root FileSystem) *VFS {
	v := &VFS{lastID: 1}
	v.initNS = &MountNamespace{}
	m := &Mount{FS: root, id: 1, origin: 1, ns: v.initNS}
	m.root = &Dentry{inode: root.Root(), mnt: m}
	v.initNS.root.Store(m)
	v.locks.files = make(map[lockKey]*fileLocks)
	return v
}

// SetRootFlags sets the mount flags of / (MS_RDONLY...); the kernel's
// doing, before the VFS is shared.
func (v *VFS) SetRootFlags(flags uint64) { v.initNS.rootMount().flags.Store(flags & MountFlags) }

// SetDeviceOpener makes o open the device nodes of every filesystem; call
// it before the VFS is shared.
func (v *VFS) SetDeviceOpener(o DeviceOpener) { v.devices = o }

// SetFIFOOpener makes o open the FIFO nodes of every filesystem; call it
// before the VFS is used.
func (v *VFS) SetFIFOOpener(o FIFOOpener) { v.fifos = o }

// Root returns the dentry of / in the first mount namespace.
func (v *VFS) Root() *Dentry { return v.initNS.Root() }

// NewFSContext returns a context with root and working directory at /
// and umask 022.
func (v *VFS) NewFSContext() *FSContext {
	return &FSContext{root: v.Root(), cwd: v.Root(), umask: 0o022}
}

// Mount mounts fs on the directory path (absolute, resolved from the
// VFS's root with symlinks followed). Mounting twice on one directory
// stacks, as in Linux.
func (v *VFS) Mount(path string, fs FileSystem) error {
	return v.MountWithFlags(path, fs, 0)
}

// MountWithFlags is Mount with mount flags (MS_RDONLY...). A filesystem
// whose root is not a directory (a bind mount of one file) is mounted on
// a file that is not a directory either.
func (v *VFS) MountWithFlags(path string, fs FileSystem, flags uint64) error {
	ctx := context.Background()
	// Mounting is the kernel's own doing: the sandbox's mount table is
	// built before any task runs, and the application cannot mount.
	w := &walker{v: v, ctx: ctx, creds: KernelCreds(), root: v.Root()}
	d, err := w.lookup(v.Root(), path, true)
	if err != nil {
		return fmt.Errorf("mount point %s: %w", path, err)
	}
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return fmt.Errorf("mount point %s: %w", path, err)
	}
	rst, err := fs.Root().Stat(ctx)
	if err != nil {
		return fmt.Errorf("mounting on %s: %w", path, err)
	}
	switch {
	case IsDir(rst.Mode) && !IsDir(st.Mode):
		return fmt.Errorf("mount point %s: %w", path, unix.ENOTDIR)
	case !IsDir(rst.Mode) && IsDir(st.Mode):
		return fmt.Errorf("mount point %s: %w", path, unix.EISDIR)
	}
	if !comparable(d.inode) {
		return fmt.Errorf("mount point %s: its filesystem cannot hold mounts: %w", path, unix.EINVAL)
	}
	m := &Mount{FS: fs, ns: d.mnt.ns}
	m.flags.Store(flags & MountFlags)
	m.root = &Dentry{inode: fs.Root(), mnt: m}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lastID++
	m.id, m.origin = v.lastID, v.lastID
	d.mnt.attach(d, m)
	return nil
}

// comparable reports whether i can be a map key without panicking.
func comparable(i Inode) bool {
	return i != nil && reflect.TypeOf(i).Comparable()
}

// sameInode reports whether a and b are the same inode value.
func sameInode(a, b Inode) bool {
	return comparable(a) && comparable(b) && a == b
}

// mountedAt returns the mount on d, if any.
func (v *VFS) mountedAt(d *Dentry) *Mount {
	if !comparable(d.inode) {
		return nil
	}
	v.mu.RLock()
	defer v.mu.RUnlock()
	return d.mnt.children[d.inode]
}

// crossMounts follows mounts stacked on d.
func (v *VFS) crossMounts(d *Dentry) *Dentry {
	for m := v.mountedAt(d); m != nil; m = v.mountedAt(d) {
		d = m.root
	}
	return d
}

// isMountPoint reports whether something is mounted on d or d is the
// root of a mount.
func (v *VFS) isMountPoint(d *Dentry) bool {
	return d.parent == nil || v.mountedAt(d) != nil
}

// PathOf returns d's absolute path as seen from root, with the names its
// directories have now (d_path); a dentry that is not below root gets
// "(unreachable)" in front, as getcwd(3) shows.
func PathOf(root, d *Dentry) string {
	var parts []string
	d = d.current()
	for {
		if d.mnt == root.mnt && sameInode(d.inode, root.inode) {
			break
		}
		if d.parent == nil {
			_, point := d.mnt.mountedOn()
			if point == nil {
				return "(unreachable)" + joinReversed(parts)
			}
			d = point.current()
			continue
		}
		parts = append(parts, d.name)
		d = d.parent
	}
	return joinReversed(parts)
}

func joinReversed(parts []string) string {
	if len(parts) == 0 {
		return "/"
	}
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i := len(parts) - 1; i >= 0; i-- {
		b = append(b, '/')
		b = append(b, parts[i]...)
	}
	return string(b)
}

// IsRoot reports whether d is the root directory of its mount
// namespace: a process whose root is anything else is chrooted
// (current_chrooted).
func (v *VFS) IsRoot(d *Dentry) bool {
	if d.mnt.ns == nil {
		return false // a file no mount holds
	}
	r := d.mnt.ns.Root()
	return d == r || d.mnt == r.mnt && sameInode(d.inode, r.inode)
}
