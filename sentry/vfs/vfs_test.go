package vfs

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// fakeInode is a regular file with a fixed identity.
type fakeInode struct{ ino uint64 }

func (i *fakeInode) Stat(ctx context.Context) (unix.Stat_t, error) {
	return unix.Stat_t{Ino: i.ino, Dev: 1, Mode: unix.S_IFREG | 0o644, Nlink: 1}, nil
}

func (i *fakeInode) Open(ctx context.Context, flags int) (FileImpl, error) { return nopImpl{}, nil }

type nopImpl struct{}

func (nopImpl) ReadAt(ctx context.Context, p []byte, off int64) (int, error)  { return 0, nil }
func (nopImpl) WriteAt(ctx context.Context, p []byte, off int64) (int, error) { return len(p), nil }
func (nopImpl) Release()                                                      {}

// fakeFS is a filesystem whose root is a file (enough for locks).
type fakeFS struct{ root Inode }

func (f fakeFS) Root() Inode                                       { return f.root }
func (f fakeFS) Statfs(ctx context.Context) (unix.Statfs_t, error) { return unix.Statfs_t{}, nil }

func newFile(v *VFS, ino uint64) *File {
	i := &fakeInode{ino}
	return NewFile(v, nil, i, nopImpl{}, unix.O_RDWR)
}

func TestFDTable(t *testing.T) {
	v := New(fakeFS{&fakeInode{1}})
	tab := NewFDTable()
	f := newFile(v, 7)
	defer f.DecRef()
	for want := int32(0); want < 3; want++ {
		if fd, err := tab.Install(f, 0, false); fd != want || err != nil {
			t.Fatalf("Install = %d, %v; want %d", fd, err, want)
		}
	}
	if fd, _ := tab.Install(f, 10, true); fd != 10 {
		t.Errorf("Install(min 10) = %d", fd)
	}
	if on, _ := tab.CloseOnExecFlag(10); !on {
		t.Error("cloexec lost")
	}
	if err := tab.Close(1); err != nil {
		t.Fatal(err)
	}
	if err := tab.Close(1); err != unix.EBADF {
		t.Errorf("double close: %v", err)
	}
	if fd, _ := tab.Dup(0); fd != 1 {
		t.Errorf("dup reuses the lowest: %d", fd)
	}
	if fd, err := tab.Dup3(0, 0, false, true); fd != 0 || err != nil {
		t.Errorf("dup2(0, 0) = %d, %v", fd, err)
	}
	if _, err := tab.Dup3(0, 0, false, false); err != unix.EINVAL {
		t.Errorf("dup3(0, 0) = %v", err)
	}
	if _, err := tab.Dup3(5, 6, false, true); err != unix.EBADF {
		t.Errorf("dup2 of a closed fd: %v", err)
	}
	if _, err := tab.Dup3(0, 5000, false, true); err != unix.EBADF {
		t.Errorf("dup2 beyond the limit: %v", err)
	}
	if fd, _ := tab.Dup3(0, 20, true, false); fd != 20 {
		t.Errorf("dup3 to 20: %d", fd)
	}
	child := tab.Fork()
	tab.CloseOnExec()
	if _, err := tab.Get(10); err != unix.EBADF {
		t.Error("close-on-exec fd survived exec")
	}
	if g, err := child.Get(10); err != nil {
		t.Error("fork shares closes")
	} else {
		g.DecRef()
	}
	child.CloseRange(0, 15, true)
	if on, _ := child.CloseOnExecFlag(2); !on {
		t.Error("CLOSE_RANGE_CLOEXEC did not mark 2")
	}
	child.CloseRange(3, ^uint32(0), false)
	if got := child.FDs(); len(got) != 3 {
		t.Errorf("after close_range: %v", got)
	}
	child.Release()
	tab.Release()
	if f.refs.Load() != 1 {
		t.Errorf("references leaked: %d", f.refs.Load())
	}
	small := NewFDTable()
	small.SetLimit(2)
	small.Install(f, 0, false)
	small.Install(f, 0, false)
	if _, err := small.Install(f, 0, false); err != unix.EMFILE {
		t.Errorf("beyond RLIMIT_NOFILE: %v", err)
	}
	small.Release()
}

