// Package kernel is the core of the sentry: tasks (application threads),
// thread groups (processes) and the loop that runs them.
//
// A task is a goroutine that loops: Switch into the application, handle the
// stop (a syscall through the SyscallTable, a fault, a signal), Switch again
// (docs/architecture.md, section 3). Processes, signals and futexes beyond what a
// single-threaded program needs arrive with the processes issue; until then
// a synchronous signal ends the process as its default action would.
//
// Decision: when the sandbox's stdio is a host terminal, it is the
// controlling terminal of init's session, and its foreground process group
// is a sandbox pgid that the host never sees; runsc-lite forwards the
// terminal's signals (Ctrl-C, Ctrl-\, Ctrl-Z, resizes) to that group
// (tty.go). Pidfds hold a process, not a pid number (pidfd.go).
//
// Decision: the sandbox says it is Linux Release (6.1.0) in uname(2),
// /proc/version and /proc/sys/kernel, never the host's release: 6.1 is
// the release whose syscall table (asm/unistd_64.h) the sentry follows,
// an LTS release that glibc (which wants 3.2 or later) and programs that
// look at the version to pick features accept; a feature missing from the
// sentry fails with ENOSYS or EINVAL as on a kernel built without it.
// What the sandbox shows of itself is in stats.go.
//
// Decision: privilege is capabilities (caps.go), never "uid 0", and the
// VFS gets a task's credentials as an argument (Task.FSCreds). The order
// in which the package's locks nest is in locks.go.
//
// Decision: user IDs are kernel IDs everywhere in the sentry; a process's
// credentials carry its user namespace, and the syscall layer maps IDs to
// and from it (userns.go). A capability is held in a namespace: checks
// that are global ask the initial one (Credentials.HasCap), so a process
// of a child namespace passes none of them; those Linux makes per
// namespace (setuid family, files of mapped owners, signals and ptrace of
// the target's namespace, UTS names) ask HasCapIn or HasOwnCap.
package kernel

