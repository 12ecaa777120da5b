package vfs

import "sync"

// FSContext is a process's root, working directory and umask. Threads
// created with CLONE_FS share one; fork copies it (Fork).
type FSContext struct {
	// mu guards every field; Getcwd asks the working directory's
	// filesystem whether it was removed under it.
	mu    sync.Mutex
	root  *Dentry // guarded by mu
	cwd   *Dentry // guarded by mu
	umask uint32  // guarded by mu
}

// Fork returns an independent copy.
func (c *FSContext) Fork() *FSContext {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &FSContext{root: c.root, cwd: c.cwd, umask: c.umask}
}

// Root returns the process's root directory.
func (c *FSContext) Root() *Dentry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.root
}

// Cwd returns the working directory.
func (c *FSContext) Cwd() *Dentry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cwd
}

// SetCwd changes the working directory (the caller checked it).
func (c *FSContext) SetCwd(d *Dentry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cwd = d
}

// SetRoot changes the root directory (chroot).
func (c *FSContext) SetRoot(d *Dentry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.root = d
}

// Umask returns the umask.
func (c *FSContext) Umask() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.umask
}

// SwapUmask sets the umask to mask&0777 and returns the old one.
func (c *FSContext) SwapUmask(mask uint32) uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.umask
	c.umask = mask & 0o777
	return old
}

// Getcwd returns the working directory's path from the root, and whether
// the directory was removed since (getcwd(2) then fails with ENOENT;
// /proc/PID/cwd adds " (deleted)").
func (c *FSContext) Getcwd() (path string, removed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.cwd.inode.(Removable)
	return PathOf(c.root, c.cwd), ok && r.Removed()
}
