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

// pidDir is /proc/PID. Its files look the task up at every access, so
// once the task is reaped a lookup in the directory fails with ESRCH, a
// listing with ENOENT, and a read of a file opened before with ESRCH, as
// in Linux. The directory is of the process found when it was looked up:
// an open one never shows another process that got the PID since (Linux's
// proc inode holds the struct pid), whose directory has other inode
// numbers.
// A zombie keeps its directory until it is waited for: its stat, status
// and comm describe it (state Z), its other files are empty and its links
// and descriptors gone, as Linux shows a process whose memory and files
// are released.
//
// /proc/PID/task/TID is the same directory for one thread of the process
// (without a task directory of its own); /proc/TID, for a thread that
// leads no process, is too, unlisted, as in Linux.
func (fs *FileSystem) pidDir(pid int) vfs.Inode {
	kid := fs.ns.KernelIDOf(pid)
	find := func() *kernel.Task {
		if kid == 0 {
			return nil
		}
		if t := fs.k.Task(kid); t != nil {
			return t
		}
		return fs.k.Zombie(kid)
	}
	found := find()
	if found == nil {
		return fs.taskDir("/"+strconv.Itoa(pid), func() (*kernel.Task, error) { return nil, unix.ESRCH }, pid)
	}
	tg := found.TG
	task := func() (*kernel.Task, error) {
		if t := find(); t != nil && t.TG == tg {
			return t, nil
		}
		return nil, unix.ESRCH
	}
	// The inode numbers come from the path: the serial makes them the
	// process's own.
	d := fs.taskDir(fmt.Sprintf("/%d.%d", pid, tg.Serial()), task, pid)
	if tg.PID == kid {
		return processDir{d, tg}
	}
	return d
}

// processDir is a process's /proc/PID, which pidfd_send_signal takes as a
// pidfd of the process.
type processDir struct {
	*kernfs.Dir
	tg *kernel.ThreadGroup
}

// Process implements kernel.ProcessDir.
func (d processDir) Process() *kernel.ThreadGroup { return d.tg }

// threadsDir is /proc/PID/task: a directory per thread of the process
// task finds.
func (fs *FileSystem) threadsDir(base string, task func() (*kernel.Task, error)) *kernfs.Dir {
	return fs.tree.Dir(base, func(ctx context.Context) (map[string]vfs.Inode, error) {
		t, err := task()
		if err != nil {
			return nil, unix.ENOENT
		}
		tg := t.TG
		c := make(map[string]vfs.Inode)
		for _, kid := range tg.TIDs() {
			tid := fs.ns.IDOf(kid)
			if tid == 0 {
				continue
			}
			c[strconv.Itoa(tid)] = fs.taskDir(base+"/"+strconv.Itoa(tid), func() (*kernel.Task, error) {
				if t := fs.k.Task(kid); t != nil && t.TG == tg {
					return t, nil
				}
				return nil, unix.ESRCH
			}, 0)
		}
		return c, nil
	})
}

