package vfs

import (
	"context"
	"math"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// Lock types (F_RDLCK, F_WRLCK, F_UNLCK).
const (
	ReadLock   = unix.F_RDLCK
	WriteLock  = unix.F_WRLCK
	UnlockType = unix.F_UNLCK
)

// LockEOF is the end of a lock that reaches the end of the file.
const LockEOF = math.MaxInt64

// Range is a byte range [Start, End] (End inclusive; LockEOF for "to the
// end").
type Range struct{ Start, End int64 }

func (r Range) overlaps(o Range) bool { return r.Start <= o.End && o.Start <= r.End }

// LockInfo describes a lock that blocks another (F_GETLK).
type LockInfo struct {
	Type  int16
	Range Range
	PID   int32 // -1 for OFD locks
}

type lockKey struct{ dev, ino uint64 }

// record is one record lock. Its owner is an *FDTable for classic POSIX
// locks (process-associated) or a *File for OFD locks.
type record struct {
	owner any
	pid   int32
	typ   int16
	r     Range
}

// fileLocks are the locks on one file, guarded by the lock table's mu.
type fileLocks struct {
	records []record
	flocks  map[*File]int16
	changed chan struct{} // closed and replaced whenever a lock goes
}

// lockTable holds every lock of the sandbox.
type lockTable struct {
	// mu guards the table, every fileLocks in it and waitFor; a waiter
	// releases it while it waits.
	mu      sync.Mutex
	files   map[lockKey]*fileLocks // guarded by mu
	waitFor map[any]any            // blocked owner -> owner it waits for (deadlock detection); guarded by mu
}

func (lt *lockTable) get(k lockKey) *fileLocks {
	fl := lt.files[k]
	if fl == nil {
		fl = &fileLocks{flocks: make(map[*File]int16), changed: make(chan struct{})}
		lt.files[k] = fl
	}
	return fl
}

// wake tells waiters something changed and drops fl if empty; lt.mu held.
func (lt *lockTable) wake(k lockKey, fl *fileLocks) {
	close(fl.changed)
	fl.changed = make(chan struct{})
	if len(fl.records) == 0 && len(fl.flocks) == 0 {
		delete(lt.files, k)
	}
}

func conflicts(a, b int16) bool { return a == WriteLock || b == WriteLock }

// blocker returns a record of another owner that conflicts with typ on r.
func (fl *fileLocks) blocker(owner any, typ int16, r Range) *record {
	for i := range fl.records {
		o := &fl.records[i]
		if o.owner != owner && o.r.overlaps(r) && conflicts(o.typ, typ) {
			return o
		}
	}
	return nil
}

// set replaces owner's locks on r with typ (UnlockType removes them),
// splitting and merging as fcntl does.
func (fl *fileLocks) set(owner any, pid int32, typ int16, r Range) {
	var out []record
	for _, o := range fl.records {
		if o.owner != owner || !o.r.overlaps(r) {
			out = append(out, o)
			continue
		}
		if o.r.Start < r.Start {
			left := o
			left.r.End = r.Start - 1
			out = append(out, left)
		}
		if o.r.End > r.End {
			right := o
			right.r.Start = r.End + 1
			out = append(out, right)
		}
	}
	if typ != UnlockType {
		n := record{owner: owner, pid: pid, typ: typ, r: r}
		var merged []record
		for _, o := range out {
			adjacent := o.r.End != LockEOF && o.r.End+1 == n.r.Start || n.r.End != LockEOF && n.r.End+1 == o.r.Start
			if o.owner == owner && o.typ == typ && adjacent {
				n.r.Start = min(n.r.Start, o.r.Start)
				n.r.End = max(n.r.End, o.r.End)
				continue
			}
			merged = append(merged, o)
		}
		out = append(merged, n)
	}
	fl.records = linuxOrder(fl.records, out)
}

// linuxOrder orders records as Linux keeps an inode's POSIX locks, which
// F_GETLK shows (it reports the first conflicting lock): grouped by
// owner, the owners in the order they had locks in before (prev; a new
// owner last), each owner's locks by start.
func linuxOrder(prev, records []record) []record {
	rank := map[any]int{}
	for _, o := range append(prev[:len(prev):len(prev)], records...) {
		if _, ok := rank[o.owner]; !ok {
			rank[o.owner] = len(rank)
		}
	}
	sort.SliceStable(records, func(i, j int) bool {
		a, b := records[i], records[j]
		if rank[a.owner] != rank[b.owner] {
			return rank[a.owner] < rank[b.owner]
		}
		return a.r.Start < b.r.Start
	})
	return records
}

func (f *File) lockKey(ctx context.Context) (lockKey, error) {
	st, err := f.inode.Stat(ctx)
	if err != nil {
		return lockKey{}, err
	}
	return lockKey{st.Dev, st.Ino}, nil
}

// checkLockMode fails with EBADF when the file's access mode does not
// allow typ.
func (f *File) checkLockMode(typ int16) error {
	switch typ {
	case ReadLock:
		if !f.readable() {
			return unix.EBADF
		}
	case WriteLock:
		if !f.writable() {
			return unix.EBADF
		}
	case UnlockType:
	default:
		return unix.EINVAL
	}
	return nil
}

// LockOwner returns the owner for a lock request: the descriptor table
// (the process) for classic POSIX locks, the file itself for OFD locks.
func (f *File) LockOwner(fds *FDTable, ofd bool) any {
	if ofd {
		return f
	}
	return fds
}

// SetLock implements F_SETLK/F_SETLKW (and their OFD forms) on r: EAGAIN
// when blocked and not waiting, EDEADLK when waiting would deadlock.
func (f *File) SetLock(ctx context.Context, owner any, pid int32, typ int16, r Range, wait bool) error {
	if f.v == nil {
		return unix.EINVAL
	}
	if err := f.checkLockMode(typ); err != nil {
		return err
	}
	k, err := f.lockKey(ctx)
	if err != nil {
		return err
	}
	lt := &f.v.locks
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for {
		fl := lt.get(k)
		b := fl.blocker(owner, typ, r)
		if typ == UnlockType || b == nil {
			fl.set(owner, pid, typ, r)
			lt.wake(k, fl)
			return nil
		}
		if !wait {
			if len(fl.records) == 0 && len(fl.flocks) == 0 {
				delete(lt.files, k)
			}
			return unix.EAGAIN
		}
		// OFD locks have no owning process to follow a cycle through:
		// Linux neither checks their waits for deadlock nor lets classic
		// locks' checks pass through them (posix_locks_deadlock).
		waiter := owner
		if _, ofd := owner.(*File); ofd {
			waiter = nil
		} else if lt.wouldDeadlock(owner, b.owner) {
			return unix.EDEADLK
		}
		if err := lt.waitChange(ctx, fl, waiter, b.owner); err != nil {
			return err
		}
	}
}

// wouldDeadlock reports whether owner waiting for holder closes a cycle.
func (lt *lockTable) wouldDeadlock(owner, holder any) bool {
	for i := 0; holder != nil && i < 1024; i++ {
		if holder == owner {
			return true
		}
		holder = lt.waitFor[holder]
	}
	return false
}

// waitChange waits, with lt.mu released, until a lock of fl goes or the
// caller is interrupted (a signal to handle, or death: EINTR).
func (lt *lockTable) waitChange(ctx context.Context, fl *fileLocks, owner, holder any) error {
	if lt.waitFor == nil {
		lt.waitFor = make(map[any]any)
	}
	if owner != nil {
		lt.waitFor[owner] = holder
	}
	ch := fl.changed
	lt.mu.Unlock()
	var err error
	select {
	case <-ch:
	case <-Interrupt(ctx):
		err = unix.EINTR
	}
	lt.mu.Lock()
	delete(lt.waitFor, owner)
	return err
}

// TestLock implements F_GETLK: the first lock that would block typ on r,
// or a LockInfo of type UnlockType.
func (f *File) TestLock(ctx context.Context, owner any, typ int16, r Range) (LockInfo, error) {
	if f.v == nil {
		return LockInfo{}, unix.EINVAL
	}
	if typ != ReadLock && typ != WriteLock {
		return LockInfo{}, unix.EINVAL
	}
	k, err := f.lockKey(ctx)
	if err != nil {
		return LockInfo{}, err
	}
	lt := &f.v.locks
	lt.mu.Lock()
	defer lt.mu.Unlock()
	fl := lt.files[k]
	if fl == nil {
		return LockInfo{Type: UnlockType}, nil
	}
	if b := fl.blocker(owner, typ, r); b != nil {
		return LockInfo{Type: b.typ, Range: b.r, PID: b.pid}, nil
	}
	return LockInfo{Type: UnlockType}, nil
}

// Flock implements flock(2) with LOCK_SH, LOCK_EX, LOCK_UN, optionally
// with LOCK_NB.
func (f *File) Flock(ctx context.Context, op int) error {
	if f.v == nil || f.isPath() {
		return unix.EBADF
	}
	wait := op&unix.LOCK_NB == 0
	var typ int16
	switch op &^ unix.LOCK_NB {
	case unix.LOCK_SH:
		typ = ReadLock
	case unix.LOCK_EX:
		typ = WriteLock
	case unix.LOCK_UN:
		typ = UnlockType
	default:
		return unix.EINVAL
	}
	k, err := f.lockKey(ctx)
	if err != nil {
		return err
	}
	lt := &f.v.locks
	lt.mu.Lock()
	defer lt.mu.Unlock()
	for {
		fl := lt.get(k)
		if typ == UnlockType {
			delete(fl.flocks, f)
			lt.wake(k, fl)
			return nil
		}
		blocked := false
		for o, t := range fl.flocks {
			if o != f && conflicts(t, typ) {
				blocked = true
			}
		}
		if !blocked {
			fl.flocks[f] = typ
			lt.wake(k, fl)
			return nil
		}
		// Converting a lock first drops the old one, as in Linux.
		if _, held := fl.flocks[f]; held {
			delete(fl.flocks, f)
			lt.wake(k, fl)
			fl = lt.get(k)
		}
		if !wait {
			if len(fl.records) == 0 && len(fl.flocks) == 0 {
				delete(lt.files, k)
			}
			return unix.EWOULDBLOCK
		}
		if err := lt.waitChange(ctx, fl, nil, nil); err != nil {
			return err
		}
	}
}

// releaseOwner drops owner's record locks on f's file (close(2) does
// this for the process's POSIX locks).
func (lt *lockTable) releaseOwner(f *File, owner any) {
	lt.mu.Lock()
	empty := len(lt.files) == 0
	lt.mu.Unlock()
	if empty {
		return
	}
	k, err := f.lockKey(context.Background())
	if err != nil {
		return
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	fl := lt.files[k]
	if fl == nil {
		return
	}
	fl.set(owner, 0, UnlockType, Range{0, LockEOF})
	lt.wake(k, fl)
}

// releaseFile drops the flock and OFD locks of a file going away.
func (lt *lockTable) releaseFile(f *File) {
	lt.mu.Lock()
	empty := len(lt.files) == 0
	lt.mu.Unlock()
	if empty {
		return
	}
	k, err := f.lockKey(context.Background())
	if err != nil {
		return
	}
	lt.mu.Lock()
	defer lt.mu.Unlock()
	fl := lt.files[k]
	if fl == nil {
		return
	}
	delete(fl.flocks, f)
	fl.set(f, 0, UnlockType, Range{0, LockEOF})
	lt.wake(k, fl)
}
