package unix

import (
	"context"
	"fmt"

	sys "golang.org/x/sys/unix"
)

// familyLen is offsetof(struct sockaddr_un, sun_path): an address of
// this length names no one (autobind, unnamed sockets).
const familyLen = 2

// MaxAddrLen is sizeof(struct sockaddr_un).
const MaxAddrLen = familyLen + 108

// Address is a parsed sockaddr_un.
type Address struct {
	// Raw is the address as getsockname reports it: for a path, the
	// family, the path and its NUL; for an abstract name, what the
	// caller gave.
	Raw []byte
	// Path is the filesystem path, empty for an abstract name.
	Path string
}

// Key is the key of an abstract name for sockets of type typ in network
// namespace net: as in Linux, abstract names of different types or
// network namespaces do not meet. A path's key is its node's (PathKey).
func (a Address) Key(net uint64, typ int) string { return AbstractKey(a.Raw[familyLen+1:], net, typ) }

// Abstract reports whether the address is in the abstract namespace.
func (a Address) Abstract() bool { return a.Path == "" }

// IsAutobind reports whether b is a bare AF_UNIX family, which bind
// takes as a request for an automatic abstract name.
func IsAutobind(b []byte) bool { return len(b) == familyLen && family(b) == sys.AF_UNIX }

func family(b []byte) int { return int(b[0]) | int(b[1])<<8 }

// ParseAddress checks b as Linux's unix_validate_addr and unix_mkname:
// EINVAL unless the family is AF_UNIX and a name follows. A path ends at
// its first NUL.
func ParseAddress(b []byte) (Address, error) {
	if len(b) <= familyLen || len(b) > MaxAddrLen || family(b) != sys.AF_UNIX {
		return Address{}, sys.EINVAL
	}
	if b[familyLen] == 0 {
		return Address{Raw: append([]byte(nil), b...)}, nil
	}
	path := b[familyLen:]
	for i, c := range path {
		if c == 0 {
			path = path[:i]
			break
		}
	}
	raw := append(append(append([]byte(nil), b[:familyLen]...), path...), 0)
	return Address{Raw: raw, Path: string(path)}, nil
}

// unnamed is the address getsockname and accept report for an unbound
// socket.
var unnamed = []byte{sys.AF_UNIX, 0}

// Name returns the bound address (getsockname).
func (s *Socket) Name() []byte {
	mu.Lock()
	defer mu.Unlock()
	if s.addr == nil {
		return unnamed
	}
	return s.addr
}

// PeerName returns the peer's address (getpeername): ENOTCONN without a
// peer.
func (s *Socket) PeerName() ([]byte, error) {
	mu.Lock()
	defer mu.Unlock()
	if s.peer == nil || s.state != connected {
		return nil, sys.ENOTCONN
	}
	if s.peer.addr == nil {
		return unnamed, nil
	}
	return s.peer.addr, nil
}

// Bound reports whether the socket has an address.
func (s *Socket) Bound() bool {
	mu.Lock()
	defer mu.Unlock()
	return s.addr != nil
}

// Bind gives the socket address a under key: EINVAL if it is bound
// already, EADDRINUSE if another socket holds key.
func (s *Socket) Bind(key string, a Address) error {
	mu.Lock()
	defer mu.Unlock()
	if s.addr != nil {
		return sys.EINVAL
	}
	if _, ok := s.ns.names[key]; ok {
		return sys.EADDRINUSE
	}
	s.bindLocked(key, a.Raw)
	return nil
}

func (s *Socket) bindLocked(key string, raw []byte) {
	s.ns.names[key] = s
	s.addr, s.key = raw, key
}

// Autobind binds an unbound socket to a fresh abstract name of five hex
// digits, as Linux's unix_autobind; a bound socket stays as it is.
func (s *Socket) Autobind() error {
	mu.Lock()
	defer mu.Unlock()
	return s.autobindLocked()
}

func (s *Socket) autobindLocked() error {
	if s.addr != nil {
		return nil
	}
	for range 1 << 20 {
		s.ns.nextAuto = (s.ns.nextAuto + 1) & 0xfffff
		name := fmt.Appendf(nil, "%05x", s.ns.nextAuto)
		key := AbstractKey(name, s.net, s.typ)
		if _, ok := s.ns.names[key]; !ok {
			s.bindLocked(key, append([]byte{sys.AF_UNIX, 0, 0}, name...))
			return nil
		}
	}
	return sys.ENOSPC
}

