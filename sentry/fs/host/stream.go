package host

import (
	"context"
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// A host pipe, socket or terminal given to the sandbox (its stdin, stdout
// or stderr, and /dev/tty reopened from a terminal) has readiness and
// honours O_NONBLOCK, as it would in Linux: poll, select and epoll wait
// for the host descriptor's input or room, a non-blocking read or write
// that would wait fails with EAGAIN, and F_SETOWN with O_ASYNC (or
// FIOASYNC) signals its owner when input arrives. An event loop reading
// a host pipe (`producer | runsc-lite run -- node app.js`) relies on it.
//
// The sentry learns of the host descriptors' readiness from one epoll
// instance of its own (streamPoller), edge-triggered: Linux wakes a
// pipe's, socket's or terminal's waiters once per change (data, room, a
// line committed in canonical mode), and each wake-up is one edge, as
// each is one kill_fasync in Linux. Readiness itself is a zero-timeout
// poll of the host descriptor. The descriptor's own flags are left
// alone: it is the same open file description as the user's shell's, and
// O_NONBLOCK there would outlive the sandbox. So a read or write is made
// only once poll says it will not wait, and a write to a pipe takes no
// more than the room the pipe has (its size less what it holds; a
// socket's write is MSG_DONTWAIT): a host call that blocked could not be
// interrupted by the sandbox's signals. A terminal's write is whole once
// poll says there is room, as before (a terminal's room is not told).
//
// Signals: POLL_IN for input; room after a write found none signals
// nothing (Linux sends POLL_OUT then), nor does a hang-up of the host
// descriptor; the sandbox's own pipes and pseudo-terminals send both.

// hostStream is a host descriptor that is a pipe, a socket or a
// terminal.
type hostStream struct {
	*hostFD
	kind  uint32 // the host descriptor's S_IFMT: S_IFIFO, S_IFSOCK or S_IFCHR (a terminal)
	queue vfs.Queue
	watch sync.Once // adds the descriptor to streams at the first EventQueue
}

// importedFile is a host descriptor's inode and file.
type importedFile interface {
	vfs.Inode
	vfs.FileImpl
}

// newHostFile returns the file implementation of h: a hostStream when it
// is a pipe, a socket or a terminal. Other devices (/dev/null as stdin)
// never wait.
func newHostFile(h *hostFD) importedFile {
	var st unix.Stat_t
	if unix.Fstat(h.fd(), &st) != nil {
		return h
	}
	kind := st.Mode & unix.S_IFMT
	if kind != unix.S_IFIFO && kind != unix.S_IFSOCK && !IsTerminal(h.fd()) {
		return h
	}
	return &hostStream{hostFD: h, kind: kind}
}

// EventQueue implements vfs.Waitable; the first use starts watching the
// host descriptor.
func (t *hostStream) EventQueue() *vfs.Queue {
	t.watch.Do(func() {
		if err := streams.add(t); err != nil {
			// Readiness still answers; waits then last until a
			// signal, and no SIGIO comes.
			slog.Warn("host descriptor: no readiness events", "err", err)
		}
	})
	return &t.queue
}

// Readiness implements vfs.Readiness: the host descriptor's.
func (t *hostStream) Readiness(mask int16) int16 {
	fds := []unix.PollFd{{Fd: int32(t.fd()), Events: mask}}
	if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
		return 0
	}
	return fds[0].Revents
}

// ReadWaiting implements vfs.WaitingReader: a blocking read waits as
// hostFD.Read does (polling, so a signal interrupts it); a non-blocking
// one reads only what is there.
func (t *hostStream) ReadWaiting(ctx context.Context, p []byte, nonblock bool) (int, error) {
	if !nonblock {
		return t.hostFD.Read(ctx, p)
	}
	if t.jc != nil {
		if err := t.jc.CheckAccess(ctx, unix.SIGTTIN); err != nil {
			return 0, err
		}
	}
	if t.Readiness(unix.POLLIN) == 0 {
		return 0, unix.EAGAIN
	}
	return retry(func() (int, error) { return unix.Read(t.fd(), p) })
}

