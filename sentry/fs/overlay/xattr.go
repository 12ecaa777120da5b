package overlay

import (
	"context"
	"runtime"
	"sort"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// Extended attributes live in a map on the node once it is up; before,
// they are the lower inode's (read through vfs.XattrReader). Setting or
// removing one copies the node up, and copy up takes the lower file's
// attributes with it. The VFS has checked names and rights.
//
// Every stored attribute is charged to the sandbox's memory account by its
// name and value plus xattrOverhead (the map entry), and one node holds at
// most xattrNodeMax bytes of them, as a tmpfs inode's space is bounded:
// beyond either, a set fails with ENOSPC. The charge is returned when the
// attribute goes, and when the node is garbage collected.

const (
	xattrOverhead = 64
	xattrNodeMax  = 1 << 20
)

// xattrs are a node's extended attributes and what they are charged.
type xattrs struct {
	m     map[string][]byte
	mem   *usage.Memory
	bytes uint64
}

// xattrCost is what name with value is charged.
func xattrCost(name string, value []byte) uint64 {
	return uint64(len(name) + len(value) + xattrOverhead)
}

// release returns the whole charge (when the node is collected, or a copy
// up fails); x may be nil.
func (x *xattrs) release() {
	if x != nil {
		x.mem.Uncharge(usage.Files, x.bytes)
	}
}

// store returns n's attributes, creating them; fs.mu is held and n is up.
func (n *node) store() *xattrs {
	if n.xattrs == nil {
		n.setXattrs(&xattrs{m: make(map[string][]byte)})
	}
	return n.xattrs
}

// setXattrs gives n its attributes, whose charge is returned when n is
// collected; fs.mu is held.
func (n *node) setXattrs(x *xattrs) {
	n.xattrs = x
	runtime.AddCleanup(n, (*xattrs).release, x)
}

// put stores value under name in place of old (nil: none), charging the
// growth to the caller; fs.mu is held.
func (x *xattrs) put(ctx context.Context, name string, value, old []byte, had bool) error {
	cost := xattrCost(name, value)
	var freed uint64
	if had {
		freed = xattrCost(name, old)
	}
	if x.bytes-freed+cost > xattrNodeMax {
		return unix.ENOSPC
	}
	if x.mem == nil {
		if a, ok := vfs.TaskOf(ctx).(accounted); ok {
			x.mem = a.MemoryAccount()
		}
	}
	if cost > freed {
		if !x.mem.Charge(usage.Files, cost-freed) {
			return unix.ENOSPC
		}
	} else {
		x.mem.Uncharge(usage.Files, freed-cost)
	}
	x.bytes = x.bytes - freed + cost
	x.m[name] = append([]byte{}, value...)
	return nil
}

// lowerXattrs returns a copy of the lower inode's attributes for a node
// being copied up (nil if it has none), charged to the caller. A lower file
// whose attributes cannot be read (a host file the sentry may not open) is
// copied without them.
func lowerXattrs(ctx context.Context, lower vfs.Inode) (*xattrs, error) {
	r, ok := lower.(vfs.XattrReader)
	if !ok {
		return nil, nil
	}
	names, err := r.ListXattr(ctx)
	if err != nil || len(names) == 0 {
		return nil, nil
	}
	x := &xattrs{m: make(map[string][]byte)}
	for _, name := range names {
		if !vfs.XattrStored(name) {
			continue
		}
		value, err := r.GetXattr(ctx, name)
		if err != nil {
			continue
		}
		if err := x.put(ctx, name, value, nil, false); err != nil {
			x.release()
			return nil, err
		}
	}
	return x, nil
}

// GetXattr implements vfs.XattrReader.
func (n *node) GetXattr(ctx context.Context, name string) ([]byte, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.up {
		return lowerXattr(ctx, n.lower, name)
	}
	if n.xattrs != nil {
		if v, ok := n.xattrs.m[name]; ok {
			return append([]byte{}, v...), nil
		}
	}
	return nil, unix.ENODATA
}

// lowerXattr reads name from a lower inode.
func lowerXattr(ctx context.Context, lower vfs.Inode, name string) ([]byte, error) {
	if r, ok := lower.(vfs.XattrReader); ok {
		return r.GetXattr(ctx, name)
	}
	return nil, unix.ENODATA
}

// ListXattr implements vfs.XattrReader, in name order (Linux lists in an
// order of its own, which programs cannot rely on).
func (n *node) ListXattr(ctx context.Context) ([]string, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.up {
		if r, ok := n.lower.(vfs.XattrReader); ok {
			return r.ListXattr(ctx)
		}
		return nil, nil
	}
	var names []string
	if n.xattrs != nil {
		for name := range n.xattrs.m {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	return names, nil
}

// SetXattr implements vfs.XattrWriter.
func (n *node) SetXattr(ctx context.Context, name string, value []byte, flags int) error {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if err := n.copyUp(ctx); err != nil {
		return err
	}
	x := n.store()
	old, had := x.m[name]
	switch {
	case had && flags&unix.XATTR_CREATE != 0:
		return unix.EEXIST
	case !had && flags&unix.XATTR_REPLACE != 0:
		return unix.ENODATA
	}
	if err := x.put(ctx, name, value, old, had); err != nil {
		return err
	}
	n.st.Ctim = vfs.Now()
	return nil
}

// RemoveXattr implements vfs.XattrWriter.
func (n *node) RemoveXattr(ctx context.Context, name string) error {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if !n.up {
		// Nothing to remove is no reason to copy up.
		if _, err := lowerXattr(ctx, n.lower, name); err != nil {
			return err
		}
	}
	if err := n.copyUp(ctx); err != nil {
		return err
	}
	if n.xattrs == nil {
		return unix.ENODATA
	}
	old, ok := n.xattrs.m[name]
	if !ok {
		return unix.ENODATA
	}
	delete(n.xattrs.m, name)
	cost := xattrCost(name, old)
	n.xattrs.bytes -= cost
	n.xattrs.mem.Uncharge(usage.Files, cost)
	n.st.Ctim = vfs.Now()
	return nil
}
