package vfs

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// File events for inotify (package fs/inotify). The VFS reports the
// events of its own operations: what the application does inside the
// sandbox. Changes the host makes to files below the sandbox root are not
// seen, as no host notification is asked for.
//
// Watches are keyed by the inode's st_dev and st_ino, since a Dentry is a
// walk's snapshot and the same file may be reached through many. While no
// watch exists, reporting an event costs one atomic load.

// WatchKey names a watched inode.
type WatchKey struct{ Dev, Ino uint64 }

// KeyOf returns the key of inode i.
func KeyOf(ctx context.Context, i Inode) (WatchKey, bool, error) {
	st, err := i.Stat(ctx)
	if err != nil {
		return WatchKey{}, false, err
	}
	return WatchKey{st.Dev, st.Ino}, IsDir(st.Mode), nil
}

// Watch receives the events of one watched inode: mask holds IN_* bits
// (with IN_ISDIR when the subject is a directory), name the entry's name
// for an event about an entry of a watched directory, "" for one about the
// inode itself.
type Watch interface {
	Notify(mask, cookie uint32, name string)
}

type watchTable struct {
	n       atomic.Int32 // how many watches there are, read without mu
	mu      sync.RWMutex // guards watches; events are delivered without it
	watches map[WatchKey][]Watch
	cookie  atomic.Uint32
}

// AddWatch starts delivering the events of the inode at key to w.
func (v *VFS) AddWatch(key WatchKey, w Watch) {
	t := &v.watches
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.watches == nil {
		t.watches = make(map[WatchKey][]Watch)
	}
	t.watches[key] = append(t.watches[key], w)
	t.n.Add(1)
}

// RemoveWatch stops delivering events to w.
func (v *VFS) RemoveWatch(key WatchKey, w Watch) {
	t := &v.watches
	t.mu.Lock()
	defer t.mu.Unlock()
	ws := t.watches[key]
	for i, x := range ws {
		if x == w {
			t.watches[key] = append(ws[:i:i], ws[i+1:]...)
			t.n.Add(-1)
			break
		}
	}
	if len(t.watches[key]) == 0 {
		delete(t.watches, key)
	}
}

// deliver sends an event to the watches of key.
func (v *VFS) deliver(key WatchKey, mask, cookie uint32, name string) {
	v.deliverPath(key, mask, cookie, name, nil)
}

// UnlinkedExcluder is implemented by watches that hear nothing of a file
// by a name it no longer has (inotify's IN_EXCL_UNLINK).
type UnlinkedExcluder interface {
	ExcludesUnlinked() bool
}

// deliverPath is deliver of an event about a file reached by a name (a
// path, in Linux's terms); unlinked, if not nil, says whether that name
// is gone, which watches that exclude unlinked files ask
// (fsnotify_handle_inode_event's d_unlinked check).
func (v *VFS) deliverPath(key WatchKey, mask, cookie uint32, name string, unlinked func() bool) {
	t := &v.watches
	t.mu.RLock()
	ws := append([]Watch(nil), t.watches[key]...)
	t.mu.RUnlock()
	for _, w := range ws {
		if x, ok := w.(UnlinkedExcluder); ok && unlinked != nil && x.ExcludesUnlinked() && unlinked() {
			continue
		}
		w.Notify(mask, cookie, name)
	}
}

// unlinkedFunc returns a function that says, once, whether d's name no
// longer leads to inode i (the file was unlinked or renamed over).
func unlinkedFunc(ctx context.Context, d *Dentry, i Inode) func() bool {
	if d == nil || d.parent == nil {
		return nil
	}
	return sync.OnceValue(func() bool {
		dir, ok := d.parent.inode.(Dir)
		if !ok {
			return false
		}
		now, err := dir.Lookup(ctx, d.name)
		if err != nil {
			return true
		}
		// By device and inode numbers: not every filesystem's inodes
		// are comparable values.
		a, _, errA := KeyOf(ctx, now)
		b, _, errB := KeyOf(ctx, i)
		return errA == nil && errB == nil && a != b
	})
}

func (v *VFS) watching() bool { return v != nil && v.watches.n.Load() != 0 }

// inodeEvent reports mask about inode i itself, to its watches and, with
// its name, to those of its parent directory.
func (v *VFS) inodeEvent(ctx context.Context, d *Dentry, i Inode, mask uint32) {
	if !v.watching() || i == nil {
		return
	}
	key, dir, err := KeyOf(ctx, i)
	if err != nil {
		return
	}
	if dir {
		mask |= unix.IN_ISDIR
	}
	// The parent's watch hears first, with the name, then the inode's
	// own (fsnotify_handle_event: "report an event to the parent with
	// name, then to the child without name"): the parent and name the
	// file has now (dget_parent), wherever it was opened.
	if d != nil {
		d = d.current()
	}
	unlinked := unlinkedFunc(ctx, d, i)
	if d != nil && d.parent != nil {
		if pkey, _, err := KeyOf(ctx, d.parent.inode); err == nil {
			v.deliverPath(pkey, mask, 0, d.name, unlinked)
		}
	}
	v.deliverPath(key, mask, 0, "", unlinked)
}

