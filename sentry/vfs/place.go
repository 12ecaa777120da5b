package vfs

// Placed is implemented by the inodes of filesystems whose names change
// (rename(2)) and that know where each of their inodes is now, as
// Linux's dentries do (d_parent and d_name, which rename moves): a
// Dentry's path follows its directory, and any directory above it, to
// wherever they were moved after the walk that made it (getcwd,
// /proc/PID/cwd and fd links, "..").
type Placed interface {
	// Ancestry returns the inode's place now: first the directory
	// holding it and its name there, then that directory's parent and
	// the directory's name, and so on up to the filesystem's root (an
	// empty list for the root itself). A removed inode keeps the place
	// it had last, where d_path names it with " (deleted)". ok is false
	// when the filesystem cannot say (a file with several names, which
	// one the Dentry was reached by is the Dentry's to know).
	Ancestry() (up []Step, ok bool)
}

// Step is one level of an Ancestry: a directory and the name the level
// below has in it.
type Step struct {
	Dir  Inode
	Name string
}

// current returns d as its filesystem has it now: its name and its
// chain of parents up to its mount's root, which a rename of d or of a
// directory above it changed since the walk that built d. An inode that
// cannot say where it is (not Placed, or outside the tree of its mount's
// root: moved out of a bind mount's subtree) keeps the name it was
// reached by, below its parent's current place.
func (d *Dentry) current() *Dentry {
	if d.parent == nil {
		return d
	}
	if p, ok := d.inode.(Placed); ok && !d.unnamed {
		if up, ok := p.Ancestry(); ok {
			if c := d.placedAt(up); c != nil {
				return c
			}
		}
	}
	parent := d.parent.current()
	if parent == d.parent {
		return d
	}
	return &Dentry{parent: parent, name: d.name, inode: d.inode, mnt: d.mnt, unnamed: d.unnamed}
}

// placedAt returns d's chain as up has it, from d's mount's root; nil if
// up does not pass that root. d itself when nothing changed.
func (d *Dentry) placedAt(up []Step) *Dentry {
	top := d.mnt.root
	if top == nil {
		return nil
	}
	if sameInode(d.inode, top.inode) {
		return top
	}
	k := -1
	for i, s := range up {
		if sameInode(s.Dir, top.inode) {
			k = i
			break
		}
	}
	if k < 0 {
		return nil
	}
	up = up[:k+1]
	if d.walkedAs(up) {
		return d
	}
	c := top
	for i := k; i >= 0; i-- {
		inode := d.inode
		if i > 0 {
			inode = up[i-1].Dir
		}
		c = &Dentry{parent: c, name: up[i].Name, inode: inode, mnt: d.mnt}
	}
	return c
}

// walkedAs reports whether d's chain has the names and directories of up,
// ending at a mount's root.
func (d *Dentry) walkedAs(up []Step) bool {
	for _, s := range up {
		if d.parent == nil || d.name != s.Name || !sameInode(d.parent.inode, s.Dir) {
			return false
		}
		d = d.parent
	}
	return d.parent == nil
}
