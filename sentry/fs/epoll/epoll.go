// Package epoll is epoll(7): an instance watches files through their
// readiness queues (vfs.Queue) and reports ready ones, level-triggered by
// default, edge-triggered with EPOLLET, once with EPOLLONESHOT.
//
// A watched file's queue calls back into the instance when the file may
// have changed; the callback only marks the interest and wakes waiters,
// and a wait re-checks readiness, so no notification is lost and none is
// trusted blindly. Files that never block (no queue) are always ready, as
// Linux reports them; regular files and directories cannot be watched
// (EPERM), as in Linux.
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

const (
	epollExcl = 1 << 28
)

type key struct {
	fd int32
	f  *vfs.File
}

type interest struct {
	key
	ev      Event
	queue   *vfs.Queue
	entry   *vfs.Entry
	pending atomic.Bool // notified since last reported (EPOLLET)
	off     bool        // EPOLLONESHOT fired; MOD re-arms; guarded by the instance's mu, as is ev
}

// Instance is an epoll file.
type Instance struct {
	mu        sync.Mutex
	interests map[key]*interest // guarded by mu
	queue     vfs.Queue         // the instance's own readiness, for waiters
	ino       uint64
}

var lastIno atomic.Uint64

// New returns a new epoll file.
func New(flags int) *vfs.File {
	in := &Instance{interests: make(map[key]*interest), ino: lastIno.Add(1)}
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
	if it.queue != nil {
		it.queue.Remove(it.entry)
		it.f.DecRef()
	}
}

// Ctl implements epoll_ctl for descriptor fd, open on f.
func (in *Instance) Ctl(op int, fd int32, f *vfs.File, ev Event) error {
	if f.Impl() == vfs.FileImpl(in) {
		return unix.EINVAL
	}
	st, err := f.Stat()
	if err == nil && (st.Mode&unix.S_IFMT == unix.S_IFREG || st.Mode&unix.S_IFMT == unix.S_IFDIR) {
		return unix.EPERM
	}
	k := key{fd, f}
	in.mu.Lock()
	defer in.mu.Unlock()
	it := in.interests[k]
	switch op {
	case unix.EPOLL_CTL_ADD:
		if it != nil {
			return unix.EEXIST
		}
		it = &interest{key: k, ev: ev}
		if q := f.EventQueue(); q != nil {
			f.IncRef()
			it.queue = q
			it.entry = vfs.NewEntry(int16(ev.Events), func(int16) {
				it.pending.Store(true)
				in.queue.Notify(unix.POLLIN)
			})
			q.Add(it.entry)
		}
		it.pending.Store(true)
		in.interests[k] = it
	case unix.EPOLL_CTL_MOD:
		if it == nil {
			return unix.ENOENT
		}
		if ev.Events&epollExcl != 0 {
			return unix.EINVAL
		}
		it.ev, it.off = ev, false
		it.pending.Store(true)
	case unix.EPOLL_CTL_DEL:
		if it == nil {
			return unix.ENOENT
		}
		in.detach(it)
		delete(in.interests, k)
		return nil
	default:
		return unix.EINVAL
	}
	in.queue.Notify(unix.POLLIN)
	return nil
}

// collect returns up to max ready events; with consume, it applies
// EPOLLET and EPOLLONESHOT as a reported event does.
func (in *Instance) collect(max int, consume bool) []Event {
	in.mu.Lock()
	defer in.mu.Unlock()
	var out []Event
	for _, it := range in.interests {
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
