package hostinet

import (
	"sync"

	sys "golang.org/x/sys/unix"
)

// poller watches the host sockets with one epoll instance of the
// sentry's, edge-triggered, and passes their events on to their queues
// (hints: a woken waiter asks Readiness again). It starts with the first
// socket.
type poller struct {
	once sync.Once
	epfd int   // set by once
	err  error // set by once

	mu    sync.Mutex // guards socks
	socks map[int32]*Socket
}

// watched are the events asked of every host socket (POLLERR and POLLHUP
// are always reported).
const watched = sys.EPOLLIN | sys.EPOLLOUT | sys.EPOLLPRI | sys.EPOLLRDHUP | sys.EPOLLET

func (p *poller) start() error {
	p.once.Do(func() {
		p.epfd, p.err = sys.EpollCreate1(sys.EPOLL_CLOEXEC)
		if p.err == nil {
			p.socks = make(map[int32]*Socket)
			go p.run()
		}
	})
	return p.err
}

// add watches s.
func (p *poller) add(s *Socket) error {
	if err := p.start(); err != nil {
		return err
	}
	p.mu.Lock()
	p.socks[int32(s.fd)] = s
	p.mu.Unlock()
	ev := sys.EpollEvent{Events: watched, Fd: int32(s.fd)}
	if err := sys.EpollCtl(p.epfd, sys.EPOLL_CTL_ADD, s.fd, &ev); err != nil {
		p.remove(s)
		return err
	}
	return nil
}

// remove stops watching s, before its descriptor closes.
func (p *poller) remove(s *Socket) {
	sys.EpollCtl(p.epfd, sys.EPOLL_CTL_DEL, s.fd, nil)
	p.mu.Lock()
	if p.socks[int32(s.fd)] == s {
		delete(p.socks, int32(s.fd))
	}
	p.mu.Unlock()
}

// run passes events on for as long as the sentry lives.
func (p *poller) run() {
	events := make([]sys.EpollEvent, 128)
	for {
		n, err := epollWait(p.epfd, events)
		if err == sys.EINTR {
			continue
		}
		if err != nil {
			return // cannot happen with the sentry's own instance
		}
		for _, ev := range events[:n] {
			p.mu.Lock()
			s := p.socks[ev.Fd]
			p.mu.Unlock()
			if s != nil {
				// epoll's event bits are poll's.
				s.queue.Notify(int16(ev.Events))
			}
		}
	}
}
