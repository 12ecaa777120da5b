package linux_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel/kerneltest"
)

// Benchmarks of the data paths between application memory and files,
// pipes and sockets, through the syscall table on memplatform: what they
// measure is the sentry's own work (buffers, copies, loops), with tmpfs
// files in host memfds and application memory in memplatform's pages.
//
//	go test -run '^$' -bench . -benchmem ./sentry/syscalls/linux

// benchSizes are the transfer sizes each benchmark runs with.
var benchSizes = []int{4 << 10, 64 << 10, 1 << 20}

// openBenchFile creates a tmpfs file of size bytes and returns its
// descriptor.
func openBenchFile(p *proc, size int) uintptr {
	p.t.Helper()
	fd := p.ok(unix.SYS_OPEN, p.str("/bench"), unix.O_CREAT|unix.O_RDWR, 0o644)
	p.ok(unix.SYS_FTRUNCATE, fd, uintptr(size))
	return fd
}

// iovecs lays out n iovecs of size/n bytes each over buf and returns the
// array's address.
func iovecs(p *proc, buf uintptr, size, n int) uintptr {
	var raw []byte
	for i := range n {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(buf)+uint64(i*size/n))
		raw = binary.LittleEndian.AppendUint64(raw, uint64(size/n))
	}
	return p.bytes(raw)
}

// benchEach runs fn for each size, reporting throughput.
func benchEach(b *testing.B, fn func(b *testing.B, p *proc, size int)) {
	benchSizesUpTo(b, benchSizes[len(benchSizes)-1], fn)
}

// benchSizesUpTo runs fn for each size up to most.
func benchSizesUpTo(b *testing.B, most int, fn func(b *testing.B, p *proc, size int)) {
	for _, size := range benchSizes {
		if size > most {
			break
		}
		b.Run(fmt.Sprintf("%dK", size>>10), func(b *testing.B) {
			p := newProc(b)
			// Room for two buffers of the largest size and their iovecs.
			p.next = kerneltest.Map(b, p.task, 4<<20)
			p.end = p.next + 4<<20
			b.SetBytes(int64(size))
			fn(b, p, size)
		})
	}
}

func BenchmarkPread(b *testing.B)  { benchFileIO(b, unix.SYS_PREAD64, 1) }
func BenchmarkPwrite(b *testing.B) { benchFileIO(b, unix.SYS_PWRITE64, 1) }

// BenchmarkPreadv reads into 16 buffers.
func BenchmarkPreadv(b *testing.B) { benchFileIO(b, unix.SYS_PREADV, 16) }

// BenchmarkPwritev writes from 16 buffers.
func BenchmarkPwritev(b *testing.B) { benchFileIO(b, unix.SYS_PWRITEV, 16) }

// benchFileIO runs syscall nr at offset 0 of a tmpfs file: pread64 or
// pwrite64 with one buffer (n is 1), preadv or pwritev with n.
func benchFileIO(b *testing.B, nr uintptr, n int) {
	benchEach(b, func(b *testing.B, p *proc, size int) {
		fd, buf := openBenchFile(p, size), p.alloc(size)
		args := []uintptr{fd, buf, uintptr(size), 0}
		if nr == unix.SYS_PREADV || nr == unix.SYS_PWRITEV {
			args[1], args[2] = iovecs(p, buf, size, n), uintptr(n)
		}
		for b.Loop() {
			p.ok(nr, args...)
		}
	})
}

// BenchmarkPipe writes size bytes into a pipe as large and reads them
// back.
func BenchmarkPipe(b *testing.B) {
	benchEach(b, func(b *testing.B, p *proc, size int) {
		fds := p.alloc(8)
		p.ok(unix.SYS_PIPE2, fds, 0)
		r, w := uintptr(binary.LittleEndian.Uint32(p.read(fds, 4))), uintptr(binary.LittleEndian.Uint32(p.read(fds+4, 4)))
		p.ok(unix.SYS_FCNTL, w, unix.F_SETPIPE_SZ, uintptr(size))
		buf := p.alloc(size)
		for b.Loop() {
			p.ok(unix.SYS_WRITE, w, buf, uintptr(size))
			p.ok(unix.SYS_READ, r, buf, uintptr(size))
		}
	})
}

// BenchmarkStreamSocket sends size bytes from 4 buffers on a stream
// socket pair with sendmsg and receives them into 4 with recvmsg (up to
// 64 KiB, which fits the socket's largest buffer).
func BenchmarkStreamSocket(b *testing.B) {
	benchSizesUpTo(b, 64<<10, func(b *testing.B, p *proc, size int) {
		fds := p.alloc(8)
		p.ok(unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM, 0, fds)
		s0, s1 := uintptr(binary.LittleEndian.Uint32(p.read(fds, 4))), uintptr(binary.LittleEndian.Uint32(p.read(fds+4, 4)))
		for _, fd := range []uintptr{s0, s1} {
			for _, opt := range []int{unix.SO_SNDBUF, unix.SO_RCVBUF} {
				p.ok(unix.SYS_SETSOCKOPT, fd, unix.SOL_SOCKET, uintptr(opt), p.bytes(binary.LittleEndian.AppendUint32(nil, uint32(2*size))), 4)
			}
		}
		src, dst := p.alloc(size), p.alloc(size)
		msghdr := func(iov uintptr) uintptr {
			h := abi.MsgHdr{Iov: uint64(iov), IovLen: 4}
			return p.bytes(abi.AsBytes(&h))
		}
		send, recv := msghdr(iovecs(p, src, size, 4)), msghdr(iovecs(p, dst, size, 4))
		for b.Loop() {
			p.ok(unix.SYS_SENDMSG, s0, send, 0)
			for got := 0; got < size; {
				got += int(p.ok(unix.SYS_RECVMSG, s1, recv, unix.MSG_DONTWAIT))
			}
		}
	})
}
