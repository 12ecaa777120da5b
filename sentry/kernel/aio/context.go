package aio

import (
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/fs/eventfd"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// Context is one AIO context (struct kioctx): its ring and requests.
type Context struct {
	table *Table
	// id is the context's index in its table, written by Install before
	// the context is in the table, read-only after.
	id uint32
	// userID is the address of the ring in the application, the
	// context's id: set by Install, changed by MoveRing; guarded by the
	// table's mu.
	userID  uintptr
	ringIno uint64 // the ring memfd's host inode, which names it for MoveRing
	maxReqs uint32 // what io_setup asked for, counted in aio-nr
	nr      uint32 // the ring's entries
	size    uint64 // the ring's bytes
	ring    *os.File

	// readMu serializes the readers of the ring (Linux's ring_lock), so
	// two io_getevents never hand out the same event.
	readMu sync.Mutex

	// mu guards what follows and orders the completions' writes of
	// events and tail (Linux's completion_lock and ctx_lock).
	mu       sync.Mutex
	tail     uint32                // the next slot a completion fills; < nr
	inflight uint32                // requests submitted and not completed
	pending  map[*pollReq]struct{} // polls waiting
	dead     bool                  // destroyed
	freed    bool                  // the ring is closed and uncharged
	// changed is closed at every completion and at destruction, then
	// replaced: the broadcast io_getevents waits on.
	changed chan struct{}
}

// Size is the ring's size in bytes.
func (c *Context) Size() uint64 { return c.size }

// Ring returns a new descriptor of the ring's memory for the caller to
// map (and own).
func (c *Context) Ring() (*os.File, error) {
	fd, err := unix.FcntlInt(c.ring.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("io_setup: duplicating a ring's memfd: %w", err)
	}
	return os.NewFile(uintptr(fd), "/[aio]"), nil
}

// NumEvents is the ring's entries (the header's nr).
func (c *Context) NumEvents() uint32 { return c.nr }

func (c *Context) readU32(off int64) uint32 {
	var b [4]byte
	if _, err := c.ring.ReadAt(b[:], off); err != nil {
		return 0 // the memfd cannot fail a read inside its size
	}
	return binary.LittleEndian.Uint32(b[:])
}

func (c *Context) writeU32(off int64, v uint32) error {
	var b [4]byte
	binary.LittleEndian.PutUint32(b[:], v)
	if _, err := c.ring.WriteAt(b[:], off); err != nil {
		return fmt.Errorf("aio: writing the ring: %w", err)
	}
	return nil
}

// Begin takes a slot for a request (aio_get_req): EAGAIN when the
// requests not yet reaped would pass what the ring holds (nr-1), EINVAL
// if the context died. The ring's head is the application's: it is taken
// modulo nr, so a forged one only changes how full the ring looks.
func (c *Context) Begin() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return unix.EINVAL
	}
	head := c.readU32(ringHeadOffset) % c.nr
	inRing := (c.tail + c.nr - head) % c.nr
	if uint64(c.inflight)+uint64(inRing) >= uint64(c.nr-1) {
		return unix.EAGAIN
	}
	c.inflight++
	return nil
}

// Abort gives back the slot of a request that failed before it was
// submitted.
func (c *Context) Abort() {
	c.mu.Lock()
	c.inflight--
	c.mu.Unlock()
	c.maybeFree()
}

// Request is what a completion reports: the iocb's address and data, and
// the eventfd to signal (IOCB_FLAG_RESFD; nil for none, else a reference
// the request owns).
type Request struct {
	Obj, Data uint64
	EventFD   *vfs.File
}

// Complete puts the event of req with result res in the ring
// (aio_complete), signals its eventfd and wakes the waiters.
func (c *Context) Complete(req Request, res int64) {
	c.mu.Lock()
	if !c.freed {
		ev := linux.IOEvent{Data: req.Data, Obj: req.Obj, Result: res}
		pos := c.tail
		c.tail = (c.tail + 1) % c.nr
		// The event is written before the tail that shows it.
		if _, err := c.ring.WriteAt(abi.Encode(ev), linux.AIORingSize+int64(pos)*eventSize); err == nil {
			c.writeU32(ringTailOffset, c.tail)
		}
	}
	c.inflight--
	ch := c.changed
	c.changed = make(chan struct{})
	c.mu.Unlock()
	close(ch)
	if req.EventFD != nil {
		if e, ok := eventfd.FromFile(req.EventFD); ok {
			e.Signal()
		}
		req.EventFD.DecRef()
	}
	c.maybeFree()
}

