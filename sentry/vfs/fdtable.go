package vfs

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// DefaultFDLimit is RLIMIT_NOFILE's usual soft limit.
const DefaultFDLimit = 1024

// MaxFDs bounds a table's limit whatever RLIMIT_NOFILE says: a table is
// a slice as long as its highest descriptor, which the application
// chooses (dup2), so a limit up to nr_open's largest (2^31-64) would let
// one process make the sentry allocate 32 GiB. It is Linux's default
// nr_open, 1024*1024.
const MaxFDs = 1 << 20

// FDTable is a process's descriptor table. Threads created with
// CLONE_FILES share one; fork copies it (Fork).
type FDTable struct {
	// mu guards the descriptors and the limit; files a change drops are
	// released after it is unlocked.
	mu    sync.Mutex
	fds   []fdEntry    // guarded by mu
	limit int          // guarded by mu
	users atomic.Int32 // tasks sharing the table, less one
}

type fdEntry struct {
	f       *File
	cloexec bool
}

// NewFDTable returns an empty table with the default limit.
func NewFDTable() *FDTable { return &FDTable{limit: DefaultFDLimit} }

// SetLimit sets the number of descriptors the table may hold
// (RLIMIT_NOFILE), at most MaxFDs; existing descriptors above it stay.
func (t *FDTable) SetLimit(n uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.limit = int(min(n, MaxFDs))
}

// Get returns the file at fd with a new reference, or EBADF.
func (t *FDTable) Get(fd int32) (*File, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.fds) || t.fds[fd].f == nil {
		return nil, unix.EBADF
	}
	f := t.fds[fd].f
	f.IncRef()
	return f, nil
}

// CloseOnExecFlag reports fd's FD_CLOEXEC flag.
func (t *FDTable) CloseOnExecFlag(fd int32) (bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.fds) || t.fds[fd].f == nil {
		return false, unix.EBADF
	}
	return t.fds[fd].cloexec, nil
}

// SetCloexec sets or clears fd's FD_CLOEXEC flag.
func (t *FDTable) SetCloexec(fd int32, on bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= len(t.fds) || t.fds[fd].f == nil {
		return unix.EBADF
	}
	t.fds[fd].cloexec = on
	return nil
}

// Install puts f at the lowest free descriptor >= min and returns it; the
// table takes its own reference. EMFILE when none is free below the
// limit, EINVAL for a min beyond it (fcntl F_DUPFD's rules).
func (t *FDTable) Install(f *File, min int, cloexec bool) (int32, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if min < 0 || min >= t.limit {
		return 0, unix.EINVAL
	}
	fd := min
	for fd < len(t.fds) && t.fds[fd].f != nil {
		fd++
	}
	if fd >= t.limit {
		return 0, unix.EMFILE
	}
	t.put(fd, f, cloexec)
	return int32(fd), nil
}

// Room reports EMFILE when no descriptor is free below the limit, for
// the syscalls that, as Linux, take a descriptor number before they make
// what it will name (mq_open must not create a queue it cannot return).
// Another thread may take the last one meanwhile; Install then fails.
func (t *FDTable) Room() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for fd := 0; fd < t.limit; fd++ {
		if fd >= len(t.fds) || t.fds[fd].f == nil {
			return nil
		}
	}
	return unix.EMFILE
}

// put stores f at fd, growing the table; t.mu is held.
func (t *FDTable) put(fd int, f *File, cloexec bool) {
	for fd >= len(t.fds) {
		t.fds = append(t.fds, fdEntry{})
	}
	f.IncRef()
	t.fds[fd] = fdEntry{f: f, cloexec: cloexec}
}

// take removes fd and returns its file (nil if none); t.mu is held.
func (t *FDTable) take(fd int) *File {
	if fd < 0 || fd >= len(t.fds) {
		return nil
	}
	f := t.fds[fd].f
	t.fds[fd] = fdEntry{}
	return f
}

// closeFile drops the table's reference after releasing the process's
// POSIX locks on the file and the table's F_NOTIFY requests on it, which
// any close does.
func (t *FDTable) closeFile(f *File) {
	if f.v != nil {
		f.v.locks.releaseOwner(f, t)
		f.v.dnotifyFlush(f, t)
	}
	f.DecRef()
}

// Close closes fd.
func (t *FDTable) Close(fd int32) error {
	t.mu.Lock()
	f := t.take(int(fd))
	t.mu.Unlock()
	if f == nil {
		return unix.EBADF
	}
	t.closeFile(f)
	return nil
}