import (
	"log/slog"
	"runsc-lite/interpose"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"gvisor.dev/gvisor/pkg/abi/linux"
	"runsc-lite/platform"
	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/fs/inotify"
	"runsc-lite/sentry/fs/pipe"
	"runsc-lite/sentry/kernel/aio"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/socket/hostinet"
	"runsc-lite/sentry/socket/inet"
	unixsocket "runsc-lite/sentry/socket/unix"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// Tracer prints syscalls, signals and the ends of tasks (package strace).
type Tracer interface {
	// SyscallEnter is a call on its way in, SyscallExit its return with
	// ret, or err (an errno) if it failed.
	SyscallEnter(t *Task, nr uintptr, args SyscallArguments)
	SyscallExit(t *Task, nr uintptr, args SyscallArguments, ret uintptr, err error)
	// Signal is a signal delivered to t (any but SIGKILL).
	Signal(t *Task, si *SigInfo)
	// TaskExit is the end of t.
	TaskExit(t *Task, st ExitStatus)
}

// Kernel is one sandbox.
type Kernel struct {
	// kcmp are kcmp(2)'s obfuscation cookies (kcmp.go); set by New.
	kcmp *kcmpCookies

	Platform platform.Platform
	VFS      *vfs.VFS
	Syscalls *SyscallTable
	// Hooks are the embedding program's syscall hooks (package
	// interpose); nil: none, and dispatch never looks at them.
	Hooks *interpose.Hooks
	Log   *slog.Logger
	// Hostname is the host name the initial UTS namespace starts with
	// (set before the first task runs; InitUTS).
	Hostname string
	// initUTS is the initial UTS namespace, made once (uts.go).
	initUTS     *UTSNamespace
	initUTSOnce sync.Once
	// initTime is the initial time namespace, whose offsets are zero
	// (timens.go).
	initTime TimeNamespace
	// Started is when the sandbox's machine booted (/proc/uptime,
	// btime): when it started, less clocks.BootDelay when its clocks are
	// its own.
	Started time.Time
	// Clocks are the sandbox's monotonic and boot-time clocks (package
	// clocks); set before the first task runs. The zero value is the
	// host's.
	Clocks clocks.Offsets
	// Futexes are the futex waiters of every task.
	Futexes Futexes
	// UnixSockets are the names of the sandbox's Unix-domain sockets.
	UnixSockets *unixsocket.Namespace
	// ProcFS is the sandbox's /proc, which mount -t proc shows again;
	// nil until the sandbox mounts it. Set before the first task runs.
	ProcFS vfs.FileSystem
	// NewProcFS makes the /proc of a nested PID namespace (ProcFSOf);
	// set with ProcFS.
	NewProcFS func(*PIDNamespace) vfs.FileSystem
	// Net is the sandbox's network stack (Internet sockets).
	Net *inet.Stack
	// netRoot is the first network namespace, of Net and HostNet
	// (netns.go).
	netRoot netRoot
	// HostNet is --network=host's network: the Internet sockets are host
	// sockets (nil in the other modes); set before the first task runs.
	HostNet *hostinet.Stack
	// ipcns is the initial IPC namespace and every other one that is
	// alive or has a segment still attached (ipcns.go).
	ipcns ipcNamespaces
	// mntns is the first mount namespace, made once (mntns.go).
	mntns     *MountNS
	mntnsOnce sync.Once
	// AIO are the sandbox's aio-nr and aio-max-nr (package aio); each
	// address space has its own contexts (Task.AIO).
	AIO *aio.Limits
	// Pipes are the sandbox's pipe limits (/proc/sys/fs/pipe-*) and the
	// pipe pages each user holds (package pipe).
	Pipes *pipe.Accounts
	// nrOpen is /proc/sys/fs/nr_open (limits.go).
	nrOpen atomic.Uint32
	// yamaScope is /proc/sys/kernel/yama/ptrace_scope (yama.go).
	yamaScope atomic.Int32
	// randomizeVA is /proc/sys/kernel/randomize_va_space (personality.go).
	randomizeVA atomic.Int32
	// Inotify counts each user's inotify instances against
	// /proc/sys/fs/inotify/max_user_instances (package inotify).
	Inotify *inotify.Users
	// Memory is the sandbox's memory account, which its address spaces
	// and in-memory files charge (nil: none); set it before the first
	// process starts.
	Memory *usage.Memory
	// CPU holds the CPU time of the sandbox's address spaces that are
	// gone (stats.go).
	CPU *usage.CPU

	// sigQueued counts the signals queued, by real user, against
	// RLIMIT_SIGPENDING (sigqueue.go); it locks itself.
	sigQueued sigQueueCounts

	// observe holds the syscall tracer and counters (observe.go).
	observe observers
	// frozen, while the kernel is frozen, points to the channel the thaw
	// closes (freeze.go).
	frozen atomic.Pointer[chan struct{}]

	cpus  int   // how many CPUs the sandbox may use (stats.go)
	stats stats // the load average and the last CPU time reported

	// mu guards the process tree: the fields below, and in every
	// ThreadGroup its tree fields (parent, children, tasks, pgid, sid,
	// ctty, exitSignal, exiting, zombie, status, job), and the TTY's
	// session and foreground group. treeChanged (on mu) is broadcast
	// whenever a thread group exits, stops or continues, for wait4. See
	// locks.go for the order of the kernel's locks.
	mu          sync.Mutex
	treeChanged *sync.Cond
	tasks       map[int]*Task        // guarded by mu
	groups      map[int]*ThreadGroup // guarded by mu
	nextID      int                  // guarded by mu
	pidns       *PIDNamespace        // the sandbox's first (pidns.go); never changes
	// nestedIDs are the kernel IDs that have IDs in nested PID
	// namespaces, by the namespace they were made in (pidns.go);
	// guarded by mu.
	nestedIDs map[int]*PIDNamespace
	taskLimit int    // pids.go; guarded by mu
	forks     uint64 // tasks ever created (stats.go); guarded by mu
	lastID    int    // the ID handed out last; guarded by mu
}

// New returns a kernel with no tasks.
func New(p platform.Platform, v *vfs.VFS, st *SyscallTable, log *slog.Logger) *Kernel {
	k := &Kernel{
		Platform: p, VFS: v, Syscalls: st, Log: log, Hostname: "runsc-lite", Started: time.Now(),
		tasks: make(map[int]*Task), groups: make(map[int]*ThreadGroup), nextID: 1, kcmp: newKcmpCookies(), nestedIDs: make(map[int]*PIDNamespace),
		UnixSockets: unixsocket.NewNamespace(), Net: new(inet.Stack), CPU: new(usage.CPU), cpus: affinityCPUs(),
	}
	k.treeChanged = sync.NewCond(&k.mu)
	k.pidns = newRootPIDNS()
	k.ipcns.sandbox.Attached = k.shmAttachments
	k.ipcns.root = k.newIPCNamespace(nil, InitIPCNSInode, true)
	k.AIO = aio.NewLimits()
	k.Pipes = pipe.NewAccounts()
	k.Inotify = inotify.NewUsers()
	k.nrOpen.Store(NROpenDefault)
	k.yamaScope.Store(linux.YAMA_SCOPE_RELATIONAL)
	k.randomizeVA.Store(int32(mm.RandomizeAll))
	return k
}

// NewProcess creates the first task of a new thread group in memory m, with
// file table fds and filesystem context fs. The first process created is the
// sandbox's init (PID 1). The caller sets its registers and calls Start.
func (k *Kernel) NewProcess(m *mm.MemoryManager, fds *vfs.FDTable, fs *vfs.FSContext) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	id := k.allocID()
	tg := newThreadGroup(k, id, nil)
	tg.pidns, tg.vpid = k.pidns, id
	if k.pidns.init == nil {
		k.pidns.init = tg
		k.startLoadAvg()
	}
	m.SetCPUAccount(k.CPU)
	t := &Task{K: k, TG: tg, TID: id, vtid: id, fds: fds, fs: fs, FP: platform.NewFPState(), ctx: k.Platform.NewContext(), killed: make(chan struct{}), startUptime: k.Uptime()}
	t.mm.Store(m)
	tg.tasks = []*Task{t}
	k.tasks[id] = t
	k.groups[id] = tg
	return t
}

