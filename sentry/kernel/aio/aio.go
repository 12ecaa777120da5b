// Package aio implements Linux native asynchronous I/O (CONFIG_AIO,
// fs/aio.c): the contexts io_setup makes, their completion rings, the
// requests io_submit runs and the waits of io_getevents.
//
// # The ring
//
// As in Linux, a context is a ring of completion events, struct aio_ring
// followed by struct io_event slots, mapped MAP_SHARED into the
// application at the address io_setup returns as the context's id;
// libaio reads completions straight from it when the header's magic
// matches, moving head itself, and only calls io_getevents to wait. The
// ring's memory is a host memfd the sentry made: the application maps it
// (shown as "/[aio] (deleted)"), the sentry reads and writes it through
// its own descriptor (pread/pwrite), never through the application's
// mapping. So completions land wherever the application moved or
// unmapped its mapping, as they land in Linux's ring pages, and no
// completion needs a task or its address space.
//
// # What is trusted
//
// Nothing the application can write is trusted. The ring's head, tail,
// id and events are the application's to scribble over: the sentry's own
// tail and entry count (tail, nr) are kept in the Context and are the
// only ones it writes at, every head or tail read back is taken modulo
// nr before it indexes anything (aio_read_events_ring), a copy to the
// application moves at most the events between them, in batches of at
// most readBatch, and an id read at the context's address is only an
// index checked against the table and the context's own address
// (lookup_ioctx). Every request holds a slot: at most nr-1 are submitted
// and not yet reaped, which bounds what the sentry keeps per context (a
// pending poll); the sum of the contexts' sizes is bounded by
// /proc/sys/fs/aio-max-nr (Limits), and each ring is charged to the
// sandbox's memory account.
//
// # Requests
//
// Reads, writes (and their vectored forms), fsync and fdatasync run in
// io_submit, in the submitter's goroutine, and complete before it
// returns, as Linux's buffered I/O does (a read of an empty pipe blocks
// the submitter unless RWF_NOWAIT, whose event is then -EAGAIN).
// IOCB_CMD_POLL completes at once when the file is ready, and otherwise
// waits on the file's vfs.Queue; its completion runs in a goroutine of
// its own, writes the ring, signals the eventfd and wakes the waiters.
// A pending poll is the only request io_cancel finds (Linux's ki_cancel
// is only set for polls and USB gadgets); io_destroy and the end of the
// address space cancel the pending ones.
//
// # Lifetime
//
// A Table of contexts belongs to one address space (mm_struct's
// ioctx_table): threads sharing it share the contexts, a forked child
// starts with none although it inherits the ring's mapping, and execve
// and the last exit destroy them with the address space (exit_aio). A
// ring moved by mremap takes its context's id along (MoveRing, as
// aio_ring_mremap); it may not grow (VM_DONTEXPAND). io_destroy unmaps
// whatever is at the ring's address, as Linux does, and does not wait
// for a request another thread's io_submit is still running (Linux
// waits): the ring's memory lives until that request completes.
package aio

import (
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/usage"
)

// DefaultMaxNR is aio-max-nr's default (fs/aio.c: aio_max_nr).
const DefaultMaxNR = 0x10000

const (
	// compatFeatures and incompatFeatures are AIO_RING_COMPAT_FEATURES
	// and AIO_RING_INCOMPAT_FEATURES.
	compatFeatures   = 1
	incompatFeatures = 0
	// eventSize is sizeof(struct io_event).
	eventSize = 32
	// maxEvents bounds the ring's entries as ioctx_alloc does
	// (0x10000000 / sizeof(struct io_event)).
	maxEvents = 0x10000000 / eventSize
	// readBatch is the most events read from the ring at once.
	readBatch = 128
	// kiocbKey is KIOCB_KEY, written to a submitted iocb's aio_key.
	kiocbKey = 0
)

// ringHeader is struct aio_ring without its events (gVisor's
// linux.AIORing).
type ringHeader = linux.AIORing

// Limits are the sandbox's aio-nr and aio-max-nr: the events the live
// contexts asked for, and the most they may.
type Limits struct {
	mu  sync.Mutex // guards nr and max
	nr  uint64
	max uint64
}

// NewLimits returns limits at Linux's defaults.
func NewLimits() *Limits { return &Limits{max: DefaultMaxNR} }

// NR is /proc/sys/fs/aio-nr.
func (l *Limits) NR() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.nr
}

// Max is /proc/sys/fs/aio-max-nr.
func (l *Limits) Max() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.max
}

// SetMax writes /proc/sys/fs/aio-max-nr.
func (l *Limits) SetMax(v uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.max = v
}

// reserve adds n to aio-nr unless that passes aio-max-nr (or wraps).
func (l *Limits) reserve(n uint64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nr+n > l.max || l.nr+n < l.nr {
		return false
	}
	l.nr += n
	return true
}

func (l *Limits) release(n uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.nr -= min(n, l.nr)
}

// Table is the AIO contexts of one address space.
type Table struct {
	limits *Limits
	mem    *usage.Memory // charged for the rings; nil charges nothing

	mu       sync.Mutex // guards ctxs and released
	ctxs     []*Context // by the id in their ring; nil slots are free
	released bool
}

// NewTable returns an address space's empty table.
func NewTable(limits *Limits, mem *usage.Memory) *Table {
	return &Table{limits: limits, mem: mem}
}

