package aio

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newLive(t *testing.T, tb *Table, nr uint32) *Context {
	t.Helper()
	c, err := tb.Setup(nr, 1)
	if err != nil {
		t.Fatalf("Setup(%d): %v", nr, err)
	}
	if err := tb.Install(c, 0x10000); err != nil {
		t.Fatalf("Install: %v", err)
	}
	return c
}

// TestLimits checks aio-nr's accounting and aio-max-nr's refusals.
func TestLimits(t *testing.T) {
	l := NewLimits()
	tb := NewTable(l, nil)
	if _, err := tb.Setup(DefaultMaxNR+1, 1); err != unix.EAGAIN {
		t.Errorf("Setup past aio-max-nr: %v, want EAGAIN", err)
	}
	if _, err := tb.Setup(0xffffffff, 1); err != unix.EINVAL {
		t.Errorf("Setup(-1): %v, want EINVAL", err)
	}
	c := newLive(t, tb, 100)
	if l.NR() != 100 {
		t.Errorf("aio-nr %d, want 100", l.NR())
	}
	l.SetMax(150)
	if _, err := tb.Setup(60, 1); err != unix.EAGAIN {
		t.Errorf("Setup past what is left: %v, want EAGAIN", err)
	}
	if _, _, err := tb.Destroy(c); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tb.Destroy(c); err != unix.EINVAL {
		t.Errorf("second Destroy: %v, want EINVAL", err)
	}
	if l.NR() != 0 {
		t.Errorf("aio-nr %d after Destroy, want 0", l.NR())
	}
}

// TestHostileRing scribbles over the ring's header as the application
// may, and checks that every read is bounded and that slots still run
// out at nr-1.
func TestHostileRing(t *testing.T) {
	tb := NewTable(NewLimits(), nil)
	c := newLive(t, tb, 1)
	if _, ok := tb.Lookup(0x10000, 1); ok {
		t.Error("Lookup with a forged id found a context")
	}
	if _, ok := tb.Lookup(0x20000, 0); ok {
		t.Error("Lookup at another address found a context")
	}
	n := 0
	for c.Begin() == nil {
		c.Complete(Request{Obj: uint64(n)}, 0)
		n++
		if n > int(c.nr) {
			t.Fatal("Begin never ran out of slots")
		}
	}
	if n != int(c.nr)-1 {
		t.Errorf("%d slots, want nr-1 = %d", n, c.nr-1)
	}
	copied := 0
	out := func(i int, b []byte) error {
		copied += len(b) / eventSize
		return nil
	}
	for _, ht := range [][2]uint32{{0xffffffff, 0x7fffffff}, {5, 4}, {c.nr, 0}, {0, c.nr * 3}} {
		c.writeU32(ringHeadOffset, ht[0])
		c.writeU32(ringTailOffset, ht[1])
		copied = 0
		got, err := c.GetEvents(0, 1<<30, 0, nil, out)
		if err != nil || got < 0 || got >= int(c.nr) || got != copied {
			t.Errorf("head %#x tail %#x: %d events (%d copied), %v; want fewer than nr", ht[0], ht[1], got, copied, err)
		}
		if err := c.Begin(); err == nil {
			c.Abort()
		}
	}
}

// TestDestroyWakesWaiters checks that a destroyed context wakes its
// waiters with EINVAL.
func TestDestroyWakesWaiters(t *testing.T) {
	tb := NewTable(NewLimits(), nil)
	c := newLive(t, tb, 4)
	done := make(chan error, 1)
	go func() {
		_, err := c.GetEvents(1, 1, -1, nil, func(int, []byte) error { return nil })
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	tb.Destroy(c)
	select {
	case err := <-done:
		if err != unix.EINVAL {
			t.Errorf("waiter: %v, want EINVAL", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter was not woken by Destroy")
	}
}