// Listen implements listen(2).
func (s *Socket) Listen(ctx context.Context, backlog int32) error {
	t := lock()
	defer t.unlock()
	if s.typ == sys.SOCK_DGRAM {
		return sys.EOPNOTSUPP
	}
	if s.addr == nil || s.state == connected {
		return sys.EINVAL
	}
	if uint32(backlog) > MaxBacklog {
		backlog = MaxBacklog
	}
	s.state, s.maxBacklog, s.listenCred = listening, int(backlog), CallerCred(ctx)
	s.wakeBlockedLocked(t)
	return nil
}

// Accept takes the oldest connection of a listening socket: EAGAIN when
// there is none, EINVAL if the socket does not listen.
func (s *Socket) Accept() (*Socket, error) {
	t := lock()
	defer t.unlock()
	if s.typ == sys.SOCK_DGRAM {
		return nil, sys.EOPNOTSUPP
	}
	if s.state != listening {
		return nil, sys.EINVAL
	}
	if len(s.backlog) == 0 {
		return nil, sys.EAGAIN
	}
	c := s.backlog[0]
	s.backlog = s.backlog[1:]
	s.wakeBlockedLocked(t)
	return c, nil
}

// Connect implements connect(2) to the socket bound under key: for a
// stream or seqpacket socket, a new connection queued on the listener
// (EAGAIN while its backlog is full); for a datagram socket, the default
// destination.
func (s *Socket) Connect(ctx context.Context, key string) error {
	cr := CallerCred(ctx)
	t := lock()
	defer t.unlock()
	target := s.ns.names[key]
	if s.typ == sys.SOCK_DGRAM {
		return s.connectDgramLocked(target)
	}
	// Linux checks the target before the caller's own state.
	if target == nil {
		return sys.ECONNREFUSED
	}
	if target.typ != s.typ {
		return sys.EPROTOTYPE
	}
	if target.state != listening || target.shutdown&shutRcv != 0 {
		return sys.ECONNREFUSED
	}
	if len(target.backlog) > target.maxBacklog {
		target.block(s)
		return sys.EAGAIN
	}
	switch s.state {
	case listening:
		return sys.EINVAL
	case connected:
		return sys.EISCONN
	}
	if s.opts.passcred {
		if err := s.autobindLocked(); err != nil {
			return err
		}
	}
	c := newSocket(s.ns, s.net, s.typ)
	c.state, c.peer, c.addr, c.peerCred = connected, s, target.addr, cr
	c.opts.passcred = target.opts.passcred
	s.state, s.peer, s.peerCred = connected, c, target.listenCred
	target.backlog = append(target.backlog, c)
	t.notify(target, readEvents)
	t.notify(s, allEvents)
	return nil
}

func (s *Socket) connectDgramLocked(target *Socket) error {
	if target == nil {
		return sys.ECONNREFUSED
	}
	if target.typ != s.typ {
		return sys.EPROTOTYPE
	}
	if target.peer != nil && target.peer != s {
		return sys.EPERM
	}
	if s.opts.passcred {
		if err := s.autobindLocked(); err != nil {
			return err
		}
	}
	s.peer, s.state = target, connected
	return nil
}

// Disconnect implements connect(2) with AF_UNSPEC: a datagram socket
// forgets its peer; other sockets get EINVAL.
func (s *Socket) Disconnect() error {
	mu.Lock()
	defer mu.Unlock()
	if s.typ != sys.SOCK_DGRAM {
		return sys.EINVAL
	}
	s.peer, s.state = nil, unconnected
	return nil
}

// Shutdown implements shutdown(2) with how = SHUT_RD, SHUT_WR or
// SHUT_RDWR; the peer of a connection sees the other half.
func (s *Socket) Shutdown(how int32) error {
	if how < sys.SHUT_RD || how > sys.SHUT_RDWR {
		return sys.EINVAL
	}
	mode := int(how) + 1
	t := lock()
	defer t.unlock()
	s.shutdown |= mode
	t.notify(s, allEvents)
	if p := s.peer; p != nil && s.typ != sys.SOCK_DGRAM {
		peerMode := 0
		if mode&shutRcv != 0 {
			peerMode |= shutSend
		}
		if mode&shutSend != 0 {
			peerMode |= shutRcv
		}
		p.shutdown |= peerMode
		t.notify(p, allEvents)
	}
	return nil
}