// Release destroys every context: the address space is gone (exit_aio).
func (tb *Table) Release() {
	tb.mu.Lock()
	ctxs := tb.ctxs
	tb.ctxs, tb.released = nil, true
	tb.mu.Unlock()
	for _, c := range ctxs {
		if c != nil {
			c.kill()
		}
	}
}

// Setup is io_setup's ioctx_alloc for nrEvents events on a machine of
// cpus CPUs: it checks the count, makes the ring and reserves the events
// in aio-nr. The caller maps Ring() (the ring's size, MAP_SHARED,
// read-write) and then calls Install with the address, or Abandon.
func (tb *Table) Setup(nrEvents uint32, cpus int) (*Context, error) {
	n := max(nrEvents, uint32(cpus*4))
	n *= 2 // as Linux's unsigned arithmetic, overflow included
	if n > maxEvents {
		return nil, unix.EINVAL
	}
	if n == 0 || uint64(nrEvents) > tb.limits.Max() {
		return nil, unix.EAGAIN
	}
	n += 2
	size := uint64(linux.AIORingSize) + eventSize*uint64(n)
	size = (size + abi.PageSize - 1) &^ (abi.PageSize - 1)
	c := &Context{
		table:   tb,
		maxReqs: nrEvents,
		nr:      uint32((size - linux.AIORingSize) / eventSize),
		size:    size,
		pending: make(map[*pollReq]struct{}),
		changed: make(chan struct{}),
	}
	if !tb.mem.Charge(usage.Shmem, size) {
		return nil, unix.ENOMEM
	}
	fd, err := unix.MemfdCreate("[aio]", unix.MFD_CLOEXEC)
	if err != nil {
		tb.mem.Uncharge(usage.Shmem, size)
		return nil, fmt.Errorf("io_setup: memfd for a ring: %w", err)
	}
	c.ring = os.NewFile(uintptr(fd), "[aio]")
	var st unix.Stat_t
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		c.free()
		return nil, unix.ENOMEM
	}
	if err := unix.Fstat(fd, &st); err != nil {
		c.free()
		return nil, fmt.Errorf("io_setup: a ring's memfd: %w", err)
	}
	c.ringIno = st.Ino
	hdr := ringHeader{ID: ^uint32(0), Nr: c.nr, Magic: linux.AIO_RING_MAGIC, CompatFeatures: compatFeatures,
		IncompatFeatures: incompatFeatures, HeaderLength: linux.AIORingSize}
	if _, err := c.ring.WriteAt(abi.Encode(hdr), 0); err != nil {
		c.free()
		return nil, fmt.Errorf("io_setup: writing a ring's header: %w", err)
	}
	if !tb.limits.reserve(uint64(nrEvents)) {
		c.free()
		return nil, unix.EAGAIN
	}
	return c, nil
}

// Install makes c, mapped at addr, a live context of the table, with its
// id in the ring (ioctx_add_table); EINVAL if the address space is gone.
func (tb *Table) Install(c *Context, addr uintptr) error {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.released {
		return unix.EINVAL
	}
	id := len(tb.ctxs)
	for i, x := range tb.ctxs {
		if x == nil {
			id = i
			break
		}
	}
	if id == len(tb.ctxs) {
		tb.ctxs = append(tb.ctxs, nil)
	}
	c.id, c.userID = uint32(id), addr
	if err := c.writeU32(ringIDOffset, c.id); err != nil {
		return err
	}
	tb.ctxs[id] = c
	return nil
}

// MoveRing implements mm.RingMover (aio_ring_mremap): the live context
// whose ring is file's memory now has its ring, and its id, at start;
// EINVAL if no live context of the table has that ring.
func (tb *Table) MoveRing(file *os.File, start uintptr) (uintptr, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(file.Fd()), &st); err != nil {
		return 0, unix.EINVAL
	}
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, c := range tb.ctxs {
		if c != nil && c.ringIno == st.Ino {
			was := c.userID
			c.userID = start
			return was, nil
		}
	}
	return 0, unix.EINVAL
}

// Abandon undoes a Setup whose ring could not be mapped.
func (tb *Table) Abandon(c *Context) {
	tb.limits.release(uint64(c.maxReqs))
	c.free()
}

// Lookup returns the live context whose ring says id and that was made
// at addr (lookup_ioctx: id is what the application's memory at addr
// holds, so it is only an index to check).
func (tb *Table) Lookup(addr uintptr, id uint32) (*Context, bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if uint64(id) >= uint64(len(tb.ctxs)) {
		return nil, false
	}
	c := tb.ctxs[id]
	if c == nil || c.userID != addr {
		return nil, false
	}
	return c, true
}

// Destroy is io_destroy's kill_ioctx: c leaves the table, its pending
// requests are cancelled and its waiters woken; it returns the range the
// caller unmaps (the ring's address and size), or EINVAL if another
// io_destroy got there first.
func (tb *Table) Destroy(c *Context) (addr uintptr, size uint64, err error) {
	tb.mu.Lock()
	if int(c.id) >= len(tb.ctxs) || tb.ctxs[c.id] != c {
		tb.mu.Unlock()
		return 0, 0, unix.EINVAL
	}
	tb.ctxs[c.id] = nil
	addr = c.userID
	tb.mu.Unlock()
	c.kill()
	return addr, c.size, nil
}
