// Package epoll is epoll(7): an instance watches files through their
// readiness queues (vfs.Queue) and reports ready ones, level-triggered by
// default, edge-triggered with EPOLLET, once with EPOLLONESHOT.
//
// A watched file's queue calls back into the instance when the file may
// have changed; the callback only marks the interest and wakes waiters,
// and a wait re-checks readiness, so no notification is lost and none is
// trusted blindly. Files that never block (no queue) are always ready, as
// Linux reports them; regular files and directories cannot be watched
// (EPERM), as in Linux, except the few with a poll of their own
// (vfs.PollableRegular: /proc/PID/mounts). The events a queue entry
// passes on are the interest's current ones (EPOLL_CTL_MOD changes them,
// vfs.Queue.SetMask). An instance holds no reference to a watched file:
// when the file's last descriptor closes, the interest goes
// (vfs.File.OnRelease, Linux's eventpoll_release), and a socket closed
// without EPOLL_CTL_DEL is closed for its peer too.
//
// A wait looks at the interests in an order that stands for Linux's ready
// list: what it reports (level-triggered) moves to the end, so that waits
// with fewer slots than ready files take turns over them. An
// EPOLLEXCLUSIVE interest's queue entry is exclusive (vfs.Queue): a
// notification wakes the first such instance that has a caller blocked in
// epoll_wait and none after it, as ep_poll_callback's return value stops
// __wake_up_common; the instances before it without waiters still have
// the file marked, as Linux's ready lists do.
//
// Instances may watch instances, as in Linux, but never in a loop and
// never more than maxNests deep (ELOOP): an instance's readiness and its
// wake-ups recurse into the instances it watches, so the check at
// EPOLL_CTL_ADD (Linux's ep_loop_check) is what bounds that recursion; a
// program cannot drive the sentry's stack deeper than maxNests levels.
package epoll

import (
	"context"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// Event is struct epoll_event; its data is the application's, carried
// as it gave it.
type Event = linux.EpollEvent

// exclusiveOK are the events an EPOLLEXCLUSIVE interest may ask for
// (Linux's EPOLLEXCLUSIVE_OK_BITS).
const exclusiveOK = linux.EPOLLIN | linux.EPOLLOUT | linux.EPOLLERR | linux.EPOLLHUP |
	linux.EPOLLWAKEUP | linux.EPOLLET | linux.EPOLLEXCLUSIVE

type key struct {
	fd int32
	f  *vfs.File
}

type interest struct {
	key
	ev      Event
	queue   *vfs.Queue
	entry   *vfs.Entry
	unwatch func()      // ends the file's call to forget (vfs.File.OnRelease)
	pending atomic.Bool // notified since last reported (EPOLLET)
	off     bool        // EPOLLONESHOT fired; MOD re-arms; guarded by the instance's mu, as is ev
	rotate  bool        // reported by the collect under way; guarded by the instance's mu
}

// Instance is an epoll file.
type Instance struct {
	mu        sync.Mutex
	interests map[key]*interest // guarded by mu
	// order is the interests in the order a wait looks at them, Linux's
	// ready list: one reported (level-triggered) goes to the end, so that
	// waits with fewer slots than ready files take turns over them
	// (ep_send_events re-queues reported items at the tail).
	order []*interest // guarded by mu
	queue vfs.Queue   // the instance's own readiness, for waiters
	ino   uint64
	// waiting counts the callers blocked in Wait (Linux's ep->wq): an
	// EPOLLEXCLUSIVE interest's notification wakes someone only then.
	waiting atomic.Int32

	// watchers counts, per instance, its interests in this one: the
	// edges up the graph of instances, guarded by nestMu.
	watchers map[*Instance]int
}

// maxNests is how deep instances may watch instances, as Linux's
// EP_MAX_NESTS: a chain of at most maxNests+1 instances.
const maxNests = 4

var (
	// checkMu serializes the additions of instances to instances, so
	// that two cannot close a loop together (Linux's epnested_mutex).
	checkMu sync.Mutex
	// nestMu guards every instance's watchers. It is taken last, with
	// nothing taken inside it.
	nestMu sync.Mutex
)

var lastIno atomic.Uint64

// New returns a new epoll file.
func New(flags int) *vfs.File {
	in := &Instance{interests: make(map[key]*interest), ino: lastIno.Add(1), watchers: map[*Instance]int{}}
	return vfs.NewFile(nil, nil, in, in, unix.O_RDWR|flags&unix.O_NONBLOCK)
}

// Of returns the instance behind f, if f is an epoll file.
func Of(f *vfs.File) (*Instance, bool) {
	in, ok := f.Impl().(*Instance)
	return in, ok
}

// Stat implements vfs.Inode.
func (in *Instance) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Ino: in.ino, Nlink: 1, Mode: 0o600, Blksize: 4096}, nil
}

// Open implements vfs.Inode.
func (in *Instance) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (in *Instance) LinkName() string { return "anon_inode:[eventpoll]" }

