// Package cgroup is the sandbox's /sys/fs/cgroup: a cgroup v2 hierarchy
// whose root is the sandbox, with the interface files that describe its
// limits and usage, as a container sees its own cgroup through a cgroup
// namespace. Programs that size themselves from their cgroup (the JVM, the
// Go runtime, .NET, Node) find it through /proc/self/cgroup ("0::/") and
// the cgroup2 line of /proc/self/mountinfo.
//
// Decisions:
//   - The limits are the sandbox's own, which the sentry enforces:
//     memory.max is --memory-limit, pids.max is --pids-limit. There is no
//     CPU quota (cpu.max "max 100000"); the CPUs are those the sandbox may
//     use (cpuset.cpus.effective). There is no swap (memory.swap.max 0).
//   - Usage is the sandbox's: memory.current is its memory account,
//     pids.current its tasks, cpu.stat its CPU time (the sentry's own
//     counts as system time, as in /proc/stat).
//   - The hierarchy is read-only (mounted ro): no child cgroup can be made
//     and no file written (EROFS); the controllers are listed but none is
//     enabled for children.
package cgroup

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// FileSystem is a cgroup2 hierarchy of one cgroup, the sandbox.
type FileSystem struct {
	root *kernfs.Dir
}

// New returns the cgroup hierarchy of kernel k.
func New(k *kernel.Kernel) *FileSystem {
	tr := kernfs.Tree{Dev: vfs.NewDeviceID(), ReadOnly: true, Time: vfs.Now()}
	static := func(name, s string) vfs.Inode { return tr.File("/"+name, kernfs.Static(s+"\n")) }
	live := func(name string, gen func(*kernel.Kernel) string) vfs.Inode {
		return tr.File("/"+name, func(context.Context) (string, error) { return gen(k) + "\n", nil })
	}
	return &FileSystem{root: tr.Fixed("/", map[string]vfs.Inode{
		"cgroup.controllers":     static("cgroup.controllers", "cpuset cpu memory pids"),
		"cgroup.subtree_control": static("cgroup.subtree_control", ""),
		"cgroup.type":            static("cgroup.type", "domain"),
		"cgroup.events":          static("cgroup.events", "populated 1\nfrozen 0"),
		"cgroup.freeze":          static("cgroup.freeze", "0"),
		"cgroup.max.depth":       static("cgroup.max.depth", "max"),
		"cgroup.max.descendants": static("cgroup.max.descendants", "max"),
		"cgroup.procs":           tr.File("/cgroup.procs", ids(k.PIDs)),
		"cgroup.threads":         tr.File("/cgroup.threads", ids(func(bool) []int { return k.TIDs() })),
		"cpu.max":                static("cpu.max", "max 100000"),
		"cpu.weight":             static("cpu.weight", "100"),
		"cpu.stat":               live("cpu.stat", cpuStat),
		"cpuset.cpus.effective":  live("cpuset.cpus.effective", func(k *kernel.Kernel) string { return kernfs.CPUList(0, k.CPUs()) }),
		"cpuset.mems.effective":  static("cpuset.mems.effective", "0"),
		"memory.max":             live("memory.max", func(k *kernel.Kernel) string { return strconv.FormatUint(k.Memory.Limit(), 10) }),
		"memory.current":         live("memory.current", func(k *kernel.Kernel) string { return strconv.FormatUint(k.Memory.Used(), 10) }),
		"memory.high":            static("memory.high", "max"),
		"memory.low":             static("memory.low", "0"),
		"memory.min":             static("memory.min", "0"),
		"memory.swap.max":        static("memory.swap.max", "0"),
		"memory.swap.current":    static("memory.swap.current", "0"),
		"pids.max":               live("pids.max", func(k *kernel.Kernel) string { return strconv.Itoa(k.TaskLimit()) }),
		"pids.current":           live("pids.current", func(k *kernel.Kernel) string { return strconv.Itoa(k.NumTasks()) }),
	})}
}

// Root implements vfs.FileSystem.
func (fs *FileSystem) Root() vfs.Inode { return fs.root }

// Statfs implements vfs.FileSystem.
func (fs *FileSystem) Statfs(ctx context.Context) (unix.Statfs_t, error) {
	return unix.Statfs_t{Type: unix.CGROUP2_SUPER_MAGIC, Bsize: 4096, Frsize: 4096, Namelen: 255, Flags: unix.ST_RDONLY | unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC}, nil
}

// idList is IDs one a line, in order.
// ids is cgroup.procs or cgroup.threads: the kernel IDs list gives, as
// the reader's PID namespace has them (0 for one outside it, as
// cgroup_procs_show's task_pid_vnr).
func ids(list func(zombies bool) []int) kernfs.Content {
	return func(ctx context.Context) (string, error) {
		kids := list(false)
		if t, ok := vfs.TaskOf(ctx).(*kernel.Task); ok {
			for i, kid := range kids {
				kids[i] = t.IDOf(kid)
			}
		}
		return idList(kids) + "\n", nil
	}
}

func idList(ids []int) string {
	sort.Ints(ids)
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, "\n")
}

// cpuStat is cpu.stat: the sandbox's CPU time in microseconds; it is
// never throttled.
func cpuStat(k *kernel.Kernel) string {
	user, sys := k.CPUTime()
	return fmt.Sprintf("usage_usec %d\nuser_usec %d\nsystem_usec %d\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\nnr_bursts 0\nburst_usec 0",
		(user + sys).Microseconds(), user.Microseconds(), sys.Microseconds())
}
