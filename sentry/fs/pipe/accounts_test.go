package pipe

import (
	"context"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// pairOf makes a pipe as c, closed at the end of the test.
func pairOf(t *testing.T, c Caller) (*Pipe, error) {
	t.Helper()
	r, w, err := NewPair(c, vfs.Creds{}, 0)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { r.DecRef(); w.DecRef() })
	p, _ := FromFile(r)
	return p, nil
}

// TestSoftLimit: a user over pipe-user-pages-soft gets pipes of
// PIPE_MIN_DEF_BUFFERS pages and may not grow one; a privileged one is
// not limited; closing pipes gives their pages back.
func TestSoftLimit(t *testing.T) {
	a := NewAccounts()
	a.SetUserPagesSoft(4 * defBuffers)
	u := Caller{Accounts: a, UID: 1000}
	var ps []*Pipe
	for i := 0; i < 4; i++ {
		p, err := pairOf(t, u)
		if err != nil || p.Size() != DefaultSize {
			t.Fatalf("pipe %d under the soft limit: %v, size %d", i, err, p.Size())
		}
		ps = append(ps, p)
	}
	if got := a.UserPages(1000); got != 4*defBuffers {
		t.Fatalf("user pages = %d, want %d", got, 4*defBuffers)
	}
	small, err := pairOf(t, u)
	if err != nil || small.Size() != minDefBuffers*PageSize {
		t.Fatalf("pipe over the soft limit: %v, size %d, want %d", err, small.Size(), minDefBuffers*PageSize)
	}
	if _, err := small.SetSize(DefaultSize, u); err != unix.EPERM {
		t.Errorf("growth over the soft limit: %v, want EPERM", err)
	}
	if n, err := small.SetSize(PageSize, u); n != PageSize || err != nil {
		t.Errorf("shrinking over the soft limit: %d, %v", n, err)
	}
	for _, priv := range []Caller{{Accounts: a, UID: 1000, Resource: true}, {Accounts: a, UID: 1000, Admin: true}} {
		if n, err := small.SetSize(DefaultSize, priv); n != DefaultSize || err != nil {
			t.Errorf("growth by %+v: %d, %v", priv, n, err)
		}
		small.SetSize(PageSize, priv)
		if p, err := pairOf(t, priv); err != nil || p.Size() != DefaultSize {
			t.Errorf("pipe of %+v over the soft limit: %v", priv, err)
		}
	}
	other, err := pairOf(t, Caller{Accounts: a, UID: 1001})
	if err != nil || other.Size() != DefaultSize {
		t.Errorf("another user's pipe: %v, size %d", err, other.Size())
	}
	before := a.UserPages(1000)
	r, w, _ := NewPair(u, vfs.Creds{}, 0)
	if a.UserPages(1000) != before+minDefBuffers {
		t.Errorf("user pages %d after a pipe, want %d", a.UserPages(1000), before+minDefBuffers)
	}
	r.DecRef()
	w.DecRef()
	if a.UserPages(1000) != before {
		t.Errorf("user pages %d after closing it, want %d", a.UserPages(1000), before)
	}
}

// TestHardLimit: over pipe-user-pages-hard an unprivileged user gets no
// pipe (ENFILE) and no FIFO (ENOMEM); the failed attempts hold nothing.
func TestHardLimit(t *testing.T) {
	a := NewAccounts()
	a.SetUserPagesSoft(0)
	a.SetUserPagesHard(2 * defBuffers)
	u := Caller{Accounts: a, UID: 1000}
	p, _ := pairOf(t, u)
	pairOf(t, u)
	if _, err := pairOf(t, u); err != unix.ENFILE {
		t.Fatalf("pipe over the hard limit: %v, want ENFILE", err)
	}
	fifos := NewFIFOs()
	ctx := vfs.WithTask(context.Background(), task{u})
	if _, err := fifos.OpenFIFO(ctx, 1, 2, unix.O_RDWR); err != unix.ENOMEM {
		t.Fatalf("FIFO over the hard limit: %v, want ENOMEM", err)
	}
	if got := a.UserPages(1000); got != 2*defBuffers {
		t.Errorf("user pages = %d, want %d", got, 2*defBuffers)
	}
	if _, err := p.SetSize(2*DefaultSize, u); err != unix.EPERM {
		t.Errorf("growth over the hard limit: %v, want EPERM", err)
	}
	if _, err := pairOf(t, Caller{Accounts: a, UID: 1000, Resource: true}); err != nil {
		t.Errorf("privileged pipe over the hard limit: %v", err)
	}
	if _, err := fifos.OpenFIFO(context.Background(), 1, 2, unix.O_RDWR); err != unix.EPERM {
		t.Errorf("FIFO open without a task: %v, want EPERM", err)
	}
}

// TestMaxSize: pipe-max-size rounds as F_SETPIPE_SZ does, bounds
// unprivileged growth, and below 16 pages makes new pipes smaller for
// callers without CAP_SYS_RESOURCE.
func TestMaxSize(t *testing.T) {
	a := NewAccounts()
	for _, c := range []struct {
		set  uint64
		want uint32
	}{{0, PageSize}, {5000, 2 * PageSize}, {1 << 31, 1 << 31}, {MaxUserSize, MaxUserSize}} {
		if err := a.SetMaxSize(c.set); err != nil || a.MaxSize() != c.want {
			t.Errorf("SetMaxSize(%d): %v, %d, want %d", c.set, err, a.MaxSize(), c.want)
		}
	}
	if err := a.SetMaxSize(1<<31 + 1); err != unix.EINVAL || a.MaxSize() != MaxUserSize {
		t.Errorf("SetMaxSize(2^31+1): %v, %d", err, a.MaxSize())
	}
	a.SetMaxSize(2 * PageSize)
	u := Caller{Accounts: a, UID: 1000}
	if p, _ := pairOf(t, u); p.Size() != 2*PageSize {
		t.Errorf("pipe under a pipe-max-size of 2 pages: %d", p.Size())
	}
	p, _ := pairOf(t, Caller{Accounts: a, UID: 1000, Resource: true})
	if p.Size() != DefaultSize {
		t.Errorf("privileged pipe under a pipe-max-size of 2 pages: %d", p.Size())
	}
	if n, err := p.SetSize(8*PageSize, u); n != 8*PageSize || err != nil {
		t.Errorf("shrinking above pipe-max-size: %d, %v", n, err)
	}
	if _, err := p.SetSize(DefaultSize, u); err != unix.EPERM {
		t.Errorf("growth above pipe-max-size: %v, want EPERM", err)
	}
}
