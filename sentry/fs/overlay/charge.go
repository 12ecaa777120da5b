package overlay

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/mm"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// Memory accounting: a file's contents live in a host memfd, which is host
// memory, so they are charged to the sandbox's memory account (package
// usage) of the task that makes the file bigger, by size rounded up to
// pages: writes past the end, fallocate (even with FALLOC_FL_KEEP_SIZE,
// which allocates too) and copy up. Charging by size rather than by pages
// written overcounts sparse files, but the sentry cannot see pages the
// application fills through a mapping. The exception is holes: those of a
// host file copied up (the copy keeps them, copyup.go), and those a
// truncation up or a write past the end makes, as a tmpfs file gets them
// on Linux, so a sparse file of 16 GiB with one page of data costs a page,
// not 16 GiB and ENOSPC. Holes are left out of the charge
// (dataCharge.holes) for as long as the file keeps them. A write or an
// allocation first takes out of them the holes it fills and those the
// file lost since (pages filled through a mapping, seen in st_blocks),
// so what the application fills is charged at its next write at the
// latest; a truncation takes out those it cuts off. Pages filled through
// a shared mapping and never written are bounded by the stubs' cgroup
// (docs/security.md, "Kernel-enforced limits"), as Linux's memory cgroup
// bounds a tmpfs file's pages. Beyond the
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
	// space is the filesystem's size, nil for none; held is what this
	// file takes of it (reserved or settled), guarded by mu.
	space *space
	held  uint64
	// holes is the bytes of holes (of a copy up, a truncation up, a
	// write past the end) the charge leaves out, at most those the file
	// still has once a write or a truncation has looked; guarded by mu.
	holes uint64
	// end is the size the file had at the last change the charge saw
	// (at least that: FALLOC_FL_KEEP_SIZE may leave it beyond), so that
	// only a write that starts beyond it needs the host's size to find
	// the hole it leaves; guarded by mu.
	end int64
}

// space is the size of a memory filesystem mounted with one (tmpfs's
// size=): its files together hold at most capacity bytes of pages, counted
// as Linux's shmem counts blocks, by the pages a file really has (a sparse
// file holds only those written), unlike the memory account. A write or an
// allocation that needs more pages than are left fails with ENOSPC.
type space struct {
	capacity uint64
	used     atomic.Uint64
}

// reserve takes room for the pages of [off, off+length) that data does not
// have yet and returns how much of the range fits: all of it, or with
// partial the longest prefix whose pages fit, as a write stops where the
// filesystem is full (Linux's goes page by page); none is ENOSPC. settle
// then counts what data holds.
func (c *dataCharge) reserve(data *os.File, off, length int64, partial bool) (int64, error) {
	if c.space == nil || length <= 0 {
		return length, nil
	}
	// Deleted files give their pages back when they are collected, as
	// for the memory account (grow): collect before settling for less.
	for try := 0; ; try++ {
		fits, err := c.reserveOnce(data, off, length, partial && try == reclaimTries)
		if fits == length || try == reclaimTries {
			return fits, err
		}
		if try == 0 {
			runtime.GC()
		}
		time.Sleep(time.Millisecond)
	}
}

// reserveOnce is one try of reserve, with the space as it is.
func (c *dataCharge) reserveOnce(data *os.File, off, length int64, partial bool) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	free := func() uint64 { return c.space.capacity - min(c.space.used.Load(), c.space.capacity) }
	// A prefix needs at least its pages beyond what the file holds, so
	// no longer one can fit; that bounds the pages to look at.
	start := off &^ 4095
	if limit := int64(free()+c.held) + 4096 - (off - start); length > limit {
		if !partial {
			return 0, unix.ENOSPC
		}
		length = max(limit, 0)
	}
	pages := int64(pagesFor(off+length)-uint64(start)) / 4096
	vec := make([]byte, pages)
	if mm.FileResidency(data, start, vec) != nil {
		clear(vec)
	}
	// need(k) is what the first k pages of the range need: those the
	// host does not see, and at most those that what the file holds
	// cannot account for (fallocated pages, which mincore does not see
	// until they are written).
	missing := uint64(0)
	fits := int64(0)
	var need uint64
	for k := int64(1); k <= pages; k++ {
		if vec[k-1] == 0 {
			missing += 4096
		}
		end := min(start+k*4096, off+length)
		n := min(missing, uint64(k*4096)-allocatedIn(data, c.held, off, end-off))
		if n > free() {
			break
		}
		fits, need = end-off, n
	}
	if fits < length && (!partial || fits <= 0) {
		return 0, unix.ENOSPC
	}
	c.space.used.Add(need)
	c.held += need
	return fits, nil
}