// taskDir is the directory at base of the task task finds: a process's
// (with its threads' directory) if pid is not 0, else a thread's.
func (fs *FileSystem) taskDir(base string, task func() (*kernel.Task, error), pid int) *kernfs.Dir {
	// live is task, without zombies.
	live := func() (*kernel.Task, error) {
		t, err := task()
		if err == nil && t.IsZombie() {
			return nil, unix.ENOENT
		}
		return t, err
	}
	genCaller := func(name string, fn func(context.Context, *kernel.Task) string) vfs.Inode {
		return fs.tree.File(base+"/"+name, func(ctx context.Context) (string, error) {
			t, err := task()
			if err != nil {
				return "", err
			}
			if t.IsZombie() && !zombieFiles[name] {
				return "", nil
			}
			return fn(ctx, t), nil
		})
	}
	gen := func(name string, fn func(*kernel.Task) string) vfs.Inode {
		return genCaller(name, func(_ context.Context, t *kernel.Task) string { return fn(t) })
	}
	// linkTask is the task whose exe, cwd or root link ctx's caller reads
	// or follows: one it may inspect with its filesystem IDs
	// (proc_fd_access_allowed; EACCES otherwise).
	linkTask := func(ctx context.Context) (*kernel.Task, error) {
		t, err := live()
		if err != nil {
			return nil, unix.ENOENT
		}
		if c := caller(ctx); c != nil && !c.MayInspectFS(t) {
			return nil, unix.EACCES
		}
		return t, nil
	}
	link := func(name string, fn func(*kernel.Task) string) vfs.Inode {
		return fs.tree.MagicLink(base+"/"+name, func(ctx context.Context) (string, error) {
			t, err := linkTask(ctx)
			if err != nil {
				return "", err
			}
			return dPath(fn(t))
		})
	}
	// exe jumps to the file the process was loaded from (proc_exe_link:
	// mm->exe_file), which runs and opens again once unlinked or
	// renamed over.
	exe := fs.tree.JumpLink(base+"/exe", func(ctx context.Context) (string, error) {
		t, err := linkTask(ctx)
		if err != nil {
			return "", err
		}
		if s, ok := t.ExeLink(); ok {
			return s, nil
		}
		return "", unix.ENOENT
	}, func(ctx context.Context) (*vfs.Dentry, error) {
		t, err := linkTask(ctx)
		if err != nil {
			return nil, err
		}
		f := t.ExeFile()
		if f == nil {
			return nil, unix.ENOENT
		}
		defer f.DecRef()
		return f.JumpTarget(), nil
	})
	// A lookup in the directory of a task that is gone fails with ESRCH
	// (proc_pid_permission), a listing with ENOENT (proc_pident_readdir).
	searchable := func() error {
		if _, err := task(); err != nil {
			return unix.ESRCH
		}
		return nil
	}
	return fs.tree.Dir(base, func(ctx context.Context) (map[string]vfs.Inode, error) {
		if _, err := task(); err != nil {
			return nil, unix.ENOENT
		}
		c := map[string]vfs.Inode{
			"stat": genCaller("stat", func(ctx context.Context, t *kernel.Task) string {
				return fs.pidStat(ctx, t, pid == 0)
			}),
			"status":       genCaller("status", fs.pidStatus),
			"cmdline":      gen("cmdline", cmdline),
			"environ":      gen("environ", environ),
			"auxv":         gen("auxv", auxv),
			"maps":         gen("maps", maps),
			"smaps":        gen("smaps", smaps),
			"smaps_rollup": gen("smaps_rollup", smapsRollup),
			"statm":        gen("statm", statm),
			"io":           gen("io", ioFile),
			"oom_score": gen("oom_score", func(t *kernel.Task) string {
				total, _ := fs.k.Memory.Shown()
				return oomScore(t, total)
			}),
			"oom_score_adj": fs.oomAdjFile(base+"/oom_score_adj", task, false),
			"oom_adj":       fs.oomAdjFile(base+"/oom_adj", task, true),
			"timerslack_ns": fs.timerSlackFile(base+"/timerslack_ns", task),
			"personality":   fs.personalityFile(base+"/personality", live),
			"pagemap":       &pagemapFile{tree: fs.tree, path: base + "/pagemap", task: live},
			"ns":            fs.nsDir(base, task),
			"net": fs.netDir(base+"/net", func(context.Context) (*kernel.NetNS, error) {
				t, err := live()
				if err != nil {
					return nil, unix.ENOENT
				}
				return t.NetNS(), nil
			}),
			"uid_map":   &nsFile{tree: fs.tree, path: base + "/uid_map", task: live, kind: kernel.UIDMapKind},
			"gid_map":   &nsFile{tree: fs.tree, path: base + "/gid_map", task: live, kind: kernel.GIDMapKind},
			"setgroups": &nsFile{tree: fs.tree, path: base + "/setgroups", task: live, setgroups: true},
			"comm":      gen("comm", func(t *kernel.Task) string { return t.Name() + "\n" }),
			"limits":    gen("limits", limits),
			"mounts":    fs.mountsFile(base+"/mounts", task, func(t *kernel.Task) string { return mountsFile(fs.mounts(t)) }),
			"mountinfo": fs.mountsFile(base+"/mountinfo", task, func(t *kernel.Task) string { return mountinfo(fs.mounts(t)) }),
			// The sandbox is one cgroup (v2), the root of its hierarchy.
			"cgroup": gen("cgroup", func(*kernel.Task) string { return "0::/\n" }),
			"exe":    exe,
			"cwd":    link("cwd", cwdLink),
			"root":   link("root", func(t *kernel.Task) string { return "/" }),
			"mem":    &memFile{tree: fs.tree, path: base + "/mem", task: live},
			"fd":     fs.fdDir(base, live, false),
			"fdinfo": fs.fdDir(base, live, true),
		}
		if pid != 0 {
			c["task"] = fs.threadsDir(base+"/task", task)
			c["timens_offsets"] = &timensOffsetsFile{tree: fs.tree, path: base + "/timens_offsets", task: live, k: fs.k}
		}
		return c, nil
	}).Searchable(searchable)
}

// mountsFile is /proc/PID/mounts or mountinfo: the mount table, which
// poll and epoll watch for changes (mounts_poll: POLLPRI|POLLERR after a
// mount, remount or unmount).
func (fs *FileSystem) mountsFile(path string, task func() (*kernel.Task, error), table func(t *kernel.Task) string) vfs.Inode {
	return fs.tree.EventFile(path, func(context.Context) (string, error) {
		t, err := task()
		if err != nil {
			return "", err
		}
		if t.IsZombie() {
			return "", nil
		}
		return table(t), nil
	}, func() (uint64, *vfs.Queue) {
		t, err := task()
		if err != nil || fs.k.VFS == nil {
			return 0, &noMountEvents
		}
		return t.MountNS().VFS.Events()
	})
}