// entryEvent reports mask about entry name of directory parent when err
// is nil; it returns err, so that an operation can end with it.
func (v *VFS) entryEvent(ctx context.Context, err error, parent *Dentry, name string, mask uint32) error {
	if err != nil || !v.watching() {
		return err
	}
	v.entryEventCookie(ctx, parent, name, mask, 0)
	return nil
}

// entryEventCookie is entryEvent with a rename's cookie; callers put
// IN_ISDIR in mask for a directory entry.
func (v *VFS) entryEventCookie(ctx context.Context, parent *Dentry, name string, mask, cookie uint32) {
	if pkey, _, err := KeyOf(ctx, parent.inode); err == nil {
		v.deliver(pkey, mask, cookie, name)
	}
}

// removed reports the removal of entry name of parent, whose inode was
// child (with key childKey, taken before): IN_ATTRIB for a file's link
// count, IN_DELETE to the directory, and IN_DELETE_SELF when the inode has
// no name left. Linux reports IN_DELETE_SELF when the inode is freed,
// which an open descriptor delays; the sentry does not wait for it.
func (v *VFS) removed(ctx context.Context, err error, parent *Dentry, name string, child Inode, childKey WatchKey, isDir bool) error {
	if err != nil || !v.watching() {
		return err
	}
	mask := uint32(unix.IN_DELETE)
	if isDir {
		mask |= unix.IN_ISDIR
	} else {
		v.deliver(childKey, unix.IN_ATTRIB, 0, "")
	}
	if pkey, _, err := KeyOf(ctx, parent.inode); err == nil {
		v.deliver(pkey, mask, 0, name)
	}
	gone := isDir
	if st, err := child.Stat(ctx); err != nil || st.Nlink == 0 {
		gone = true
	}
	if gone {
		// inotify never reports IN_ISDIR with IN_DELETE_SELF or
		// IN_MOVE_SELF (inotify_handle_inode_event masks it out).
		v.deliver(childKey, unix.IN_DELETE_SELF, 0, "")
		v.deliver(childKey, unix.IN_IGNORED, 0, "")
	}
	return nil
}

// keyForRemoval is what removed needs, read before the entry goes.
func (v *VFS) keyForRemoval(ctx context.Context, d *Dentry) (WatchKey, bool) {
	if !v.watching() {
		return WatchKey{}, false
	}
	key, dir, _ := KeyOf(ctx, d.inode)
	return key, dir
}

// moved reports a rename: IN_MOVED_FROM and IN_MOVED_TO with one cookie,
// and IN_MOVE_SELF to the moved inode.
func (v *VFS) moved(ctx context.Context, err error, op *Dentry, oname string, np *Dentry, nname string, moved Inode) error {
	if err != nil || !v.watching() {
		return err
	}
	key, dir, kerr := KeyOf(ctx, moved)
	var isDir uint32
	if dir {
		isDir = unix.IN_ISDIR
	}
	cookie := v.watches.cookie.Add(1)
	v.entryEventCookie(ctx, op, oname, unix.IN_MOVED_FROM|isDir, cookie)
	v.entryEventCookie(ctx, np, nname, unix.IN_MOVED_TO|isDir, cookie)
	// A rename inside one directory is dnotify's DN_RENAME there
	// (fsnotify_move's FS_DN_RENAME).
	okey, _, oerr := KeyOf(ctx, op.inode)
	nkey, _, nerr := KeyOf(ctx, np.inode)
	if oerr == nil && nerr == nil && okey == nkey {
		v.deliver(okey, dnRenameEvent|isDir, 0, oname)
	}
	if kerr == nil {
		v.deliver(key, unix.IN_MOVE_SELF, 0, "")
	}
	return nil
}

// attrEvent reports a change of attributes as notify_change does: a size
// change is IN_MODIFY, the rest IN_ATTRIB.
func (v *VFS) attrEvent(ctx context.Context, err error, d *Dentry, i Inode, a Attr) error {
	if err != nil || !v.watching() {
		return err
	}
	var mask uint32
	if a.Mask&AttrSize != 0 {
		mask |= unix.IN_MODIFY
	}
	if a.Mask&(AttrMode|AttrUID|AttrGID) != 0 || a.Mask&(AttrAtime|AttrMtime) == AttrAtime|AttrMtime {
		mask |= unix.IN_ATTRIB
	} else if a.Mask&AttrMtime != 0 {
		mask |= unix.IN_MODIFY
	} else if a.Mask&AttrAtime != 0 {
		mask |= unix.IN_ACCESS
	}
	if mask != 0 {
		v.inodeEvent(ctx, d, i, mask)
	}
	return nil
}

// fileEvent reports mask about an open file, if it has a name.
func (f *File) fileEvent(ctx context.Context, n int, mask uint32) {
	if n > 0 && f.v.watching() && f.d != nil {
		f.v.inodeEvent(ctx, f.d, f.inode, mask)
	}
}

// closeEvent reports the last close of a file with a name.
func (f *File) closeEvent() {
	if f.v.watching() && f.d != nil {
		mask := uint32(unix.IN_CLOSE_NOWRITE)
		if f.writable() {
			mask = unix.IN_CLOSE_WRITE
		}
		f.v.inodeEvent(context.Background(), f.d, f.inode, mask)
	}
}
