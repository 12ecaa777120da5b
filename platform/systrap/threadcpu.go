package systrap

import (
	"time"

	"runsc-lite/platform"
)

// A task's CPU time. A stub thread serves the application threads of its
// process in turn: a task that waits in the sentry lends its thread to the
// pool, and the next task to run takes it (pool.go). The host charges the
// stub thread, so a task's CPU time is the sum, over its bindings, of what
// the bound thread's CPU time grew by between bind and unbind, read from
// the host's /proc (platform.ThreadCPUTime). A read costs a few
// microseconds (open, read, close: 8us on the 2-core VM) and lending
// happens at nearly every wait of a threaded process (a futex ping-pong:
// 1.3 lends per 40us round trip), so bindings are sampled only in a
// process that has asked for a thread's CPU time (sampleCPU, set by the
// first ThreadCPUTime of one of its bound contexts). The approximation
// before that: a binding that began while the process did not sample is
// charged its stub thread's whole CPU time, which includes what the
// thread ran for other tasks before, and a task that was not bound when
// sampling began has nothing for its earlier bindings. Time a stub
// thread spins in its handler while pooled is no task's (it is the
// process's).

var _ platform.ThreadClock = (*context)(nil)

// ThreadCPUTime implements platform.ThreadClock. A first call starts the
// sampling of c's process.
func (c *context) ThreadCPUTime() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := c.cpuDone
	if c.as == nil {
		return total
	}
	c.as.sampleCPU.Store(true)
	if now, ok := c.as.threadCPU(c.tid); ok && now >= c.cpuFrom {
		total += now - c.cpuFrom
	}
	return total
}

// endCPUSample adds the CPU time of c's binding to tid, ending, to
// cpuDone. c.mu is held.
func (c *context) endCPUSample(as *addressSpace, tid int) {
	if now, ok := as.threadCPU(tid); ok && now >= c.cpuFrom {
		c.cpuDone += now - c.cpuFrom
	}
	c.cpuFrom = 0
}

// threadCPU is the CPU time of stub thread tid, if the process samples
// and is still there; 0 and false otherwise. It takes use if it can
// without waiting (its caller may hold it, or c.mu, which a Switch holding
// use waits for), so that the pid is not reaped under the read.
func (as *addressSpace) threadCPU(tid int) (time.Duration, bool) {
	if !as.sampleCPU.Load() || !as.use.TryRLock() {
		return 0, false
	}
	defer as.use.RUnlock()
	if as.released.Load() {
		return 0, false
	}
	d, err := platform.ThreadCPUTime(as.pid, tid)
	return d, err == nil
}
