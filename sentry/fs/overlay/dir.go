package overlay

import (
	"context"
	"errors"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// touch records a change of the directory's entries; fs.mu is held and n
// is up.
func (n *node) touch() {
	now := vfs.Now()
	n.st.Mtim, n.st.Ctim = now, now
}

// add puts c under name; fs.mu is held.
func (n *node) add(name string, c *node) {
	if n.children == nil {
		n.children = make(map[string]*node)
	}
	n.children[name] = c
	c.parent, c.name = n, name
	delete(n.whiteouts, name)
}

// remove drops name, hiding what is below; fs.mu is held.
func (n *node) remove(name string) {
	delete(n.children, name)
	if n.lower != nil {
		if n.whiteouts == nil {
			n.whiteouts = make(map[string]bool)
		}
		n.whiteouts[name] = true
	}
}

// prepareNew checks that name is free in n and copies n up; fs.mu is
// held.
func (n *node) prepareNew(ctx context.Context, name string) error {
	if n.removed {
		return unix.ENOENT
	}
	if _, err := n.child(ctx, name); err == nil {
		return unix.EEXIST
	} else if err != unix.ENOENT {
		return err
	}
	return n.copyUp(ctx)
}

// Create implements vfs.DirWriter.
func (n *node) Create(ctx context.Context, creds vfs.Creds, name string, mode uint32, rdev uint64) (vfs.Inode, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if err := n.prepareNew(ctx, name); err != nil {
		return nil, err
	}
	c := n.fs.newNode(creds, mode, rdev, n)
	n.add(name, c)
	n.touch()
	return c, nil
}

// Mkdir implements vfs.DirWriter.
func (n *node) Mkdir(ctx context.Context, creds vfs.Creds, name string, mode uint32) error {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if err := n.prepareNew(ctx, name); err != nil {
		return err
	}
	n.add(name, n.fs.newNode(creds, unix.S_IFDIR|mode, 0, n))
	n.st.Nlink++
	n.touch()
	return nil
}

// Symlink implements vfs.DirWriter.
func (n *node) Symlink(ctx context.Context, creds vfs.Creds, name, target string) error {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if err := n.prepareNew(ctx, name); err != nil {
		return err
	}
	c := n.fs.newNode(creds, unix.S_IFLNK|0o777, 0, n)
	c.target = target
	n.add(name, c)
	n.touch()
	return nil
}

// Tmpfile implements vfs.TmpfileMaker (shmem_tmpfile). Like Linux it
// makes the file even in a removed directory: the file has no name there.
// The directory is copied up, as for Create, for the attributes the file
// inherits (a set-group-ID directory's group, inode flags).
func (n *node) Tmpfile(ctx context.Context, creds vfs.Creds, mode uint32, linkable bool) (vfs.Inode, error) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if err := n.copyUp(ctx); err != nil {
		return nil, err
	}
	c := n.fs.newNode(creds, mode, 0, n)
	c.st.Nlink = 0
	c.linkable = linkable
	return c, nil
}

