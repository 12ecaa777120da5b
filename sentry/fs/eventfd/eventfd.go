// Package eventfd implements eventfd(2) files: a 64-bit counter that
// writes add to and reads take, as a wait/notify channel between tasks.
//
// Like pipes, an eventfd never blocks itself: Read and Write fail with
// EAGAIN and the VFS waits on the file's vfs.Queue (see vfs/wait.go),
// which also drives poll and epoll.
package eventfd

import (
	"context"
	"encoding/binary"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// Flags of eventfd2(2).
const (
	Semaphore = unix.EFD_SEMAPHORE
	NonBlock  = unix.EFD_NONBLOCK
	CloseExec = unix.EFD_CLOEXEC
)

// maxCount is the largest value a write brings the counter to. Only the
// kernel's own signal (Signal) takes it one further, to overflowCount,
// which poll reports as an error (POLLERR) and a read returns, as Linux's
// eventfd_signal_mask and eventfd_poll do.
const (
	maxCount      = ^uint64(0) - 1
	overflowCount = ^uint64(0)
)

var (
	// dev and ino are the st_dev and st_ino of eventfds (Linux's single
	// anonymous inode).
	dev     = vfs.NewDeviceID()
	lastIno atomic.Uint64
)

// EventFD is an eventfd's counter; it is both the inode and the
// implementation of its file.
type EventFD struct {
	queue     vfs.Queue
	semaphore bool
	ino       uint64

	mu    sync.Mutex
	count uint64 // guarded by mu
}

// New implements eventfd2(2): a file with one reference, whose counter
// starts at initval. flags are EFD_SEMAPHORE, EFD_NONBLOCK and
// EFD_CLOEXEC (the last one is for the caller's descriptor); others are
// EINVAL.
func New(initval uint32, flags int) (*vfs.File, error) {
	if flags&^(Semaphore|NonBlock|CloseExec) != 0 {
		return nil, unix.EINVAL
	}
	e := &EventFD{semaphore: flags&Semaphore != 0, count: uint64(initval), ino: lastIno.Add(1)}
	return vfs.NewFile(nil, nil, e, e, unix.O_RDWR|flags&unix.O_NONBLOCK), nil
}

// Stat implements vfs.Inode: an anonymous inode, mode 0600 without a
// file type, as Linux shows it.
func (e *EventFD) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Dev: dev, Ino: e.ino, Nlink: 1, Mode: 0o600, Blksize: 4096}, nil
}

// Open implements vfs.Inode: an eventfd cannot be reopened by name.
func (e *EventFD) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (e *EventFD) LinkName() string { return "anon_inode:[eventfd]" }

// Read implements vfs.Stream: it takes the counter (or 1 of it, in
// semaphore mode) into an 8-byte buffer; EAGAIN while it is 0.
func (e *EventFD) Read(ctx context.Context, p []byte) (int, error) {
	if len(p) < 8 {
		return 0, unix.EINVAL
	}
	e.mu.Lock()
	if e.count == 0 {
		e.mu.Unlock()
		return 0, unix.EAGAIN
	}
	v := e.count
	if e.semaphore {
		v = 1
	}
	e.count -= v
	e.mu.Unlock()
	binary.NativeEndian.PutUint64(p, v)
	e.queue.Notify(unix.POLLOUT | linux.POLLWRNORM)
	return 8, nil
}

// Write implements vfs.Stream: it adds an 8-byte value to the counter;
// EAGAIN while the sum would pass the largest count, EINVAL for 2^64-1.
func (e *EventFD) Write(ctx context.Context, p []byte) (int, error) {
	if len(p) < 8 {
		return 0, unix.EINVAL
	}
	v := binary.NativeEndian.Uint64(p)
	if v == ^uint64(0) {
		return 0, unix.EINVAL
	}
	e.mu.Lock()
	if e.count > maxCount || v > maxCount-e.count {
		e.mu.Unlock()
		return 0, unix.EAGAIN
	}
	e.count += v
	e.mu.Unlock()
	if v != 0 {
		e.queue.Notify(unix.POLLIN | linux.POLLRDNORM)
	}
	return 8, nil
}

// ReadAt implements vfs.FileImpl: eventfds have no offsets.
func (e *EventFD) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// WriteAt implements vfs.FileImpl: eventfds have no offsets.
func (e *EventFD) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// Readiness implements vfs.Readiness.
func (e *EventFD) Readiness(mask int16) int16 {
	e.mu.Lock()
	defer e.mu.Unlock()
	var ev int16
	if e.count > 0 {
		ev |= unix.POLLIN | linux.POLLRDNORM
	}
	if e.count < maxCount {
		ev |= unix.POLLOUT | linux.POLLWRNORM
	}
	if e.count == overflowCount {
		ev |= unix.POLLERR
	}
	return ev
}

// EventQueue implements vfs.Waitable.
func (e *EventFD) EventQueue() *vfs.Queue { return &e.queue }

// Release implements vfs.FileImpl.
func (e *EventFD) Release() {}

// Count returns the counter (for /proc/PID/fdinfo).
func (e *EventFD) Count() uint64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count
}

// FromFile returns the eventfd behind f, if it is one.
func FromFile(f *vfs.File) (*EventFD, bool) {
	e, ok := f.Impl().(*EventFD)
	return e, ok
}

// Signal adds 1 to the counter, as eventfd_signal does for a completion
// the kernel reports (AIO's IOCB_FLAG_RESFD): up to overflowCount, past
// what a write may reach, where it stays.
func (e *EventFD) Signal() {
	e.mu.Lock()
	if e.count == overflowCount {
		e.mu.Unlock()
		return
	}
	e.count++
	e.mu.Unlock()
	e.queue.Notify(unix.POLLIN | linux.POLLRDNORM)
}
