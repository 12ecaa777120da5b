// Package overlay is a writable filesystem in memory over a read-only
// lower filesystem (the host root), so that the application can write,
// create, rename and delete anywhere while the host stays unchanged.
// With no lower filesystem it is an ordinary memory filesystem, which is
// what package tmpfs mounts.
//
// Design decisions:
//   - One tree of nodes in memory is the truth. A node starts as a view of
//     a lower inode (attributes and contents come from below) and is
//     "copied up" the first time it changes: its attributes move into the
//     node, a regular file's contents into a memfd (so it can still be
//     mapped), a symlink's target into a string. A directory copied up keeps
//     its lower directory: its listing is the lower listing, minus
//     whiteouts, with the node's own children laid over it.
//   - Deleting a name that exists below records a whiteout in the parent.
//     Renaming moves the node itself (lower reference included), so
//     renaming a lower directory works and needs no redirects.
//   - Copied-up files keep the lower st_dev, st_ino and birth time (they
//     are still that file); files created here get the lower root's
//     st_dev and inode numbers with the top bit set, so they never collide
//     with host numbers, and are born when made. A memory-only filesystem
//     gets a device number of its own and inode numbers from 1.
//   - A file opened read-only before it is copied up reads the current
//     contents (it switches to the copy), and so do the mappings made
//     before the copy up, shared and private, in every process: the copy
//     up moves them onto the copy, a private mapping keeping the pages it
//     wrote itself (mapped.go, sentry/mm/reback.go). The sandbox is a
//     plain file system to the application, where one page cache backs
//     every mapping of a file; Linux's overlayfs leaves such mappings on
//     the lower file (its documented "non-standard behavior"), which left
//     a SQLite reader with mmap_size reading the host's rows.
//   - The memfd of an unlinked file is closed by the garbage collector when
//     the last open file and mapping are gone.
//   - A regular file's copy up copies its data extents only (SEEK_DATA
//     and SEEK_HOLE on the host file, as Linux's overlayfs copies up):
//     holes stay holes in the memfd, so a sparse host file costs the
//     memory of its data, and st_blocks, SEEK_DATA and SEEK_HOLE stay
//     what they were.
//   - File contents are charged to the sandbox's memory limit by size,
//     less the holes a copied-up file came with while it keeps them;
//     beyond it, writes fail with ENOSPC (charge.go), as they do beyond
//     the size a memory filesystem was mounted with (tmpfs's size=).
//   - Extended attributes (user.*, trusted.*, security.*) are stored on
//     the node, copied up with the lower file's own, charged and bounded
//     (xattr.go).
//   - Every node knows its parent and its name (place.go), so that paths
//     follow renames as Linux's dentries do (vfs.Placed): getcwd and the
//     /proc links of a directory that moved, or is below one that did.
//   - One mutex per filesystem guards the tree and every node's attributes;
//     file data is read and written without it.
//
// Lock order, outermost first: node.dataMu; FS.mu; an address space's
// lock (mm.MemoryManager.mu, which the copy up takes to move mappings,
// and under which mm tells a lowerMaps of a mapping); lowerMaps.mu and
// dataCharge.mu, leaves.
package overlay

