package linux_test

import (
	"bytes"
	"encoding/binary"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/platform/memplatform"
	"runsc-lite/sentry/kernel/kerneltest"
)

// The data paths through usermem.IOSequence: scatter and gather with one
// vectored copy per call, reads that consume no more than they deliver,
// and blocking streams that wait for their first bytes only.

// copies returns how many copies the task's address space has made.
func (p *proc) copies() int64 {
	return p.task.MM().AddressSpace().(*memplatform.AddressSpace).Copies()
}

// iovecArray copies iovecs for the given buffers to scratch memory.
func (p *proc) iovecArray(bufs ...[2]uintptr) uintptr {
	iovs := make([]abi.Iovec, len(bufs))
	for i, b := range bufs {
		iovs[i] = abi.Iovec{Base: uint64(b[0]), Len: uint64(b[1])}
	}
	return p.bytes(abi.SliceBytes(iovs))
}

// pipe2 makes a pipe with flags and returns its read and write ends.
func (p *proc) pipe2(flags int) (uintptr, uintptr) {
	fds := p.alloc(8)
	p.ok(unix.SYS_PIPE2, fds, uintptr(flags))
	return uintptr(binary.LittleEndian.Uint32(p.read(fds, 4))), uintptr(binary.LittleEndian.Uint32(p.read(fds+4, 4)))
}

func TestScatterGatherWithOneCopy(t *testing.T) {
	p := newProc(t)
	fd := p.ok(unix.SYS_OPEN, p.str("/f"), unix.O_CREAT|unix.O_RDWR, 0o644)
	a, b, c := p.bytes([]byte("hello ")), p.bytes([]byte("vectored ")), p.bytes([]byte("world"))
	iov := p.iovecArray([2]uintptr{a, 6}, [2]uintptr{b, 0}, [2]uintptr{b, 9}, [2]uintptr{c, 5})
	before := p.copies()
	if n := p.ok(unix.SYS_WRITEV, fd, iov, 4); n != 20 {
		t.Fatalf("writev = %d, want 20", n)
	}
	// One copy of the iovec array, one of the data.
	if got := p.copies() - before; got != 2 {
		t.Errorf("writev of 4 iovecs made %d copies, want 2", got)
	}
	x, y := p.alloc(7), p.alloc(32)
	riov := p.iovecArray([2]uintptr{x, 7}, [2]uintptr{y, 32})
	before = p.copies()
	if n := p.ok(unix.SYS_PREADV, fd, riov, 2, 0); n != 20 {
		t.Fatalf("preadv = %d, want 20", n)
	}
	if got := p.copies() - before; got != 2 {
		t.Errorf("preadv into 2 iovecs made %d copies, want 2", got)
	}
	if got := string(p.read(x, 7)) + string(p.read(y, 13)); got != "hello vectored world" {
		t.Errorf("preadv read %q", got)
	}
}

func TestReadConsumesWhatItDelivers(t *testing.T) {
	p := newProc(t)
	fd := p.ok(unix.SYS_OPEN, p.str("/f"), unix.O_CREAT|unix.O_RDWR, 0o644)
	p.ok(unix.SYS_WRITE, fd, p.bytes(bytes.Repeat([]byte("x"), 100)), 100)
	p.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET)
	// Ten bytes before a page that is not mapped.
	end := p.end
	if n := p.ok(unix.SYS_READ, fd, end-10, 50); n != 10 {
		t.Errorf("read into 10 reachable bytes = %d, want 10", n)
	}
	if off := p.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_CUR); off != 10 {
		t.Errorf("the position after it is %d, want 10", off)
	}
	iov := p.iovecArray([2]uintptr{p.alloc(5), 5}, [2]uintptr{end - 3, 20})
	if n := p.ok(unix.SYS_READV, fd, iov, 2); n != 8 {
		t.Errorf("readv whose second buffer runs out = %d, want 8", n)
	}
	if off := p.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_CUR); off != 18 {
		t.Errorf("the position after it is %d, want 18", off)
	}
	p.fails(unix.EFAULT, unix.SYS_READ, fd, bad, 10)
	p.fails(unix.EFAULT, unix.SYS_READ, fd, p.alloc(8), ^uintptr(0)) // access_ok of the count given
	dir := p.ok(unix.SYS_OPEN, p.str("/"), unix.O_RDONLY|unix.O_DIRECTORY)
	p.fails(unix.EISDIR, unix.SYS_READ, dir, bad, 10)
	p.fails(unix.EISDIR, unix.SYS_READ, dir, p.alloc(8), 0)
}

// TestPipeReadTakesWhatIsThere reads more than a full pipe holds, more
// than one round of the sentry's buffer: the read returns what the pipe
// had instead of waiting for more.
func TestPipeReadTakesWhatIsThere(t *testing.T) {
	p := newProc(t)
	r, w := p.pipe2(0)
	const size = 1 << 20
	if got := p.ok(unix.SYS_FCNTL, w, unix.F_SETPIPE_SZ, size); got != size {
		t.Fatalf("F_SETPIPE_SZ = %d", got)
	}
	p.next = kerneltest.Map(t, p.task, 2*size)
	p.end = p.next + 2*size
	buf := p.alloc(2 * size)
	if n := p.ok(unix.SYS_WRITE, w, buf, size); n != size {
		t.Fatalf("write = %d", n)
	}
	done := make(chan uintptr, 1)
	go func() {
		n, _ := p.call(unix.SYS_READ, r, buf, 2*size)
		done <- n
	}()
	select {
	case n := <-done:
		if n != size {
			t.Errorf("read of %d bytes from a pipe holding %d = %d", 2*size, size, n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("read of more than a full pipe holds waits for more")
	}
}

func TestStreamSocketScatterGather(t *testing.T) {
	p := newProc(t)
	fds := p.alloc(8)
	p.ok(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM, 0, fds)
	s0, s1 := uintptr(binary.LittleEndian.Uint32(p.read(fds, 4))), uintptr(binary.LittleEndian.Uint32(p.read(fds+4, 4)))
	msg := func(bufs ...[2]uintptr) uintptr {
		h := abi.MsgHdr{Iov: uint64(p.iovecArray(bufs...)), IovLen: uint64(len(bufs))}
		return p.bytes(abi.AsBytes(&h))
	}
	a, b := p.bytes([]byte("scatter ")), p.bytes([]byte("gather"))
	if n := p.ok(unix.SYS_SENDMSG, s0, msg([2]uintptr{a, 8}, [2]uintptr{b, 6}), 0); n != 14 {
		t.Fatalf("sendmsg = %d, want 14", n)
	}
	x, y := p.alloc(4), p.alloc(16)
	if n := p.ok(unix.SYS_RECVMSG, s1, msg([2]uintptr{x, 4}, [2]uintptr{y, 16}), 0); n != 14 {
		t.Fatalf("recvmsg = %d, want 14", n)
	}
	if got := string(p.read(x, 4)) + string(p.read(y, 10)); got != "scatter gather" {
		t.Errorf("recvmsg received %q", got)
	}
	// A send whose memory runs out sends nothing of it, as Linux's
	// stream sockets send whole buffers.
	p.fails(unix.EFAULT, unix.SYS_SENDTO, s0, p.end-4, 8, 0, 0, 0)
	p.fails(unix.EAGAIN, unix.SYS_RECVFROM, s1, y, 16, unix.MSG_DONTWAIT, 0, 0)
}
