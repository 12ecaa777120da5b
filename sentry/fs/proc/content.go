package proc

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/fs/kernfs"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/vfs"
)

// pidStat is /proc/PID/stat, or a thread's /proc/PID/task/TID/stat
// (proc(5)): the fields programs read (pid, comm, state, ppid, pgrp,
// session, tty_nr, tpgid, utime and stime (the process's, as times(2)
// gives them, or the thread's own), threads) are real; the others zero.
func (fs *FileSystem) pidStat(ctx context.Context, t *kernel.Task, thread bool) string {
	pgrp, sid, ttyDev, tpgid := t.JobInfo(fs.ns)
	times := t.TG.CPUTime
	if thread {
		times = t.ThreadCPUTime
	}
	user, sys := times()
	id := fs.ns.IDOf(t.TID)
	if t.IsZombie() {
		id = fs.ns.IDOf(t.TG.PID)
	}
	// starttime is on the boot-time clock of the reader's time namespace
	// (timens_add_boottime_ns); vsize and rss are 0 for a zombie, whose
	// memory is gone.
	start := t.StartUptime()
	if r := caller(ctx); r != nil {
		start += r.TimeNS().Of(unix.CLOCK_BOOTTIME)
	}
	var vsize, rss uint64
	if !t.IsZombie() {
		s := totals(t, t.MM().Usage())
		vsize, rss = s.size, s.rss/abi.PageSize
	}
	rsslim, _ := t.TG.Rlimit(unix.RLIMIT_RSS, nil, false)
	fields := []any{id, "(" + t.Name() + ")", string(state(ctx, t)), t.PPIDIn(fs.ns), pgrp, sid, vfs.EncodeDev(ttyDev), tpgid,
		0, 0, 0, 0, 0, ticks(user), ticks(sys), 0, 0, statPriority(t), t.Nice(), max(t.TG.NumThreads(), 1), 0,
		ticks(max(start, 0)), vsize, rss, rsslim.Cur}
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprint(&b, f)
	}
	b.WriteString(strings.Repeat(" 0", 52-len(fields)) + "\n")
	return b.String()
}

// statPriority is /proc/PID/stat's priority (task_prio): 20 plus the nice
// value for the normal policies, -1 less the real-time priority for
// SCHED_FIFO and SCHED_RR, -101 for SCHED_DEADLINE.
func statPriority(t *kernel.Task) int {
	switch p := t.Sched(); p.Policy {
	case unix.SCHED_FIFO, unix.SCHED_RR:
		return -1 - int(p.Priority)
	case unix.SCHED_DEADLINE:
		return -101
	}
	return 20 + t.Nice()
}

// state is the task's state letter; the caller is running.
func state(ctx context.Context, t *kernel.Task) byte {
	if caller(ctx) == t {
		return 'R'
	}
	return t.State()
}

// stateNames are the names /proc/PID/status gives the state letters.
var stateNames = map[byte]string{'R': "running", 'S': "sleeping", 'T': "stopped", 'Z': "zombie"}

// pidStatus is /proc/PID/status; the user and group IDs show as the
// reader's user namespace has them, the process IDs as /proc's PID
// namespace does (proc_pid_status).
func (fs *FileSystem) pidStatus(ctx context.Context, t *kernel.Task) string {
	c := t.Creds()
	var ns *kernel.UserNamespace
	if r := caller(ctx); r != nil {
		ns = r.UserNS()
	}
	st := state(ctx, t)
	var b strings.Builder
	fmt.Fprintf(&b, "Name:\t%s\n", t.Name())
	if fs := t.FS(); fs != nil && !t.IsZombie() {
		fmt.Fprintf(&b, "Umask:\t%04o\n", fs.Umask())
	}
	fmt.Fprintf(&b, "State:\t%c (%s)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\nTracerPid:\t%d\n"+
		"Uid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\nFDSize:\t64\nGroups:\t",
		st, stateNames[st], fs.ns.IDOf(t.TG.PID), fs.ns.IDOf(t.TID), t.PPIDIn(fs.ns), t.TracerPID(fs.ns),
		ns.ShowUID(c.UID.Real), ns.ShowUID(c.UID.Effective), ns.ShowUID(c.UID.Saved), ns.ShowUID(c.UID.FS),
		ns.ShowGID(c.GID.Real), ns.ShowGID(c.GID.Effective), ns.ShowGID(c.GID.Saved), ns.ShowGID(c.GID.FS))
	for _, g := range c.Groups {
		fmt.Fprintf(&b, "%d ", ns.ShowGID(g))
	}
	b.WriteString("\n")
	ids := t.NSIDsFrom(fs.ns)
	for _, l := range []struct {
		name string
		ids  []int
	}{{"NStgid", ids.TGID}, {"NSpid", ids.TID}, {"NSpgid", ids.PGID}, {"NSsid", ids.SID}} {
		b.WriteString(l.name + ":")
		for _, id := range l.ids {
			fmt.Fprintf(&b, "\t%d", id)
		}
		b.WriteString("\n")
	}
	if !t.IsZombie() {
		// A zombie's memory is gone: Linux shows no Vm lines.
		b.WriteString(statusMemory(t))
	}
	pending, shared, ignored, caught := t.SignalMasks()
	queued, limit := t.TG.SigQueued()
	seccompMode, seccompFilters := t.SeccompMode()
	fmt.Fprintf(&b, "Threads:\t%d\nSigQ:\t%d/%d\nSigPnd:\t%016x\nShdPnd:\t%016x\nSigBlk:\t%016x\nSigIgn:\t%016x\nSigCgt:\t%016x\n"+
		"CapInh:\t%016x\nCapPrm:\t%016x\nCapEff:\t%016x\nCapBnd:\t%016x\nCapAmb:\t%016x\nNoNewPrivs:\t%d\nSeccomp:\t%d\nSeccomp_filters:\t%d\n",
		max(t.TG.NumThreads(), 1), queued, limit, pending, shared, t.SigMask(), ignored, caught,
		c.Caps.Inheritable, c.Caps.Permitted(), c.Caps.Effective(), c.Caps.Bounding(), c.Caps.Ambient, noNewPrivs(t), seccompMode, seccompFilters)
	cpus := t.Affinity()
	fmt.Fprintf(&b, "Cpus_allowed:\t%s\nCpus_allowed_list:\t%s\n", cpuBitmap(cpus, t.K.CPUs()), cpuList(cpus, t.K.CPUs()))
	// The one memory node (package mm), in a mask of MAX_NUMNODES bits.
	fmt.Fprintf(&b, "Mems_allowed:\t%s\nMems_allowed_list:\t%s\n", kernfs.CPUMask(0, 1, mm.MaxNumNodes), kernfs.CPUList(0, 1))
	return b.String()
}