// Link implements vfs.DirWriter.
func (n *node) Link(ctx context.Context, name string, target vfs.Inode) error {
	t, ok := target.(*node)
	if !ok || t.fs != n.fs {
		return unix.EXDEV
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if vfs.IsDir(t.mode()) {
		return unix.EPERM
	}
	if err := n.prepareNew(ctx, name); err != nil {
		return err
	}
	// A file whose last name is gone is not named again, but for an
	// O_TMPFILE file's first link (vfs_link).
	if st, err := t.stat(ctx); err != nil {
		return err
	} else if st.Nlink == 0 && !t.linkable {
		return unix.ENOENT
	}
	if err := t.copyUp(ctx); err != nil {
		return err
	}
	t.linkable = false
	t.st.Nlink++
	t.st.Ctim = vfs.Now()
	n.add(name, t)
	n.touch()
	return nil
}

// dropLink records that c lost a name; fs.mu is held. A node not copied
// up has one name (a lower file's other names are nodes of their own), so
// without it the node has none: it is removed, and shows no link.
func (c *node) dropLink() {
	if vfs.IsDir(c.mode()) || !c.up {
		c.removed = true
	}
	if !c.up {
		return
	}
	if vfs.IsDir(c.st.Mode) {
		c.st.Nlink = 0
	} else if c.st.Nlink > 0 {
		c.st.Nlink--
	}
	c.st.Ctim = vfs.Now()
}

// Unlink implements vfs.DirWriter.
func (n *node) Unlink(ctx context.Context, name string) error {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	c, err := n.child(ctx, name)
	if err != nil {
		return err
	}
	if vfs.IsDir(c.mode()) {
		return unix.EISDIR
	}
	if err := n.copyUp(ctx); err != nil {
		return err
	}
	n.remove(name)
	c.dropLink()
	c.unplace(n, name)
	n.touch()
	return nil
}

// empty reports whether directory c has no entries; fs.mu is held.
func (c *node) empty(ctx context.Context) (bool, error) {
	list, err := c.readDir(ctx)
	return len(list) == 0, err
}

// Rmdir implements vfs.DirWriter.
func (n *node) Rmdir(ctx context.Context, name string) error {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	c, err := n.child(ctx, name)
	if err != nil {
		return err
	}
	if !vfs.IsDir(c.mode()) {
		return unix.ENOTDIR
	}
	if ok, err := c.empty(ctx); err != nil {
		return err
	} else if !ok {
		return unix.ENOTEMPTY
	}
	if err := n.copyUp(ctx); err != nil {
		return err
	}
	n.remove(name)
	c.dropLink()
	n.st.Nlink--
	n.touch()
	return nil
}

// Rename implements vfs.DirWriter.
func (n *node) Rename(ctx context.Context, oldName string, newDir vfs.Inode, newName string, flags uint32) error {
	nd, ok := newDir.(*node)
	if !ok || nd.fs != n.fs {
		return unix.EXDEV
	}
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if nd.removed {
		return unix.ENOENT
	}
	src, err := n.child(ctx, oldName)
	if err != nil {
		return err
	}
	dst, err := nd.child(ctx, newName)
	if err != nil && err != unix.ENOENT {
		return err
	}
	switch {
	case dst != nil && flags&unix.RENAME_NOREPLACE != 0:
		return unix.EEXIST
	case dst == nil && flags&unix.RENAME_EXCHANGE != 0:
		return unix.ENOENT
	case dst == src:
		return nil
	}
	srcDir := vfs.IsDir(src.mode())
	dstDir := dst != nil && vfs.IsDir(dst.mode())
	// No directory goes below itself (the VFS checked, on walks a
	// concurrent rename may have outrun): the tree stays a tree.
	if srcDir && nd.below(src) || dstDir && flags&unix.RENAME_EXCHANGE != 0 && n.below(dst) {
		return unix.EINVAL
	}
	if dst != nil && flags&unix.RENAME_EXCHANGE == 0 {
		if err := checkReplace(ctx, srcDir, dstDir, dst); err != nil {
			return err
		}
	}
	if err := n.copyUp(ctx); err != nil {
		return err
	}
	if err := nd.copyUp(ctx); err != nil {
		return err
	}
	if flags&unix.RENAME_EXCHANGE != 0 {
		n.children[oldName], nd.children[newName] = dst, src
		dst.parent, dst.name = n, oldName
		src.parent, src.name = nd, newName
		moveDirLink(n, nd, srcDir)
		moveDirLink(nd, n, dstDir)
	} else {
		if dst != nil {
			dst.dropLink()
			dst.unplace(nd, newName)
			if dstDir {
				nd.st.Nlink--
			}
		}
		n.remove(oldName)
		nd.add(newName, src)
		moveDirLink(n, nd, srcDir)
	}
	n.touch()
	nd.touch()
	if src.up {
		src.st.Ctim = vfs.Now()
	}
	return nil
}

// checkReplace applies rename(2)'s rules for an existing destination.
func checkReplace(ctx context.Context, srcDir, dstDir bool, dst *node) error {
	switch {
	case srcDir && !dstDir:
		return unix.ENOTDIR
	case !srcDir && dstDir:
		return unix.EISDIR
	case dstDir:
		if ok, err := dst.empty(ctx); err != nil {
			return err
		} else if !ok {
			return unix.ENOTEMPTY
		}
	}
	return nil
}

// moveDirLink moves the ".." link of a directory from one parent to
// another.
func moveDirLink(from, to *node, isDir bool) {
	if isDir && from != to {
		from.st.Nlink--
		to.st.Nlink++
	}
}

// SetAttr implements vfs.AttrSetter.
func (n *node) SetAttr(ctx context.Context, a vfs.Attr) error {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if err := n.copyUp(ctx); err != nil {
		return err
	}
	now := a.Now
	if now == (unix.Timespec{}) {
		now = vfs.Now()
	}
	if a.Mask&vfs.AttrSize != 0 {
		data, err := n.ensureData()
		if err != nil {
			return err
		}
		if err := n.charge.truncate(ctx, data, a.Size); err != nil {
			return err
		}
		err = data.Truncate(a.Size)
		n.charge.settle(data)
		if errors.Is(err, unix.EPERM) {
			return unix.EPERM // a seal forbids it (seal.go)
		}
		if err != nil {
			return unix.EIO
		}
		n.st.Mtim = now
	}
	if a.Mask&vfs.AttrMode != 0 {
		n.st.Mode = n.st.Mode&unix.S_IFMT | a.Mode&0o7777
	}
	if a.Mask&vfs.AttrUID != 0 {
		n.st.Uid = a.UID
	}
	if a.Mask&vfs.AttrGID != 0 {
		n.st.Gid = a.GID
	}
	if a.Mask&vfs.AttrAtime != 0 {
		n.st.Atim = a.Atime
	}
	if a.Mask&vfs.AttrMtime != 0 {
		n.st.Mtim = a.Mtime
	}
	n.st.Ctim = now
	return nil
}
