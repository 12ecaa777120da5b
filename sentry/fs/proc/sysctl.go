package proc

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/fs/inotify"
	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/ipc"
	"runsc-lite/sentry/kernel/mqueue"
	"runsc-lite/sentry/vfs"
)

// /proc/version and /proc/sys name the Linux ABI the sentry emulates
// (kernel.Release), never the host's, and the sandbox's own limits:
// threads-max is its task limit, vm/overcommit_memory is the account's
// mode, 0 unless root sets it (package usage says why), kernel/random/boot_id
// is the sandbox's, made when it starts. The IPC, pipe and inotify limits
// are the ones the sentry enforces (packages ipc, pipe, inotify), the
// pipe ones writable by root as in Linux; fs/nr_open is the ceiling of
// RLIMIT_NOFILE that setrlimit enforces (kernel.Kernel.SetNROpen); a limit it does not have reads,
// where Linux has none, as the largest value (inotify's instances,
// bounded only by descriptors). kernel/tainted is 0: the sandbox's kernel is
// never tainted. kernel/core_pattern is Linux's default, "core".
// kernel/yama/ptrace_scope is the scope of the Yama the sandbox's kernel
// has (package kernel's yama.go says why).

// aioMaxNR is /proc/sys/fs/aio-max-nr, the most events the sandbox's
// AIO contexts may ask for together (package aio); root may change it,
// as in Linux (an unsigned long, any value).
func (fs *FileSystem) aioMaxNR() *valueFile {
	return &valueFile{tree: fs.tree, path: "/sys/fs/aio-max-nr", perm: 0o644,
		get: func() (string, error) { return strconv.FormatUint(fs.k.AIO.Max(), 10) + "\n", nil },
		set: func(_ context.Context, text string) error {
			n, err := strconv.ParseUint(text, 10, 64)
			if err != nil {
				return unix.EINVAL
			}
			fs.k.AIO.SetMax(n)
			return nil
		}}
}

// nrOpen is /proc/sys/fs/nr_open, the largest RLIMIT_NOFILE hard limit
// (kernel.Kernel.SetNROpen): root may set it within Linux's bounds;
// sandbox-wide, as Linux's is system-wide. An unsigned int, as
// proc_douintvec_minmax parses it.
func (fs *FileSystem) nrOpen() *valueFile {
	k := fs.k
	return &valueFile{tree: fs.tree, path: "/sys/fs/nr_open", perm: 0o644,
		get: func() (string, error) { return strconv.FormatUint(uint64(k.NROpen()), 10) + "\n", nil },
		set: func(_ context.Context, text string) error {
			n, err := strconv.ParseUint(text, 10, 32)
			if err != nil {
				return unix.EINVAL
			}
			return k.SetNROpen(n)
		}}
}

// ptraceScope is /proc/sys/kernel/yama/ptrace_scope: the sandbox's
// kernel has Yama (kernel.Kernel.SetYamaScope says what a write takes:
// CAP_SYS_PTRACE, checked before the value, as yama_dointvec_minmax).
func (fs *FileSystem) ptraceScope() *valueFile {
	k := fs.k
	return &valueFile{tree: fs.tree, path: "/sys/kernel/yama/ptrace_scope", perm: 0o644,
		get: func() (string, error) { return strconv.Itoa(k.YamaScope()) + "\n", nil },
		set: func(ctx context.Context, text string) error {
			n, err := strconv.ParseInt(text, 10, 32)
			if err != nil {
				n = -1 // EINVAL, after the permission check
			}
			t := caller(ctx)
			return k.SetYamaScope(t == nil || t.HasCapability(linux.CAP_SYS_PTRACE), n)
		}}
}

// pipeMaxSize is /proc/sys/fs/pipe-max-size, which root may set
// (pipe.Accounts.SetMaxSize rounds it as F_SETPIPE_SZ does):
// sandbox-wide, as Linux's is host-wide. An unsigned value, as
// proc_dopipe_max_size parses it.
func (fs *FileSystem) pipeMaxSize() *valueFile {
	a := fs.k.Pipes
	return &valueFile{tree: fs.tree, path: "/sys/fs/pipe-max-size", perm: 0o644,
		get: func() (string, error) { return strconv.FormatUint(uint64(a.MaxSize()), 10) + "\n", nil },
		set: func(_ context.Context, text string) error {
			n, err := strconv.ParseUint(text, 10, 64)
			if err != nil {
				return unix.EINVAL
			}
			return a.SetMaxSize(n)
		}}
}