// noMountEvents is the queue of a kernel without a VFS (tests), or of a
// process gone: nothing ever notifies it.
var noMountEvents vfs.Queue

// zombieFiles are the files of /proc/PID that still describe a zombie.
var zombieFiles = map[string]bool{"stat": true, "status": true, "comm": true, "cgroup": true}

// fdTarget is what /proc/PID/fd/N links to: a path, with " (deleted)"
// once it names nothing (d_path), or an anonymous file's name.
func fdTarget(t *kernel.Task, fd int32) (string, error) {
	f, err := t.FDs().Get(fd)
	if err != nil {
		return "", unix.ENOENT
	}
	defer f.DecRef()
	if d := f.Dentry(); d != nil {
		if d.Unlinked(t.Ctx()) {
			return dPath(vfs.PathOf(t.FS().Root(), d) + " (deleted)")
		}
		return dPath(vfs.PathOf(t.FS().Root(), d))
	}
	if n, ok := f.Inode().(vfs.LinkNamer); ok && n.LinkName() != "" {
		return n.LinkName(), nil
	}
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("anon_inode:[%d]", st.Ino), nil
}

// fdJump is where following /proc/PID/fd/N lands: the open file's own
// name and inode (proc_fd_link), not a walk of the link's text, so that
// files no path reaches (memfds, pipes, deleted files) open again.
func fdJump(t *kernel.Task, fd int32) (*vfs.Dentry, error) {
	f, err := t.FDs().Get(fd)
	if err != nil {
		return nil, unix.ENOENT
	}
	defer f.DecRef()
	return f.JumpTarget(), nil
}

// fdinfo is /proc/PID/fdinfo/N; a pidfd's process shows as namespace ns
// has it.
func fdinfo(t *kernel.Task, fd int32, ns *kernel.PIDNamespace) (string, error) {
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
	mnt := 0
	if d := f.Dentry(); d != nil {
		mnt = vfs.MountID(d)
	}
	info := fmt.Sprintf("pos:\t%d\nflags:\t0%o\nmnt_id:\t%d\n", pos, flags, mnt)
	if x, ok := f.Impl().(vfs.FDInfoer); ok {
		info += x.FDInfo()
	}
	if p, err := kernel.PidFDOf(f); err == nil {
		info += p.FDInfo(ns)
	}
	return info, nil
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
		c := make(map[string]vfs.Inode)
		switch {
		case err == unix.ENOENT:
			// A zombie has no descriptors left.
			return c, nil
		case err != nil:
			return nil, unix.ENOENT
		}
		for _, fd := range t.FDs().FDs() {
			n := strconv.Itoa(int(fd))
			if info {
				c[n] = fs.tree.File(base+name+"/"+n, func(context.Context) (string, error) { return fdinfo(t, fd, fs.ns) })
				continue
			}
			c[n] = fs.tree.JumpLink(base+name+"/"+n, func(context.Context) (string, error) { return fdTarget(t, fd) },
				func(context.Context) (*vfs.Dentry, error) { return fdJump(t, fd) }).WithPerm(fdLinkPerm(t, fd))
		}
		return c, nil
	})
}

// fdLinkPerm is the permission of /proc/PID/fd/N, which shows how the
// file is open (tid_fd_update_inode): r-x for reading, -wx for writing,
// rwx for both, none for O_PATH. lsof reads its access from it.
//
// It reads the access mode, which never changes, and not File.Flags:
// the links are made while /proc/PID/fd is listed, under the listing
// file's File.mu, and that file is often one of the descriptors listed
// (a process closing its descriptors lists /proc/self/fd), so taking
// its lock again would deadlock.
func fdLinkPerm(t *kernel.Task, fd int32) uint32 {
	f, err := t.FDs().Get(fd)
	if err != nil {
		return 0 // closed since the listing began: the link is stale
	}
	defer f.DecRef()
	var perm uint32
	if f.Readable() {
		perm |= unix.S_IRUSR | unix.S_IXUSR
	}
	if f.Writable() {
		perm |= unix.S_IWUSR | unix.S_IXUSR
	}
	return perm
}

// dPath is a link's text as Linux's d_path builds it (do_proc_readlink),
// in a PATH_MAX buffer with its NUL: a longer path is ENAMETOOLONG, not cut.
func dPath(path string) (string, error) {
	if len(path)+1 > unix.PathMax {
		return "", unix.ENAMETOOLONG
	}
	return path, nil
}

// cwdLink is the target of /proc/PID/cwd: Linux marks a removed directory.
func cwdLink(t *kernel.Task) string {
	cwd, removed := t.FS().Getcwd()
	if removed {
		return cwd + " (deleted)"
	}
	return cwd
}
