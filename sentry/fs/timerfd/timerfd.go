// Package timerfd implements timerfd_create(2) files: a timer whose
// expirations a read collects as an 8-byte count.
//
// The timer runs on the host's clocks, which the application also reads
// through the vDSO: an absolute setting is converted to a duration from
// now on its clock, and the timer then runs on Go's monotonic clock.
// Clock changes cannot happen inside the sandbox (clock_settime is EPERM),
// so TFD_TIMER_CANCEL_ON_SET is accepted and never cancels.
//
// As with eventfd, Read never blocks: it fails with EAGAIN and the VFS
// waits on the file's queue (vfs/wait.go), which also drives poll and
// epoll.
package timerfd

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/clocks"
	"runsc-lite/sentry/vfs"
)

// Flags of timerfd_create and timerfd_settime.
const (
	NonBlock    = unix.TFD_NONBLOCK
	CloseExec   = unix.TFD_CLOEXEC
	AbsTime     = unix.TFD_TIMER_ABSTIME
	CancelOnSet = unix.TFD_TIMER_CANCEL_ON_SET
)

var (
	// dev and ino are the st_dev and st_ino of timerfds (Linux's single
	// anonymous inode).
	dev     = vfs.NewDeviceID()
	lastIno atomic.Uint64
)

// TimerFD is a timerfd's timer; it is both the inode and the
// implementation of its file.
type TimerFD struct {
	queue  vfs.Queue
	clock  int32
	clocks clocks.Offsets // the sandbox's clocks, which absolute times are on
	ino    uint64

	// mu guards every field below.
	mu sync.Mutex
	// timer is the pending expiry, nil when disarmed or expired for good.
	timer *time.Timer
	// gen is bumped by every Set, so that an expiry racing with a Set
	// recognises it is stale.
	gen      uint64
	deadline time.Time
	interval time.Duration
	// ticks is the number of expirations not yet read.
	ticks uint64
}

// New implements timerfd_create(2): a disarmed timer on clock
// (CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME or their _ALARM
// variants, which cannot wake a sandbox anyway) in a file with one
// reference. flags are TFD_NONBLOCK and TFD_CLOEXEC (the latter for the
// caller's descriptor); others are EINVAL.
func New(clock int32, clocks clocks.Offsets, flags int) (*vfs.File, error) {
	if flags&^(NonBlock|CloseExec) != 0 {
		return nil, unix.EINVAL
	}
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME,
		unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM:
	default:
		return nil, unix.EINVAL
	}
	tf := &TimerFD{clock: clock, clocks: clocks, ino: lastIno.Add(1)}
	return vfs.NewFile(nil, nil, tf, tf, unix.O_RDWR|flags&unix.O_NONBLOCK), nil
}

// FromFile returns the timer of a timerfd file.
func FromFile(f *vfs.File) (*TimerFD, bool) {
	tf, ok := f.Impl().(*TimerFD)
	return tf, ok
}

// Clock is the clock the timer runs on.
func (tf *TimerFD) Clock() int32 { return tf.clock }

// ValidSetFlags reports whether flags are timerfd_settime's.
func ValidSetFlags(flags int) bool { return flags&^(AbsTime|CancelOnSet) == 0 }

// Set implements timerfd_settime(2): the timer expires at value (a time
// on the timer's clock with TFD_TIMER_ABSTIME, else a duration from now;
// 0 disarms) and then every interval. Unread expirations are dropped, as
// Linux does. It returns the previous setting, as Get would have.
func (tf *TimerFD) Set(value, interval time.Duration, flags int) (time.Duration, time.Duration, error) {
	if !ValidSetFlags(flags) {
		return 0, 0, unix.EINVAL
	}
	now := time.Now()
	armed := value != 0
	if armed && flags&AbsTime != 0 {
		clockNow, err := tf.clocks.Now(tf.clock)
		if err != nil {
			return 0, 0, fmt.Errorf("reading clock %d: %w", tf.clock, err)
		}
		// A time in the past expires at once, with the intervals
		// since then counted as expirations.
		value -= clockNow
	}
	tf.mu.Lock()
	oldValue, oldInterval := tf.getLocked(now)
	tf.stopLocked()
	tf.ticks, tf.interval = 0, interval
	if armed {
		tf.deadline = now.Add(value)
		gen := tf.gen
		tf.timer = time.AfterFunc(clocks.HostWait(value), func() { tf.expire(gen) })
	}
	tf.mu.Unlock()
	return oldValue, oldInterval, nil
}

