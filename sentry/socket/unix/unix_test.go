package unix

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	sys "golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

func pair(t *testing.T, typ int) (*Socket, *Socket, func()) {
	t.Helper()
	a, b := NewPair(context.Background(), NewNamespace(), 0, typ, 0)
	x, _ := FromFile(a)
	y, _ := FromFile(b)
	return x, y, func() { a.DecRef(); b.DecRef() }
}

func TestStreamKeepsOrderAndEnds(t *testing.T) {
	x, y, done := pair(t, sys.SOCK_STREAM)
	defer done()
	ctx := context.Background()
	for _, s := range []string{"ab", "cd", "e"} {
		if n, err := x.Send(ctx, []byte(s), nil, "", false); n != len(s) || err != nil {
			t.Fatalf("Send(%q) = %d, %v", s, n, err)
		}
	}
	buf := make([]byte, 4)
	r, err := y.Recv(buf, false)
	if err != nil || string(buf[:r.N]) != "abcd" {
		t.Fatalf("Recv = %q, %v; want abcd", buf[:r.N], err)
	}
	if err := x.Shutdown(sys.SHUT_WR); err != nil {
		t.Fatal(err)
	}
	r, err = y.Recv(buf, false)
	if err != nil || string(buf[:r.N]) != "e" {
		t.Fatalf("Recv = %q, %v; want e", buf[:r.N], err)
	}
	if r, err = y.Recv(buf, false); r.N != 0 || err != nil {
		t.Fatalf("Recv at end = %d, %v; want 0, nil", r.N, err)
	}
	if _, err := x.Send(ctx, []byte("x"), nil, "", false); err != sys.EPIPE {
		t.Fatalf("Send after SHUT_WR = %v, want EPIPE", err)
	}
}

func TestStreamFillsSendBuffer(t *testing.T) {
	x, y, done := pair(t, sys.SOCK_STREAM)
	defer done()
	big := make([]byte, 4*DefaultBuf)
	n, err := x.Send(context.Background(), big, nil, "", false)
	if err != sys.EAGAIN || n <= 0 || n >= len(big) {
		t.Fatalf("Send(big) = %d, %v; want a part with EAGAIN", n, err)
	}
	if x.Readiness(sys.POLLOUT)&sys.POLLOUT != 0 {
		t.Error("POLLOUT with a full send buffer")
	}
	got := 0
	buf := make([]byte, 65536)
	for got < n {
		r, err := y.Recv(buf, false)
		if err != nil {
			t.Fatalf("Recv after %d of %d: %v", got, n, err)
		}
		got += r.N
	}
	if x.Readiness(sys.POLLOUT)&sys.POLLOUT == 0 {
		t.Error("no POLLOUT once drained")
	}
}

func TestDatagramBoundaries(t *testing.T) {
	x, y, done := pair(t, sys.SOCK_DGRAM)
	defer done()
	ctx := context.Background()
	x.Send(ctx, []byte("hello"), nil, "", false)
	x.Send(ctx, nil, nil, "", false)
	buf := make([]byte, 3)
	r, err := y.Recv(buf, false)
	if err != nil || r.N != 3 || r.Len != 5 {
		t.Fatalf("Recv = %+v, %v; want 3 of 5", r, err)
	}
	if r, err = y.Recv(buf, false); err != nil || r.N != 0 || r.Len != 0 {
		t.Fatalf("Recv of an empty datagram = %+v, %v", r, err)
	}
	if _, err := y.Recv(buf, false); err != sys.EAGAIN {
		t.Fatalf("Recv of nothing = %v, want EAGAIN", err)
	}
	if _, err := x.Send(ctx, make([]byte, DefaultBuf), nil, "", false); err != sys.EMSGSIZE {
		t.Fatalf("Send of a datagram larger than the buffer = %v, want EMSGSIZE", err)
	}
}

// countingImpl is a file implementation that records its release.
type countingImpl struct{ released *int }

func (c countingImpl) ReadAt(context.Context, []byte, int64) (int, error)  { return 0, nil }
func (c countingImpl) WriteAt(context.Context, []byte, int64) (int, error) { return 0, nil }
func (c countingImpl) Release()                                            { *c.released++ }

func TestRightsAreReleasedWithUnreadMessages(t *testing.T) {
	released := 0
	f := vfs.NewFile(nil, nil, nil, countingImpl{&released}, sys.O_RDONLY)
	a, b := NewPair(context.Background(), NewNamespace(), 0, sys.SOCK_STREAM, 0)
	x, _ := FromFile(a)
	ctl := &Control{Rights: []*vfs.File{f}}
	if _, err := x.Send(context.Background(), []byte("x"), ctl, "", false); err != nil {
		t.Fatal(err)
	}
	f.DecRef()
	if released != 0 {
		t.Fatal("released while in flight")
	}
	b.DecRef() // the receiver closes without reading
	if released != 1 {
		t.Fatalf("released %d times after the receiver closed, want 1", released)
	}
	a.DecRef()
}

