// Package pipe implements pipes inside the sandbox: pipe(2) and pipe2(2)
// descriptors and the named pipes (FIFOs) of every filesystem, as pipe(7)
// and fifo(7) describe them.
//
// Why in the sentry rather than host pipes: a host pipe would block the
// sentry goroutine in a host read that nothing in the sandbox can
// interrupt, its readiness could not take part in the sandbox's own poll
// and epoll, and a FIFO made with mknod in the memory overlay or a tmpfs
// has no host object at all. A Pipe is a byte buffer with counts of
// readers and writers; each open end is a vfs.FileImpl.
//
// Design decisions:
//
//   - Ends never block. Read and Write fail with EAGAIN when they would,
//     and the VFS waits on the pipe's vfs.Queue and retries unless the
//     file is O_NONBLOCK (see vfs/wait.go). Every change of the buffer or
//     of the ends notifies the queue, which also drives poll and epoll.
//   - The buffer is counted in bytes, not in pages as Linux does: the
//     capacity is 65536 bytes by default, and F_SETPIPE_SZ rounds to a
//     power of two of pages as Linux does. A write of at most PIPE_BUF
//     (4096) bytes waits until it fits whole, so it is never interleaved
//     with other writers; a larger one writes what fits and goes on.
//     POLLOUT means PIPE_BUF bytes fit, which is what a free page means on
//     Linux.
//   - FIFOs: the VFS hands the opening of every FIFO node to a FIFOs
//     table (vfs.FIFOOpener), which keeps one Pipe per (st_dev, st_ino)
//     while any end is open; the data goes when the last end closes.
//   - The queued bytes are sentry memory the sandbox asked for, so they
//     are charged to the writer's memory account (package usage) while
//     queued, as Linux charges pipe pages to the writer's memory cgroup:
//     past --memory-limit a write fails with ENOMEM (pipe_write's answer
//     when it cannot allocate a page). Otherwise pipes resized to 1 MiB, or
//     by root to 2 GiB, would let a sandbox grow the sentry without bound.
//   - A drained pipe keeps its buffer for the next write if it is at most
//     a page (Linux keeps a spare page per pipe too): small messages
//     cross without an allocation each; a larger buffer goes, so the
//     memory a pipe holds uncharged stays one page.
//   - Each pipe's pages (its capacity) are charged to the user that made
//     it, against pipe-user-pages-soft and -hard, as Linux does
//     (accounts.go).
//   - O_DIRECT (packet mode) is accepted and treated as a byte stream.
//   - SIGPIPE is not sent yet (signals are not delivered); writes without
//     readers fail with EPIPE.
package pipe

