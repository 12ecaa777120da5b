// Package proc is /proc: the sandbox's processes (by PID and as "self") and
// the system files programs read (cpuinfo, meminfo, stat, uptime, loadavg,
// version, filesystems, mounts, config.gz, sys/kernel/..., sysvipc/...).
//
// Decision: every file describes the sandbox, never the host: its CPUs,
// its memory limit and account, its tasks, its CPU time and uptime, the
// Linux release it emulates, its mount table. Nothing is read from the
// host's /proc, except once the nominal CPU frequency (cpuinfo.go). Each
// family's file says how its figures are made.
//
// Each PID namespace has its /proc (kernel.Task.ProcFSOf): its processes
// only, by their IDs there, and the IDs in every file as that namespace
// has them (a process outside it shows as 0), as Linux's proc_pid_ns.
//
// Files are generated when they are opened (package kernfs), so a read
// sees one consistent snapshot. Everything is read-only; writes fail with
// EACCES. Inode numbers are derived from the path, so they are stable
// between lookups.
package proc

import (
	"context"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/ipc"
	"runsc-lite/sentry/vfs"
)

// FileSystem is a /proc for kernel k's PID namespace ns.
type FileSystem struct {
	k      *kernel.Kernel
	ns     *kernel.PIDNamespace
	tree   kernfs.Tree
	bootID string // /proc/sys/kernel/random/boot_id
	// system are the files and directories of the root that are not a
	// process's; made once.
	system map[string]vfs.Inode

	// table is the sandbox's own mounts, shared by every namespace's
	// /proc.
	table *mountTable
}

// mountTable is what SetMounts recorded.
type mountTable struct {
	mu     sync.Mutex // guards mounts
	mounts []Mount
}

// New returns /proc for k's first PID namespace; its mount table is empty
// until SetMounts. It makes the /proc of the nested ones (k.NewProcFS).
func New(k *kernel.Kernel) *FileSystem {
	fs := newIn(k, k.RootPIDNS(), new(mountTable))
	k.NewProcFS = func(ns *kernel.PIDNamespace) vfs.FileSystem { return newIn(k, ns, fs.table) }
	cpuName()
	return fs
}

// newIn returns /proc for namespace ns.
func newIn(k *kernel.Kernel, ns *kernel.PIDNamespace, table *mountTable) *FileSystem {
	fs := &FileSystem{k: k, ns: ns, tree: kernfs.Tree{Dev: vfs.NewDeviceID(), Time: vfs.Now()}, bootID: newUUID(), table: table}
	fs.system = fs.systemFiles()
	return fs
}

// Dev returns st_dev of /proc's files.
func (fs *FileSystem) Dev() uint64 { return fs.tree.Dev }

// Root implements vfs.FileSystem.
func (fs *FileSystem) Root() vfs.Inode { return fs.rootDir() }

// Statfs implements vfs.FileSystem.
func (fs *FileSystem) Statfs(ctx context.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: unix.PROC_SUPER_MAGIC, Bsize: 4096, Namelen: 255, Frsize: 4096}, nil
}

// caller returns the task asking, if any.
func caller(ctx context.Context) *kernel.Task {
	t, _ := vfs.TaskOf(ctx).(*kernel.Task)
	return t
}

// systemFiles are the files of /proc that describe the whole sandbox.
func (fs *FileSystem) systemFiles() map[string]vfs.Inode {
	tr, k := fs.tree, fs.k
	withKernel := func(gen func(*kernel.Kernel) string) kernfs.Content {
		return func(context.Context) (string, error) { return gen(k), nil }
	}
	withCaller := func(gen func(context.Context, *kernel.Kernel) string) kernfs.Content {
		return func(ctx context.Context) (string, error) { return gen(ctx, k), nil }
	}
	return map[string]vfs.Inode{
		"self": tr.Symlink("/self", func(ctx context.Context) (string, error) {
			if t := caller(ctx); t != nil {
				if id := fs.ns.IDOf(t.TG.PID); id != 0 {
					return strconv.Itoa(id), nil
				}
			}
			return "", unix.ENOENT
		}),
		"cpuinfo":     tr.File("/cpuinfo", withKernel(cpuinfo)),
		"meminfo":     tr.File("/meminfo", withKernel(meminfo)),
		"vmstat":      tr.File("/vmstat", withKernel(vmstat)),
		"loadavg":     tr.File("/loadavg", withCaller(loadavg)),
		"uptime":      tr.File("/uptime", withCaller(uptime)),
		"stat":        tr.File("/stat", withCaller(stat)),
		"version":     tr.File("/version", kernfs.Static(version())),
		"filesystems": tr.File("/filesystems", kernfs.Static(filesystems())),
		"config.gz":   tr.File("/config.gz", func(context.Context) (string, error) { return configGz(), nil }),
		"mounts":      tr.Symlink("/mounts", kernfs.Static("self/mounts")),
		"sys":         fs.sysDir(),
		"net":         fs.netDir("/net", fs.callerNetNS),
		// The System V IPC objects of the reader's IPC namespace
		// (package ipc), the PIDs as this /proc's namespace has them.
		"sysvipc": tr.Fixed("/sysvipc", map[string]vfs.Inode{
			"shm": tr.File("/sysvipc/shm", withCaller(func(ctx context.Context, k *kernel.Kernel) string {
				return callerIPC(ctx, k).SysV.ProcShm(&ipc.Caller{ShowPID: fs.ns.IDOf})
			})),
			"sem": tr.File("/sysvipc/sem", withCaller(func(ctx context.Context, k *kernel.Kernel) string { return callerIPC(ctx, k).SysV.ProcSem() })),
			"msg": tr.File("/sysvipc/msg", withCaller(func(ctx context.Context, k *kernel.Kernel) string {
				return callerIPC(ctx, k).SysV.ProcMsg(&ipc.Caller{ShowPID: fs.ns.IDOf})
			})),
		}),
	}
}

// rootDir is /proc: the system files and a directory per process.
func (fs *FileSystem) rootDir() *kernfs.Dir {
	return fs.tree.Dir("/", func(ctx context.Context) (map[string]vfs.Inode, error) {
		pids := fs.ns.IDs(fs.k.PIDs(true))
		c := make(map[string]vfs.Inode, len(fs.system)+len(pids))
		for name, i := range fs.system {
			c[name] = i
		}
		for _, pid := range pids {
			c[strconv.Itoa(pid)] = fs.pidDir(pid)
		}
		return c, nil
	})
}
