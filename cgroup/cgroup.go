// Package cgroup gives a sandbox a host cgroup whose memory and pids limits
// the kernel enforces on its stub processes, whatever the sentry believes
// about them: a stub that escapes the sentry's accounting (a hijacked
// syscall thread that maps memory or clones threads on its own) still stops
// at them.
//
// Decisions:
//   - Only the stub processes are in the cgroup (the sentry moves its
//     forkserver in before it starts any stub; stub.Confinement.Cgroup).
//     The sentry's own memory (its Go heap, the sandbox's in-memory files)
//     is bounded by its own accounting (package usage), not here: a sentry
//     at the kernel's limit would be OOM-killed instead of answering ENOMEM.
//   - The kernel limits sit above the sentry's, with slack, so that a
//     sandbox that keeps within --pids-limit and --memory-limit never meets
//     them (see HostLimits): the sentry answers EAGAIN and ENOMEM first, as
//     Linux would; the kernel's limits stop only what escaped it.
//   - cgroup v2 when the unified hierarchy has both the memory and pids
//     controllers, v1 (one directory in the memory and one in the pids
//     hierarchy) otherwise. v1: below the caller's own cgroup of each
//     hierarchy, so the caller's limits still apply. v2: below the parent of
//     the caller's cgroup (the caller's own has processes, and v2 allows
//     controllers only in cgroups without), or below the root if the caller
//     is there; the caller's own leaf limits then do not apply, its parent's
//     do.
//   - Without root, only a delegated hierarchy: a base directory the caller
//     may create cgroups in and move processes through. Otherwise the
//     sandbox has no cgroup, and Create says so (the log at info level).
//   - A cgroup is named Prefix + "<owner pid>-<owner start time>", the owner
//     being the runsc-lite process that made it. It is removed when the
//     sandbox ends; one left by a runsc-lite that was killed is removed by
//     the next Create in the same base, once its owner is gone and it is
//     empty (the kernel refuses to remove a cgroup that has processes).
package cgroup

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Prefix starts the name of every sandbox cgroup.
const Prefix = "runsc-lite-"

// Limits are the kernel's limits of one sandbox's stub processes.
type Limits struct {
	MemoryMax uint64 // bytes
	PidsMax   int64  // host tasks (threads)
}

// Slack in the host limits over the sandbox's own (HostLimits).
const (
	// pidsSlack covers the forkserver, the spare stub process, and stub
	// processes that exited and that the sentry has not yet had reaped.
	pidsSlack = 256
	// taskKernelMemory is what the kernel charges per host task beyond the
	// application's memory: kernel stack, task structures, page tables.
	taskKernelMemory = 32 << 10
	// memorySlack covers the stubs' own pages (stacks, their per-thread
	// shared pages) and page-table growth.
	memorySlack = 16 << 20
)

// HostLimits derives the kernel's limits from the sandbox's: at most
// pidsLimit tasks and memoryLimit bytes of committed memory and in-memory
// files, as the sentry counts them.
//
// Host tasks are the application's threads, plus one syscall thread per
// address space (at most one per application thread), plus the forkserver,
// the spare stub, and exited stubs not yet reaped: pids.max is
// 2*pidsLimit + 256. Memory is the application's (which the sentry counts),
// plus the kernel's per task (32 KiB each for pids.max tasks), plus an
// eighth for what the sentry does not count (page tables, stub pages), plus
// 16 MiB.
func HostLimits(memoryLimit uint64, pidsLimit int) Limits {
	pids := 2*int64(pidsLimit) + pidsSlack
	mem := memoryLimit + memoryLimit/8 + uint64(pids)*taskKernelMemory + memorySlack
	if mem < memoryLimit { // overflow: no limit the kernel could use
		mem = 1<<63 - 1
	}
	return Limits{MemoryMax: mem, PidsMax: pids}
}

// Cgroup is one sandbox's cgroup: one directory (v2) or one per hierarchy
// (v1).
type Cgroup struct {
	Version int
	Dirs    []string
	// own is the creator's own cgroup (in the first hierarchy), for Prime.
	own string
}