func TestRecordLocks(t *testing.T) {
	ctx := context.Background()
	v := New(fakeFS{&fakeInode{1}})
	a, b := NewFDTable(), NewFDTable() // two processes
	fa, fb := newFile(v, 9), newFile(v, 9)
	defer fa.DecRef()
	defer fb.DecRef()
	if err := fa.SetLock(ctx, a, 100, WriteLock, Range{0, 99}, false); err != nil {
		t.Fatal(err)
	}
	if err := fb.SetLock(ctx, b, 200, ReadLock, Range{50, 60}, false); err != unix.EAGAIN {
		t.Errorf("conflicting lock: %v", err)
	}
	if err := fb.SetLock(ctx, b, 200, WriteLock, Range{100, LockEOF}, false); err != nil {
		t.Errorf("adjacent lock: %v", err)
	}
	info, _ := fb.TestLock(ctx, b, ReadLock, Range{10, 10})
	if info.Type != WriteLock || info.PID != 100 || info.Range != (Range{0, 99}) {
		t.Errorf("F_GETLK = %+v", info)
	}
	// Unlocking the middle splits the lock.
	fa.SetLock(ctx, a, 100, UnlockType, Range{40, 59}, false)
	if err := fb.SetLock(ctx, b, 200, ReadLock, Range{45, 50}, false); err != nil {
		t.Errorf("lock in the hole: %v", err)
	}
	if info, _ := fb.TestLock(ctx, b, WriteLock, Range{60, 60}); info.Range != (Range{60, 99}) {
		t.Errorf("right part = %+v", info)
	}
	// Blocking wait, woken by the holder's close (close drops POSIX locks).
	done := make(chan error)
	go func() { done <- fb.SetLock(ctx, b, 200, WriteLock, Range{0, 10}, true) }()
	select {
	case err := <-done:
		t.Fatalf("F_SETLKW did not wait: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	fd, _ := a.Install(fa, 0, false)
	a.Close(fd)
	if err := <-done; err != nil {
		t.Errorf("F_SETLKW after release: %v", err)
	}
	// Deadlock: a waits for b's lock while b waits for a's.
	if err := fa.SetLock(ctx, a, 100, WriteLock, Range{70, 70}, false); err != nil {
		t.Fatal(err)
	}
	go func() { done <- fa.SetLock(ctx, a, 100, WriteLock, Range{0, 0}, true) }()
	time.Sleep(20 * time.Millisecond)
	if err := fb.SetLock(ctx, b, 200, WriteLock, Range{70, 70}, true); err != unix.EDEADLK {
		t.Errorf("deadlock: %v", err)
	}
	fb.SetLock(ctx, b, 200, UnlockType, Range{0, LockEOF}, false)
	if err := <-done; err != nil {
		t.Error(err)
	}
	ro := NewFile(v, nil, &fakeInode{9}, nopImpl{}, unix.O_RDONLY)
	defer ro.DecRef()
	if err := ro.SetLock(ctx, b, 1, WriteLock, Range{0, 0}, false); err != unix.EBADF {
		t.Errorf("write lock on a read-only file: %v", err)
	}
}

func TestFlockAndOFD(t *testing.T) {
	ctx := context.Background()
	v := New(fakeFS{&fakeInode{1}})
	f1, f2 := newFile(v, 5), newFile(v, 5)
	if err := f1.Flock(ctx, unix.LOCK_SH); err != nil {
		t.Fatal(err)
	}
	if err := f2.Flock(ctx, unix.LOCK_SH|unix.LOCK_NB); err != nil {
		t.Errorf("two shared flocks: %v", err)
	}
	if err := f2.Flock(ctx, unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		t.Errorf("exclusive against shared: %v", err)
	}
	f1.DecRef() // the last reference drops its flock
	if err := f2.Flock(ctx, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Errorf("after the holder closed: %v", err)
	}
	f3 := newFile(v, 5)
	defer f3.DecRef()
	if err := f3.SetLock(ctx, f3, -1, WriteLock, Range{0, LockEOF}, false); err != nil {
		t.Errorf("OFD lock alongside flock: %v", err)
	}
	if err := f2.SetLock(ctx, f2, -1, ReadLock, Range{5, 5}, false); err != unix.EAGAIN {
		t.Errorf("OFD conflict between descriptions: %v", err)
	}
	f2.DecRef()
}