// Dup implements dup(2).
func (t *FDTable) Dup(fd int32) (int32, error) {
	f, err := t.Get(fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	nfd, err := t.Install(f, 0, false)
	if err == unix.EINVAL {
		err = unix.EMFILE
	}
	return nfd, err
}

// Dup3 implements dup3(2) (and dup2(2) when dup2 is set: equal
// descriptors are then allowed and cloexec is false). As ksys_dup3, dup3
// refuses equal descriptors (EINVAL) before it looks at them.
func (t *FDTable) Dup3(oldfd, newfd int32, cloexec, dup2 bool) (int32, error) {
	if oldfd == newfd && !dup2 {
		return 0, unix.EINVAL
	}
	t.mu.Lock()
	if oldfd < 0 || int(oldfd) >= len(t.fds) || t.fds[oldfd].f == nil {
		t.mu.Unlock()
		return 0, unix.EBADF
	}
	if oldfd == newfd {
		t.mu.Unlock()
		return newfd, nil
	}
	if newfd < 0 || int(newfd) >= t.limit {
		t.mu.Unlock()
		return 0, unix.EBADF
	}
	t.replaceLocked(t.fds[oldfd].f, newfd, cloexec)
	return newfd, nil
}

// replaceLocked puts f at fd, within the limit, and closes what was
// there; t.mu is held, and released.
func (t *FDTable) replaceLocked(f *File, fd int32, cloexec bool) {
	old := t.take(int(fd))
	t.put(int(fd), f, cloexec)
	t.mu.Unlock()
	if old != nil {
		t.closeFile(old)
	}
}

// InstallAt puts f at fd (Linux's replace_fd, for another process's
// table: seccomp's SECCOMP_ADDFD_FLAG_SETFD); the table takes its own
// reference. What was there is closed by the returned function, which
// the caller calls once it holds no lock (a close may release any file).
// EBADF for an fd beyond the limit.
func (t *FDTable) InstallAt(f *File, fd int32, cloexec bool) (closeOld func(), err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if fd < 0 || int(fd) >= t.limit {
		return nil, unix.EBADF
	}
	old := t.take(int(fd))
	t.put(int(fd), f, cloexec)
	return func() {
		if old != nil {
			t.closeFile(old)
		}
	}, nil
}

// CloseRange implements close_range(2) for first <= fd <= last: it closes
// them, or only marks them close-on-exec when cloexec is set.
func (t *FDTable) CloseRange(first, last uint32, cloexec bool) {
	t.mu.Lock()
	var closed []*File
	for fd := int(first); fd < len(t.fds) && uint32(fd) <= last; fd++ {
		if t.fds[fd].f == nil {
			continue
		}
		if cloexec {
			t.fds[fd].cloexec = true
			continue
		}
		closed = append(closed, t.take(fd))
	}
	t.mu.Unlock()
	for _, f := range closed {
		t.closeFile(f)
	}
}

// Fork returns a copy of the table sharing the open files (fork(2)).
func (t *FDTable) Fork() *FDTable {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := &FDTable{limit: t.limit, fds: make([]fdEntry, len(t.fds))}
	for fd, e := range t.fds {
		if e.f != nil {
			e.f.IncRef()
			c.fds[fd] = e
		}
	}
	return c
}

// CloseOnExec closes every descriptor marked close-on-exec (execve(2)).
func (t *FDTable) CloseOnExec() {
	t.mu.Lock()
	var closed []*File
	for fd, e := range t.fds {
		if e.f != nil && e.cloexec {
			closed = append(closed, t.take(fd))
		}
	}
	t.mu.Unlock()
	for _, f := range closed {
		t.closeFile(f)
	}
}

// Release closes every descriptor.
func (t *FDTable) Release() {
	t.CloseRange(0, ^uint32(0), false)
}

// IncUsers records another task sharing the table (CLONE_FILES).
func (t *FDTable) IncUsers() { t.users.Add(1) }

// DecUsers drops a task's use; the last one releases the table.
func (t *FDTable) DecUsers() {
	if t.users.Add(-1) < 0 {
		t.Release()
	}
}

// Count returns the number of open descriptors.
func (t *FDTable) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.fds {
		if e.f != nil {
			n++
		}
	}
	return n
}

// FDs returns the open descriptors in increasing order (for /proc/pid/fd).
func (t *FDTable) FDs() []int32 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var fds []int32
	for fd, e := range t.fds {
		if e.f != nil {
			fds = append(fds, int32(fd))
		}
	}
	return fds
}

// Shared reports whether more than one task uses the table.
func (t *FDTable) Shared() bool { return t.users.Load() > 0 }