import (
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

const (
	// PageSize is the unit of pipe capacities.
	PageSize = abi.PageSize
	// AtomicSize is PIPE_BUF: writes of at most this many bytes are atomic.
	AtomicSize = 4096
	// DefaultSize is a new pipe's capacity.
	DefaultSize = 16 * PageSize
	// MaxUserSize is /proc/sys/fs/pipe-max-size's default: the most
	// F_SETPIPE_SZ gives a caller without CAP_SYS_RESOURCE.
	MaxUserSize = 1 << 20
	// maxSize is the most F_SETPIPE_SZ accepts at all (Linux: 2^31).
	maxSize = 1 << 31
)

// Events a pipe reports to readers and to writers.
const (
	readEvents  = unix.POLLIN | linux.POLLRDNORM
	writeEvents = unix.POLLOUT | linux.POLLWRNORM
)

var (
	// dev is st_dev of anonymous pipes (Linux's pipefs).
	dev     = vfs.NewDeviceID()
	lastIno atomic.Uint64
)

// Pipe is the buffer and the ends of one pipe.
type Pipe struct {
	queue vfs.Queue
	ino   uint64 // st_ino of an anonymous pipe

	// mu guards the buffer and the ends: every field from here to
	// opened; fifos and key are set once, before the pipe is shared.
	mu   sync.Mutex
	data []byte // queued bytes, oldest first
	// base is data's whole backing array, from its start: a drained
	// pipe keeps it for the next write when it is at most keptBuffer
	// bytes, so small messages do not allocate a buffer each.
	base     []byte
	capacity int
	// mem is the account len(data) is charged to: that of the writer
	// that found the pipe empty.
	mem     *usage.Memory
	readers int
	writers int
	// rOpens and wOpens count the opens of each kind ever, so a FIFO open
	// waiting for a partner sees one come, and a reader tells "no writer
	// yet" (no POLLHUP) from "the writers went" (Linux's w_counter).
	rOpens, wOpens uint64
	// opened is closed, and replaced, whenever an end opens.
	opened chan struct{}

	// fifos holds the pipe of a FIFO node while an end is open; nil for
	// anonymous pipes.
	fifos *FIFOs
	key   fifoKey

	// accounts and uid are the accounts and the user the pipe's pages
	// are charged to, set once; accounted is how many pages (Linux's
	// nr_accounted), guarded by mu (accounts.go).
	accounts  *Accounts
	uid       uint32
	accounted uint64
}

// alloc returns a pipe of capacity bytes with no ends, charged to no
// user: newPipe charges one, which every pipe the sandbox sees has.
func alloc(capacity int) *Pipe {
	return &Pipe{ino: lastIno.Add(1), capacity: capacity, opened: make(chan struct{})}
}

// Ino is the pipe's inode number (pipe:[INO]).
func (p *Pipe) Ino() uint64 { return p.ino }

// EventQueue returns the queue notified when the pipe's readiness
// changes.
func (p *Pipe) EventQueue() *vfs.Queue { return &p.queue }

// read moves queued bytes to dst: 0 at end of file (no writers), EAGAIN
// when the pipe is empty but has writers.
func (p *Pipe) read(dst []byte) (int, error) {
	if len(dst) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	if len(p.data) == 0 {
		writers := p.writers
		p.mu.Unlock()
		if writers == 0 {
			return 0, nil
		}
		return 0, unix.EAGAIN
	}
	n := copy(dst, p.data)
	p.data = p.data[n:]
	if len(p.data) == 0 {
		p.drained()
	}
	p.mem.Uncharge(usage.Pipes, uint64(n))
	p.mu.Unlock()
	p.queue.Notify(writeEvents)
	return n, nil
}

// write queues what fits of src: all of it or nothing for at most
// AtomicSize bytes, EAGAIN when nothing fits, and the count with EAGAIN
// when only part of a larger src fits (the vfs.Waitable contract); EPIPE
// without readers; ENOMEM when the sandbox's memory account (mem, the
// writer's) cannot take the bytes.
func (p *Pipe) write(src []byte, mem *usage.Memory) (int, error) {
	if len(src) == 0 {
		return 0, nil
	}
	p.mu.Lock()
	if p.readers == 0 {
		p.mu.Unlock()
		return 0, unix.EPIPE
	}
	free := p.capacity - len(p.data)
	if free <= 0 || len(src) <= AtomicSize && free < len(src) {
		p.mu.Unlock()
		return 0, unix.EAGAIN
	}
	n := min(free, len(src))
	if len(p.data) == 0 {
		p.mem = mem
	}
	if !p.mem.Charge(usage.Pipes, uint64(n)) {
		p.mu.Unlock()
		return 0, unix.ENOMEM
	}
	p.enqueue(src[:n])
	p.mu.Unlock()
	p.queue.Notify(readEvents)
	if n < len(src) {
		return n, unix.EAGAIN // the rest waits for room
	}
	return n, nil
}

// keptBuffer is the largest buffer a drained pipe keeps for its next
// write: one page, as Linux keeps a spare page per pipe. It is not
// charged to the sandbox's memory, so it stays small.
const keptBuffer = PageSize

// enqueue appends b to the queued bytes; mu is held.
func (p *Pipe) enqueue(b []byte) {
	empty, room := len(p.data) == 0, cap(p.data)
	p.data = append(p.data, b...)
	if empty || cap(p.data) != room {
		// data starts its backing array: a kept buffer, or one append
		// just allocated.
		p.base = p.data
	}
}

// drained lets the buffer of a pipe that was just emptied go, or keeps it
// for the next write if it is small; mu is held.
func (p *Pipe) drained() {
	if cap(p.base) <= keptBuffer {
		p.data = p.base[:0]
		return
	}
	p.data, p.base = nil, nil
}

// Tee copies up to n of p's queued bytes to out without consuming them
// (tee(2)), charged to mem: 0 when p is empty and has no writers; EAGAIN
// when p is empty, or out has no room (what fits is copied, as a write
// of that many bytes would); EPIPE when out has no readers. p and out
// are different pipes.
func (p *Pipe) Tee(out *Pipe, n int, mem *usage.Memory) (int, error) {
	p.mu.Lock()
	data := append([]byte(nil), p.data[:min(n, len(p.data))]...)
	writers := p.writers
	p.mu.Unlock()
	if len(data) == 0 {
		if writers == 0 {
			return 0, nil
		}
		return 0, unix.EAGAIN
	}
	m, err := out.write(data, mem)
	if m > 0 {
		return m, nil
	}
	return 0, err
}

// Queued returns the number of bytes waiting to be read (FIONREAD).
func (p *Pipe) Queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.data)
}