// ReadAt implements vfs.FileImpl: an epoll file cannot be read.
func (in *Instance) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EINVAL
}

// WriteAt implements vfs.FileImpl.
func (in *Instance) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.EINVAL
}

// Release implements vfs.FileImpl: it drops every interest.
func (in *Instance) Release() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for k, it := range in.interests {
		in.detach(it)
		delete(in.interests, k)
	}
	in.order = nil
}

// unorder removes it from the wait order; in.mu is held.
func (in *Instance) unorder(it *interest) {
	for i, x := range in.order {
		if x == it {
			in.order = append(in.order[:i], in.order[i+1:]...)
			return
		}
	}
}

// exclusiveWoke is ep_poll_callback's answer for an EPOLLEXCLUSIVE
// interest in events interest notified of events: it woke someone if a
// caller waits on the instance and the notification is of input alone
// (and input is asked for), output alone (and output is asked for), or
// neither. Otherwise the next exclusive interest is notified too.
func (in *Instance) exclusiveWoke(interest uint32, events int16) bool {
	if in.waiting.Load() == 0 {
		return false
	}
	switch uint32(uint16(events)) & (linux.EPOLLIN | linux.EPOLLOUT) {
	case linux.EPOLLIN:
		return interest&linux.EPOLLIN != 0
	case linux.EPOLLOUT:
		return interest&linux.EPOLLOUT != 0
	case 0:
		return true
	}
	return false
}

// EventQueue implements vfs.Waitable.
func (in *Instance) EventQueue() *vfs.Queue { return &in.queue }

// Readiness implements vfs.Readiness: readable when an event is ready.
func (in *Instance) Readiness(mask int16) int16 {
	if len(in.collect(1, false)) > 0 {
		return unix.POLLIN & mask
	}
	return 0
}

func (in *Instance) detach(it *interest) {
	if child, ok := Of(it.f); ok {
		nestMu.Lock()
		if child.watchers[in]--; child.watchers[in] <= 0 {
			delete(child.watchers, in)
		}
		nestMu.Unlock()
	}
	if it.queue != nil {
		it.queue.Remove(it.entry)
	}
	it.unwatch()
}

// forget drops it, whose file has just lost its last reference.
func (in *Instance) forget(it *interest) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.interests[it.key] != it {
		return
	}
	in.detach(it)
	delete(in.interests, it.key)
	in.unorder(it)
}