// Create removes the cgroups that runsc-lite processes now gone left in the
// bases it would use, then makes a cgroup for a sandbox owned by this
// process with limits l. It returns nil and the reason when the sandbox
// cannot have one (no hierarchy with both controllers, or no delegated one
// without root); that is not an error.
func Create(l Limits, log *slog.Logger) (*Cgroup, string, error) {
	h, why, err := discover(hostPaths())
	if err != nil || h == nil {
		return nil, why, err
	}
	for _, base := range h.bases {
		removeStale(base, log)
	}
	name, err := ownerName(os.Getpid())
	if err != nil {
		return nil, "", err
	}
	cg := &Cgroup{Version: h.version, own: h.own}
	for _, base := range h.bases {
		dir := filepath.Join(base, name)
		if err := unix.Mkdir(dir, 0o755); err != nil {
			cg.Remove()
			return nil, "", fmt.Errorf("creating cgroup %s: %w", dir, err)
		}
		cg.Dirs = append(cg.Dirs, dir)
	}
	if err := cg.setLimits(l); err != nil {
		cg.Remove()
		return nil, "", err
	}
	return cg, "", nil
}

// setLimits writes l into the cgroup's files.
func (c *Cgroup) setLimits(l Limits) error {
	mem := strconv.FormatUint(l.MemoryMax, 10)
	pids := strconv.FormatInt(l.PidsMax, 10)
	for _, dir := range c.Dirs {
		var files [][2]string
		switch {
		case c.Version == 2:
			files = [][2]string{{"memory.max", mem}, {"memory.swap.max", "0"}, {"pids.max", pids}}
		case exists(filepath.Join(dir, "memory.limit_in_bytes")):
			// memsw, when the kernel accounts swap, must not be below the
			// memory limit, so it comes second.
			files = [][2]string{{"memory.limit_in_bytes", mem}, {"memory.memsw.limit_in_bytes", mem}}
		default:
			files = [][2]string{{"pids.max", pids}}
		}
		for _, f := range files {
			p := filepath.Join(dir, f[0])
			if strings.Contains(f[0], "swap") || strings.Contains(f[0], "memsw") {
				if !exists(p) {
					continue // the kernel does not account swap
				}
			}
			if err := os.WriteFile(p, []byte(f[1]), 0); err != nil {
				return fmt.Errorf("setting the sandbox's cgroup limit: %w", err)
			}
		}
	}
	return nil
}

