package aio

import (
	"sync"
	"sync/atomic"

	"runsc-lite/sentry/vfs"
)

// pollReq is a pending IOCB_CMD_POLL: an entry on the file's queue until
// the file is ready for events, or the request is cancelled.
type pollReq struct {
	c      *Context
	req    Request
	f      *vfs.File // a reference the request owns
	events int16
	q      *vfs.Queue // nil: the file never changes readiness
	entry  *vfs.Entry

	// scheduled is a wake goroutine on its way: notifications arriving
	// meanwhile need none of their own, only to leave their events in
	// key.
	scheduled atomic.Bool
	key       atomic.Int32

	mu   sync.Mutex // guards done
	done bool       // completed or cancelled: the event is (being) written
}

// Poll submits a poll of f (whose reference the request takes) for
// events (aio_poll): ready files complete at once with their readiness;
// others wait on the file's queue. Begin took the slot.
func (c *Context) Poll(req Request, f *vfs.File, events int16) {
	p := &pollReq{c: c, req: req, f: f, events: events, q: f.EventQueue()}
	if p.q != nil {
		// Every event, so the key is whole: a poll woken by its file
		// completes with the events the file announced, POLLRDNORM
		// with POLLIN, as aio_poll_wake does.
		p.entry = vfs.NewEntry(-1, func(ev int16) {
			if ev&events == 0 {
				return
			}
			p.key.Store(int32(ev))
			if p.scheduled.CompareAndSwap(false, true) {
				go p.wake()
			}
		})
		p.q.Add(p.entry)
	}
	// Registered before the first look, so no change is missed.
	if mask := f.Readiness(events) & events; mask != 0 {
		p.finish(mask)
		return
	}
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		p.finish(0)
		return
	}
	c.pending[p] = struct{}{}
	c.mu.Unlock()
	// A change between the look and being pending woke a p not yet
	// findable by io_cancel, which is fine: wake completes it.
}

// wake runs after a notification of the file with some of the poll's
// events (in a goroutine of its own, since a queue's callback may not
// remove itself): it completes the poll with the notification's events.
func (p *pollReq) wake() {
	p.scheduled.Store(false)
	p.finish(int16(p.key.Load()))
}

// cancel completes the poll with the file's readiness now (zero if not
// ready), as aio_poll_cancel's work does; false if it had completed.
func (p *pollReq) cancel() bool {
	return p.finish(p.f.Readiness(p.events) & p.events)
}

// finish completes the poll with mask once: the entry leaves the queue,
// the request leaves the pending set, the event goes to the ring.
func (p *pollReq) finish(mask int16) bool {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return false
	}
	p.done = true
	p.mu.Unlock()
	if p.entry != nil {
		p.q.Remove(p.entry)
	}
	p.c.mu.Lock()
	delete(p.c.pending, p)
	p.c.mu.Unlock()
	p.c.Complete(p.req, int64(uint16(mask)))
	p.f.DecRef()
	return true
}
