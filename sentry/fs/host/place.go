package host

import (
	"path"

	"runsc-lite/sentry/vfs"
)

// Ancestry implements vfs.Placed for the directories of a writable tree,
// whose renames move them (moved): their parents and names as the
// sandbox's renames left them. A read-only tree's names never change,
// and a file does not say where it is (its path is where it was found).
// A renaming outside the sandbox is not seen; the count of directories
// bounds the way up, so that what it left is never a loop.
func (i *inode) Ancestry() ([]vfs.Step, bool) {
	if !i.fs.writable {
		return nil, false
	}
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	var up []vfs.Step
	for c := i; c != i.fs.top; c = c.parent {
		if c.parent == nil || len(up) > len(i.fs.dirs) {
			return nil, false
		}
		up = append(up, vfs.Step{Dir: c.parent, Name: path.Base(c.path)})
	}
	return up, true
}

// Removed implements vfs.Removable: the directory was removed by the
// sandbox (rmdir, or renamed over), and takes no new entries.
func (i *inode) Removed() bool {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	return i.gone
}

// removed records that the directory at p, if one is known, was
// removed: it keeps its last place, and a directory found at p again is
// another.
func (fs *FS) removed(p string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for key, d := range fs.dirs {
		if d.path == p {
			d.gone = true
			delete(fs.dirs, key)
		}
	}
}
