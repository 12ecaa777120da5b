package usage

import (
	"sync/atomic"
	"time"
)

// CPU is a sandbox's account of CPU time: the user and system time of its
// address spaces that are gone (each host stub process's, read just before
// it is destroyed). The kernel adds the live ones' when it is asked for the
// sandbox's total (/proc/stat, cpu.stat). A nil *CPU records nothing.
type CPU struct {
	user, sys atomic.Int64 // nanoseconds
}

// Retire adds the final CPU time of an address space that is going away.
func (c *CPU) Retire(user, sys time.Duration) {
	if c == nil {
		return
	}
	c.user.Add(int64(user))
	c.sys.Add(int64(sys))
}

// Retired returns the CPU time of the address spaces retired so far.
func (c *CPU) Retired() (user, sys time.Duration) {
	if c == nil {
		return 0, 0
	}
	return time.Duration(c.user.Load()), time.Duration(c.sys.Load())
}
