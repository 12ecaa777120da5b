package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// ioFile is /proc/PID/io (proc_pid_io_accounting): the process's read and
// write calls and bytes as the sentry counted them. read_bytes and
// write_bytes (storage I/O the process caused) are 0: the sandbox's files
// are tmpfs or the host's, whose device traffic is the host's business.
func ioFile(t *kernel.Task) string {
	io := t.TG.IO()
	return fmt.Sprintf("rchar: %d\nwchar: %d\nsyscr: %d\nsyscw: %d\nread_bytes: 0\nwrite_bytes: 0\ncancelled_write_bytes: 0\n",
		io.RChar.Load(), io.WChar.Load(), io.SyscR.Load(), io.SyscW.Load())
}

// oomScore is /proc/PID/oom_score (proc_oom_score): the process's
// resident memory as a share of the sandbox's memory limit, moved by
// oom_score_adj, scaled to 0-1333 as Linux scales it; 0 when
// oom_score_adj is -1000 (never chosen).
func oomScore(t *kernel.Task, totalBytes uint64) string {
	adj := int64(t.TG.OOMScoreAdj())
	if adj == kernel.OOMScoreAdjMin {
		return "0\n"
	}
	total := max(int64(totalBytes/abi.PageSize), 1)
	rss := int64(totals(t, t.MM().Usage()).rss / abi.PageSize)
	badness := rss + adj*total/1000
	return strconv.FormatInt((1000+badness*1000/total)*2/3, 10) + "\n"
}

// nsTaskInodes are a process's namespaces, each as a file
// (kernel.NSInode): of each kind its own, the sandbox's first ones
// numbered as Linux numbers its initial ones (PROC_*_INIT_INO): the
// sandbox's, never the host's.
var nsTaskInodes = map[string]func(t *kernel.Task) *kernel.NSInode{
	"user":             (*kernel.Task).UserNSInode,
	"uts":              (*kernel.Task).UTSNSInode,
	"net":              (*kernel.Task).NetNSInode,
	"ipc":              (*kernel.Task).IPCNSInode,
	"time":             (*kernel.Task).TimeNSInode,
	"mnt":              (*kernel.Task).MountNSInode,
	"pid":              (*kernel.Task).PIDNSInode,
	"pid_for_children": (*kernel.Task).PIDNSForChildrenInode,
	"cgroup":           (*kernel.Task).CgroupNSInode,
	// The time namespace the process's children get (unshare's).
	"time_for_children": (*kernel.Task).TimeNSForChildrenInode,
}

// nsJump is where /proc/PID/ns/user or uts jumps: the namespace's file
// (setns, NS_GET_* ioctls), for a caller that may inspect the process
// (ptrace_may_access, as proc_ns_get_link asks; EACCES otherwise).
func nsJump(task func() (*kernel.Task, error), ns func(t *kernel.Task) *kernel.NSInode) func(ctx context.Context) (*vfs.Dentry, error) {
	return func(ctx context.Context) (*vfs.Dentry, error) {
		t, err := task()
		if err != nil {
			return nil, unix.ENOENT
		}
		if c := caller(ctx); c != nil && !c.MayInspect(t) {
			return nil, unix.EACCES
		}
		n := ns(t)
		if n == nil {
			return nil, unix.ENOENT
		}
		return vfs.AnonDentry(n), nil
	}
}

// zombieNamespaces are the namespaces a zombie still has: its PID
// namespace and its credentials' user namespace. The others went with its
// nsproxy (exit_task_namespaces): their links are ENOENT.
var zombieNamespaces = map[string]bool{"pid": true, "user": true}

// nsDir is /proc/PID/ns: a link per namespace kind, "KIND:[INODE]".
func (fs *FileSystem) nsDir(base string, task func() (*kernel.Task, error)) *kernfs.Dir {
	c := make(map[string]vfs.Inode, len(nsTaskInodes))
	for name, ns := range nsTaskInodes {
		if !zombieNamespaces[name] {
			live := ns
			ns = func(t *kernel.Task) *kernel.NSInode {
				if t.IsZombie() {
					return nil
				}
				return live(t)
			}
		}
		kind := strings.TrimSuffix(name, "_for_children")
		c[name] = fs.tree.JumpLink(base+"/ns/"+name, func(context.Context) (string, error) {
			t, err := task()
			if err != nil {
				return "", unix.ENOENT
			}
			n := ns(t)
			if n == nil {
				return "", unix.ENOENT
			}
			return fmt.Sprintf("%s:[%d]", kind, n.Inode()), nil
		}, nsJump(task, ns))
	}
	return fs.tree.Fixed(base+"/ns", c)
}

