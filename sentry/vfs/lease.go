package vfs

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Leases (fcntl F_SETLEASE, F_GETLEASE; fcntl(2), "Leases"): an open file
// description of a regular file may hold a read or a write lease, which
// another open of the file (or a truncate) breaks as Linux's
// __break_lease does: the holder is told (Notify: the file owner's SIGIO
// or F_SETSIG signal with POLL_MSG, async.go), the opener
// waits until the holder gives the lease up or downgrades it, at most the
// lease break time (/proc/sys/fs/lease-break-time), after which the
// lease is taken from it. An O_NONBLOCK open does not wait: it starts the
// break and fails with EWOULDBLOCK.
//
// Whether a lease may be taken depends on who else has the file open
// (check_conflicting_open): the table counts the open file descriptions
// of every regular file opened through the VFS, by access mode, as
// Linux's i_readcount and i_writecount do.

// DefaultLeaseBreakTime is lease-break-time's default, in seconds.
const DefaultLeaseBreakTime = 45

// lease is one open file description's lease.
type lease struct {
	typ int16 // ReadLock or WriteLock
	// breaking is set once an open conflicted with the lease: it becomes
	// target (UnlockType or ReadLock) when its holder says so or at
	// deadline.
	breaking bool
	target   int16
	deadline time.Time
	notify   func() // tells the holder a break began
}

// leaseFile is what the table knows of one file; guarded by
// leaseTable.mu.
type leaseFile struct {
	readers, writers int // open file descriptions reading only, and writing
	leases           map[*File]*lease
	changed          chan struct{} // closed and replaced when a lease changes
}

// leaseTable holds the open counts and leases of the sandbox's files.
type leaseTable struct {
	mu    sync.Mutex // guards files and everything in them; a leaf
	files map[lockKey]*leaseFile
	// breakTime is lease-break-time in seconds, plus one (breakSeconds).
	breakTime atomic.Int64
}

// LeaseBreakTime returns lease-break-time, in seconds.
func (v *VFS) LeaseBreakTime() int64 { return v.leases.breakSeconds() }

// SetLeaseBreakTime sets lease-break-time (seconds, at least 0).
func (v *VFS) SetLeaseBreakTime(s int64) { v.leases.breakTime.Store(s + 1) }

// breakSeconds is lease-break-time; breakTime holds it plus one, so that
// its zero value is the default.
func (lt *leaseTable) breakSeconds() int64 {
	if t := lt.breakTime.Load(); t > 0 {
		return t - 1
	}
	return DefaultLeaseBreakTime
}

func (lt *leaseTable) get(k lockKey) *leaseFile {
	if lt.files == nil {
		lt.files = make(map[lockKey]*leaseFile)
	}
	lf := lt.files[k]
	if lf == nil {
		lf = &leaseFile{leases: make(map[*File]*lease), changed: make(chan struct{})}
		lt.files[k] = lf
	}
	return lf
}

// changedLocked wakes the openers waiting on lf and drops it when empty.
func (lt *leaseTable) changedLocked(k lockKey, lf *leaseFile) {
	close(lf.changed)
	lf.changed = make(chan struct{})
	if lf.readers == 0 && lf.writers == 0 && len(lf.leases) == 0 {
		delete(lt.files, k)
	}
}

// countOpen records f, a regular file just opened, in its file's counts;
// File.DecRef takes it out again (leaseTable.release).
func (lt *leaseTable) countOpen(f *File, k lockKey) {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lf := lt.get(k)
	if f.writable() {
		lf.writers++
	} else {
		lf.readers++
	}
	f.leaseKey, f.counted = k, true
}

