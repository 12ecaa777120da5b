// Package inotify implements inotify(7) instances: files whose reads
// return struct inotify_event records about watched files and
// directories.
//
// Events come from the sandbox's own VFS operations (vfs/notify.go):
// creations, removals, renames, writes, attribute changes, opens and
// closes made by the application. Changes the host makes to files below
// the sandbox root are not seen. As with eventfd, Read never blocks: it
// fails with EAGAIN and the VFS waits on the file's queue, which also
// drives poll and epoll.
//
// As Linux 6.1: an event about a file reaches its directory's watch (with
// the name) before the file's own; IN_EXCL_UNLINK drops the events of a
// file reached by a name it no longer has; /proc/PID/fdinfo/N lists the
// watches as inotify_fdinfo prints them, with the mask the application
// gave (IN_ONESHOT and IN_EXCL_UNLINK included) and the file handle
// name_to_handle_at gives.
package inotify

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// Limits, as Linux's defaults for one user: queued events before
// IN_Q_OVERFLOW (max_queued_events) and watches (max_user_watches' floor).
const (
	MaxQueued  = 16384
	MaxWatches = 8192
)

// Flags of inotify_init1.
const (
	NonBlock  = unix.IN_NONBLOCK
	CloseExec = unix.IN_CLOEXEC
)

// Mask bits inotify_add_watch takes (ALL_INOTIFY_BITS).
const (
	eventBits = unix.IN_ALL_EVENTS
	flagBits  = unix.IN_ONLYDIR | unix.IN_DONT_FOLLOW | unix.IN_EXCL_UNLINK | unix.IN_MASK_CREATE |
		unix.IN_MASK_ADD | unix.IN_ISDIR | unix.IN_ONESHOT
	// alwaysBits are delivered whatever a watch asked for.
	alwaysBits = unix.IN_IGNORED | unix.IN_UNMOUNT | unix.IN_Q_OVERFLOW
)

var (
	dev     = vfs.NewDeviceID()
	lastIno atomic.Uint64
)

type event struct {
	wd           int32
	mask, cookie uint32
	name         string
}

// size is the record's length: the header and the name, NUL-padded to a
// multiple of the header's size, as Linux pads it.
func (e event) size() int {
	if e.name == "" {
		return unix.SizeofInotifyEvent
	}
	return unix.SizeofInotifyEvent + (len(e.name)+1+15)/16*16
}

// Inotify is an inotify instance; it is both the inode and the
// implementation of its file.
type Inotify struct {
	v     *vfs.VFS
	queue vfs.Queue
	ino   uint64
	acct  Account // charged for the instance until Release

	mu      sync.Mutex
	events  []event          // guarded by mu
	watches map[int32]*watch // guarded by mu
	nextWD  int32            // guarded by mu
}

// watch is one watched inode of an instance.
type watch struct {
	in   *Inotify
	wd   int32
	key  vfs.WatchKey
	mask uint32 // guarded by in.mu
}

// New implements inotify_init1(2): an instance in a file with one
// reference, charged to acct (EMFILE past max_user_instances); flags are
// IN_NONBLOCK and IN_CLOEXEC, others EINVAL.
func New(v *vfs.VFS, flags int, acct Account) (*vfs.File, error) {
	if flags&^(NonBlock|CloseExec) != 0 {
		return nil, unix.EINVAL
	}
	if !acct.take() {
		return nil, unix.EMFILE // over max_user_instances
	}
	in := &Inotify{v: v, ino: lastIno.Add(1), acct: acct, watches: make(map[int32]*watch), nextWD: 1}
	return vfs.NewFile(nil, nil, in, in, unix.O_RDONLY|flags&unix.O_NONBLOCK), nil
}

// FromFile returns the instance of f, if f is an inotify file.
func FromFile(f *vfs.File) (*Inotify, bool) {
	in, ok := f.Impl().(*Inotify)
	return in, ok
}

// ValidMask reports whether inotify_add_watch accepts mask: some event,
// no unknown bit, not both IN_MASK_ADD and IN_MASK_CREATE.
func ValidMask(mask uint32) bool {
	return mask&eventBits != 0 && mask&^(eventBits|flagBits) == 0 &&
		mask&(unix.IN_MASK_ADD|unix.IN_MASK_CREATE) != unix.IN_MASK_ADD|unix.IN_MASK_CREATE
}