// valueFile is a file of /proc holding one value that may be written:
// a read gives get's text, a write hands set the text written (whole, one
// value a write, as proc_dointvec and oom_score_adj_write take it).
type valueFile struct {
	tree  kernfs.Tree
	path  string
	perm  uint32
	owner func() (*kernel.Task, error) // whose file it is; nil: root's
	get   func() (string, error)
	// getCtx, if set, is get for a value that depends on the reader
	// (its network namespace's sysctls).
	getCtx func(ctx context.Context) (string, error)
	set    func(ctx context.Context, text string) error
	// str makes set take a string as proc_dostring does: the bytes
	// written up to the first NUL or newline, untrimmed, instead of a
	// number's trimmed text.
	str bool
}

// Writable implements vfs.ContentWriter: a file with a setter takes writes.
func (f *valueFile) Writable() bool { return f.set != nil }

// Stat implements vfs.Inode.
func (f *valueFile) Stat(ctx context.Context) (unix.Stat_t, error) {
	owner := f.owner
	if owner == nil {
		owner = func() (*kernel.Task, error) { return nil, unix.ENOENT }
	}
	return taskFileStat(f.tree, f.path, f.perm, owner), nil
}

// Open implements vfs.Inode.
func (f *valueFile) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	if f.owner != nil {
		if _, err := f.owner(); err != nil {
			return nil, unix.ENOENT
		}
	}
	return valueAccess{f}, nil
}

// valueAccess is an open valueFile.
type valueAccess struct{ f *valueFile }

// ReadAt implements vfs.FileImpl.
func (a valueAccess) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	get := a.f.get
	if a.f.getCtx != nil {
		get = func() (string, error) { return a.f.getCtx(ctx) }
	}
	s, err := get()
	if err != nil || off >= int64(len(s)) {
		return 0, err
	}
	return copy(p, s[off:]), nil
}