// pipeUserPages is /proc/sys/fs/NAME (pipe-user-pages-soft or -hard),
// which root may set to any unsigned long, 0 for no limit
// (proc_doulongvec_minmax): sandbox-wide, as Linux's is host-wide.
func (fs *FileSystem) pipeUserPages(name string, get func() uint64, set func(uint64)) *valueFile {
	return &valueFile{tree: fs.tree, path: "/sys/fs/" + name, perm: 0o644,
		get: func() (string, error) { return strconv.FormatUint(get(), 10) + "\n", nil },
		set: func(_ context.Context, text string) error {
			n, err := strconv.ParseUint(text, 10, 64)
			if err != nil {
				return unix.EINVAL
			}
			set(n)
			return nil
		}}
}

// inotifyInstances is /proc/sys/fs/inotify/max_user_instances, which root
// may set to 0 through LONG_MAX (inotify.Users): sandbox-wide, as Linux's
// is host-wide.
func (fs *FileSystem) inotifyInstances() *valueFile {
	u := fs.k.Inotify
	return &valueFile{tree: fs.tree, path: "/sys/fs/inotify/max_user_instances", perm: 0o644,
		get: func() (string, error) { return strconv.FormatInt(u.MaxInstances(), 10) + "\n", nil },
		set: func(_ context.Context, text string) error {
			n, err := strconv.ParseUint(text, 10, 64)
			if err != nil {
				return unix.EINVAL
			}
			return u.SetMaxInstances(n)
		}}
}

// intSysctl is the /proc/sys file at path (inside proc) holding a number
// that root may set, sandbox-wide as Linux's is host-wide: get reads it,
// set checks and stores it (text that is no number is EINVAL).
func (fs *FileSystem) intSysctl(path string, get func() int, set func(int64) error) *valueFile {
	return &valueFile{tree: fs.tree, path: path, perm: 0o644,
		get: func() (string, error) { return strconv.Itoa(get()) + "\n", nil },
		set: func(_ context.Context, text string) error {
			n, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return unix.EINVAL
			}
			return set(n)
		}}
}

// vmSysctl is /proc/sys/vm/NAME, a number of the sandbox's memory account
// (usage.Memory): max_map_count is usage.Memory.MaxMapCount,
// overcommit_memory usage.Memory.Overcommit.
func (fs *FileSystem) vmSysctl(name string, get func() int, set func(int64) error) *valueFile {
	return fs.intSysctl("/sys/vm/"+name, get, set)
}

// randomizeVA is /proc/sys/kernel/randomize_va_space: how an execve lays
// the new program out (kernel.SetRandomizeVA), 0, 1 or 2.
func (fs *FileSystem) randomizeVA() *valueFile {
	return fs.intSysctl("/sys/kernel/randomize_va_space", fs.k.RandomizeVA, fs.k.SetRandomizeVA)
}

// ipcNextID is /proc/sys/kernel/NAME (msg_next_id, sem_next_id,
// shm_next_id): the identifier the next System V object of kind gets in
// the caller's IPC namespace, -1 for none (ipc.Namespace.SetNextID);
// root writes it, as a process with CAP_CHECKPOINT_RESTORE in Linux.
func (fs *FileSystem) ipcNextID(name string, kind int) *valueFile {
	return &valueFile{tree: fs.tree, path: "/sys/kernel/" + name, perm: 0o644,
		getCtx: func(ctx context.Context) (string, error) {
			return strconv.Itoa(callerIPC(ctx, fs.k).SysV.NextID(kind)) + "\n", nil
		},
		set: func(ctx context.Context, text string) error {
			n, err := strconv.ParseInt(text, 10, 64)
			if err != nil {
				return unix.EINVAL
			}
			return callerIPC(ctx, fs.k).SysV.SetNextID(kind, int(n))
		}}
}

