package vfs

import (
	"context"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/usermem"
)

// Waiting for readiness.
//
// A file whose readiness changes over time (a pipe, an eventfd, an epoll
// instance) owns a Queue and implements Waitable. Whoever wants to know
// when the file may have become ready (a blocking read, poll, an epoll
// instance watching the file) adds an Entry to the queue; the file calls
// Notify with the events that may have changed after every change of its
// state. Entries are callbacks, not channels, so an epoll instance can
// relay a notification without a goroutine per watched file; Waiter is the
// channel-based entry that blocking callers use.
//
// Notifications are hints: a woken waiter checks Readiness again, and
// waits again if the event was taken by someone else. To never miss a
// notification, add the entry first and check readiness second.
//
// Blocking is the VFS's business, not the file's: a Waitable stream's Read
// and Write never block, they fail with EAGAIN (a Write that wrote part
// of its buffer returns the count with EAGAIN), and File.Read and
// File.Write wait on the queue and retry unless the file is O_NONBLOCK.
// That keeps O_NONBLOCK (which fcntl can change at any time) in one place,
// and the files' code free of waiting.

// Always-reported events: poll(2) reports them whatever was asked.
const alwaysEvents = unix.POLLHUP | unix.POLLERR | unix.POLLNVAL

// DefaultEvents is the readiness of files that never block (Linux's
// DEFAULT_POLLMASK).
const DefaultEvents = unix.POLLIN | unix.POLLOUT | linux.POLLRDNORM | linux.POLLWRNORM

// Waitable is implemented by files whose readiness changes: they notify
// their queue of every change.
type Waitable interface {
	Readiness
	EventQueue() *Queue
}

// Entry is an interest in some events of a Queue.
type Entry struct {
	mask   int16 // guarded by the queue's mu once the entry is added (SetMask)
	notify func(events int16)
	// exclusive, if set, makes the entry an exclusive one (Linux's
	// add_wait_queue_exclusive, for EPOLLEXCLUSIVE): a notification
	// calls the exclusive entries in the order they were added until
	// one says it woke someone, and no further.
	exclusive func(events int16) bool
}

// NewExclusiveEntry returns an exclusive entry for mask: notify says
// whether the notification woke a waiter (ep_poll_callback's ewake).
func NewExclusiveEntry(mask int16, notify func(events int16) bool) *Entry {
	return &Entry{mask: mask | alwaysEvents, exclusive: notify}
}

// NewEntry returns an entry that calls notify with the events of a
// notification that meet mask (POLLHUP and POLLERR always do). notify
// runs in the notifier's goroutine: it must be quick, must not block and
// must not add or remove entries of the same queue.
func NewEntry(mask int16, notify func(events int16)) *Entry {
	return &Entry{mask: mask | alwaysEvents, notify: notify}
}

// Queue is the list of entries interested in a file's readiness. The
// zero value is an empty queue.
type Queue struct {
	mu      sync.Mutex          // guards entries and exclusive; callbacks run without it
	entries map[*Entry]struct{} // guarded by mu
	// exclusive are the exclusive entries, oldest first.
	exclusive []*Entry // guarded by mu
}

// Add registers e.
func (q *Queue) Add(e *Entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e.exclusive != nil {
		q.exclusive = append(q.exclusive, e)
		return
	}
	if q.entries == nil {
		q.entries = make(map[*Entry]struct{})
	}
	q.entries[e] = struct{}{}
}

// SetMask changes the events e is notified of (epoll_ctl's EPOLL_CTL_MOD:
// Linux's ep_poll_callback reads the interest's events at each wake-up).
func (q *Queue) SetMask(e *Entry, mask int16) {
	q.mu.Lock()
	defer q.mu.Unlock()
	e.mask = mask | alwaysEvents
}

// Remove unregisters e; it may still be called by a Notify running
// concurrently.
func (q *Queue) Remove(e *Entry) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e.exclusive != nil {
		for i, x := range q.exclusive {
			if x == e {
				q.exclusive = append(q.exclusive[:i], q.exclusive[i+1:]...)
				break
			}
		}
		return
	}
	delete(q.entries, e)
}

// Notify tells the entries interested in events that they may be ready:
// every ordinary one, and the exclusive ones in turn until one of them
// wakes a waiter (__wake_up_common with one exclusive wake-up).
// Callers must not hold locks that an entry's callback may take; the
// callbacks run after the queue's own lock is released.
func (q *Queue) Notify(events int16) {
	type call struct {
		e      *Entry
		events int16 // what e asked for of events, read under q.mu
	}
	q.mu.Lock()
	var hit, excl []call
	for e := range q.entries {
		if m := e.mask & events; m != 0 {
			hit = append(hit, call{e, m})
		}
	}
	for _, e := range q.exclusive {
		if m := e.mask & events; m != 0 {
			excl = append(excl, call{e, m})
		}
	}
	q.mu.Unlock()
	for _, c := range hit {
		c.e.notify(c.events)
	}
	for _, c := range excl {
		if c.e.exclusive(c.events) {
			break
		}
	}
}

