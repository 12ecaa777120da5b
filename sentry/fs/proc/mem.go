package proc

import (
	"context"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// memFile is /proc/PID/mem: the task's memory at the file's offsets, for
// the task itself and for who may trace it (a debugger reads and sets
// breakpoints through it, writing into read-only text as POKEDATA does).
type memFile struct {
	tree kernfs.Tree
	path string
	task func() (*kernel.Task, error)
}

// Stat implements vfs.Inode.
func (m *memFile) Stat(ctx context.Context) (unix.Stat_t, error) {
	return taskFileStat(m.tree, m.path, 0o600, m.task), nil
}

// taskFileStat is the attributes of a regular file of /proc/PID that the
// task's owner owns, with permissions perm: its effective IDs, or root's
// while the process is not dumpable (task_dump_owner: a process that
// cleared PR_SET_DUMPABLE, or ran a set-ID program, keeps its files from
// its user).
func taskFileStat(tr kernfs.Tree, path string, perm uint32, task func() (*kernel.Task, error)) unix.Stat_t {
	st := unix.Stat_t{Dev: tr.Dev, Ino: kernfs.Ino(path), Mode: unix.S_IFREG | perm, Nlink: 1, Blksize: 4096, Atim: tr.Time, Mtim: tr.Time, Ctim: tr.Time}
	if t, err := task(); err == nil && t.Dumpable() {
		c := t.Creds()
		st.Uid, st.Gid = c.UID.Effective, c.GID.Effective
	}
	return st
}

// Open implements vfs.Inode: EACCES for a caller that may not trace the
// task.
func (m *memFile) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	t, err := tracedTask(ctx, m.task)
	if err != nil {
		return nil, err
	}
	return &memAccess{t: t}, nil
}

// tracedTask returns the task task finds if the caller may read its
// memory (mem, pagemap): ENOENT if it is gone, EACCES if it may not.
func tracedTask(ctx context.Context, task func() (*kernel.Task, error)) (*kernel.Task, error) {
	t, err := task()
	if err != nil {
		return nil, unix.ENOENT
	}
	caller, ok := vfs.TaskOf(ctx).(*kernel.Task)
	if !ok || !caller.MayAccessMemory(t) {
		return nil, unix.EACCES
	}
	return t, nil
}

// memAccess is an open /proc/PID/mem.
type memAccess struct{ t *kernel.Task }

// ReadAt implements vfs.FileImpl: EIO where nothing is mapped.
func (a *memAccess) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	n, err := a.t.MM().CopyIn(uintptr(off), p)
	if n == 0 && err != nil && len(p) > 0 {
		return 0, unix.EIO
	}
	return n, nil
}

// WriteAt implements vfs.FileImpl.
func (a *memAccess) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, unix.EINVAL
	}
	if err := a.t.PokeMemory(uintptr(off), p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Release implements vfs.FileImpl.
func (a *memAccess) Release() {}
