package platform

import (
	"bytes"
	"fmt"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// userHZ is the unit of the times in /proc/<pid>/stat on every Linux
// architecture the sentry runs on.
const userHZ = 100

// ProcessCPUTime returns the CPU time the host has charged host process
// pid, all its threads: the total from its process CPU clock (nanosecond
// resolution), split into user and system time as /proc/<pid>/stat
// splits it (in clock ticks).
func ProcessCPUTime(pid int) (user, sys time.Duration, err error) {
	// MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED): any process's CPU clock
	// may be read.
	clock := int32(^uint32(pid)<<3 | 2)
	var ts unix.Timespec
	if err := unix.ClockGettime(clock, &ts); err != nil {
		return 0, 0, fmt.Errorf("reading the CPU clock of process %d: %w", pid, err)
	}
	total := time.Duration(ts.Nano())
	var ticks uint64
	if readProcFile(pid, "stat", func(b []byte) { ticks = statSystemTicks(b) }) != nil {
		return total, 0, nil
	}
	sys = min(time.Duration(ticks)*time.Second/userHZ, total)
	return total - sys, sys, nil
}

// ThreadCPUTime returns the CPU time the host has charged thread tid of
// host process pid, from the first field of its schedstat (the
// scheduler's sum_exec_runtime, in nanoseconds): the sentry may not read
// another process's thread CPU clock (clock_gettime allows a thread's
// only to its own process). The caller keeps pid from being reaped.
func ThreadCPUTime(pid, tid int) (time.Duration, error) {
	var ns uint64
	var err error
	if rerr := readProcFile(pid, "task/"+strconv.Itoa(tid)+"/schedstat", func(b []byte) {
		f := bytes.Fields(b)
		if len(f) == 0 {
			err = fmt.Errorf("empty schedstat of thread %d of process %d", tid, pid)
			return
		}
		ns, err = strconv.ParseUint(string(f[0]), 10, 64)
	}); rerr != nil {
		return 0, rerr
	}
	if err != nil {
		return 0, fmt.Errorf("parsing the schedstat of thread %d of process %d: %w", tid, pid, err)
	}
	return time.Duration(ns), nil
}

// statSystemTicks is the stime field of a /proc/<pid>/stat line, 0 if it
// has none: fields 14 and 15 are utime and stime, and comm (field 2) may
// hold spaces and parentheses.
func statSystemTicks(stat []byte) uint64 {
	f := bytes.Fields(stat[bytes.LastIndexByte(stat, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	ticks, _ := strconv.ParseUint(string(f[12]), 10, 64)
	return ticks
}

// CPUTimes keeps a host process's user and system times from going back.
// ProcessCPUTime's split of two reads may disagree by a tick while the
// total moves less than that, which alone would make the user time of the
// later read smaller; Linux's cputime_adjust keeps each part at least
// what it last reported, and so does Monotonic: times(2) and getrusage(2)
// never see a process's user or system time shrink (LTP's times03).
type CPUTimes struct {
	mu        sync.Mutex    // guards user and sys
	user, sys time.Duration // the last answer's
}

// Monotonic returns user and sys, a read of the process's CPU time,
// adjusted so that neither is below the last answer and their sum stays
// the total read (unless the total itself is below the last one's).
func (c *CPUTimes) Monotonic(user, sys time.Duration) (time.Duration, time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := user + sys
	if total < c.user+c.sys {
		return c.user, c.sys
	}
	sys = max(sys, c.sys)
	user = total - sys
	if user < c.user {
		user = c.user
		sys = total - user
	}
	c.user, c.sys = user, sys
	return user, sys
}
