package eventfd

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/usermem"
)

func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

func TestCounter(t *testing.T) {
	ctx := context.Background()
	f, err := New(3, NonBlock)
	if err != nil {
		t.Fatal(err)
	}
	defer f.DecRef()
	buf := make([]byte, 8)
	if n, err := f.Read(ctx, usermem.BytesSequence(buf)); n != 8 || err != nil || binary.NativeEndian.Uint64(buf) != 3 {
		t.Fatalf("read = %d, %v, %v", n, err, buf)
	}
	if _, err := f.Read(ctx, usermem.BytesSequence(buf)); err != unix.EAGAIN {
		t.Fatalf("read at 0 = %v, want EAGAIN", err)
	}
	if _, err := f.Read(ctx, usermem.BytesSequence(buf[:4])); err != unix.EINVAL {
		t.Fatalf("short read = %v, want EINVAL", err)
	}
	if _, err := f.Write(ctx, usermem.BytesSequence(u64(^uint64(0)))); err != unix.EINVAL {
		t.Fatalf("write 2^64-1 = %v, want EINVAL", err)
	}
	f.Write(ctx, usermem.BytesSequence(u64(maxCount)))
	if _, err := f.Write(ctx, usermem.BytesSequence(u64(1))); err != unix.EAGAIN {
		t.Fatalf("overflowing write = %v, want EAGAIN", err)
	}
	if ev := f.Readiness(unix.POLLIN | unix.POLLOUT); ev&unix.POLLOUT != 0 || ev&unix.POLLIN == 0 {
		t.Fatalf("readiness at max = %#x", ev)
	}
	// The kernel's signal passes a write's largest count (eventfd06):
	// poll reports the overflow, a read returns 2^64-1, no write fits.
	e, _ := FromFile(f)
	e.Signal()
	e.Signal()
	if ev := f.Readiness(unix.POLLIN | unix.POLLOUT); ev&unix.POLLERR == 0 || ev&unix.POLLOUT != 0 {
		t.Fatalf("readiness at overflow = %#x, want POLLERR without POLLOUT", ev)
	}
	if _, err := f.Write(ctx, usermem.BytesSequence(u64(0))); err != unix.EAGAIN {
		t.Fatalf("write at overflow = %v, want EAGAIN", err)
	}
	if _, err := f.Read(ctx, usermem.BytesSequence(buf)); err != nil || binary.NativeEndian.Uint64(buf) != ^uint64(0) {
		t.Fatalf("read at overflow = %#x, %v, want 2^64-1", binary.NativeEndian.Uint64(buf), err)
	}
	if ev := f.Readiness(unix.POLLIN | unix.POLLOUT); ev != unix.POLLOUT {
		t.Fatalf("readiness after the read = %#x, want POLLOUT", ev)
	}
}

func TestSemaphoreAndBlocking(t *testing.T) {
	ctx := context.Background()
	f, _ := New(2, Semaphore)
	defer f.DecRef()
	buf := make([]byte, 8)
	for range 2 {
		if _, err := f.Read(ctx, usermem.BytesSequence(buf)); err != nil || binary.NativeEndian.Uint64(buf) != 1 {
			t.Fatalf("semaphore read = %v, %v", buf, err)
		}
	}
	go func() { time.Sleep(10 * time.Millisecond); f.Write(ctx, usermem.BytesSequence(u64(5))) }()
	if _, err := f.Read(ctx, usermem.BytesSequence(buf)); err != nil || binary.NativeEndian.Uint64(buf) != 1 {
		t.Fatalf("blocked read = %v, %v", buf, err)
	}
	if _, err := New(0, 1<<30); err != unix.EINVAL {
		t.Fatalf("bad flags = %v", err)
	}
}