// Waiter is an entry that wakes one blocked goroutine. Several queues may
// share a Waiter (poll waits on many files).
type Waiter struct {
	c chan struct{}
}

// NewWaiter returns a waiter with no pending wake-up.
func NewWaiter() *Waiter { return &Waiter{c: make(chan struct{}, 1)} }

// Entry returns a new entry of the waiter for mask, to add to a queue.
func (w *Waiter) Entry(mask int16) *Entry {
	return NewEntry(mask, func(int16) { w.Wake() })
}

// Wake makes the next (or current) Wait return; wake-ups do not
// accumulate.
func (w *Waiter) Wake() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

// C is the channel to receive from; a receive consumes the wake-up.
func (w *Waiter) C() <-chan struct{} { return w.c }

// Interrupt returns a channel that is closed when the blocking operation
// of the caller in ctx must stop with EINTR: its task is being killed or
// has a signal to handle. Without a task (tests, the loader) it is
// ctx.Done().
func Interrupt(ctx context.Context) <-chan struct{} {
	if k, ok := TaskOf(ctx).(interface{ Interrupted() <-chan struct{} }); ok {
		return k.Interrupted()
	}
	return ctx.Done()
}

type noWaitKey struct{}

// NoWait returns ctx for a read or write that must not wait (RWF_NOWAIT,
// which AIO's requests take): a stream that would block answers EAGAIN,
// as if the file were O_NONBLOCK.
func NoWait(ctx context.Context) context.Context { return context.WithValue(ctx, noWaitKey{}, true) }

// nonBlocking reports whether an operation on f in ctx must not wait:
// the file is O_NONBLOCK or ctx is NoWait's.
func (f *File) nonBlocking(ctx context.Context) bool {
	return f.Flags()&unix.O_NONBLOCK != 0 || ctx.Value(noWaitKey{}) != nil
}

// EventQueue returns the file's queue, or nil if its readiness never
// changes.
func (f *File) EventQueue() *Queue {
	if w, ok := f.impl.(Waitable); ok {
		return w.EventQueue()
	}
	return nil
}

// blockingStream returns the file's implementation as a stream that needs
// waiting, if it is one.
func (f *File) blockingStream() (Stream, *Queue, bool) {
	s, ok := f.impl.(Stream)
	if !ok {
		return nil, nil, false
	}
	w, ok := f.impl.(Waitable)
	if !ok {
		return nil, nil, false
	}
	return s, w.EventQueue(), true
}

// block runs op until it fails with something other than EAGAIN, waiting
// for events on q between tries; a non-blocking file gets op's first
// answer. EINTR when the caller is interrupted.
func (f *File) block(ctx context.Context, q *Queue, events int16, op func() (int, error)) (int, error) {
	n, err := op()
	if err != unix.EAGAIN || f.nonBlocking(ctx) {
		return n, err
	}
	w := NewWaiter()
	e := w.Entry(events)
	q.Add(e)
	defer q.Remove(e)
	stop := Interrupt(ctx)
	for {
		// Retry after registering, so a change between the first try
		// and Add is not missed.
		if n, err = op(); err != unix.EAGAIN {
			return n, err
		}
		select {
		case <-w.C():
		case <-stop:
			return n, unix.EINTR
		}
	}
}

// readBlocking is Read for Waitable streams: it waits until the stream
// has bytes for dst, and takes what follows them without waiting, until
// the stream has no more or dst is full.
func (f *File) readBlocking(ctx context.Context, s Stream, q *Queue, dst usermem.IOSequence) (int, error) {
	waited := false
	return partial(dst.CopyOutFrom(usermem.ReaderFunc(func(p []byte) (int, error) {
		if waited {
			return s.Read(ctx, p)
		}
		waited = true
		return f.block(ctx, q, unix.POLLIN, func() (int, error) { return s.Read(ctx, p) })
	})))
}

// writeBlocking is Write for Waitable streams, whose Write returns n > 0
// with EAGAIN when it wrote n bytes and the rest must wait: a blocking
// write goes on until the stream stops saying EAGAIN; one that stops early (non-blocking, an
// error, an interruption) reports what it wrote, if anything, as Linux
// does.
func (f *File) writeBlocking(ctx context.Context, s Stream, q *Queue, p []byte) (int, error) {
	done := 0
	_, err := f.block(ctx, q, unix.POLLOUT, func() (int, error) {
		n, err := s.Write(ctx, p[done:])
		done += n
		return done, err
	})
	if done > 0 {
		return done, nil
	}
	return 0, err
}
