package overlay

import (
	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// maxAncestry is how far up Ancestry goes: a path of more names is longer
// than PATH_MAX, which d_path does not print anyway. Rename keeps the
// tree a tree (below); the bound ends the walk whatever happens.
const maxAncestry = unix.PathMax / 2

// Ancestry implements vfs.Placed: the directories above n up to the
// root, as renames left them. A file with several names does not say
// which one its Dentry was reached by.
func (n *node) Ancestry() ([]vfs.Step, bool) {
	n.fs.mu.Lock()
	defer n.fs.mu.Unlock()
	if n.up && !vfs.IsDir(n.st.Mode) && n.st.Nlink > 1 {
		return nil, false
	}
	var up []vfs.Step
	for c := n; c != n.fs.root; c = c.parent {
		if c.parent == nil || len(up) == maxAncestry {
			return nil, false
		}
		up = append(up, vfs.Step{Dir: c.parent, Name: c.name})
	}
	return up, true
}

// unplace records that c lost its name in dir: a file that keeps
// another no longer knows which name it has; one left with none keeps
// its last place, as a removed directory does. fs.mu is held.
func (c *node) unplace(dir *node, name string) {
	if c.parent == dir && c.name == name && c.up && c.st.Nlink > 0 && !vfs.IsDir(c.st.Mode) {
		c.parent = nil
	}
}

// below reports whether n is a or a directory below it; fs.mu is held.
func (n *node) below(a *node) bool {
	for c := n; c != nil; c = c.parent {
		if c == a {
			return true
		}
	}
	return false
}