// AddWatch implements inotify_add_watch(2) once the path is resolved to
// key: a new watch, or a change of the existing one's mask (replaced, or
// extended with IN_MASK_ADD; EEXIST with IN_MASK_CREATE).
func (in *Inotify) AddWatch(key vfs.WatchKey, mask uint32) (int32, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, w := range in.watches {
		if w.key != key {
			continue
		}
		switch {
		case mask&unix.IN_MASK_CREATE != 0:
			return 0, unix.EEXIST
		case mask&unix.IN_MASK_ADD != 0:
			w.mask |= mask &^ unix.IN_MASK_ADD
		default:
			w.mask = mask
		}
		return w.wd, nil
	}
	if len(in.watches) >= MaxWatches {
		return 0, unix.ENOSPC
	}
	w := &watch{in: in, wd: in.nextWD, key: key, mask: mask &^ (unix.IN_MASK_ADD | unix.IN_MASK_CREATE)}
	in.nextWD++
	in.watches[w.wd] = w
	in.v.AddWatch(key, w)
	return w.wd, nil
}

// RmWatch implements inotify_rm_watch(2): EINVAL for an unknown wd; the
// watch's last event is IN_IGNORED.
func (in *Inotify) RmWatch(wd int32) error {
	in.mu.Lock()
	w, ok := in.watches[wd]
	if !ok {
		in.mu.Unlock()
		return unix.EINVAL
	}
	in.dropLocked(w)
	in.mu.Unlock()
	in.queue.Notify(unix.POLLIN | linux.POLLRDNORM)
	return nil
}

// dropLocked forgets w and queues its IN_IGNORED; in.mu is held.
func (in *Inotify) dropLocked(w *watch) {
	delete(in.watches, w.wd)
	in.v.RemoveWatch(w.key, w)
	in.queueLocked(event{wd: w.wd, mask: unix.IN_IGNORED})
}

// queueLocked appends e, dropping it if it repeats the last event, as
// Linux merges them, and replacing it with IN_Q_OVERFLOW when the queue
// is full; in.mu is held.
func (in *Inotify) queueLocked(e event) {
	if n := len(in.events); n > 0 && in.events[n-1] == e {
		return
	}
	if len(in.events) >= MaxQueued {
		overflow := event{wd: -1, mask: unix.IN_Q_OVERFLOW}
		if in.events[len(in.events)-1] != overflow {
			in.events = append(in.events, overflow)
		}
		return
	}
	in.events = append(in.events, e)
}

// Notify implements vfs.Watch.
func (w *watch) Notify(mask, cookie uint32, name string) {
	in := w.in
	in.mu.Lock()
	if in.watches[w.wd] != w {
		in.mu.Unlock()
		return // removed while the event was on its way
	}
	if mask == unix.IN_IGNORED {
		// The inode is gone: the VFS drops the watch with it.
		in.dropLocked(w)
	} else {
		if mask&w.mask&eventBits == 0 && mask&alwaysBits == 0 {
			in.mu.Unlock()
			return
		}
		in.queueLocked(event{wd: w.wd, mask: mask & (w.mask | alwaysBits | unix.IN_ISDIR), cookie: cookie, name: name})
		if w.mask&unix.IN_ONESHOT != 0 {
			in.dropLocked(w)
		}
	}
	in.mu.Unlock()
	in.queue.Notify(unix.POLLIN | linux.POLLRDNORM)
}

// ExcludesUnlinked implements vfs.UnlinkedExcluder: IN_EXCL_UNLINK.
func (w *watch) ExcludesUnlinked() bool {
	w.in.mu.Lock()
	defer w.in.mu.Unlock()
	return w.mask&unix.IN_EXCL_UNLINK != 0
}