// nsLastPID is /proc/sys/kernel/ns_last_pid: the last process ID the
// caller's PID namespace gave out (kernel.Task.SetLastPID). Anyone may
// open it for writing (0666), but only CAP_SYS_ADMIN or
// CAP_CHECKPOINT_RESTORE in the namespace's owner writes it (EPERM), as
// pid_ns_ctl_handler checks.
func (fs *FileSystem) nsLastPID() *valueFile {
	return &valueFile{tree: fs.tree, path: "/sys/kernel/ns_last_pid", perm: 0o666,
		getCtx: func(ctx context.Context) (string, error) {
			if t := caller(ctx); t != nil {
				return strconv.Itoa(t.LastPID()) + "\n", nil
			}
			return strconv.Itoa(fs.k.LastPID()) + "\n", nil
		},
		set: func(ctx context.Context, text string) error {
			n, err := strconv.ParseInt(text, 10, 64)
			if err != nil || n < 0 || n >= kernel.MaxPID {
				n = -1 // EINVAL, after the permission check
			}
			if t := caller(ctx); t != nil {
				return t.SetLastPID(int(n))
			}
			return fs.k.SetLastPID(int(n))
		}}
}

// ipcLimit is /proc/sys/kernel/NAME (shmmax, shmall, shmmni, msgmax,
// msgmnb, msgmni): field of the caller's IPC namespace's limits, which
// root writes (ipc.Namespace.SetLimits checks the range).
func (fs *FileSystem) ipcLimit(name string, field func(*ipc.Limits) *uint64) *valueFile {
	return &valueFile{tree: fs.tree, path: "/sys/kernel/" + name, perm: 0o644,
		getCtx: func(ctx context.Context) (string, error) {
			l := callerIPC(ctx, fs.k).SysV.Limits()
			return strconv.FormatUint(*field(&l), 10) + "\n", nil
		},
		set: func(ctx context.Context, text string) error {
			n, err := strconv.ParseUint(text, 10, 64)
			if err != nil {
				return unix.EINVAL
			}
			return callerIPC(ctx, fs.k).SysV.SetLimits(func(l *ipc.Limits) { *field(l) = n })
		}}
}

// callerIPC is the IPC namespace of the task reading or writing, the
// initial one for the sentry itself.
func callerIPC(ctx context.Context, k *kernel.Kernel) *kernel.IPCNamespace {
	if t := caller(ctx); t != nil {
		return t.IPCNS()
	}
	return k.RootIPCNS()
}

// version is /proc/version (linux_proc_banner).
func version() string {
	return fmt.Sprintf("%s version %s (runsc-lite@runsc-lite) (runsc-lite) %s\n", kernel.OSType, kernel.Release, kernel.Version)
}

// FilesystemTypes are the types of the sandbox's mounts, in the order
// /proc/filesystems and sysfs(2) list them; none needs a device.
var FilesystemTypes = []string{"sysfs", "tmpfs", "proc", "cgroup2", "overlay"}

// filesystems is /proc/filesystems.
func filesystems() string {
	var b strings.Builder
	for _, t := range FilesystemTypes {
		b.WriteString("nodev\t" + t + "\n")
	}
	return b.String()
}