// Read implements vfs.Stream: a read that does not wait (ReadWaiting).
func (t *hostStream) Read(ctx context.Context, p []byte) (int, error) {
	return t.ReadWaiting(ctx, p, true)
}

// Write implements vfs.Stream as a Waitable stream's: it writes what the
// host descriptor takes without waiting, and says EAGAIN (with the count
// written, if any) for the rest; the VFS waits for room on the queue
// unless the file is non-blocking. It stops only when poll finds no room
// (or a socket says EAGAIN): only a full pipe's reader wakes its writers.
func (t *hostStream) Write(ctx context.Context, p []byte) (int, error) {
	if err := t.checkWrite(ctx); err != nil {
		return 0, err
	}
	done := 0
	for done < len(p) {
		if t.Readiness(unix.POLLOUT) == 0 {
			return done, unix.EAGAIN
		}
		n, err := t.writeSome(p[done:])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// writeSome writes what of p the host descriptor takes without waiting,
// poll having said it has room.
func (t *hostStream) writeSome(p []byte) (int, error) {
	switch t.kind {
	case unix.S_IFSOCK:
		return retry(func() (int, error) { return unix.SendmsgN(t.fd(), p, nil, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL) })
	case unix.S_IFIFO:
		p = p[:min(len(p), t.pipeRoom())]
	}
	return retry(func() (int, error) { return unix.Write(t.fd(), p) })
}

// pipeRoom is how many bytes the host pipe takes now without waiting. A
// pipe keeps its bytes in page-sized buffers, of which the oldest may be
// partly read and the newest partly written, so the bytes it holds fill
// at most held/page+2 of them; poll's POLLOUT promises one free buffer.
func (t *hostStream) pipeRoom() int {
	const page = abi.PageSize
	size, err := unix.FcntlInt(uintptr(t.fd()), unix.F_GETPIPE_SZ, 0)
	if err != nil {
		return page
	}
	held, err := unix.IoctlGetInt(t.fd(), unix.TIOCINQ)
	if err != nil {
		return page
	}
	return max((size/page-held/page-2)*page, page)
}

// SignalDriven implements vfs.SignalDriven.
func (t *hostStream) SignalDriven() {}

// AsyncReasons implements vfs.AsyncReasoner: input is POLL_IN, nothing
// else signals (above).
func (t *hostStream) AsyncReasons(events int16) []int32 {
	if events&(unix.POLLIN|linux.POLLRDNORM) != 0 {
		return []int32{linux.POLL_IN}
	}
	return nil
}

// Release implements vfs.FileImpl: the descriptor leaves the epoll
// instance before it closes.
func (t *hostStream) Release() {
	streams.remove(t)
	t.hostFD.Release()
}

// streamPoller is the epoll instance that watches the host streams.
type streamPoller struct {
	once sync.Once
	epfd int   // set by once
	err  error // set by once

	mu      sync.Mutex // guards streams
	streams map[int32]*hostStream
}

var streams streamPoller

// streamEvents are the events watched, edge-triggered.
const streamEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

func (p *streamPoller) add(t *hostStream) error {
	p.once.Do(func() {
		p.epfd, p.err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if p.err == nil {
			p.streams = make(map[int32]*hostStream)
			go p.run()
		}
	})
	if p.err != nil {
		return p.err
	}
	fd := t.fd()
	p.mu.Lock()
	p.streams[int32(fd)] = t
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: streamEvents, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.remove(t)
		return err
	}
	return nil
}

func (p *streamPoller) remove(t *hostStream) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fd := int32(t.fd())
	if p.streams[fd] != t {
		return
	}
	delete(p.streams, fd)
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
}

// run passes the streams' events on to their queues for as long as the
// sentry lives.
func (p *streamPoller) run() {
	events := make([]unix.EpollEvent, 16)
	for {
		n, err := epollWait(p.epfd, events)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			slog.Warn("host streams: epoll_pwait", "err", err)
			return
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			t := p.streams[ev.Fd]
			p.mu.Unlock()
			if t != nil {
				t.queue.Notify(int16(ev.Events)) // epoll's bits are poll's
			}
		}
	}
}