// Size returns the capacity (F_GETPIPE_SZ).
func (p *Pipe) Size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.capacity
}

// SetSize sets the capacity as F_SETPIPE_SZ does (pipe_set_size) and
// returns it: size is rounded up to a power of two of pages
// (round_pipe_size), EINVAL above 2^31; growing the pipe above
// pipe-max-size needs CAP_SYS_RESOURCE (EPERM), and growing it while its
// user's pages would be over pipe-user-pages-soft or -hard needs
// CAP_SYS_RESOURCE or CAP_SYS_ADMIN (EPERM); EBUSY if the queued bytes
// would not fit. c is the caller; the pages are charged to the pipe's
// user, the one that made it.
func (p *Pipe) SetSize(size uint32, c Caller) (int, error) {
	n := roundSize(uint64(size))
	if n == 0 {
		return 0, unix.EINVAL
	}
	pages := uint64(n) / PageSize
	p.mu.Lock()
	defer p.mu.Unlock()
	if n > uint32(p.capacity) && n > p.accounts.MaxSize() && !c.Resource {
		return 0, unix.EPERM
	}
	user := p.accounts.account(p.uid, p.accounted, pages)
	if pages > p.accounted && (p.accounts.tooManyHard(user) || p.accounts.tooManySoft(user)) && c.unprivileged() {
		p.accounts.account(p.uid, pages, p.accounted)
		return 0, unix.EPERM
	}
	if int(n) < len(p.data) {
		p.accounts.account(p.uid, pages, p.accounted)
		return 0, unix.EBUSY
	}
	p.capacity, p.accounted = int(n), pages
	p.queue.Notify(writeEvents)
	return int(n), nil
}

// roundSize is round_pipe_size: a requested capacity rounded up to a
// power of two of pages, at least one page; 0 above 2^31.
func roundSize(size uint64) uint32 {
	if size > maxSize {
		return 0
	}
	n := uint64(PageSize)
	for n < size {
		n <<= 1
	}
	return uint32(n)
}

// readiness returns the events of an end that reads and/or writes; since
// is the count of writer opens when the end opened.
func (p *Pipe) readiness(read, write bool, since uint64) int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ev int16
	if read {
		if len(p.data) > 0 {
			ev |= readEvents
		}
		if p.writers == 0 && p.wOpens != since {
			ev |= unix.POLLHUP
		}
	}
	if write {
		if p.capacity-len(p.data) >= min(AtomicSize, p.capacity) {
			ev |= writeEvents
		}
		if p.readers == 0 {
			ev |= unix.POLLERR
		}
	}
	return ev
}