// newUUID returns a random (version 4) UUID as the kernel prints one.
func newUUID() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x\n", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// sysDir is /proc/sys.
func (fs *FileSystem) sysDir() *kernfs.Dir {
	tr, k := fs.tree, fs.k
	num := func(n int) kernfs.Content { return kernfs.Static(strconv.Itoa(n) + "\n") }
	random := tr.Fixed("/sys/kernel/random", map[string]vfs.Inode{
		"boot_id":       tr.File("/sys/kernel/random/boot_id", kernfs.Static(fs.bootID)),
		"uuid":          tr.File("/sys/kernel/random/uuid", func(context.Context) (string, error) { return newUUID(), nil }),
		"entropy_avail": tr.File("/sys/kernel/random/entropy_avail", num(256)),
		"poolsize":      tr.File("/sys/kernel/random/poolsize", num(256)),
	})
	kernelDir := tr.Fixed("/sys/kernel", map[string]vfs.Inode{
		"cap_last_cap":          tr.File("/sys/kernel/cap_last_cap", num(unix.CAP_LAST_CAP)),
		"core_pattern":          tr.File("/sys/kernel/core_pattern", kernfs.Static("core\n")),
		"msgmax":                fs.ipcLimit("msgmax", func(l *ipc.Limits) *uint64 { return &l.MsgMax }),
		"msg_next_id":           fs.ipcNextID("msg_next_id", ipc.KindMsg),
		"sem_next_id":           fs.ipcNextID("sem_next_id", ipc.KindSem),
		"shm_next_id":           fs.ipcNextID("shm_next_id", ipc.KindShm),
		"msgmnb":                fs.ipcLimit("msgmnb", func(l *ipc.Limits) *uint64 { return &l.MsgMnb }),
		"msgmni":                fs.ipcLimit("msgmni", func(l *ipc.Limits) *uint64 { return &l.MsgMni }),
		"sem":                   tr.File("/sys/kernel/sem", kernfs.Static(fmt.Sprintf("%d\t%d\t%d\t%d\n", linux.SEMMSL, ipc.SemMNS, linux.SEMOPM, linux.SEMMNI))),
		"shmall":                fs.ipcLimit("shmall", func(l *ipc.Limits) *uint64 { return &l.ShmAll }),
		"shmmax":                fs.ipcLimit("shmmax", func(l *ipc.Limits) *uint64 { return &l.ShmMax }),
		"shmmni":                fs.ipcLimit("shmmni", func(l *ipc.Limits) *uint64 { return &l.ShmMni }),
		"sched_rr_timeslice_ms": tr.File("/sys/kernel/sched_rr_timeslice_ms", num(100)),
		"tainted":               tr.File("/sys/kernel/tainted", num(0)),
		"domainname":            fs.utsName("domainname", true),
		"hostname":              fs.utsName("hostname", false),
		"ngroups_max":           tr.File("/sys/kernel/ngroups_max", num(65536)),
		"ns_last_pid":           fs.nsLastPID(),
		"osrelease":             tr.File("/sys/kernel/osrelease", kernfs.Static(kernel.Release+"\n")),
		"ostype":                tr.File("/sys/kernel/ostype", kernfs.Static(kernel.OSType+"\n")),
		"overflowgid":           tr.File("/sys/kernel/overflowgid", num(65534)),
		"overflowuid":           tr.File("/sys/kernel/overflowuid", num(65534)),
		"pid_max":               tr.File("/sys/kernel/pid_max", num(kernel.MaxPID)),
		"random":                random,
		"randomize_va_space":    fs.randomizeVA(),
		"threads-max":           tr.File("/sys/kernel/threads-max", func(context.Context) (string, error) { return strconv.Itoa(k.TaskLimit()) + "\n", nil }),
		"version":               tr.File("/sys/kernel/version", kernfs.Static(kernel.Version+"\n")),
		"yama":                  tr.Fixed("/sys/kernel/yama", map[string]vfs.Inode{"ptrace_scope": fs.ptraceScope()}),
	})
	vm := tr.Fixed("/sys/vm", map[string]vfs.Inode{
		// k.Memory is read at each access: the sandbox makes its account
		// after this file system (a method value bound now would be the
		// nil account's, which takes no write).
		"overcommit_memory": fs.vmSysctl("overcommit_memory",
			func() int { return k.Memory.Overcommit() }, func(n int64) error { return k.Memory.SetOvercommit(n) }),
		"max_map_count": fs.vmSysctl("max_map_count",
			func() int { return k.Memory.MaxMapCount() }, func(n int64) error { return k.Memory.SetMaxMapCount(n) }),
	})
	inotifyDir := tr.Fixed("/sys/fs/inotify", map[string]vfs.Inode{
		"max_queued_events":  tr.File("/sys/fs/inotify/max_queued_events", num(inotify.MaxQueued)),
		"max_user_instances": fs.inotifyInstances(),
		"max_user_watches":   tr.File("/sys/fs/inotify/max_user_watches", num(inotify.MaxWatches)),
	})
	mqueueDir := tr.Fixed("/sys/fs/mqueue", map[string]vfs.Inode{
		"queues_max":      tr.File("/sys/fs/mqueue/queues_max", num(mqueue.QueuesMax)),
		"msg_max":         tr.File("/sys/fs/mqueue/msg_max", num(mqueue.MsgMax)),
		"msgsize_max":     tr.File("/sys/fs/mqueue/msgsize_max", num(mqueue.MsgSizeMax)),
		"msg_default":     tr.File("/sys/fs/mqueue/msg_default", num(mqueue.MsgMax)),
		"msgsize_default": tr.File("/sys/fs/mqueue/msgsize_default", num(mqueue.MsgSizeMax)),
	})
	fsDir := tr.Fixed("/sys/fs", map[string]vfs.Inode{
		"inotify":              inotifyDir,
		"mqueue":               mqueueDir,
		"lease-break-time":     fs.leaseBreakTime(),
		"aio-max-nr":           fs.aioMaxNR(),
		"nr_open":              fs.nrOpen(),
		"aio-nr":               tr.File("/sys/fs/aio-nr", func(context.Context) (string, error) { return strconv.FormatUint(k.AIO.NR(), 10) + "\n", nil }),
		"pipe-max-size":        fs.pipeMaxSize(),
		"pipe-user-pages-hard": fs.pipeUserPages("pipe-user-pages-hard", k.Pipes.UserPagesHard, k.Pipes.SetUserPagesHard),
		"pipe-user-pages-soft": fs.pipeUserPages("pipe-user-pages-soft", k.Pipes.UserPagesSoft, k.Pipes.SetUserPagesSoft),
	})
	return tr.Fixed("/sys", map[string]vfs.Inode{"kernel": kernelDir, "vm": vm, "fs": fsDir, "net": fs.sysNetDir()})
}