// cpuBitmap formats the first n bits of m as Linux's %*pb: 32-bit hex
// chunks, highest first, separated by commas, the first as wide as its
// bits need.
func cpuBitmap(m kernel.CPUMask, n int) string {
	var b strings.Builder
	width := n % 32
	if width == 0 {
		width = 32
	}
	for lo := (n+31)/32*32 - 32; lo >= 0; lo -= 32 {
		var chunk uint64
		for i := 0; i < width; i++ {
			if m.Has(lo + i) {
				chunk |= 1 << i
			}
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%0*x", (width+3)/4, chunk)
		width = 32
	}
	return b.String()
}

// cpuList formats the first n bits of m as Linux's %*pbl: ranges such as
// 0-3,6.
func cpuList(m kernel.CPUMask, n int) string {
	var parts []string
	for i := 0; i < n; i++ {
		if !m.Has(i) {
			continue
		}
		j := i
		for j+1 < n && m.Has(j+1) {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", i, j))
		} else {
			parts = append(parts, fmt.Sprint(i))
		}
		i = j
	}
	return strings.Join(parts, ",")
}

// noNewPrivs is /proc/PID/status's NoNewPrivs field.
func noNewPrivs(t *kernel.Task) int {
	if t.NoNewPrivs() {
		return 1
	}
	return 0
}

// stringsAt reads a range of the process's memory (cmdline, environ).
func stringsAt(t *kernel.Task, r [2]uintptr) string {
	if r[1] <= r[0] || r[1]-r[0] > 1<<20 {
		return ""
	}
	b := make([]byte, r[1]-r[0])
	n, _ := t.MM().CopyIn(r[0], b)
	return string(b[:n])
}

func cmdline(t *kernel.Task) string { return stringsAt(t, t.MM().Argv) }
func environ(t *kernel.Task) string { return stringsAt(t, t.MM().Envv) }
func auxv(t *kernel.Task) string    { return string(t.MM().Auxv) }
func maps(t *kernel.Task) string    { return t.MM().Maps(mapNamer(t)) }

// limitNames are /proc/PID/limits's rows, by resource number, with their
// units (fs/proc/base.c's lnames).
var limitNames = [...]struct{ name, unit string }{
	unix.RLIMIT_CPU:        {"Max cpu time", "seconds"},
	unix.RLIMIT_FSIZE:      {"Max file size", "bytes"},
	unix.RLIMIT_DATA:       {"Max data size", "bytes"},
	unix.RLIMIT_STACK:      {"Max stack size", "bytes"},
	unix.RLIMIT_CORE:       {"Max core file size", "bytes"},
	unix.RLIMIT_RSS:        {"Max resident set", "bytes"},
	unix.RLIMIT_NPROC:      {"Max processes", "processes"},
	unix.RLIMIT_NOFILE:     {"Max open files", "files"},
	unix.RLIMIT_MEMLOCK:    {"Max locked memory", "bytes"},
	unix.RLIMIT_AS:         {"Max address space", "bytes"},
	unix.RLIMIT_LOCKS:      {"Max file locks", "locks"},
	unix.RLIMIT_SIGPENDING: {"Max pending signals", "signals"},
	unix.RLIMIT_MSGQUEUE:   {"Max msgqueue size", "bytes"},
	unix.RLIMIT_NICE:       {"Max nice priority", ""},
	unix.RLIMIT_RTPRIO:     {"Max realtime priority", ""},
	unix.RLIMIT_RTTIME:     {"Max realtime timeout", "us"},
}

// limits is /proc/PID/limits: the process's resource limits, as
// getrlimit(2) gives them, in proc_pid_limits's layout.
func limits(t *kernel.Task) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units")
	value := func(v uint64) string {
		if v == unix.RLIM_INFINITY {
			return "unlimited"
		}
		return strconv.FormatUint(v, 10)
	}
	for res, l := range limitNames {
		lim, err := t.TG.Rlimit(res, nil, false)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "%-25s %-20s %-20s ", l.name, value(lim.Cur), value(lim.Max))
		if l.unit != "" {
			fmt.Fprintf(&b, "%-10s", l.unit)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