// kill marks c dead, cancels its pending polls, wakes its waiters and
// gives its events back to aio-nr; the ring goes once no request holds
// it.
func (c *Context) kill() {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead = true
	polls := make([]*pollReq, 0, len(c.pending))
	for p := range c.pending {
		polls = append(polls, p)
	}
	ch := c.changed
	c.changed = make(chan struct{})
	c.mu.Unlock()
	close(ch)
	for _, p := range polls {
		p.cancel()
	}
	c.table.limits.release(uint64(c.maxReqs))
	c.maybeFree()
}

// maybeFree closes the ring of a dead context no request holds.
func (c *Context) maybeFree() {
	c.mu.Lock()
	free := c.dead && c.inflight == 0 && !c.freed
	if free {
		c.freed = true
	}
	c.mu.Unlock()
	if free {
		c.release()
	}
}

// free closes the ring of a context that never went live.
func (c *Context) free() {
	c.mu.Lock()
	c.dead, c.freed = true, true
	c.mu.Unlock()
	c.release()
}

func (c *Context) release() {
	c.ring.Close()
	c.table.mem.Uncharge(usage.Shmem, c.size)
}

// waitState returns the channel the next change closes and whether c is
// dead.
func (c *Context) waitState() (<-chan struct{}, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed, c.dead
}

// CopyOut copies the bytes of events, from the index-th one on, to the
// application (EFAULT when it cannot).
type CopyOut func(index int, events []byte) error

// read moves up to n events from the ring to the application
// (aio_read_events_ring): head and tail are read back from the ring and
// taken modulo nr; a copy that faults leaves head where it was and is
// EFAULT, however many were copied before.
func (c *Context) read(n int, first int, out CopyOut) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	head, tail := c.readU32(ringHeadOffset), c.readU32(ringTailOffset)
	if head == tail {
		return 0, nil
	}
	head, tail = head%c.nr, tail%c.nr
	got := 0
	for got < n && head != tail {
		end := c.nr
		if head <= tail {
			end = tail
		}
		avail := min(int(end-head), n-got, readBatch)
		buf := make([]byte, avail*eventSize)
		if _, err := c.ring.ReadAt(buf, linux.AIORingSize+int64(head)*eventSize); err != nil {
			return 0, fmt.Errorf("aio: reading the ring: %w", err)
		}
		if err := out(first+got, buf); err != nil {
			return 0, unix.EFAULT
		}
		got += avail
		head = (head + uint32(avail)) % c.nr
	}
	return got, c.writeU32(ringHeadOffset, head)
}

// GetEvents is io_getevents's read_events: it takes between minNr and nr
// events, waiting up to timeout (negative: no limit) for minNr of them.
// It returns what it took when the time runs out or interrupt closes
// (EINTR if nothing), EINVAL once c is dead and nothing was taken, and
// the error of a copy that failed before anything was taken.
func (c *Context) GetEvents(minNr, nr int, timeout time.Duration, interrupt <-chan struct{}, out CopyOut) (int, error) {
	var expired <-chan time.Time
	if timeout > 0 {
		timer := time.NewTimer(clocks.HostWait(timeout))
		defer timer.Stop()
		expired = timer.C
	}
	got := 0
	for {
		changed, _ := c.waitState()
		n, err := c.read(nr-got, got, out)
		got += n
		_, dead := c.waitState()
		switch {
		case err != nil && got == 0:
			return 0, err
		case err != nil:
			return got, nil
		case dead && got == 0:
			return 0, unix.EINVAL
		case dead || got >= minNr || timeout == 0:
			return got, nil
		}
		select {
		case <-changed:
		case <-expired:
			timeout = 0 // one last look, then what was taken
		case <-interrupt:
			if got > 0 {
				return got, nil
			}
			return 0, unix.EINTR
		}
	}
}

// Cancel is io_cancel's search of the pending requests: the poll
// submitted from the iocb at obj is cancelled (its event, with the
// file's readiness then, goes to the ring) and Cancel reports
// EINPROGRESS, as Linux does; EINVAL when no pending request has that
// address.
func (c *Context) Cancel(obj uint64) error {
	c.mu.Lock()
	var found *pollReq
	for p := range c.pending {
		if p.req.Obj == obj {
			found = p
			break
		}
	}
	c.mu.Unlock()
	if found == nil || !found.cancel() {
		return unix.EINVAL
	}
	return unix.EINPROGRESS
}