// release takes f, whose last reference went, out of its file's counts
// and drops its lease.
func (lt *leaseTable) release(f *File) {
	if !f.counted {
		return
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lf := lt.files[f.leaseKey]
	if lf == nil {
		return
	}
	if f.writable() {
		lf.writers--
	} else {
		lf.readers--
	}
	delete(lf.leases, f)
	lt.changedLocked(f.leaseKey, lf)
}

// SetLease implements F_SETLEASE on f, a regular file: typ is ReadLock,
// WriteLock or UnlockType; notify tells the holder when a break begins.
// EAGAIN when the file's other opens (or its own writing) forbid the
// lease, or when there is none to remove; the caller checked ownership
// (EACCES) and the file type (EINVAL).
func (f *File) SetLease(typ int16, notify func()) error {
	if f.v == nil || !f.counted {
		return unix.EINVAL
	}
	lt := &f.v.leases
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lf := lt.get(f.leaseKey)
	defer lt.changedLocked(f.leaseKey, lf)
	own := lf.leases[f]
	switch typ {
	case UnlockType:
		if own == nil {
			return unix.EAGAIN
		}
		delete(lf.leases, f)
		return nil
	case ReadLock:
		if lf.writers > 0 {
			return unix.EAGAIN
		}
	case WriteLock:
		selfW, selfR := 0, 0
		if f.writable() {
			selfW = 1
		} else {
			selfR = 1
		}
		if lf.writers != selfW || lf.readers != selfR || own != nil && own.breaking {
			return unix.EAGAIN
		}
	default:
		return unix.EINVAL
	}
	for g, l := range lf.leases {
		if g != f && (typ == WriteLock || l.typ == WriteLock || l.breaking) {
			return unix.EAGAIN
		}
	}
	if own != nil && own.breaking && typ == ReadLock && own.target == ReadLock {
		// The holder downgrades as the break asks: done.
		own.breaking = false
	}
	if own == nil {
		own = &lease{}
		lf.leases[f] = own
	}
	own.typ, own.notify = typ, notify
	return nil
}

// GetLease implements F_GETLEASE: the lease f holds (UnlockType if none),
// or, while it is being broken, what it is being broken to.
func (f *File) GetLease() int16 {
	if f.v == nil || !f.counted {
		return UnlockType
	}
	lt := &f.v.leases
	lt.mu.Lock()
	defer lt.mu.Unlock()
	lf := lt.files[f.leaseKey]
	if lf == nil || lf.leases[f] == nil {
		return UnlockType
	}
	if l := lf.leases[f]; l.breaking {
		return l.target
	}
	return lf.leases[f].typ
}

// breakForTruncate breaks the leases on file k for truncate(2), counted
// meanwhile as a writer of the file, as vfs_truncate holds write access
// while it breaks them (so a holder cannot downgrade to a read lease).
func (lt *leaseTable) breakForTruncate(ctx context.Context, k lockKey) error {
	lt.mu.Lock()
	if lt.files[k] == nil {
		lt.mu.Unlock()
		return nil
	}
	lt.get(k).writers++
	lt.mu.Unlock()
	defer func() {
		lt.mu.Lock()
		lf := lt.get(k)
		lf.writers--
		lt.changedLocked(k, lf)
		lt.mu.Unlock()
	}()
	return lt.breakLeases(ctx, k, nil, true, false)
}

// breakLeases breaks the leases on file k that an open by opener (nil for
// a truncate) conflicts with: any lease if it writes, write leases if it
// only reads. It waits until none conflicts, or fails with EWOULDBLOCK
// (nonblock) or EINTR (ctx done).
func (lt *leaseTable) breakLeases(ctx context.Context, k lockKey, opener *File, write, nonblock bool) error {
	lt.mu.Lock()
	defer lt.mu.Unlock()
	if lt.files[k] == nil {
		return nil
	}
	target := int16(ReadLock)
	if write {
		target = UnlockType
	}
	breakTime := time.Duration(lt.breakSeconds()) * time.Second
	var notify []func()
	for {
		lf := lt.files[k]
		if lf == nil {
			return nil
		}
		var next time.Time
		now := time.Now()
		conflicting := false
		for g, l := range lf.leases {
			if g == opener || !(write || l.typ == WriteLock) {
				continue
			}
			if !l.breaking {
				l.breaking, l.target, l.deadline = true, target, now.Add(breakTime)
				notify = append(notify, l.notify)
			} else if target == UnlockType {
				l.target = UnlockType // a writer needs it gone, not downgraded
			}
			if !now.Before(l.deadline) {
				// The holder kept it too long: taken, as lease_break_time says.
				if l.target == UnlockType {
					delete(lf.leases, g)
				} else {
					l.typ, l.breaking = ReadLock, false
				}
				continue
			}
			conflicting = true
			if next.IsZero() || l.deadline.Before(next) {
				next = l.deadline
			}
		}
		if len(notify) > 0 {
			lt.mu.Unlock()
			for _, n := range notify {
				if n != nil {
					n()
				}
			}
			notify = nil
			lt.mu.Lock()
			continue
		}
		if !conflicting {
			return nil
		}
		if nonblock {
			return unix.EWOULDBLOCK
		}
		ch := lf.changed
		lt.mu.Unlock()
		timer := time.NewTimer(time.Until(next))
		var err error
		select {
		case <-ch:
		case <-timer.C:
		case <-Interrupt(ctx):
			err = unix.EINTR
		}
		timer.Stop()
		lt.mu.Lock()
		if err != nil {
			return err
		}
	}
}
