package proc

import (
	"context"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// pidDir is /proc/PID. Its files look the task up at every access, so a
// task that exits makes them ENOENT (ESRCH for reads), as in Linux.
func (fs *FileSystem) pidDir(pid int) *kernfs.Dir {
	base := "/" + strconv.Itoa(pid)
	task := func() (*kernel.Task, error) {
		if t := fs.k.Task(pid); t != nil {
			return t, nil
		}
		return nil, unix.ESRCH
	}
	genCaller := func(name string, fn func(context.Context, *kernel.Task) string) vfs.Inode {
		return fs.tree.File(base+"/"+name, func(ctx context.Context) (string, error) {
			t, err := task()
			if err != nil {
				return "", err
			}
			return fn(ctx, t), nil
		})
	}
	gen := func(name string, fn func(*kernel.Task) string) vfs.Inode {
		return genCaller(name, func(_ context.Context, t *kernel.Task) string { return fn(t) })
	}
	link := func(name string, fn func(*kernel.Task) string) vfs.Inode {
		return fs.tree.Symlink(base+"/"+name, func(context.Context) (string, error) {
			t, err := task()
			if err != nil {
				return "", unix.ENOENT
			}
			return fn(t), nil
		})
	}
	return fs.tree.Dir(base, func(ctx context.Context) (map[string]vfs.Inode, error) {
		if _, err := task(); err != nil {
			return nil, unix.ENOENT
		}
		return map[string]vfs.Inode{
			"stat":      genCaller("stat", pidStat),
			"status":    genCaller("status", pidStatus),
			"cmdline":   gen("cmdline", cmdline),
			"environ":   gen("environ", environ),
			"auxv":      gen("auxv", auxv),
			"maps":      gen("maps", maps),
			"comm":      gen("comm", func(t *kernel.Task) string { return t.Name() + "\n" }),
			"mounts":    gen("mounts", func(*kernel.Task) string { return mountsFile(fs.mounts()) }),
			"mountinfo": gen("mountinfo", func(*kernel.Task) string { return mountinfo(fs.mounts()) }),
			// The sandbox is one cgroup (v2), the root of its hierarchy.
			"cgroup": gen("cgroup", func(*kernel.Task) string { return "0::/\n" }),
			"exe":    link("exe", func(t *kernel.Task) string { return t.Exe() }),
			"cwd":    link("cwd", cwdLink),
			"root":   link("root", func(t *kernel.Task) string { return "/" }),
			"mem":    &memFile{dev: fs.tree.Dev, path: base + "/mem", task: task},
			"task":   fs.taskDir(base, pid),
			"fd":     fs.fdDir(base, task, false),
			"fdinfo": fs.fdDir(base, task, true),
		}, nil
	})
}

// fdTarget is what /proc/PID/fd/N links to.
func fdTarget(t *kernel.Task, fd int32) (string, error) {
	f, err := t.FDs().Get(fd)
	if err != nil {
		return "", unix.ENOENT
	}
	defer f.DecRef()
	if d := f.Dentry(); d != nil {
		return vfs.PathOf(t.FS().Root(), d), nil
	}
	if n, ok := f.Inode().(vfs.LinkNamer); ok {
		return n.LinkName(), nil
	}
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("anon_inode:[%d]", st.Ino), nil
}

// fdinfo is /proc/PID/fdinfo/N.
func fdinfo(t *kernel.Task, fd int32) (string, error) {
	f, err := t.FDs().Get(fd)
	if err != nil {
		return "", unix.ENOENT
	}
	defer f.DecRef()
	pos, err := f.Seek(context.Background(), 0, unix.SEEK_CUR)
	if err != nil {
		pos = 0
	}
	flags := f.Flags()
	if cloexec, _ := t.FDs().CloseOnExecFlag(fd); cloexec {
		flags |= unix.O_CLOEXEC
	}
	return fmt.Sprintf("pos:\t%d\nflags:\t0%o\nmnt_id:\t0\n", pos, flags), nil
}

// fdDir is /proc/PID/fd (symlinks to what each descriptor is open on) or
// /proc/PID/fdinfo (position and flags).
func (fs *FileSystem) fdDir(base string, task func() (*kernel.Task, error), info bool) *kernfs.Dir {
	name := "/fd"
	if info {
		name = "/fdinfo"
	}
	return fs.tree.Dir(base+name, func(ctx context.Context) (map[string]vfs.Inode, error) {
		t, err := task()
		if err != nil {
			return nil, unix.ENOENT
		}
		c := make(map[string]vfs.Inode)
		for _, fd := range t.FDs().FDs() {
			n := strconv.Itoa(int(fd))
			if info {
				c[n] = fs.tree.File(base+name+"/"+n, func(context.Context) (string, error) { return fdinfo(t, fd) })
				continue
			}
			c[n] = fs.tree.Symlink(base+name+"/"+n, func(context.Context) (string, error) { return fdTarget(t, fd) })
		}
		return c, nil
	})
}

// cwdLink is the target of /proc/PID/cwd: Linux marks a removed directory.
func cwdLink(t *kernel.Task) string {
	cwd, removed := t.FS().Getcwd()
	if removed {
		return cwd + " (deleted)"
	}
	return cwd
}

// taskDir is /proc/PID/task: a directory per thread, with the files a
// debugger reads of a thread (gdb opens task/TID/mem).
func (fs *FileSystem) taskDir(base string, pid int) *kernfs.Dir {
	return fs.tree.Dir(base+"/task", func(ctx context.Context) (map[string]vfs.Inode, error) {
		leader := fs.k.Task(pid)
		if leader == nil {
			return nil, unix.ENOENT
		}
		c := make(map[string]vfs.Inode)
		for _, tid := range leader.TG.TIDs() {
			c[strconv.Itoa(tid)] = fs.threadDir(base+"/task/"+strconv.Itoa(tid), pid, tid)
		}
		return c, nil
	})
}

// threadDir is /proc/PID/task/TID.
func (fs *FileSystem) threadDir(base string, pid, tid int) *kernfs.Dir {
	task := func() (*kernel.Task, error) {
		if t := fs.k.Task(tid); t != nil && t.PID() == pid {
			return t, nil
		}
		return nil, unix.ESRCH
	}
	gen := func(name string, fn func(context.Context, *kernel.Task) string) vfs.Inode {
		return fs.tree.File(base+"/"+name, func(ctx context.Context) (string, error) {
			t, err := task()
			if err != nil {
				return "", err
			}
			return fn(ctx, t), nil
		})
	}
	return fs.tree.Dir(base, func(ctx context.Context) (map[string]vfs.Inode, error) {
		if _, err := task(); err != nil {
			return nil, unix.ENOENT
		}
		return map[string]vfs.Inode{
			"stat":   gen("stat", pidStat),
			"status": gen("status", pidStatus),
			"maps":   gen("maps", func(_ context.Context, t *kernel.Task) string { return maps(t) }),
			"comm":   gen("comm", func(_ context.Context, t *kernel.Task) string { return t.Name() + "\n" }),
			"mem":    &memFile{dev: fs.tree.Dev, path: base + "/mem", task: task},
		}, nil
	})
}
