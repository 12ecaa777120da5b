package host

import (
	"path"
	"weak"

	"runsc-lite/sentry/vfs"
)

// Ancestry implements vfs.Placed for the directories and files of a
// writable tree: their parents and names as the sandbox's renames left
// them (moved; a file's once it was opened, tracked, and otherwise
// where the walk found it). A read-only tree's names never change.
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
// sandbox (rmdir, or renamed over), and takes no new entries; or the
// open file's name was (unlink, or renamed over), which d_path then
// shows with " (deleted)".
func (i *inode) Removed() bool {
	i.fs.mu.Lock()
	defer i.fs.mu.Unlock()
	return i.gone
}

// removed records that the directory or open file at p, if one is
// known, was removed: it keeps its last place, and what is found at p
// again is another.
func (fs *FS) removed(p string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for key, d := range fs.dirs {
		if d.path == p {
			d.gone = true
			delete(fs.dirs, key)
		}
	}
	for f := range fs.files {
		if i := f.Value(); i != nil && i.path == p {
			i.gone = true
			delete(fs.files, f)
		}
	}
}

// track makes the regular file i, being opened, follow the sandbox's
// renames and removals (moved, removed) for as long as anything holds
// it: an open file, a mapping, a /proc link's dentry. Files are held
// weakly; those collected are dropped as the set grows.
func (fs *FS) track(i *inode) {
	if !fs.writable || fs.single {
		return
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if i.gone {
		return
	}
	if fs.files == nil {
		fs.files = make(map[weak.Pointer[inode]]struct{})
	}
	fs.files[weak.Make(i)] = struct{}{}
	if len(fs.files) > 2*fs.grown {
		for f := range fs.files {
			if f.Value() == nil {
				delete(fs.files, f)
			}
		}
		fs.grown = max(len(fs.files), 8)
	}
}