// Get implements timerfd_gettime(2): the time until the next expiration
// (0 if disarmed) and the interval.
func (tf *TimerFD) Get() (time.Duration, time.Duration) {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	return tf.getLocked(time.Now())
}

func (tf *TimerFD) getLocked(now time.Time) (time.Duration, time.Duration) {
	if tf.timer == nil {
		return 0, tf.interval
	}
	// An armed timer never reports 0, which would read as disarmed.
	return max(tf.deadline.Sub(now), time.Nanosecond), tf.interval
}

func (tf *TimerFD) stopLocked() {
	if tf.timer != nil {
		tf.timer.Stop()
		tf.timer = nil
	}
	tf.gen++
}

// expire counts the expirations up to now (more than one if the timer
// fired late or its first deadline was in the past) and rearms a periodic
// timer at its next deadline.
func (tf *TimerFD) expire(gen uint64) {
	tf.mu.Lock()
	if gen != tf.gen || tf.timer == nil {
		tf.mu.Unlock()
		return
	}
	now := time.Now()
	n := uint64(1)
	if tf.interval > 0 {
		if late := now.Sub(tf.deadline); late > 0 {
			n += uint64(late / tf.interval)
		}
		tf.deadline = tf.deadline.Add(time.Duration(n) * tf.interval)
		tf.timer = time.AfterFunc(clocks.HostWait(tf.deadline.Sub(now)), func() { tf.expire(gen) })
	} else {
		tf.timer = nil
	}
	tf.ticks += n
	tf.mu.Unlock()
	tf.queue.Notify(unix.POLLIN | linux.POLLRDNORM)
}

// Stat implements vfs.Inode: an anonymous inode, mode 0600 without a
// file type, as Linux shows it.
func (tf *TimerFD) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Dev: dev, Ino: tf.ino, Nlink: 1, Mode: 0o600, Blksize: 4096}, nil
}

// Open implements vfs.Inode: a timerfd cannot be reopened by name.
func (tf *TimerFD) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, unix.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (tf *TimerFD) LinkName() string { return "anon_inode:[timerfd]" }

// Read implements vfs.Stream: it takes the expiration count into an
// 8-byte buffer; EAGAIN while it is 0, EINVAL for a smaller buffer.
func (tf *TimerFD) Read(ctx context.Context, p []byte) (int, error) {
	if len(p) < 8 {
		return 0, unix.EINVAL
	}
	tf.mu.Lock()
	n := tf.ticks
	tf.ticks = 0
	tf.mu.Unlock()
	if n == 0 {
		return 0, unix.EAGAIN
	}
	binary.NativeEndian.PutUint64(p, n)
	return 8, nil
}

// Write implements vfs.Stream: timerfds are read-only (Linux has no
// write for them).
func (tf *TimerFD) Write(ctx context.Context, p []byte) (int, error) {
	return 0, unix.EINVAL
}

// ReadAt implements vfs.FileImpl: timerfds have no offsets.
func (tf *TimerFD) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// WriteAt implements vfs.FileImpl: timerfds have no offsets.
func (tf *TimerFD) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, unix.ESPIPE
}

// Seek implements vfs.Seeker: lseek succeeds and stays at 0, as Linux's
// noop_llseek does for timerfds.
func (tf *TimerFD) Seek(ctx context.Context, off int64, whence int) (int64, error) {
	return 0, nil
}

// Readiness implements vfs.Readiness: readable once it has expired.
func (tf *TimerFD) Readiness(mask int16) int16 {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	if tf.ticks > 0 {
		return unix.POLLIN | linux.POLLRDNORM
	}
	return 0
}

// EventQueue implements vfs.Waitable.
func (tf *TimerFD) EventQueue() *vfs.Queue { return &tf.queue }

// Release implements vfs.FileImpl: the timer stops with its last
// reference.
func (tf *TimerFD) Release() {
	tf.mu.Lock()
	defer tf.mu.Unlock()
	tf.stopLocked()
}
