package vfs

import (
	"context"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// maxSymlinks is how many symlinks one walk may follow (Linux's
// MAXSYMLINKS).
const maxSymlinks = 40

// walker resolves paths for one operation.
type walker struct {
	v     *VFS
	ctx   context.Context
	creds Creds // who walks: every directory on the way must be searchable by them
	root  *Dentry
	links int
	// resolve are openat2's RESOLVE_* flags (resolve.go); base is the
	// walk's starting directory, which RESOLVE_BENEATH keeps it under
	// and RESOLVE_NO_XDEV on the mount of.
	resolve uint64
	base    *Dentry
}

// components splits path into its non-empty names and reports whether it
// ends with a slash. A name longer than NAME_MAX is refused only when the
// walk reaches it (step), as Linux's filesystems refuse it in lookup:
// "missing/<256 bytes>" is ENOENT, "file/<256 bytes>" ENOTDIR.
func components(path string) ([]string, bool, error) {
	if path == "" {
		return nil, false, unix.ENOENT
	}
	if len(path) >= unix.PathMax {
		return nil, false, unix.ENAMETOOLONG
	}
	var names []string
	for _, c := range strings.Split(path, "/") {
		if c == "" {
			continue
		}
		names = append(names, c)
	}
	return names, strings.HasSuffix(path, "/"), nil
}

// walkParent resolves every component of path but the last, starting at
// start (or the root for absolute paths). It returns the directory, the
// last name ("" for a path that names the start or root itself, such as
// "/") and whether the path ended with a slash.
func (w *walker) walkParent(start *Dentry, path string) (*Dentry, string, bool, error) {
	names, trailing, err := components(path)
	if err != nil {
		return nil, "", false, err
	}
	d := start
	if path[0] == '/' {
		if w.resolve&linux.RESOLVE_BENEATH != 0 {
			return nil, "", false, unix.EXDEV
		}
		d = w.root
		if err := w.checkMount(d); err != nil {
			return nil, "", false, err
		}
	}
	if len(names) == 0 {
		return d, "", trailing, nil
	}
	for _, name := range names[:len(names)-1] {
		if d, err = w.step(d, name); err != nil {
			return nil, "", false, err
		}
		if d, err = w.follow(d); err != nil {
			return nil, "", false, err
		}
	}
	if err := w.checkSearch(d); err != nil {
		return nil, "", false, err
	}
	return d, names[len(names)-1], trailing, nil
}

// lookup resolves path from start; follow says whether a final symlink
// is followed (a trailing slash always follows).
func (w *walker) lookup(start *Dentry, path string, follow bool) (*Dentry, error) {
	dir, last, trailing, err := w.walkParent(start, path)
	if err != nil {
		return nil, err
	}
	return w.lookupLast(dir, last, trailing, follow)
}

// lookupLast resolves the final component found by walkParent.
func (w *walker) lookupLast(dir *Dentry, last string, trailing, follow bool) (*Dentry, error) {
	if last == "" {
		return dir, nil
	}
	d, err := w.step(dir, last)
	if err != nil {
		return nil, err
	}
	if follow || trailing {
		if d, err = w.follow(d); err != nil {
			return nil, err
		}
	}
	if trailing {
		if err := w.checkDir(d); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// checkDir fails with ENOTDIR unless d is a directory.
func (w *walker) checkDir(d *Dentry) error {
	st, err := d.inode.Stat(w.ctx)
	if err != nil {
		return err
	}
	if !IsDir(st.Mode) {
		return unix.ENOTDIR
	}
	return nil
}

// checkSearch fails unless d is a directory the caller may search.
func (w *walker) checkSearch(d *Dentry) error {
	st, err := d.inode.Stat(w.ctx)
	if err != nil {
		return err
	}
	if !IsDir(st.Mode) {
		return unix.ENOTDIR
	}
	return permission(w.creds, &st, mayExec)
}

// step moves from directory d to its child name, crossing mounts.
func (w *walker) step(d *Dentry, name string) (*Dentry, error) {
	if err := w.checkSearch(d); err != nil {
		return nil, err
	}
	switch name {
	case ".":
		return d, nil
	case "..":
		if w.resolve&linux.RESOLVE_BENEATH != 0 && d.mnt == w.base.mnt && sameInode(d.inode, w.base.inode) {
			return nil, unix.EXDEV
		}
		up := w.dotdot(d)
		return up, w.checkMount(up)
	}
	dir, ok := d.inode.(Dir)
	if !ok {
		return nil, unix.ENOTDIR
	}
	if len(name) > linux.NAME_MAX {
		return nil, unix.ENAMETOOLONG
	}
	child, err := dir.Lookup(w.ctx, name)
	if err != nil {
		return nil, err
	}
	next := w.v.crossMounts(&Dentry{parent: d, name: name, inode: child, mnt: d.mnt})
	return next, w.checkMount(next)
}

// dotdot returns d's parent, where it is now (a rename may have moved d
// since it was walked to); the caller's root is its own parent, and so
// is the VFS root.
func (w *walker) dotdot(d *Dentry) *Dentry {
	for {
		if d.mnt == w.root.mnt && sameInode(d.inode, w.root.inode) {
			return d
		}
		if d = d.current(); d.parent != nil {
			return d.parent
		}
		_, point := d.mnt.mountedOn()
		if point == nil {
			return d
		}
		d = point
	}
}

// follow resolves d while it is a symlink.
func (w *walker) follow(d *Dentry) (*Dentry, error) {
	for {
		st, err := d.inode.Stat(w.ctx)
		if err != nil {
			return nil, err
		}
		if !IsSymlink(st.Mode) {
			return d, nil
		}
		if err := w.mayFollow(d); err != nil {
			return nil, err
		}
		if w.links++; w.links > maxSymlinks {
			return nil, unix.ELOOP
		}
		if to, err := w.jump(d); err != nil || to != nil {
			// A jump lands where it lands, even on a symlink (an
			// O_PATH descriptor of one): nothing follows it further.
			return to, err
		}
		target, err := readlink(w.ctx, d.inode)
		if err != nil {
			return nil, err
		}
		parent := d.parent
		if parent == nil {
			parent = d
		}
		if d, err = w.lookup(parent, target, true); err != nil {
			return nil, err
		}
	}
}

func readlink(ctx context.Context, i Inode) (string, error) {
	l, ok := i.(Symlink)
	if !ok {
		return "", unix.EINVAL
	}
	return l.Readlink(ctx)
}
