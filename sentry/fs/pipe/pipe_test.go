package pipe

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// user is an unprivileged pipe maker with accounts of its own.
func user() Caller { return Caller{Accounts: NewAccounts(), UID: 1000} }

func newPair(t *testing.T, flags int) (r, w *vfs.File) {
	t.Helper()
	r, w, err := NewPair(user(), vfs.Creds{}, flags)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.DecRef(); w.DecRef() })
	return r, w
}

// mustPair is newPair whose ends the test releases.
func mustPair(t *testing.T, flags int) (r, w *vfs.File) {
	t.Helper()
	r, w, err := NewPair(user(), vfs.Creds{}, flags)
	if err != nil {
		t.Fatal(err)
	}
	return r, w
}

// task is a task in a context, making FIFOs' pipes as c.
type task struct{ c Caller }

func (t task) PipeCaller() Caller { return t.c }

func TestAtomicWritesUnderConcurrentWriters(t *testing.T) {
	r, w := newPair(t, 0)
	ctx := context.Background()
	const writers, writes = 8, 64
	sizes := []int{AtomicSize, 1000, 1}
	for _, size := range sizes {
		var wg sync.WaitGroup
		for id := range writers {
			wg.Go(func() {
				chunk := bytes.Repeat([]byte{byte('a' + id)}, size)
				for range writes {
					if n, err := w.Write(ctx, usermem.BytesSequence(chunk)); n != size || err != nil {
						t.Errorf("write = %d, %v", n, err)
						return
					}
				}
			})
		}
		got := make([]byte, 0, writers*writes*size)
		buf := make([]byte, 3000) // reads cut across writes
		for len(got) < cap(got) {
			n, err := r.Read(ctx, usermem.BytesSequence(buf))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, buf[:n]...)
		}
		wg.Wait()
		for off := 0; off < len(got); off += size {
			rec := got[off : off+size]
			if bytes.Count(rec, rec[:1]) != size {
				t.Fatalf("size %d: write at %d interleaved: %q", size, off, rec)
			}
		}
	}
}

func TestLargeWriteIsSplitAndCompletes(t *testing.T) {
	r, w := newPair(t, 0)
	ctx := context.Background()
	data := bytes.Repeat([]byte("0123456789abcdef"), 3*DefaultSize/16)
	done := make(chan error, 1)
	go func() {
		n, err := w.Write(ctx, usermem.BytesSequence(data))
		if err == nil && n != len(data) {
			err = errors.New("short write")
		}
		done <- err
	}()
	got := make([]byte, 0, len(data))
	buf := make([]byte, 10000)
	for len(got) < len(data) {
		n, err := r.Read(ctx, usermem.BytesSequence(buf))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("data differs")
	}
}