// settle counts what data holds after a change: the pages the host says
// the memfd has.
func (c *dataCharge) settle(data *os.File) {
	if c.space == nil {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(int(data.Fd()), &st) != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := uint64(st.Blocks) * 512
	c.space.used.Add(now - c.held)
	c.held = now
}

// allocatedIn returns a floor of the bytes of pages of [off, off+length)
// that data has allocated, from what the whole file holds: all but what
// its pages outside the range could hold. It counts the pages fallocate
// made, which the host's mincore does not see until they are written.
func allocatedIn(data *os.File, held uint64, off, length int64) uint64 {
	var st unix.Stat_t
	if unix.Fstat(int(data.Fd()), &st) != nil {
		return 0
	}
	filePages := pagesFor(st.Size)
	start, end := uint64(off)&^4095, pagesFor(off+length)
	inside := min(end, filePages) - min(start, filePages)
	outside := filePages - inside
	if held <= outside {
		return 0
	}
	return min(held-outside, end-start)
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
	c.mem.Uncharge(usage.Files, c.bytes)
	c.bytes = 0
	if c.space != nil {
		c.space.used.Add(-c.held)
		c.held = 0
	}
}

// target is what a file of size bytes is charged: its pages, less the
// holes left out; c.mu is held.
func (c *dataCharge) target(size int64) uint64 {
	pages := pagesFor(size)
	return pages - min(c.holes, pages)
}

// grow charges the file up to size bytes, or fails with ENOSPC.
func (c *dataCharge) grow(ctx context.Context, size int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	want := c.target(size)
	if want <= c.bytes {
		c.end = max(c.end, size)
		return nil
	}
	if c.mem == nil {
		a, ok := vfs.TaskOf(ctx).(accounted)
		if !ok {
			return nil
		}
		c.mem = a.MemoryAccount()
	}
	for try := 0; !c.mem.Charge(usage.Files, want-c.bytes); try++ {
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
		want = c.target(size)
		if want <= c.bytes {
			c.end = max(c.end, size)
			return nil
		}
	}
	c.bytes = want
	c.end = max(c.end, size)
	return nil
}

// fillHoles adds to the holes left out of the charge those a write or an
// allocation of [off, off+length) of data leaves before it (past the end
// of the file), takes out of them those it is about to fill, and those
// data no longer has, and returns the size grow is then to charge for:
// off+length, or the file's size if larger while holes are left out (the
// charge of a file with holes is not a prefix of it).
func (c *dataCharge) fillHoles(data *os.File, off, length int64) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holes == 0 && off <= c.end {
		return off + length
	}
	var st unix.Stat_t
	if unix.Fstat(int(data.Fd()), &st) != nil {
		c.holes = 0 // charge it all rather than too little
		return off + length
	}
	pages := pagesFor(st.Size)
	now := pages - min(uint64(st.Blocks)*512, pages)
	if start := uint64(off) &^ 4095; start > pages {
		// The pages between the end and the write stay holes. If the
		// write fails, the next look at the file's holes (here, or a
		// truncation) takes them out again.
		now += start - pages
		c.holes += start - pages
	}
	filled, err := holeBytes(data, off, min(off+length, st.Size))
	if err != nil {
		filled = now
	}
	c.holes = min(c.holes, now-min(filled, now))
	return max(off+length, st.Size)
}

// holeBytes returns the bytes of the holes of data in the pages of [off,
// end), found with SEEK_HOLE and SEEK_DATA (a memfd's holes are whole
// pages). It moves data's file offset, which nothing here uses.
func holeBytes(data *os.File, off, end int64) (uint64, error) {
	fd := int(data.Fd())
	stop := int64(pagesFor(end))
	var total uint64
	for pos := off &^ 4095; pos < stop; {
		hole, err := unix.Seek(fd, pos, unix.SEEK_HOLE)
		if err == unix.ENXIO || err == nil && hole >= stop {
			break // pos is at or past the end
		}
		if err != nil {
			return 0, fmt.Errorf("SEEK_HOLE: %w", err)
		}
		next, err := unix.Seek(fd, hole, unix.SEEK_DATA)
		if err == unix.ENXIO {
			next = stop // a hole to the end of the file
		} else if err != nil {
			return 0, fmt.Errorf("SEEK_DATA: %w", err)
		}
		next = min(next, stop)
		total += uint64(next - hole)
		pos = next
	}
	return total, nil
}

// reclaimTries bounds the wait for deleted files' charges when the account
// is full: about 20 ms, on the path that fails anyway.
const reclaimTries = 20

// truncate sets the charge of data to size bytes, which the file is about
// to have: a truncation down returns the charge of what it cuts off, one
// up charges nothing, the pages it adds being holes.
func (c *dataCharge) truncate(ctx context.Context, data *os.File, size int64) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(data.Fd()), &st); err != nil {
		return fmt.Errorf("the size of a file to truncate: %w", err)
	}
	c.mu.Lock()
	if c.holes > 0 {
		// The holes past size go with the truncation.
		h, err := holeBytes(data, 0, min(size, st.Size))
		if err != nil {
			h = 0
		}
		c.holes = min(c.holes, h)
	}
	if old := pagesFor(st.Size); pagesFor(size) > old {
		c.holes += pagesFor(size) - old
	}
	want := c.target(size)
	if want < c.bytes {
		c.mem.Uncharge(usage.Files, c.bytes-want)
		c.bytes = want
	}
	c.mu.Unlock()
	if err := c.grow(ctx, size); err != nil {
		return err
	}
	c.mu.Lock()
	c.end = size
	c.mu.Unlock()
	return nil
}

// pagesFor rounds size up to whole pages.
func pagesFor(size int64) uint64 {
	if size <= 0 {
		return 0
	}
	return (uint64(size) + 4095) &^ 4095
}
