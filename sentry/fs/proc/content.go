package proc

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/vfs"
)

// The contents of /proc files. Host-wide figures (CPUs, memory, load) are
// the host's: the sandbox runs on them and pretending otherwise would only
// mislead programs that size themselves from /proc. Per-process files
// describe the sandbox's tasks only.

// hostFile returns a host /proc file's contents, or fallback.
func hostFile(name, fallback string) string {
	b, err := os.ReadFile("/proc/" + name)
	if err != nil {
		return fallback
	}
	return string(b)
}

func cpuinfo() string { return hostFile("cpuinfo", "") }
func meminfo() string { return hostFile("meminfo", "") }
func loadavg() string { return hostFile("loadavg", "0.00 0.00 0.00 1/1 1\n") }

func filesystems() string {
	return "nodev\tsysfs\nnodev\ttmpfs\nnodev\tproc\nnodev\tdevtmpfs\nnodev\toverlay\n"
}

func uptime(k *kernel.Kernel) string {
	d := time.Since(k.Started)
	return fmt.Sprintf("%.2f %.2f\n", d.Seconds(), d.Seconds()*float64(runtime.NumCPU()))
}

func version() string {
	var u unix.Utsname
	unix.Uname(&u)
	str := func(b [65]byte) string { return strings.TrimRight(string(b[:]), "\x00") }
	return fmt.Sprintf("Linux version %s (runsc-lite) %s\n", str(u.Release), str(u.Version))
}

func osrelease() string {
	var u unix.Utsname
	unix.Uname(&u)
	return strings.TrimRight(string(u.Release[:]), "\x00") + "\n"
}

// stat is /proc/stat: the host's CPU lines, the sandbox's process counts.
func stat(k *kernel.Kernel) string {
	var b strings.Builder
	for _, line := range strings.Split(hostFile("stat", ""), "\n") {
		if strings.HasPrefix(line, "cpu") || strings.HasPrefix(line, "intr") || strings.HasPrefix(line, "ctxt") {
			b.WriteString(line + "\n")
		}
	}
	fmt.Fprintf(&b, "btime %d\nprocesses %d\nprocs_running 1\nprocs_blocked 0\n", k.Started.Unix(), k.NumTasks())
	return b.String()
}

// pidStat is /proc/pid/stat (proc(5)): the fields programs read (pid, comm,
// state, ppid, pgrp, session, tty_nr, tpgid, threads, start time, vsize,
// rss) are real; the accounting ones are zero.
func pidStat(t *kernel.Task) string {
	pgrp, sid, ttyDev, tpgid := t.JobInfo()
	fields := []any{t.PID(), "(" + t.Name() + ")", "R", t.PPID(), pgrp, sid, vfs.EncodeDev(ttyDev), tpgid,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 20, 0, 1, 0, 0, 0, 0}
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

func pidStatus(t *kernel.Task) string {
	c := t.Creds()
	return fmt.Sprintf("Name:\t%s\nUmask:\t%04o\nState:\tR (running)\nTgid:\t%d\nNgid:\t0\nPid:\t%d\nPPid:\t%d\n"+
		"TracerPid:\t0\nUid:\t%d\t%d\t%d\t%d\nGid:\t%d\t%d\t%d\t%d\nFDSize:\t64\nThreads:\t1\n"+
		"SigPnd:\t0000000000000000\nSigBlk:\t%016x\nCapEff:\t000001ffffffffff\nNoNewPrivs:\t%d\nSeccomp:\t0\n",
		t.Name(), 0o22, t.PID(), t.TID, t.PPID(),
		c.UID.Real, c.UID.Effective, c.UID.Saved, c.UID.Effective,
		c.GID.Real, c.GID.Effective, c.GID.Saved, c.GID.Effective,
		t.SigMask(), t.NoNewPrivs)
}

// stringsAt reads a range of the process's memory (cmdline, environ).
func stringsAt(t *kernel.Task, r [2]uintptr) string {
	if r[1] <= r[0] || r[1]-r[0] > 1<<20 {
		return ""
	}
	b := make([]byte, r[1]-r[0])
	n, _ := t.MM.CopyIn(r[0], b)
	return string(b[:n])
}

func cmdline(t *kernel.Task) string { return stringsAt(t, t.MM.Argv) }
func environ(t *kernel.Task) string { return stringsAt(t, t.MM.Envv) }
func auxv(t *kernel.Task) string    { return string(t.MM.Auxv) }
func maps(t *kernel.Task) string    { return t.MM.Maps() }