// WriteAt implements vfs.FileImpl.
func (a valueAccess) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	if a.f.str {
		text := p
		if i := bytes.IndexAny(text, "\x00\n"); i >= 0 {
			text = text[:i]
		}
		if err := a.f.set(ctx, string(text)); err != nil {
			return 0, err
		}
		return len(p), nil // proc_dostring consumes the whole write
	}
	if len(p) >= 24 {
		p = p[:23] // Linux reads at most a small buffer's worth
	}
	if err := a.f.set(ctx, strings.TrimSpace(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Release implements vfs.FileImpl.
func (a valueAccess) Release() {}

// oomAdjFile is /proc/PID/oom_score_adj, or with legacy /proc/PID/oom_adj
// in the old -17..15 scale: readable by all, written by the process's
// owner; a write sets the process's value (kernel.SetOOMScoreAdj).
func (fs *FileSystem) oomAdjFile(path string, task func() (*kernel.Task, error), legacy bool) *valueFile {
	return &valueFile{tree: fs.tree, path: path, perm: 0o644, owner: task,
		get: func() (string, error) {
			t, err := task()
			if err != nil {
				return "", err
			}
			v := t.TG.OOMScoreAdj()
			if legacy {
				v = kernel.OOMAdj(v)
			}
			return strconv.Itoa(v) + "\n", nil
		},
		set: func(ctx context.Context, text string) error {
			v, err := strconv.Atoi(text)
			if err != nil {
				return unix.EINVAL
			}
			if legacy {
				if v, err = kernel.OOMScoreAdjOf(v); err != nil {
					return err
				}
			}
			t, err := task()
			if err != nil {
				return err
			}
			writer, ok := vfs.TaskOf(ctx).(*kernel.Task)
			if !ok {
				return unix.EPERM
			}
			return t.TG.SetOOMScoreAdj(v, writer.Creds())
		}}
}

// timerSlackFile is /proc/PID/timerslack_ns: the timer slack of the
// process's main thread (kernel.Task.TimerSlack), which the thread itself
// reads and sets, and any other caller only with CAP_SYS_NICE in the
// task's user namespace (EPERM, timerslack_ns_show and _write); writing 0
// restores the thread's default.
func (fs *FileSystem) timerSlackFile(path string, task func() (*kernel.Task, error)) *valueFile {
	target := func(ctx context.Context) (*kernel.Task, error) {
		t, err := task()
		if err != nil {
			return nil, err
		}
		caller, ok := vfs.TaskOf(ctx).(*kernel.Task)
		if !ok {
			return nil, unix.EPERM
		}
		if caller != t && !caller.Creds().HasCapIn(t.Creds().UserNS, linux.CAP_SYS_NICE) {
			return nil, unix.EPERM
		}
		return t, nil
	}
	return &valueFile{tree: fs.tree, path: path, perm: 0o666, owner: task,
		getCtx: func(ctx context.Context) (string, error) {
			t, err := target(ctx)
			if err != nil {
				return "", err
			}
			return strconv.FormatUint(t.TimerSlack(), 10) + "\n", nil
		},
		set: func(ctx context.Context, text string) error {
			v, err := strconv.ParseUint(text, 10, 64)
			if errors.Is(err, strconv.ErrRange) {
				return unix.ERANGE // kstrtoull
			}
			if err != nil {
				return unix.EINVAL
			}
			t, err := target(ctx)
			if err != nil {
				return err
			}
			t.SetTimerSlack(v)
			return nil
		}}
}

// leaseBreakTime is /proc/sys/fs/lease-break-time: how many seconds an
// open waits for a lease holder (vfs.VFS.SetLeaseBreakTime).
func (fs *FileSystem) leaseBreakTime() *valueFile {
	return &valueFile{tree: fs.tree, path: "/sys/fs/lease-break-time", perm: 0o644,
		get: func() (string, error) { return strconv.FormatInt(fs.k.VFS.LeaseBreakTime(), 10) + "\n", nil },
		set: func(_ context.Context, text string) error {
			n, err := strconv.ParseInt(text, 10, 32)
			if err != nil {
				return unix.EINVAL
			}
			fs.k.VFS.SetLeaseBreakTime(max(n, 0))
			return nil
		}}
}

// pagemapFile is /proc/PID/pagemap: 8 bytes a page of the address space,
// at offset page number * 8 (mm.Pagemap), for who may read the process's
// memory.
type pagemapFile struct {
	tree kernfs.Tree
	path string
	task func() (*kernel.Task, error)
}

// Stat implements vfs.Inode.
func (f *pagemapFile) Stat(ctx context.Context) (unix.Stat_t, error) {
	return taskFileStat(f.tree, f.path, 0o400, f.task), nil
}

// Open implements vfs.Inode: EACCES for a caller that may not trace the
// task, as for mem.
func (f *pagemapFile) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	if flags&unix.O_ACCMODE != unix.O_RDONLY {
		return nil, unix.EACCES
	}
	t, err := tracedTask(ctx, f.task)
	if err != nil {
		return nil, err
	}
	return &pagemapAccess{t: t}, nil
}

// pagemapAccess is an open /proc/PID/pagemap.
type pagemapAccess struct{ t *kernel.Task }

// pagemapEntry is the size of one entry.
const pagemapEntry = 8

// ReadAt implements vfs.FileImpl: offset and length must be multiples of
// the entry size (EINVAL); the file ends at the end of the user address
// space.
func (a *pagemapAccess) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	if off%pagemapEntry != 0 || len(p)%pagemapEntry != 0 || off < 0 {
		return 0, unix.EINVAL
	}
	first := uint64(off / pagemapEntry)
	last := uint64(mm.TaskSize / abi.PageSize)
	if first >= last {
		return 0, nil
	}
	n := min(uint64(len(p)/pagemapEntry), last-first)
	entries := make([]uint64, n)
	a.t.MM().Pagemap(uintptr(first*abi.PageSize), entries)
	return copy(p, abi.SliceBytes(entries)), nil
}

// WriteAt implements vfs.FileImpl.
func (a *pagemapAccess) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EBADF
}

// Release implements vfs.FileImpl.
func (a *pagemapAccess) Release() {}

// personalityFile is /proc/PID/personality: the task's persona in hex,
// for its owner (0400) and, at read, only for a caller that may trace it
// (proc_pid_personality's lock_trace: EPERM).
func (fs *FileSystem) personalityFile(path string, task func() (*kernel.Task, error)) *valueFile {
	return &valueFile{tree: fs.tree, path: path, perm: 0o400, owner: task,
		getCtx: func(ctx context.Context) (string, error) {
			t, err := task()
			if err != nil {
				return "", err
			}
			if c, ok := vfs.TaskOf(ctx).(*kernel.Task); ok && !c.MayAccessMemory(t) {
				return "", unix.EPERM
			}
			return fmt.Sprintf("%08x\n", t.Personality()), nil
		}}
}
