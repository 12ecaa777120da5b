package overlay

import (
	"context"
	"os"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// Memory accounting: a file's contents live in a host memfd, which is host
// memory, so they are charged to the sandbox's memory account (package
// usage) of the task that makes the file bigger, by size rounded up to
// pages: writes past the end, truncations up, fallocate (even with
// FALLOC_FL_KEEP_SIZE, which allocates too) and copy up. Charging by size
// rather than by pages written overcounts sparse files, but the sentry
// cannot see pages the application fills through a mapping. Beyond the
// limit the change fails with ENOSPC, as a full tmpfs does. The charge is
// returned by a truncation down, and when the memfd is garbage collected
// (the file is unlinked and no longer open); a failed charge collects
// garbage once first, so deleted files do not linger in the account.

// accounted is what a caller that charges memory is (a *kernel.Task).
type accounted interface {
	MemoryAccount() *usage.Memory
}

// dataCharge is what a node's memfd is charged.
type dataCharge struct {
	mu    sync.Mutex
	mem   *usage.Memory // the account charged, found at the first growth; guarded by mu
	bytes uint64        // guarded by mu
}

// setData gives n its memfd and what it is charged, which is returned when
// the memfd is collected; fs.mu is held.
func (n *node) setData(f *os.File, c *dataCharge) {
	n.data, n.charge = f, c
	runtime.AddCleanup(f, (*dataCharge).release, c)
}

// release returns the whole charge.
func (c *dataCharge) release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mem.Uncharge(c.bytes)
	c.bytes = 0
}

// grow charges the file up to size bytes, or fails with ENOSPC.
func (c *dataCharge) grow(ctx context.Context, size int64) error {
	want := pagesFor(size)
	c.mu.Lock()
	defer c.mu.Unlock()
	if want <= c.bytes {
		return nil
	}
	if c.mem == nil {
		a, ok := vfs.TaskOf(ctx).(accounted)
		if !ok {
			return nil
		}
		c.mem = a.MemoryAccount()
	}
	for try := 0; !c.mem.Charge(want - c.bytes); try++ {
		if try == reclaimTries {
			return unix.ENOSPC
		}
		// Deleted files are only uncharged when collected, and cleanups
		// run on their own goroutine after the collection: give them a
		// moment.
		c.mu.Unlock()
		if try == 0 {
			runtime.GC()
		}
		time.Sleep(time.Millisecond)
		c.mu.Lock()
		if want <= c.bytes {
			return nil
		}
	}
	c.bytes = want
	return nil
}

// reclaimTries bounds the wait for deleted files' charges when the account
// is full: about 20 ms, on the path that fails anyway.
const reclaimTries = 20

// truncate sets the charge to size bytes, which the file now has.
func (c *dataCharge) truncate(ctx context.Context, size int64) error {
	want := pagesFor(size)
	c.mu.Lock()
	if want < c.bytes {
		c.mem.Uncharge(c.bytes - want)
		c.bytes = want
	}
	c.mu.Unlock()
	return c.grow(ctx, size)
}

// pagesFor rounds size up to whole pages.
func pagesFor(size int64) uint64 {
	if size <= 0 {
		return 0
	}
	return (uint64(size) + 4095) &^ 4095
}