// sysNetDir is /proc/sys/net: the sysctls of the reader's network
// namespace (Linux's are per namespace). Only ipv4/conf/DEV/tag is
// there (a value each interface keeps, "all" and "default" too, 0 in a
// new namespace), which programs use to tell namespaces apart (LTP's
// clone09).
func (fs *FileSystem) sysNetDir() *kernfs.Dir {
	tr := fs.tree
	conf := tr.Dir("/sys/net/ipv4/conf", func(ctx context.Context) (map[string]vfs.Inode, error) {
		ns, err := fs.callerNetNS(ctx)
		if err != nil {
			return nil, err
		}
		names := []string{"all", "default"}
		if ns.Host == nil {
			ifs, err := ns.Inet.Interfaces()
			if err != nil {
				return nil, err
			}
			for _, in := range ifs {
				names = append(names, in.Name)
			}
		}
		c := make(map[string]vfs.Inode, len(names))
		for _, name := range names {
			dir := "/sys/net/ipv4/conf/" + name
			c[name] = tr.Fixed(dir, map[string]vfs.Inode{"tag": &valueFile{tree: tr, path: dir + "/tag", perm: 0o644,
				getCtx: func(ctx context.Context) (string, error) {
					ns, err := fs.callerNetNS(ctx)
					if err != nil {
						return "", err
					}
					return strconv.FormatUint(uint64(ns.Inet.ConfTag(name)), 10) + "\n", nil
				},
				set: func(ctx context.Context, text string) error {
					n, err := strconv.ParseInt(text, 10, 64)
					if err != nil || n < math.MinInt32 || n > math.MaxUint32 {
						return unix.EINVAL
					}
					ns, err := fs.callerNetNS(ctx)
					if err != nil {
						return err
					}
					ns.Inet.SetConfTag(name, uint32(n))
					return nil
				}}})
		}
		return c, nil
	})
	return tr.Fixed("/sys/net", map[string]vfs.Inode{
		"ipv4": tr.Fixed("/sys/net/ipv4", map[string]vfs.Inode{"conf": conf}),
	})
}

// utsName is /proc/sys/kernel/hostname or domainname: the name of the
// caller's UTS namespace, which root writes as with sethostname(2) and
// setdomainname(2) but without their capability check, cut at 64 bytes
// (proc_do_uts_string).
func (fs *FileSystem) utsName(name string, domain bool) *valueFile {
	return &valueFile{tree: fs.tree, path: "/sys/kernel/" + name, perm: 0o644, str: true,
		getCtx: func(ctx context.Context) (string, error) {
			h, d := callerUTS(ctx, fs.k).Names()
			if domain {
				return d + "\n", nil
			}
			return h + "\n", nil
		},
		set: func(ctx context.Context, text string) error {
			callerUTS(ctx, fs.k).WriteName(text, domain)
			return nil
		}}
}

// callerUTS is the UTS namespace of the task reading, the initial one
// for the sentry itself.
func callerUTS(ctx context.Context, k *kernel.Kernel) *kernel.UTSNamespace {
	if t := caller(ctx); t != nil {
		return t.UTS()
	}
	return k.InitUTS()
}
