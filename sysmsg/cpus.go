package sysmsg

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// The CPUs actually free. Spinning pays only while the thread waited for
// has a CPU of its own: on a machine whose CPUs other processes keep busy,
// a spinning waiter burns the time slice the other side needs and then
// waits for the scheduler anyway (a getppid round trip went from 3.5us to
// 15-48us), while a sleeping one is woken with the scheduler's preference
// for sleepers. So SpinLimit counts, besides the sandbox's own busy
// threads, the host's runnable threads that are not the sandbox's.
//
// The count is the running field of /proc/loadavg ("0.50 0.40 0.30 R/T
// last"): nr_running() over all CPUs, the same in every PID namespace, so
// the sentry's own procfs has it and a descriptor opened once is enough
// (openat and pread64 are in its allow-list). It is an instantaneous
// figure, so it is sampled at most every loadSamplePeriod, by whichever
// waiter finds the last sample stale, and smoothed. The figure decides a
// spin and nothing else: it is never shown to the sandbox.

// loadSamplePeriod is how often the host's runnable count is read (a
// pread of /proc/loadavg costs a few microseconds).
const loadSamplePeriod = 4 * time.Millisecond

// hostLoad is the smoothed count of host threads runnable besides the
// sandbox's busy ones.
var hostLoad struct {
	once     sync.Once
	fd       int          // /proc/loadavg, or -1 if it cannot be read
	sampling atomic.Bool  // a waiter is reading the file
	next     atomic.Int64 // unix nanoseconds of the next sample
	// others is the smoothed count of other runnable threads, times
	// loadScale.
	others atomic.Int64
}

const loadScale = 16

// otherRunnable returns how many host threads are runnable besides the
// sandbox's busy ones (busy counts the caller), rounded to the nearest
// whole thread; 0 if the host does not say.
func otherRunnable(busy int) int {
	hostLoad.once.Do(func() {
		fd, err := unix.Open("/proc/loadavg", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			fd = -1
		}
		hostLoad.fd = fd
	})
	if hostLoad.fd < 0 {
		return 0
	}
	now := time.Now().UnixNano()
	if now >= hostLoad.next.Load() && hostLoad.sampling.CompareAndSwap(false, true) {
		hostLoad.next.Store(now + int64(loadSamplePeriod))
		if running, ok := readRunning(hostLoad.fd); ok {
			// The caller is running and each busy thread of the sandbox
			// is, or has a stub thread that is: at most busy+1 of the
			// running threads are ours.
			sample := max(running-(busy+1), 0) * loadScale
			old := hostLoad.others.Load()
			hostLoad.others.Store(old + (int64(sample)-old)/4)
		}
		hostLoad.sampling.Store(false)
	}
	return int((hostLoad.others.Load() + loadScale/2) / loadScale)
}

// readRunning reads R from /proc/loadavg's "R/T" field.
func readRunning(fd int) (int, bool) {
	var buf [128]byte
	n, err := unix.Pread(fd, buf[:], 0)
	if err != nil || n <= 0 {
		return 0, false
	}
	f := bytes.Fields(buf[:n])
	if len(f) < 4 {
		return 0, false
	}
	r, _, ok := bytes.Cut(f[3], []byte("/"))
	if !ok {
		return 0, false
	}
	v, err := strconv.Atoi(string(r))
	return v, err == nil && v >= 0
}
