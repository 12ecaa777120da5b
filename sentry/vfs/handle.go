package vfs

import (
	"context"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
)

// File handles (name_to_handle_at(2), open_by_handle_at(2)).
//
// Decision: a handle names a file by its filesystem's device and inode
// numbers, and the VFS remembers the dentries it gave handles for, as many
// as maxHandles (the oldest forgotten first); open_by_handle_at finds the
// file there. Linux's filesystems decode any handle they ever encoded,
// here a handle the VFS forgot, or forged, or of a removed file, is stale
// (ESTALE), which Linux allows of any handle. The table holds the files it
// names, so it is bounded.

// HandleType is the handle_type of the VFS's handles, and HandleSize their
// size in bytes: device and inode numbers.
const (
	HandleType = 0x81
	HandleSize = 16
)

// maxHandles bounds the dentries the VFS remembers for handles.
const maxHandles = 1 << 12

// handleKey is what a handle holds: the file's device and inode numbers.
type handleKey struct{ Dev, Ino uint64 }

// handleTable is the VFS's dentries by handle, in the order they were
// added (for forgetting the oldest).
type handleTable struct {
	byKey map[handleKey]*Dentry
	order []handleKey
}

// HandleBytes is the handle of the file with device and inode numbers
// dev and ino, as Handle gives it, without remembering anything (for
// inotify's fdinfo).
func HandleBytes(dev, ino uint64) []byte {
	k := handleKey{Dev: dev, Ino: ino}
	return append([]byte(nil), abi.AsBytes(&k)...)
}

// Handle returns d's handle, remembering d for OpenHandle.
func (v *VFS) Handle(ctx context.Context, d *Dentry) ([]byte, error) {
	st, err := d.inode.Stat(ctx)
	if err != nil {
		return nil, err
	}
	k := handleKey{Dev: st.Dev, Ino: st.Ino}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.handles.byKey == nil {
		v.handles.byKey = make(map[handleKey]*Dentry)
	}
	if _, ok := v.handles.byKey[k]; !ok {
		if len(v.handles.order) == maxHandles {
			delete(v.handles.byKey, v.handles.order[0])
			v.handles.order = v.handles.order[1:]
		}
		v.handles.order = append(v.handles.order, k)
	}
	v.handles.byKey[k] = d
	return append([]byte(nil), abi.AsBytes(&k)...), nil
}

// HandleDentry finds the file a handle of the filesystem of mnt names:
// ESTALE if the handle is not one the VFS gave for a file of that
// filesystem that still exists.
func (v *VFS) HandleDentry(ctx context.Context, mnt *Dentry, handleType int32, handle []byte) (*Dentry, error) {
	if handleType != HandleType || len(handle) != HandleSize {
		return nil, unix.ESTALE
	}
	var k handleKey
	copy(abi.AsBytes(&k), handle)
	root, err := mnt.mnt.FS.Root().Stat(ctx)
	if err != nil || root.Dev != k.Dev {
		return nil, unix.ESTALE
	}
	v.mu.RLock()
	d := v.handles.byKey[k]
	v.mu.RUnlock()
	if d == nil {
		return nil, unix.ESTALE
	}
	// A file no directory links any more is stale, as Linux's inode once
	// evicted (an open one too, here).
	if st, err := d.inode.Stat(ctx); err != nil || st.Nlink == 0 {
		return nil, unix.ESTALE
	}
	if r, ok := d.inode.(Removable); ok && r.Removed() {
		return nil, unix.ESTALE
	}
	return d, nil
}

// OpenDentry opens a dentry found otherwise than by a path (a handle) for
// creds, with open(2)'s checks.
func (v *VFS) OpenDentry(ctx context.Context, creds Creds, d *Dentry, flags int) (*File, error) {
	return v.openDentry(ctx, creds, d, flags, false)
}