import (
	"context"
	"os"
	"runsc-lite/abi"
	"sort"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// overlayMagic is what statfs reports as the filesystem's type.
const overlayMagic = linux.OVERLAYFS_SUPER_MAGIC

// FS is an overlay (or, with no lower layer, a memory filesystem).
type FS struct {
	// mu guards the tree: every node's attributes, children, whiteouts,
	// lower inode, up flag, symlink target and extended attributes, and
	// the choice of a file's memfd; file data is read and written without
	// it (dataMu orders appends and truncations).
	mu      sync.Mutex
	lower   vfs.FileSystem
	dev     uint64
	inoBase uint64
	nextIno atomic.Uint64
	root    *node
	space   *space // the size given at mount, nil for none (charge.go)
}

// New returns an overlay over lower; lower is never written.
func New(ctx context.Context, lower vfs.FileSystem) (*FS, error) {
	st, err := lower.Root().Stat(ctx)
	if err != nil {
		return nil, err
	}
	fs := &FS{lower: lower, dev: st.Dev, inoBase: 1 << 63}
	fs.root = &node{fs: fs, lower: lower.Root()}
	return fs, nil
}

// NewMemory returns an empty memory filesystem whose root directory has
// permissions mode (tmpfs).
func NewMemory(mode uint32) *FS {
	// The root directory belongs to root, who mounts the filesystem.
	return NewMemorySized(mode, 0, 0, 0)
}

// NewMemorySized returns an empty memory filesystem whose files hold at
// most size bytes together (0: as much as the memory account allows) and
// whose root directory has permissions mode and owner uid and group gid.
func NewMemorySized(mode uint32, size uint64, uid, gid uint32) *FS {
	fs := &FS{dev: vfs.NewDeviceID()}
	if size > 0 {
		fs.space = &space{capacity: pagesFor(int64(min(size, 1<<62)))}
	}
	fs.root = fs.newNode(vfs.KernelCreds(), unix.S_IFDIR|mode&0o7777, 0, nil)
	fs.root.st.Uid, fs.root.st.Gid = uid, gid
	return fs
}

// Root implements vfs.FileSystem.
func (fs *FS) Root() vfs.Inode { return fs.root }

// Statfs implements vfs.FileSystem. An overlay reports its upper layer,
// as Linux's does, and the upper layer is the sandbox's memory, which every
// file written is charged to (charge.go): the size is the caller's memory
// limit and what is free is what is left of it, for a memory filesystem
// too. The lower layer's figures (the host's disk) are not shown. Without
// a caller that has an account, the size is 4 GiB. A memory filesystem
// mounted with a size reports that size, and what its files leave of it.
func (fs *FS) Statfs(ctx context.Context) (unix.Statfs_t, error) {
	const block = 4096
	total, free := uint64(1<<32), uint64(1<<32)
	if a, ok := vfs.TaskOf(ctx).(accounted); ok && a.MemoryAccount().Limit() > 0 {
		mem := a.MemoryAccount()
		total = mem.Limit()
		free = total - min(mem.Used(), total)
	}
	if fs.space != nil {
		total = fs.space.capacity
		free = min(free, total-min(fs.space.used.Load(), total))
	}
	s := unix.Statfs_t{Type: linux.TMPFS_MAGIC, Bsize: block, Frsize: block, Blocks: total / block, Bfree: free / block, Bavail: free / block,
		Files: 1 << 20, Ffree: 1 << 20, Namelen: 255}
	if fs.lower != nil {
		s.Type = overlayMagic
	}
	s.Fsid.Val[0] = int32(vfs.EncodeDev(fs.dev))
	return s, nil
}

// node is a file of the overlay.
type node struct {
	fs    *FS
	lower vfs.Inode // what is below; nil for nodes created here
	up    bool      // st, data, target and children are authoritative

	st        unix.Stat_t // attributes when up (st.Size unused for files)
	born      vfs.Birth   // the birth time when up: when made here, or the lower file's
	data      *os.File    // regular file contents when up; nil while empty
	charge    *dataCharge // what data is charged (charge.go); set with it
	dataMu    sync.Mutex  // orders appends and truncations
	target    string      // symlink target when up
	xattrs    *xattrs     // extended attributes when up (xattr.go); nil while none
	children  map[string]*node
	whiteouts map[string]bool
	removed   bool   // lost its last name: a directory takes no new entries, a file not copied up shows no link
	linkable  bool   // an O_TMPFILE file a link may still name (Tmpfile)
	sealable  bool   // a memfd made with MFD_ALLOW_SEALING (seal.go); set before it is shared
	flags     uint32 // inode attribute flags, FS_*_FL (fileattr.go)
	// parent and name are where the node is (place.go): a name it has,
	// set whenever a directory takes it and kept once it has none; parent
	// is nil for the root, an O_TMPFILE file never named, and a file that
	// lost the name kept here while it has another.
	parent *node
	name   string
	// maps is what the mappings of the lower file hold (mapped.go): nil
	// until one is made, and once the copy up moved them.
	maps *lowerMaps
	// anonName is what /proc/PID/fd shows of a file no directory holds
	// (SetAnonName); set before it is shared.
	anonName string
}

// SetAnonName gives ino, a file of a memory filesystem just created and
// not yet shared that no directory will hold (a memfd), the name
// /proc/PID/fd links show for it, such as "/memfd:NAME (deleted)".
func SetAnonName(ino vfs.Inode, name string) {
	if n, ok := ino.(*node); ok {
		n.anonName = name
	}
}

// LinkName implements vfs.LinkNamer: a memfd's name, "" for a file with a
// name of its own (its open files have a Dentry).
func (n *node) LinkName() string { return n.anonName }

// HasLinks implements vfs.LinkCounter: a node not copied up has its one
// name until it is removed (dropLink).
func (n *node) HasLinks() bool {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.up {
		return !n.removed
	}
	return n.st.Nlink > 0
}

// Removed implements vfs.Removable.
func (n *node) Removed() bool {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.removed
}

func (fs *FS) newIno() uint64 { return fs.inoBase | fs.nextIno.Add(1) }

// newNode returns a node created here, owned by creds as
// inode_init_owner says: in a set-group-ID directory the node takes the
// directory's group, a directory stays set-group-ID, and a group-executable
// file loses that bit unless creds are in the group or hold CAP_FSETID
// (mode_strip_sgid).
func (fs *FS) newNode(creds vfs.Creds, mode uint32, rdev uint64, parent *node) *node {
	now := vfs.Now()
	n := &node{fs: fs, up: true, born: vfs.Birth{Time: now, Known: true}}
	n.st = unix.Stat_t{Ino: fs.newIno(), Dev: fs.dev, Mode: mode, Nlink: 1, Uid: creds.UID(), Gid: creds.GID(), Rdev: rdev, Blksize: 4096, Atim: now, Mtim: now, Ctim: now}
	if parent != nil {
		n.flags = parent.flags & flagsInherited
	}
	if parent != nil && parent.st.Mode&unix.S_ISGID != 0 {
		n.st.Gid = parent.st.Gid
		switch {
		case vfs.IsDir(mode):
			n.st.Mode |= unix.S_ISGID
		case mode&(unix.S_ISGID|unix.S_IXGRP) == unix.S_ISGID|unix.S_IXGRP && !creds.InGroup(n.st.Gid) && !creds.HasCap(linux.CAP_FSETID):
			n.st.Mode &^= unix.S_ISGID
		}
	}
	if vfs.IsDir(mode) {
		n.st.Nlink = 2
		n.children = make(map[string]*node)
	}
	return n
}

// Stat implements vfs.Inode.
func (n *node) Stat(ctx context.Context) (unix.Stat_t, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.stat(ctx)
}

func (n *node) stat(ctx context.Context) (unix.Stat_t, error) {
	if !n.up {
		st, err := n.lower.Stat(ctx)
		if n.removed {
			st.Nlink = 0
		}
		return st, err
	}
	st := n.st
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		st.Size = 0
		if n.data != nil {
			var ds unix.Stat_t
			if err := unix.Fstat(int(n.data.Fd()), &ds); err != nil {
				return st, err
			}
			st.Size, st.Blocks = ds.Size, ds.Blocks
		}
	case unix.S_IFLNK:
		st.Size = int64(len(n.target))
	case unix.S_IFDIR:
		st.Size = 4096
		st.Blocks = 8
	}
	return st, nil
}

