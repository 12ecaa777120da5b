package host

import (
	"log/slog"
	"sync"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/vfs"
)

// A host terminal given to the sandbox (its stdin, stdout or stderr, and
// /dev/tty reopened from it) has readiness and signal-driven I/O, as a
// terminal has in Linux: poll, select and epoll wait for the host
// terminal's input, and F_SETOWN with O_ASYNC (or FIOASYNC) signals its
// owner when input arrives.
//
// The sentry learns of the host terminal's readiness from one epoll
// instance of its own (ttyPoller), edge-triggered: Linux's n_tty wakes
// the terminal's readers once per input it commits (a line in canonical
// mode, bytes in raw mode), and each wake-up is one edge, as each is
// one kill_fasync(POLL_IN) in Linux. Readiness itself is a zero-timeout
// poll of the host descriptor. The descriptor's own flags are left
// alone: it is the same open file description as the user's shell's, and
// O_NONBLOCK there would outlive the sandbox.
//
// Signals: POLL_IN for input; a write to the host terminal that found no
// room signals nothing when room comes (Linux sends POLL_OUT then,
// TTY_DO_WRITE_WAKEUP), nor does a hang-up of the host terminal; the
// sandbox's own pseudo-terminals (devpts) send both.

// hostTTY is a host descriptor that is a terminal.
type hostTTY struct {
	*hostFD
	queue vfs.Queue
	watch sync.Once // adds the descriptor to ttys at the first EventQueue
}

// importedFile is a host descriptor's inode and file.
type importedFile interface {
	vfs.Inode
	vfs.FileImpl
}

// newHostFile returns the file implementation of h: a hostTTY when it
// is a terminal.
func newHostFile(h *hostFD) importedFile {
	if !IsTerminal(h.fd()) {
		return h
	}
	return &hostTTY{hostFD: h}
}

// EventQueue implements vfs.Waitable; the first use starts watching the
// host descriptor.
func (t *hostTTY) EventQueue() *vfs.Queue {
	t.watch.Do(func() {
		if err := ttys.add(t); err != nil {
			// Readiness still answers; waits then last until a
			// signal, and no SIGIO comes.
			slog.Warn("host terminal: no readiness events", "err", err)
		}
	})
	return &t.queue
}

// Readiness implements vfs.Readiness: the host descriptor's.
func (t *hostTTY) Readiness(mask int16) int16 {
	fds := []unix.PollFd{{Fd: int32(t.fd()), Events: mask}}
	if n, err := unix.Poll(fds, 0); err != nil || n == 0 {
		return 0
	}
	return fds[0].Revents
}

// SignalDriven implements vfs.SignalDriven.
func (t *hostTTY) SignalDriven() {}

// AsyncReasons implements vfs.AsyncReasoner: input is POLL_IN, nothing
// else signals (above).
func (t *hostTTY) AsyncReasons(events int16) []int32 {
	if events&(unix.POLLIN|linux.POLLRDNORM) != 0 {
		return []int32{linux.POLL_IN}
	}
	return nil
}

// Release implements vfs.FileImpl: the descriptor leaves the epoll
// instance before it closes.
func (t *hostTTY) Release() {
	ttys.remove(t)
	t.hostFD.Release()
}

// ttyPoller is the epoll instance that watches the host terminals.
type ttyPoller struct {
	once sync.Once
	epfd int   // set by once
	err  error // set by once

	mu   sync.Mutex // guards ttys
	ttys map[int32]*hostTTY
}

var ttys ttyPoller

// ttyEvents are the events watched, edge-triggered.
const ttyEvents = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET

func (p *ttyPoller) add(t *hostTTY) error {
	p.once.Do(func() {
		p.epfd, p.err = unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if p.err == nil {
			p.ttys = make(map[int32]*hostTTY)
			go p.run()
		}
	})
	if p.err != nil {
		return p.err
	}
	fd := t.fd()
	p.mu.Lock()
	p.ttys[int32(fd)] = t
	p.mu.Unlock()
	ev := unix.EpollEvent{Events: ttyEvents, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		p.remove(t)
		return err
	}
	return nil
}

func (p *ttyPoller) remove(t *hostTTY) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fd := int32(t.fd())
	if p.ttys[fd] != t {
		return
	}
	delete(p.ttys, fd)
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, int(fd), nil)
}

// run passes the terminals' events on to their queues for as long as the
// sentry lives.
func (p *ttyPoller) run() {
	events := make([]unix.EpollEvent, 16)
	for {
		n, err := epollWait(p.epfd, events)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			slog.Warn("host terminals: epoll_pwait", "err", err)
			return
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			t := p.ttys[ev.Fd]
			p.mu.Unlock()
			if t != nil {
				t.queue.Notify(int16(ev.Events)) // epoll's bits are poll's
			}
		}
	}
}