// Read implements vfs.Stream: as many whole records as fit in p; EINVAL
// if not even the first does, EAGAIN when there is none.
func (in *Inotify) Read(ctx context.Context, p []byte) (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.events) == 0 {
		return 0, unix.EAGAIN
	}
	n := 0
	for len(in.events) > 0 {
		e := in.events[0]
		size := e.size()
		if n+size > len(p) {
			break
		}
		b := p[n : n+size]
		hdr := unix.InotifyEvent{Wd: e.wd, Mask: e.mask, Cookie: e.cookie, Len: uint32(size - unix.SizeofInotifyEvent)}
		name := b[copy(b, abi.AsBytes(&hdr)):]
		runtime.KeepAlive(&hdr)
		clear(name)
		copy(name, e.name)
		n += size
		in.events = in.events[1:]
	}
	if n == 0 {
		return 0, unix.EINVAL
	}
	return n, nil
}

// Write implements vfs.Stream: inotify files cannot be written (the
// descriptor is read-only, so this is not reached).
func (in *Inotify) Write(ctx context.Context, p []byte) (int, error) { return 0, unix.EBADF }

// ReadAt implements vfs.FileImpl: no offsets.
func (in *Inotify) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// WriteAt implements vfs.FileImpl: no offsets.
func (in *Inotify) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// Readiness implements vfs.Readiness.
func (in *Inotify) Readiness(mask int16) int16 {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.events) > 0 {
		return unix.POLLIN | linux.POLLRDNORM
	}
	return 0
}

// EventQueue implements vfs.Waitable.
func (in *Inotify) EventQueue() *vfs.Queue { return &in.queue }

// SignalDriven implements vfs.SignalDriven: an inotify instance may send
// SIGIO (inotify_fasync).
func (in *Inotify) SignalDriven() {}

// Ioctl implements vfs.Ioctler: FIONREAD, the bytes a read would return.
func (in *Inotify) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	if cmd != unix.TIOCINQ { // FIONREAD
		return 0, unix.ENOTTY
	}
	in.mu.Lock()
	n := 0
	for _, e := range in.events {
		n += e.size()
	}
	in.mu.Unlock()
	return 0, mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(n)))
}

// Release implements vfs.FileImpl: the instance's watches go with it.
func (in *Inotify) Release() {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, w := range in.watches {
		in.v.RemoveWatch(w.key, w)
	}
	in.watches = nil
	in.acct.give()
}

// Stat implements vfs.Inode: an anonymous inode, as Linux shows it.
func (in *Inotify) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Dev: dev, Ino: in.ino, Nlink: 1, Mode: 0o600, Blksize: 4096}, nil
}

// Open implements vfs.Inode: an inotify instance cannot be reopened.
func (in *Inotify) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (in *Inotify) LinkName() string { return "anon_inode:inotify" }

// FDInfo implements vfs.FDInfoer: a line per watch, newest first, as
// Linux's inotify_fdinfo prints them: the watch descriptor, the inode
// number and the kernel's encoding of the device (in hex), the mask the
// application gave (its events, IN_ONESHOT and IN_EXCL_UNLINK), and the
// file handle name_to_handle_at gives for the file (vfs.Handle's).
func (in *Inotify) FDInfo() string {
	in.mu.Lock()
	ws := make([]*watch, 0, len(in.watches))
	masks := make(map[*watch]uint32, len(in.watches))
	for _, w := range in.watches {
		ws = append(ws, w)
		masks[w] = w.mask
	}
	in.mu.Unlock()
	sort.Slice(ws, func(i, j int) bool { return ws[i].wd > ws[j].wd })
	var b strings.Builder
	for _, w := range ws {
		k := w.key
		kdev := uint64(unix.Major(k.Dev))<<20 | uint64(unix.Minor(k.Dev))
		mask := masks[w] & (eventBits | unix.IN_ONESHOT | unix.IN_EXCL_UNLINK)
		fmt.Fprintf(&b, "inotify wd:%x ino:%x sdev:%x mask:%x ignored_mask:0 fhandle-bytes:%x fhandle-type:%x f_handle:",
			w.wd, k.Ino, kdev, mask, vfs.HandleSize, vfs.HandleType)
		for _, c := range vfs.HandleBytes(k.Dev, k.Ino) {
			fmt.Fprintf(&b, "%02x", c)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