func TestEOFAfterWritersClose(t *testing.T) {
	ctx := context.Background()
	r, w := mustPair(t, 0)
	defer r.DecRef()
	w.Write(ctx, usermem.BytesSequence([]byte("last")))
	w2 := w // a dup shares the file: EOF comes with the last reference
	w2.IncRef()
	w.DecRef()
	buf := make([]byte, 16)
	if n, err := r.Read(ctx, usermem.BytesSequence(buf)); n != 4 || err != nil {
		t.Fatalf("read = %d, %v", n, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if n, err := r.Read(ctx, usermem.BytesSequence(buf)); n != 0 || err != nil {
			t.Errorf("read at EOF = %d, %v", n, err)
		}
	}()
	select {
	case <-done:
		t.Fatal("read returned while a writer was open")
	case <-time.After(20 * time.Millisecond):
	}
	if ev := r.Readiness(unix.POLLIN); ev != 0 {
		t.Errorf("readiness with a writer = %#x", ev)
	}
	w2.DecRef()
	<-done
	if ev := r.Readiness(unix.POLLIN); ev != unix.POLLHUP {
		t.Errorf("readiness at EOF = %#x, want POLLHUP", ev)
	}
}

func TestEPIPE(t *testing.T) {
	ctx := context.Background()
	r, w := mustPair(t, 0)
	defer w.DecRef()
	r.DecRef()
	if _, err := w.Write(ctx, usermem.BytesSequence([]byte("x"))); err != unix.EPIPE {
		t.Fatalf("write without readers: %v, want EPIPE", err)
	}
	if ev := w.Readiness(unix.POLLOUT); ev&unix.POLLERR == 0 {
		t.Errorf("readiness = %#x, want POLLERR", ev)
	}
}

func TestBlockedWriterGetsEPIPE(t *testing.T) {
	ctx := context.Background()
	r, w := mustPair(t, 0)
	defer w.DecRef()
	if n, err := w.Write(ctx, usermem.BytesSequence(make([]byte, DefaultSize))); n != DefaultSize || err != nil {
		t.Fatalf("fill = %d, %v", n, err)
	}
	done := make(chan error, 1)
	go func() { _, err := w.Write(ctx, usermem.BytesSequence([]byte("x"))); done <- err }()
	time.Sleep(10 * time.Millisecond)
	r.DecRef()
	if err := <-done; err != unix.EPIPE {
		t.Fatalf("blocked write = %v, want EPIPE", err)
	}
}

func TestNonblocking(t *testing.T) {
	r, w := newPair(t, unix.O_NONBLOCK)
	ctx := context.Background()
	buf := make([]byte, 8)
	if _, err := r.Read(ctx, usermem.BytesSequence(buf)); err != unix.EAGAIN {
		t.Fatalf("empty read = %v, want EAGAIN", err)
	}
	if n, err := w.Write(ctx, usermem.BytesSequence(make([]byte, DefaultSize-100))); n != DefaultSize-100 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	// 200 <= PIPE_BUF bytes do not fit whole: nothing is written.
	if n, err := w.Write(ctx, usermem.BytesSequence(make([]byte, 200))); err != unix.EAGAIN {
		t.Fatalf("atomic write into 100 free bytes = %d, %v, want EAGAIN", n, err)
	}
	// A larger write writes what fits.
	if n, err := w.Write(ctx, usermem.BytesSequence(make([]byte, 5000))); n != 100 || err != nil {
		t.Fatalf("large write into 100 free bytes = %d, %v, want 100", n, err)
	}
	if ev := w.Readiness(unix.POLLOUT); ev != 0 {
		t.Errorf("full pipe readiness = %#x", ev)
	}
}

func TestSetSize(t *testing.T) {
	r, w := newPair(t, unix.O_NONBLOCK)
	p, ok := FromFile(r)
	if !ok {
		t.Fatal("FromFile")
	}
	unpriv, root := user(), Caller{Accounts: p.accounts, Resource: true}
	for _, c := range []struct {
		req  uint32
		want int
	}{{0, PageSize}, {1, PageSize}, {4097, 2 * PageSize}, {5 * PageSize, 8 * PageSize}, {MaxUserSize, MaxUserSize}} {
		if n, err := p.SetSize(c.req, unpriv); n != c.want || err != nil {
			t.Errorf("SetSize(%d) = %d, %v, want %d", c.req, n, err, c.want)
		}
	}
	if _, err := p.SetSize(MaxUserSize+1, unpriv); err != unix.EPERM {
		t.Errorf("above the user limit: %v, want EPERM", err)
	}
	if n, err := p.SetSize(MaxUserSize+1, root); n != 2*MaxUserSize || err != nil {
		t.Errorf("root above the user limit: %d, %v", n, err)
	}
	if _, err := p.SetSize(1<<31+1, root); err != unix.EINVAL {
		t.Errorf("above 2^31: %v, want EINVAL", err)
	}
	w.Write(context.Background(), usermem.BytesSequence(make([]byte, 3*PageSize)))
	if _, err := p.SetSize(PageSize, unpriv); err != unix.EBUSY {
		t.Errorf("shrinking below the content: %v, want EBUSY", err)
	}
	if n, _ := p.SetSize(3*PageSize, unpriv); n != 4*PageSize || p.Size() != n {
		t.Errorf("size = %d", p.Size())
	}
	if p.Queued() != 3*PageSize {
		t.Errorf("queued = %d", p.Queued())
	}
}

// account is a caller whose memory account pipes charge.
type account struct{ mem *usage.Memory }

func (a account) MemoryAccount() *usage.Memory { return a.mem }

// TestQueuedBytesCharged: a pipe's queued bytes are charged to the
// writer's account while they wait, and a write past the limit fails with
// ENOMEM (pipes grown with F_SETPIPE_SZ would otherwise let a sandbox grow
// the sentry without bound).
func TestQueuedBytesCharged(t *testing.T) {
	mem := usage.NewMemory(64 << 10)
	ctx := vfs.WithTask(context.Background(), account{mem})
	r, w := mustPair(t, unix.O_NONBLOCK)
	p, _ := FromFile(r)
	if _, err := p.SetSize(1<<20, user()); err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write(ctx, usermem.BytesSequence(make([]byte, 48<<10))); n != 48<<10 || err != nil {
		t.Fatalf("write of 48 KiB under a 64 KiB account: %d, %v", n, err)
	}
	if mem.Used() != 48<<10 {
		t.Errorf("charged %d bytes for 48 KiB queued", mem.Used())
	}
	if n, err := w.Write(ctx, usermem.BytesSequence(make([]byte, 32<<10))); n != 0 || err != unix.ENOMEM {
		t.Errorf("write past the account's limit: %d, %v; want 0, ENOMEM", n, err)
	}
	if n, err := r.Read(ctx, usermem.BytesSequence(make([]byte, 16<<10))); n != 16<<10 || err != nil {
		t.Fatalf("read: %d, %v", n, err)
	}
	if mem.Used() != 32<<10 {
		t.Errorf("charged %d bytes for 32 KiB queued", mem.Used())
	}
	if n, err := w.Write(ctx, usermem.BytesSequence(make([]byte, 32<<10))); n != 32<<10 || err != nil {
		t.Errorf("write that fits again: %d, %v", n, err)
	}
	r.DecRef()
	w.DecRef()
	if mem.Used() != 0 {
		t.Errorf("%d bytes still charged after both ends closed", mem.Used())
	}
}

func TestWaiterWakesOnWrite(t *testing.T) {
	r, w := newPair(t, 0)
	wt := vfs.NewWaiter()
	e := wt.Entry(unix.POLLIN)
	q := r.EventQueue()
	q.Add(e)
	defer q.Remove(e)
	if r.Readiness(unix.POLLIN) != 0 {
		t.Fatal("empty pipe is readable")
	}
	go func() {
		time.Sleep(10 * time.Millisecond)
		w.Write(context.Background(), usermem.BytesSequence([]byte("x")))
	}()
	select {
	case <-wt.C():
	case <-time.After(5 * time.Second):
		t.Fatal("no wake-up")
	}
	if ev := r.Readiness(unix.POLLIN); ev&unix.POLLIN == 0 {
		t.Fatalf("readiness after write = %#x", ev)
	}
}

func TestInterruptedRead(t *testing.T) {
	r, _ := newPair(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if _, err := r.Read(ctx, usermem.BytesSequence(make([]byte, 1))); err != unix.EINTR {
		t.Fatalf("interrupted read = %v, want EINTR", err)
	}
}

func TestFIFOOpen(t *testing.T) {
	fifos := NewFIFOs()
	ctx := vfs.WithTask(context.Background(), task{user()})
	open := func(flags int) (vfs.FileImpl, error) { return fifos.OpenFIFO(ctx, 1, 2, flags) }
	if _, err := open(unix.O_WRONLY | unix.O_NONBLOCK); err != unix.ENXIO {
		t.Fatalf("non-blocking writer without reader: %v, want ENXIO", err)
	}
	got := make(chan vfs.FileImpl)
	go func() {
		r, err := open(unix.O_RDONLY)
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("reader open did not wait for a writer")
	case <-time.After(20 * time.Millisecond):
	}
	w, err := open(unix.O_WRONLY)
	if err != nil {
		t.Fatal(err)
	}
	r := <-got
	w.(vfs.Stream).Write(ctx, []byte("fifo"))
	buf := make([]byte, 8)
	if n, _ := r.(vfs.Stream).Read(ctx, buf); string(buf[:n]) != "fifo" {
		t.Fatalf("read %q", buf[:n])
	}
	r.Release()
	w.Release()
	if len(fifos.pipes) != 0 {
		t.Fatal("idle FIFO pipe kept")
	}
	rw, err := open(unix.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	rw.Release()
}

func TestInterruptedFIFOOpen(t *testing.T) {
	fifos := NewFIFOs()
	ctx, cancel := context.WithCancel(vfs.WithTask(context.Background(), task{user()}))
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	if _, err := fifos.OpenFIFO(ctx, 1, 2, unix.O_WRONLY); err != unix.EINTR {
		t.Fatalf("interrupted open = %v, want EINTR", err)
	}
	if len(fifos.pipes) != 0 {
		t.Fatal("pipe of an interrupted open kept")
	}
}

func TestStat(t *testing.T) {
	r, w := newPair(t, 0)
	rs, _ := r.Stat()
	ws, _ := w.Stat()
	if rs.Mode != unix.S_IFIFO|0o600 || rs.Ino != ws.Ino || rs.Dev != ws.Dev {
		t.Fatalf("stat r %+v w %+v", rs, ws)
	}
	if _, err := r.PRead(context.Background(), usermem.BytesSequence(make([]byte, 1)), 0); err != unix.ESPIPE {
		t.Fatalf("pread = %v", err)
	}
}

// TestSmallMessagesReuseTheBuffer: a pipe that drains keeps a buffer of
// at most a page for its next write, so a ping-pong of small messages
// allocates nothing, and lets a larger one go (it is not charged to the
// sandbox's memory while kept).
func TestSmallMessagesReuseTheBuffer(t *testing.T) {
	p := alloc(DefaultSize)
	p.readers, p.writers = 1, 1
	mem := usage.NewMemory(1 << 20)
	msg, out := bytes.Repeat([]byte("m"), 100), make([]byte, 200)
	roundTrip := func() {
		if n, err := p.write(msg, mem); n != len(msg) || err != nil {
			t.Fatalf("write = %d, %v", n, err)
		}
		if n, err := p.read(out); n != len(msg) || err != nil || !bytes.Equal(out[:n], msg) {
			t.Fatalf("read = %d %q, %v", n, out[:n], err)
		}
	}
	roundTrip()
	if n := testing.AllocsPerRun(100, roundTrip); n != 0 {
		t.Errorf("a 100-byte message through a drained pipe: %v allocations, want 0", n)
	}
	// Two writes, one read of part: the rest comes out in order.
	p.write([]byte("abc"), mem)
	p.write([]byte("def"), mem)
	if n, _ := p.read(out[:2]); string(out[:n]) != "ab" {
		t.Errorf("first read %q, want ab", out[:n])
	}
	p.write([]byte("g"), mem)
	if n, _ := p.read(out); string(out[:n]) != "cdefg" {
		t.Errorf("second read %q, want cdefg", out[:n])
	}
	big := make([]byte, 2*keptBuffer)
	p.write(big, mem)
	for n, _ := p.read(out); n > 0; n, _ = p.read(out) {
	}
	if p.base != nil || p.data != nil {
		t.Errorf("a drained pipe keeps a buffer of %d bytes, want none above %d", cap(p.base), keptBuffer)
	}
}
