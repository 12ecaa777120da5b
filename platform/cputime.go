package platform

import (
	"fmt"
	"os"
	"strconv"
	"strings"
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
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return total, 0, nil
	}
	// pid (comm) state ppid ... utime stime: fields 14 and 15; comm may
	// hold spaces and parentheses.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return total, 0, nil
	}
	ticks, _ := strconv.ParseUint(f[12], 10, 64)
	sys = min(time.Duration(ticks)*time.Second/userHZ, total)
	return total - sys, sys, nil
}