// allocID returns a free ID for a task; k.mu is held.
func (k *Kernel) allocID() int {
	for {
		id := k.nextID
		k.nextID++
		if k.nextID >= MaxPID {
			k.nextID = 2
		}
		if k.tasks[id] == nil && k.groups[id] == nil {
			k.forks++
			k.lastID = id
			return id
		}
	}
}

// MaxPID is /proc/sys/kernel/pid_max's default on 64-bit: IDs are below
// it.
const MaxPID = 4194304

// The system's names in uname(2), /proc/version and /proc/sys/kernel: the
// Linux ABI the sentry emulates (see the package documentation).
const (
	OSType     = "Linux"
	Release    = "6.1.0"
	Version    = "#1 SMP PREEMPT_DYNAMIC Sun Dec 11 22:15:00 UTC 2022"
	Machine    = "x86_64"
	DomainName = "(none)"
)

// Start runs t on its own goroutine.
func (t *Task) Start() { go t.Run() }

// KillAll ends every task: the sandbox's init has exited.
func (k *Kernel) KillAll() {
	k.stopLoadAvg()
	k.mu.Lock()
	tasks := make([]*Task, 0, len(k.tasks))
	for _, t := range k.tasks {
		tasks = append(tasks, t)
	}
	k.mu.Unlock()
	for _, t := range tasks {
		t.TG.Kill(int(unix.SIGKILL))
	}
}

// RootPIDNS is the sandbox's first PID namespace, where IDs are the
// kernel's.
func (k *Kernel) RootPIDNS() *PIDNamespace { return k.pidns }

// Task returns the task with the given kernel ID, or nil.
func (k *Kernel) Task(tid int) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.tasks[tid]
}

// NumTasks returns how many tasks exist.
func (k *Kernel) NumTasks() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.tasks)
}

// PIDs returns the IDs of the thread groups, in no particular order: the
// live ones, and the zombies too if asked (as /proc lists them).
func (k *Kernel) PIDs(zombies bool) []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	var pids []int
	for pid, tg := range k.groups {
		if zombies || !tg.zombie {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Zombie returns the thread that exited last of process pid if it is a
// zombie (exited, not yet waited for), else nil.
func (k *Kernel) Zombie(pid int) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	if tg := k.groups[pid]; tg != nil && tg.zombie {
		return tg.last
	}
	return nil
}

// TaskOrZombie is Task that also finds a zombie (a process that has
// exited and not been waited for) by its PID, as find_task_by_vpid does
// until the parent reaps it: its last thread, whose scheduling policy,
// nice value, affinity, process group and session stay readable.
func (k *Kernel) TaskOrZombie(tid int) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	if t := k.tasks[tid]; t != nil {
		return t
	}
	if tg := k.groups[tid]; tg != nil && tg.zombie {
		return tg.last
	}
	return nil
}

// IsZombie reports whether t's process has exited and not been waited for.
func (t *Task) IsZombie() bool {
	t.K.mu.Lock()
	defer t.K.mu.Unlock()
	return t.TG.zombie
}

// TIDs returns the IDs of the tasks, in no particular order.
func (k *Kernel) TIDs() []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	tids := make([]int, 0, len(k.tasks))
	for tid := range k.tasks {
		tids = append(tids, tid)
	}
	return tids
}