func TestSocketSentOverItselfDoesNotDeadlock(t *testing.T) {
	a, b := NewPair(context.Background(), NewNamespace(), 0, sys.SOCK_DGRAM, 0)
	x, _ := FromFile(a)
	y, _ := FromFile(b)
	// b travels in its own receive queue; closing a releases nothing
	// that takes the lock again while it is held.
	if _, err := x.Send(context.Background(), []byte("x"), &Control{Rights: []*vfs.File{b}}, "", false); err != nil {
		t.Fatal(err)
	}
	r, err := y.Recv(make([]byte, 1), false)
	if err != nil || len(r.Rights) != 1 {
		t.Fatalf("Recv = %+v, %v", r, err)
	}
	r.Drop()
	b.DecRef()
	a.DecRef()
}

func TestListenConnectAccept(t *testing.T) {
	ns := NewNamespace()
	ctx := context.Background()
	lf := New(ns, 0, sys.SOCK_STREAM, 0)
	defer lf.DecRef()
	l, _ := FromFile(lf)
	addr, err := ParseAddress(append([]byte{sys.AF_UNIX, 0, 0}, "name"...))
	if err != nil {
		t.Fatal(err)
	}
	key := addr.Key(0, sys.SOCK_STREAM)
	cf := New(ns, 0, sys.SOCK_STREAM, 0)
	defer cf.DecRef()
	c, _ := FromFile(cf)
	if err := c.Connect(ctx, key); err != sys.ECONNREFUSED {
		t.Fatalf("Connect to nobody = %v", err)
	}
	if err := l.Bind(key, addr); err != nil {
		t.Fatal(err)
	}
	if err := l.Listen(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(ctx, addr.Key(0, sys.SOCK_DGRAM)); err != sys.ECONNREFUSED {
		t.Fatalf("Connect to another type's name = %v, want ECONNREFUSED", err)
	}
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	sf := NewFile(s, 0)
	defer sf.DecRef()
	if !bytes.Equal(s.Name(), addr.Raw) {
		t.Errorf("accepted socket's name %q, want %q", s.Name(), addr.Raw)
	}
	if _, err := l.Accept(); err != sys.EAGAIN {
		t.Fatalf("Accept of nothing = %v", err)
	}
}

func TestNoSignalUnwraps(t *testing.T) {
	err := NoSignal(sys.EPIPE)
	var errno sys.Errno
	if !errors.As(err, &errno) || errno != sys.EPIPE {
		t.Fatalf("NoSignal(EPIPE) unwraps to %v", errno)
	}
	var quiet interface{ NoSignal() bool }
	if !errors.As(err, &quiet) || !quiet.NoSignal() {
		t.Fatal("NoSignal(EPIPE) does not say so")
	}
}

func TestConcurrentTraffic(t *testing.T) {
	x, y, done := pair(t, sys.SOCK_STREAM)
	defer done()
	const total = 1 << 20
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 4096)
		for sent := 0; sent < total; {
			n, _ := x.Send(context.Background(), buf[:min(len(buf), total-sent)], nil, "", false)
			sent += n
		}
	}()
	buf := make([]byte, 8192)
	for got := 0; got < total; {
		r, err := y.Recv(buf, false)
		if err != nil && err != sys.EAGAIN {
			t.Fatal(err)
		}
		got += r.N
	}
	wg.Wait()
}

// FuzzAddressAndOptions feeds arbitrary bytes where applications pass
// addresses, option values and control messages: an errno, never a
// panic. Control messages that parse go through a datagram pair and come
// back out through BuildControl in name bytes (checkControl).
func FuzzAddressAndOptions(f *testing.F) {
	f.Add([]byte{sys.AF_UNIX, 0, 'a', 0}, 7)
	f.Add([]byte{sys.AF_UNIX, 0, 0, 'x'}, sys.SO_LINGER)
	f.Add([]byte{1, 2, 3}, sys.SO_RCVTIMEO)
	for _, c := range controlSeeds() {
		f.Add(c.b, c.room)
	}
	f.Fuzz(func(t *testing.T, b []byte, name int) {
		if a, err := ParseAddress(b); err == nil {
			_ = a.Key(0, sys.SOCK_STREAM)
		}
		_ = IsAutobind(b)
		sf := New(NewNamespace(), 0, sys.SOCK_DGRAM, 0)
		defer sf.DecRef()
		s, _ := FromFile(sf)
		_ = s.SetOption(name, b)
		_, _ = s.GetOption(name)
		_ = s.Readiness(-1)
		checkControl(t, b, name)
	})
}