// Ctl implements epoll_ctl for descriptor fd, open on f.
func (in *Instance) Ctl(op int, fd int32, f *vfs.File, ev Event) error {
	if f.Impl() == vfs.FileImpl(in) {
		return unix.EINVAL
	}
	st, err := f.Stat()
	if err == nil && (st.Mode&unix.S_IFMT == unix.S_IFREG || st.Mode&unix.S_IFMT == unix.S_IFDIR) {
		if _, ok := f.Impl().(vfs.PollableRegular); !ok {
			return unix.EPERM
		}
	}
	if u, ok := f.Impl().(vfs.Unpollable); ok && u.Unpollable() {
		return unix.EPERM
	}
	k := key{fd, f}
	child, nested := Of(f)
	if ev.Events&linux.EPOLLEXCLUSIVE != 0 && (op == unix.EPOLL_CTL_MOD ||
		op == unix.EPOLL_CTL_ADD && (nested || ev.Events&^exclusiveOK != 0)) {
		return unix.EINVAL
	}
	if nested && op == unix.EPOLL_CTL_ADD {
		checkMu.Lock()
		defer checkMu.Unlock()
		if !in.mayWatch(child) {
			return unix.ELOOP
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	it := in.interests[k]
	switch op {
	case unix.EPOLL_CTL_ADD:
		if it != nil {
			return unix.EEXIST
		}
		it = &interest{key: k, ev: ev}
		// No reference is held: the interest goes when the file does.
		it.unwatch = f.OnRelease(func() { in.forget(it) })
		if q := f.EventQueue(); q != nil {
			it.queue = q
			notify := func(int16) {
				it.pending.Store(true)
				in.queue.Notify(unix.POLLIN)
			}
			if ev.Events&linux.EPOLLEXCLUSIVE != 0 {
				it.entry = vfs.NewExclusiveEntry(int16(ev.Events), func(events int16) bool {
					notify(events)
					return in.exclusiveWoke(ev.Events, events)
				})
			} else {
				it.entry = vfs.NewEntry(int16(ev.Events), notify)
			}
			q.Add(it.entry)
		}
		it.pending.Store(true)
		in.interests[k] = it
		in.order = append(in.order, it)
		if nested {
			nestMu.Lock()
			child.watchers[in]++
			nestMu.Unlock()
		}
	case unix.EPOLL_CTL_MOD:
		if it == nil {
			return unix.ENOENT
		}
		if it.ev.Events&linux.EPOLLEXCLUSIVE != 0 {
			// An exclusive interest cannot be changed (do_epoll_ctl).
			return unix.EINVAL
		}
		it.ev, it.off = ev, false
		if it.queue != nil {
			// What wakes a wait changes too, not only what it reports.
			it.queue.SetMask(it.entry, int16(ev.Events))
		}
		it.pending.Store(true)
	case unix.EPOLL_CTL_DEL:
		if it == nil {
			return unix.ENOENT
		}
		in.detach(it)
		delete(in.interests, k)
		in.unorder(it)
		return nil
	default:
		return unix.EINVAL
	}
	in.queue.Notify(unix.POLLIN)
	return nil
}

// mayWatch reports whether in may watch child: child's instances do not
// reach in, and the chain through both stays within maxNests, counting
// how deep child reaches down and how far up in is watched (Linux's
// ep_loop_check with ep_get_upwards_depth_proc). The caller holds checkMu.
func (in *Instance) mayWatch(child *Instance) bool {
	down := child.depthBelow(in, 0, map[*Instance]int{})
	if down > maxNests {
		return false
	}
	nestMu.Lock()
	up := in.depthAbove(0, map[*Instance]int{})
	nestMu.Unlock()
	return down+1+up <= maxNests
}

// depthBelow returns how many levels of instances in watches, or more than
// maxNests when they reach target (a loop) or go deeper than maxNests.
// seen memoizes the instances already measured, as a watched graph may
// share them.
func (in *Instance) depthBelow(target *Instance, level int, seen map[*Instance]int) int {
	if d, ok := seen[in]; ok {
		return d
	}
	in.mu.Lock()
	var children []*Instance
	for _, it := range in.interests {
		if c, ok := Of(it.f); ok {
			children = append(children, c)
		}
	}
	in.mu.Unlock()
	depth := 0
	for _, c := range children {
		if c == target || level > maxNests {
			depth = maxNests + 1
			break
		}
		depth = max(depth, c.depthBelow(target, level+1, seen)+1)
		if depth > maxNests {
			break
		}
	}
	seen[in] = depth
	return depth
}

// depthAbove returns how many levels of instances watch in. The caller
// holds nestMu; the check at every addition keeps the graph acyclic and
// shallow, so the recursion ends within maxNests levels.
func (in *Instance) depthAbove(level int, seen map[*Instance]int) int {
	if d, ok := seen[in]; ok {
		return d
	}
	depth := 0
	if level <= maxNests {
		for w := range in.watchers {
			depth = max(depth, w.depthAbove(level+1, seen)+1)
		}
	}
	seen[in] = depth
	return depth
}

// collect returns up to max ready events; with consume, it applies
// EPOLLET and EPOLLONESHOT as a reported event does.
func (in *Instance) collect(max int, consume bool) []Event {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Event
	var reported []*interest
	defer func() {
		// Reported level-triggered interests go to the end of the order.
		if len(reported) == 0 {
			return
		}
		kept := in.order[:0]
		for _, it := range in.order {
			if !it.rotate {
				kept = append(kept, it)
			}
		}
		for _, it := range reported {
			it.rotate = false
			kept = append(kept, it)
		}
		in.order = kept
	}()
	for _, it := range in.order {
		if len(out) == max {
			break
		}
		if it.off {
			continue
		}
		et := it.ev.Events&linux.EPOLLET != 0
		if et && !it.pending.Load() {
			continue
		}
		mask := int16(it.ev.Events) | unix.POLLHUP | unix.POLLERR
		r := it.f.Readiness(mask)
		if r == 0 {
			if et && consume {
				it.pending.Store(false)
			}
			continue
		}
		out = append(out, Event{Events: uint32(uint16(r)), Data: it.ev.Data})
		if consume {
			it.rotate = true
			reported = append(reported, it)
			if et {
				it.pending.Store(false)
			}
			if it.ev.Events&linux.EPOLLONESHOT != 0 {
				it.off = true
			}
		}
	}
	return out
}

// Wait returns up to max ready events, waiting at most until expired
// fires (nil: forever; an already-closed channel: do not wait) or stop
// closes (EINTR).
func (in *Instance) Wait(max int, expired <-chan struct{}, stop <-chan struct{}) ([]Event, error) {
	w := vfs.NewWaiter()
	e := w.Entry(unix.POLLIN)
	in.queue.Add(e)
	defer in.queue.Remove(e)
	if !closed(expired) {
		in.waiting.Add(1)
		defer in.waiting.Add(-1)
	}
	for {
		if evs := in.collect(max, true); len(evs) > 0 {
			return evs, nil
		}
		select {
		case <-w.C():
		case <-expired:
			return nil, nil
		case <-stop:
			return nil, unix.EINTR
		}
	}
}

// closed reports whether c is closed already (a wait that must not block).
func closed(c <-chan struct{}) bool {
	if c == nil {
		return false
	}
	select {
	case <-c:
		return true
	default:
		return false
	}
}