// BirthTime implements vfs.BirthTimer: a file made here was born then
// (shmem_get_inode's i_crtime); one from below keeps the lower file's,
// copied up or not.
func (n *node) BirthTime(ctx context.Context) vfs.Birth {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.up {
		return vfs.BirthOf(ctx, n.lower)
	}
	return n.born
}

func (n *node) mode() uint32 {
	st, _ := n.stat(context.Background())
	return st.Mode
}

// child returns the child called name; fs.mu is held.
func (n *node) child(ctx context.Context, name string) (*node, error) {
	if c := n.children[name]; c != nil {
		return c, nil
	}
	if n.whiteouts[name] || n.lower == nil {
		return nil, unix.ENOENT
	}
	d, ok := n.lower.(vfs.Dir)
	if !ok {
		return nil, unix.ENOTDIR
	}
	li, err := d.Lookup(ctx, name)
	if err != nil {
		return nil, err
	}
	if n.children == nil {
		n.children = make(map[string]*node)
	}
	c := &node{fs: n.fs, lower: li, parent: n, name: name}
	n.children[name] = c
	return c, nil
}

// Lookup implements vfs.Dir.
func (n *node) Lookup(ctx context.Context, name string) (vfs.Inode, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	c, err := n.child(ctx, name)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ReadDir implements vfs.Dir: the lower listing minus whiteouts, with
// this layer's children over it, then the names only this layer has.
func (n *node) ReadDir(ctx context.Context) ([]vfs.Dirent, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	return n.readDir(ctx)
}

func (n *node) readDir(ctx context.Context) ([]vfs.Dirent, error) {
	var out []vfs.Dirent
	seen := make(map[string]bool)
	if d, ok := n.lower.(vfs.Dir); ok {
		list, err := d.ReadDir(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if n.whiteouts[e.Name] {
				continue
			}
			seen[e.Name] = true
			if c := n.children[e.Name]; c != nil {
				e = c.dirent(ctx, e.Name)
			}
			out = append(out, e)
		}
	}
	var names []string
	for name := range n.children {
		if !seen[name] {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, n.children[name].dirent(ctx, name))
	}
	return out, nil
}

func (n *node) dirent(ctx context.Context, name string) vfs.Dirent {
	st, _ := n.stat(ctx)
	return vfs.Dirent{Name: name, Ino: st.Ino, Type: vfs.DirentType(st.Mode)}
}

// Readlink implements vfs.Symlink.
func (n *node) Readlink(ctx context.Context) (string, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if n.up {
		return n.target, nil
	}
	l, ok := n.lower.(vfs.Symlink)
	if !ok {
		return "", unix.EINVAL
	}
	return l.Readlink(ctx)
}

// TouchAtime implements vfs.AtimeToucher for the times this layer keeps:
// a file not copied up has the lower file's, which are the host's.
func (n *node) TouchAtime(nodiratime bool) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.up || n.flags&abi.FS_NOATIME_FL != 0 || nodiratime && vfs.IsDir(n.st.Mode) {
		return
	}
	if now := vfs.Now(); vfs.RelatimeNeedsUpdate(&n.st, now) {
		n.st.Atim = now
	}
}