// Prime readies the kernel for a process's move into the cgroup a few
// milliseconds from now, and returns at once. The first move into any
// cgroup waits for an RCU grace period (the kernel's cgroup_threadgroup_rwsem
// turns its readers to the slow path), 5 to 10 ms on a VM, and moves that
// come while it is under way or just after it share that wait. Prime makes
// one on a goroutine of its own: the caller moves itself into the cgroup it
// is already in, which changes nothing. Errors are ignored; at worst the
// real move waits as long as it would have.
func (c *Cgroup) Prime() {
	if c == nil || c.own == "" {
		return
	}
	go func() {
		f, err := os.OpenFile(filepath.Join(c.own, "cgroup.procs"), os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		f.Write([]byte(strconv.Itoa(os.Getpid())))
	}()
}

// OpenProcs opens the cgroup.procs file of each directory for writing. A
// pid written to one is read in the writer's PID namespace, and the kernel
// checks the move with the credentials of the process that opened the
// file: the sentry, in namespaces of its own and without privileges, can
// move its forkserver in through these.
func (c *Cgroup) OpenProcs() ([]*os.File, error) {
	var files []*os.File
	for _, dir := range c.Dirs {
		f, err := os.OpenFile(filepath.Join(dir, "cgroup.procs"), os.O_WRONLY, 0)
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("opening the sandbox's cgroup: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}

// Join writes pid into each of procs (files from OpenProcs).
func Join(procs []*os.File, pid int) error {
	for _, f := range procs {
		if _, err := f.Write([]byte(strconv.Itoa(pid))); err != nil {
			return fmt.Errorf("moving process %d into %s: %w", pid, f.Name(), err)
		}
	}
	return nil
}

// Remove removes the cgroup. Its processes must have exited; the kernel may
// take a moment to see the last one go, so it retries EBUSY briefly.
func (c *Cgroup) Remove() error {
	if c == nil {
		return nil
	}
	var errs []error
	for _, dir := range c.Dirs {
		err := unix.Rmdir(dir)
		for deadline := time.Now().Add(2 * time.Second); err == unix.EBUSY && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
			err = unix.Rmdir(dir)
		}
		if err != nil && err != unix.ENOENT {
			errs = append(errs, fmt.Errorf("removing cgroup %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}

// ownerName is the cgroup name for a sandbox owned by process pid.
func ownerName(pid int) (string, error) {
	start, err := startTime(pid)
	if err != nil {
		return "", fmt.Errorf("naming the sandbox's cgroup: %w", err)
	}
	return fmt.Sprintf("%s%d-%d", Prefix, pid, start), nil
}

// parseName returns the owner pid and start time a cgroup name holds.
func parseName(name string) (pid int, start uint64, ok bool) {
	rest, ok := strings.CutPrefix(name, Prefix)
	if !ok {
		return 0, 0, false
	}
	p, s, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, 0, false
	}
	pid, err1 := strconv.Atoi(p)
	start, err2 := strconv.ParseUint(s, 10, 64)
	return pid, start, err1 == nil && err2 == nil && pid > 0
}

// removeStale removes the sandbox cgroups in base whose owner is gone.
func removeStale(base string, log *slog.Logger) {
	ents, err := os.ReadDir(base)
	if err != nil {
		return
	}
	for _, e := range ents {
		pid, start, ok := parseName(e.Name())
		if !ok || !e.IsDir() {
			continue
		}
		if now, err := startTime(pid); err == nil && now == start {
			continue // its owner still runs
		}
		dir := filepath.Join(base, e.Name())
		if err := unix.Rmdir(dir); err != nil {
			log.Info("left a stale sandbox cgroup in place", "dir", dir, "err", err)
			continue
		}
		log.Info("removed the cgroup of a sandbox whose runsc-lite is gone", "dir", dir)
	}
}

// startTime is field 22 of /proc/pid/stat: when the process started, in
// clock ticks since boot. With the pid it names a process for good.
func startTime(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// readLines returns the lines of a file.
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// Bases returns the directories in which Create would make a sandbox's
// cgroup (and remove stale ones), or nil if there are none.
func Bases() ([]string, error) {
	h, _, err := discover(hostPaths())
	if err != nil || h == nil {
		return nil, err
	}
	return h.bases, nil
}

// Of returns the sandbox cgroup process pid is in, nil if it is in none.
func Of(pid int) (*Cgroup, error) {
	mounts, err := cgroupMounts(hostPaths().mountinfo)
	if err != nil {
		return nil, err
	}
	own, err := ownCgroups("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		return nil, err
	}
	ours := func(m mount, p string) (string, bool) {
		dir, ok := inMount(m, p)
		return dir, ok && strings.HasPrefix(filepath.Base(dir), Prefix)
	}
	c := &Cgroup{Version: 1}
	for _, m := range mounts {
		if m.v2 {
			if dir, ok := ours(m, own[""]); ok {
				return &Cgroup{Version: 2, Dirs: []string{dir}}, nil
			}
			continue
		}
		for _, ctl := range needed {
			if p, ok := own[ctl]; ok && slices.Contains(m.controllers, ctl) {
				if dir, ok := ours(m, p); ok {
					c.Dirs = append(c.Dirs, dir)
				}
			}
		}
	}
	if len(c.Dirs) == 0 {
		return nil, nil
	}
	return c, nil
}

// Read returns the contents of the control file name, from the first of
// the cgroup's directories that has it.
func (c *Cgroup) Read(name string) (string, error) {
	for _, dir := range c.Dirs {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			return strings.TrimSpace(string(b)), nil
		}
	}
	return "", fmt.Errorf("cgroup %v has no %s", c.Dirs, name)
}
