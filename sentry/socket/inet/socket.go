package inet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"runsc-lite/sentry/vfs"
)

var (
// dev is st_dev of sockets (Linux's sockfs); Internet sockets have
// their own device, numbered apart from Unix sockets'.
)

// Socket is one AF_INET or AF_INET6 socket: a netstack endpoint. It is
// the inode and the vfs.FileImpl of its file.
type Socket struct {
	st *Stack
	// family is AF_INET or AF_INET6; IPV6_ADDRFORM makes an AF_INET6
	// socket AF_INET.
	family   atomic.Int32
	typ      int // SOCK_STREAM or SOCK_DGRAM
	protocol int // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP or IPPROTO_ICMPV6
	ino      uint64
	uid      uint32       // the creator's effective user ID
	backlog  atomic.Int32 // listen(2)'s backlog, as capped (sk_max_ack_backlog)
	// ep is netstack's endpoint; connect(AF_UNSPEC) replaces a TCP
	// socket's (disconnectStream).
	ep    atomic.Pointer[tcpip.Endpoint]
	wq    *waiter.Queue // netstack's, shared by every endpoint of the socket, relayed to queue by relay
	relay waiter.Entry
	queue vfs.Queue

	// shutWrite and shutRead are set once shutdown(2) closed the sending
	// or receiving side (sk_shutdown, which Linux sets even when
	// shutdown fails with ENOTCONN).
	shutWrite, shutRead atomic.Bool
	// connectFailed is set when a blocking connect reported its failure,
	// which in Linux disconnects the socket (its poll is a new one's);
	// errTaken once SO_ERROR or connect took the pending error. Both are
	// cleared by the next connect (closedReadiness).
	connectFailed, errTaken atomic.Bool
	// noSpace is set when a send found no room, until the file's owner
	// is told of room again (SOCKWQ_ASYNC_NOSPACE, AsyncReasons).
	noSpace atomic.Bool
	// hupSent is set once the owner got POLL_HUP (AsyncReasons).
	hupSent atomic.Bool

	// readMu serializes receives, so that concurrent readers of a
	// stream each take a contiguous part of it.
	readMu sync.Mutex

	// TCP urgent data (urgent.go): sent counts the bytes the stream
	// took, copied those reads consumed (written under readMu); urg is
	// the urgent mark a peer on this stack set; oobInline is
	// SO_OOBINLINE (netstack's is a no-op).
	sent      atomic.Int64
	copied    atomic.Int64
	urg       atomic.Pointer[urgent]
	oobInline atomic.Bool
	// peekOff is SO_PEEK_OFF, negative when off (peekoff.go).
	peekOff atomic.Int32
	// stash are UDP datagrams taken from netstack for a peek at an
	// offset past its first one, to be read before netstack's
	// (peekoff.go); guarded by readMu, its length in stashed.
	stash   []stashed
	stashed atomic.Int32

	// SO_RCVTIMEO and SO_SNDTIMEO (their own lock).
	SockTimeouts

	// mu serializes connects and guards the fields below.
	mu sync.Mutex
	// corkedForMore: a TCP send with MSG_MORE corked the connection
	// (TCP_CORK itself was off); the next send without it uncorks.
	corkedForMore bool
	udpCork       bool               // UDP_CORK
	stamp         int                // SO_TIMESTAMP(NS): stampNone, stampMicro or stampNano
	pending       pendingDatagram    // a UDP datagram being gathered
	bound         *tcpip.FullAddress // what bind(2) gave, kept by disconnectStream
	resetErr      bool               // disconnectStream reset a connection: SO_ERROR is ECONNRESET once
	// groups are the multicast groups joined (IP_ADD_MEMBERSHIP,
	// MCAST_JOIN_GROUP), as Linux keeps them per socket, for every
	// protocol: netstack keeps them for UDP only.
	groups map[membership]bool
	// multicastIf is IP_MULTICAST_IF's address (mcastif.go).
	multicastIf tcpip.Address
}

// protocols maps a socket(2) type and protocol to netstack's transport
// protocol, with the checks of Linux's inet_create and inet6_create
// (their inetsw tables): a type without protocols is ESOCKTNOSUPPORT, a
// protocol the type lacks EPROTONOSUPPORT. Protocol 0 is the type's
// first one. It returns the protocol number as Linux names it.
func protocols(fam, typ, protocol int) (tcpip.TransportProtocolNumber, int, error) {
	switch typ {
	case sys.SOCK_STREAM:
		if protocol == 0 || protocol == sys.IPPROTO_TCP {
			return tcp.ProtocolNumber, sys.IPPROTO_TCP, nil
		}
	case sys.SOCK_DGRAM:
		switch {
		case protocol == 0 || protocol == sys.IPPROTO_UDP:
			return udp.ProtocolNumber, sys.IPPROTO_UDP, nil
		case fam == sys.AF_INET && protocol == sys.IPPROTO_ICMP:
			return icmp.ProtocolNumber4, sys.IPPROTO_ICMP, nil
		case fam == sys.AF_INET6 && protocol == sys.IPPROTO_ICMPV6:
			return icmp.ProtocolNumber6, sys.IPPROTO_ICMPV6, nil
		}
	case sys.SOCK_RAW:
		// The caller checked CAP_NET_RAW and the protocol's range.
		switch protocol {
		case sys.IPPROTO_TCP, sys.IPPROTO_UDP, sys.IPPROTO_RAW:
			return tcpip.TransportProtocolNumber(protocol), protocol, nil
		case sys.IPPROTO_ICMP:
			if fam == sys.AF_INET {
				return icmp.ProtocolNumber4, protocol, nil
			}
		case sys.IPPROTO_ICMPV6:
			if fam == sys.AF_INET6 {
				return icmp.ProtocolNumber6, protocol, nil
			}
		}
	default:
		return 0, 0, sys.ESOCKTNOSUPPORT
	}
	return 0, 0, sys.EPROTONOSUPPORT
}

// CheckType checks a socket(2) type (without flags) and protocol for
// family fam as New does.
func CheckType(fam, typ, protocol int) error {
	_, _, err := protocols(fam, typ, protocol)
	return err
}

// New implements socket(2) for AF_INET and AF_INET6 (fam) with a type
// typ (without flags) and protocol; flags may hold SOCK_NONBLOCK; uid
// is its owner, as /proc/net shows it. The file has one reference.
func (st *Stack) New(fam, typ, protocol, flags int, uid uint32) (*vfs.File, error) {
	trans, proto, err := protocols(fam, typ, protocol)
	if err != nil {
		return nil, err
	}
	ns, err := st.netstack()
	if err != nil {
		return nil, err
	}
	netProto := ipv4.ProtocolNumber
	if fam == sys.AF_INET6 {
		netProto = ipv6.ProtocolNumber
	}
	wq := new(waiter.Queue)
	var ep tcpip.Endpoint
	var terr tcpip.Error
	if typ == sys.SOCK_RAW {
		// IPPROTO_RAW sends whole IP packets and receives nothing
		// (netstack's unassociated endpoint); the others see every
		// packet of their protocol, IPv4's with its header.
		ep, terr = ns.NewRawEndpoint(trans, netProto, wq, proto != sys.IPPROTO_RAW)
	} else {
		ep, terr = ns.NewEndpoint(trans, netProto, wq)
	}
	if terr != nil {
		return nil, errno(terr)
	}
	s := newSocket(st, fam, typ, proto, ep, wq, uid)
	return newFile(s, flags), nil
}

// endpoint returns the socket's netstack endpoint.
func (s *Socket) endpoint() tcpip.Endpoint { return *s.ep.Load() }

// fam returns the socket's family.
func (s *Socket) fam() int { return int(s.family.Load()) }

// newSocket wraps an endpoint and starts relaying its events.
func newSocket(st *Stack, fam, typ, proto int, ep tcpip.Endpoint, wq *waiter.Queue, uid uint32) *Socket {
	s := &Socket{st: st, typ: typ, protocol: proto, ino: vfs.NewSockIno(), wq: wq, uid: uid}
	s.peekOff.Store(-1)
	s.family.Store(int32(fam))
	s.ep.Store(&ep)
	s.relay.Init(s, waiter.EventMask(0xffff))
	wq.EventRegister(&s.relay)
	st.add(s)
	return s
}

// NotifyEvent implements waiter.EventListener: netstack's events, which
// are poll(2)'s bits, go to the file's queue.
func (s *Socket) NotifyEvent(mask waiter.EventMask) {
	s.queue.Notify(int16(s.urgentEvents(mask)))
}

// newFile returns a file with one reference for s.
func newFile(s *Socket, flags int) *vfs.File {
	return vfs.NewFile(nil, nil, s, s, sys.O_RDWR|flags&sys.O_NONBLOCK)
}

// FromFile returns the Internet socket of f, if it is one.
func FromFile(f *vfs.File) (*Socket, bool) {
	s, ok := f.Impl().(*Socket)
	return s, ok
}

// Stack returns the stack (network namespace) the socket belongs to.
func (s *Socket) Stack() *Stack { return s.st }

// Family returns SO_DOMAIN.
func (s *Socket) Family() int { return s.fam() }

// Type returns SO_TYPE.
func (s *Socket) Type() int { return s.typ }

// Stream reports whether the socket is a TCP socket.
func (s *Socket) Stream() bool { return s.typ == sys.SOCK_STREAM }

// Stat implements vfs.Inode.
func (s *Socket) Stat(ctx context.Context) (sys.Stat_t, error) {
	return sys.Stat_t{Dev: vfs.SockDev, Ino: s.ino, Nlink: 1, Mode: sys.S_IFSOCK | 0o777, Blksize: 4096}, nil
}

// Open implements vfs.Inode: a socket cannot be opened by name.
func (s *Socket) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, sys.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (s *Socket) LinkName() string { return fmt.Sprintf("socket:[%d]", s.ino) }

// EventQueue implements vfs.Waitable.
func (s *Socket) EventQueue() *vfs.Queue { return &s.queue }

// SignalDriven implements vfs.SignalDriven: every socket may send SIGIO
// (sock_fasync), and a TCP socket SIGURG (urgent.go).
func (s *Socket) SignalDriven() {}

// AsyncReasons implements vfs.AsyncReasoner as Linux's sockets call
// sock_wake_async: POLL_ERR for an error (sk_error_report: a reset, an
// ICMP error); POLL_HUP then POLL_IN for the FIN that closes a stream
// already shut for writing (tcp_fin, then sk_data_ready); POLL_IN for
// data, a FIN or a connection on a listener; POLL_OUT only for room
// after a send found none (SOCK_WAKE_SPACE): a peer that reads, a
// connect that completes, our own shutdown, a connection's end after
// both FINs send nothing. It is called from netstack's notifications,
// some made under the endpoint's lock: it looks only at the events and
// at state read without that lock (the TCP state is atomic), never at
// the endpoint's Readiness. Netstack tells of a TCP state change
// (closed, reset) with every event, POLLERR and POLLHUP among them: the
// state then says which it was.
func (s *Socket) AsyncReasons(events int16) []int32 {
	if ep, ok := s.endpoint().(*tcp.Endpoint); ok && events&(sys.POLLERR|sys.POLLHUP) != 0 {
		switch tcp.EndpointState(ep.State()) {
		case tcp.StateError:
			return []int32{linux.POLL_ERR}
		case tcp.StateTimeWait, tcp.StateClosing:
			if s.shutWrite.Load() && s.hupSent.CompareAndSwap(false, true) {
				return []int32{linux.POLL_HUP, linux.POLL_IN}
			}
		}
		return nil
	}
	switch {
	case events&sys.POLLERR != 0:
		return []int32{linux.POLL_ERR}
	case events&(sys.POLLIN|linux.POLLRDNORM) != 0:
		if s.protocol == sys.IPPROTO_UDP {
			s.stashForSignals() // so that the next datagram signals too
		}
		return []int32{linux.POLL_IN}
	case events&(sys.POLLOUT|linux.POLLWRNORM) != 0:
		if s.noSpace.CompareAndSwap(true, false) {
			return []int32{linux.POLL_OUT}
		}
	}
	return nil
}

// Readiness implements vfs.Readiness: netstack's, whose bits are poll's,
// with POLLERR and POLLHUP always asked for, and POLLHUP for a stream
// closed both ways (tcp_poll: both directions shut down), which netstack
// reports only once the connection is gone.
//
// POLLRDHUP is Linux's whenever the peer has shut down its writing
// (tcp_poll: RCV_SHUTDOWN), but netstack reports it only while our own
// writing is open: a connection we shut down writing to first, then the
// peer, showed POLLIN without POLLRDHUP (and so without POLLHUP) until it
// reached TIME_WAIT. A connected endpoint is readable only with queued
// bytes or with its receiving closed, so readable with nothing queued is
// the peer's shutdown.
func (s *Socket) Readiness(mask int16) int16 {
	ask := waiter.EventMask(uint16(mask)) | waiter.EventHUp
	e, isTCP := s.endpoint().(*tcp.Endpoint)
	if !isTCP {
		ask |= waiter.EventErr
	} else {
		ask |= waiter.EventIn
	}
	if isTCP {
		if ev, ok := s.closedReadiness(e); ok {
			return ev & (mask | sys.POLLERR | sys.POLLHUP)
		}
	}
	// A closed TCP endpoint is "ready for anything" it is asked: POLLERR
	// only when the connection failed.
	ev := int16(s.endpoint().Readiness(ask))
	if isTCP && e.EndpointState() == tcp.StateError {
		ev |= sys.POLLERR
	}
	if isTCP && ev&sys.POLLIN != 0 && peerShutWriting(e) {
		ev |= linux.POLLRDHUP
	}
	if isTCP && ev&linux.POLLRDHUP != 0 && s.shutWrite.Load() {
		ev |= sys.POLLHUP
	}
	if isTCP {
		ev = s.urgentReadiness(ev)
	} else if s.stashed.Load() > 0 {
		ev |= sys.POLLIN // datagrams a peek took out of netstack
	}
	return ev & (mask | sys.POLLERR | sys.POLLHUP)
}

// closedReadiness is tcp_poll for a TCP socket in Linux's TCP_CLOSE:
// never connected (netstack's initial and bound states), or its
// connection over (reset, refused, closed), where netstack's endpoint is
// "ready for anything" it is asked. POLLHUP always; POLLOUT, since
// nothing blocks a send that fails at once; POLLIN and POLLRDHUP once
// the receiving side is shut, which a connection's end does for both
// (tcp_done: SHUTDOWN_MASK) unless a blocking connect reported the
// failure and disconnected the socket (tcp_disconnect: as new); POLLERR
// while the error is pending. A pending error that a receive or send
// returned is still counted pending here (Linux's sock_error took it).
// ok is false in every other state.
func (s *Socket) closedReadiness(e *tcp.Endpoint) (ev int16, ok bool) {
	shutRead, errPending := s.shutRead.Load(), false
	switch e.EndpointState() {
	case tcp.StateInitial, tcp.StateBound:
	case tcp.StateError, tcp.StateClose:
		if !s.connectFailed.Load() {
			shutRead = true
			errPending = e.EndpointState() == tcp.StateError && !s.errTaken.Load()
		}
	default:
		return 0, false
	}
	ev = sys.POLLHUP | sys.POLLOUT | linux.POLLWRNORM
	if shutRead {
		ev |= sys.POLLIN | linux.POLLRDNORM | linux.POLLRDHUP
	}
	if errPending {
		ev |= sys.POLLERR
	}
	return ev, true
}

// peerShutWriting reports whether a readable TCP endpoint is readable
// because its peer shut down writing: it is connected (a listener is
// readable with connections to accept) and nothing is queued to read.
func peerShutWriting(e *tcp.Endpoint) bool {
	switch e.EndpointState() {
	case tcp.StateEstablished, tcp.StateFinWait1, tcp.StateFinWait2, tcp.StateCloseWait, tcp.StateClosing, tcp.StateLastAck:
	default:
		return false
	}
	queued, err := e.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
	return err == nil && queued == 0
}

// ReadAt implements vfs.FileImpl: sockets have no offsets.
func (s *Socket) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, sys.ESPIPE
}

// WriteAt implements vfs.FileImpl: sockets have no offsets.
func (s *Socket) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, sys.ESPIPE
}

// Read implements vfs.Stream (read(2), readv(2)): recv without flags.
func (s *Socket) Read(ctx context.Context, p []byte) (int, error) {
	r, err := s.Recv(p, false, false)
	return r.N, err
}

// Write implements vfs.Stream (write(2), writev(2)): send without flags
// to the peer.
func (s *Socket) Write(ctx context.Context, p []byte) (int, error) {
	return s.Send(p, nil, SendOptions{})
}

// Release implements vfs.FileImpl: the endpoint closes (netstack
// finishes a TCP connection in the background, with SO_LINGER's reset
// if it was set with a zero timeout).
func (s *Socket) Release() {
	s.st.remove(s)
	s.wq.EventUnregister(&s.relay)
	s.endpoint().Close()
}

// Bind implements bind(2) with the address raw, checked as Linux does.
func (s *Socket) Bind(raw []byte) error {
	a, err := bindAddress(s.fam(), raw)
	if err != nil {
		return err
	}
	if err := errno(s.endpoint().Bind(a)); err != nil {
		return err
	}
	s.mu.Lock()
	s.bound = &a
	s.mu.Unlock()
	return nil
}

// disconnectStream is connect(AF_UNSPEC) on a TCP socket (tcp_disconnect):
// a connection is reset (a listener's queued ones too) and the socket is
// as new, with its options, and with the address bind(2) gave it (Linux
// keeps a port or an address the application bound). Netstack cannot
// reuse an endpoint, so the socket gets a new one, on the same waiter
// queue, of the socket's family now (IPV6_ADDRFORM may have changed it).
func (s *Socket) disconnectStream() error {
	ns, err := s.st.netstack()
	if err != nil {
		return err
	}
	netProto := ipv4.ProtocolNumber
	if s.fam() == sys.AF_INET6 {
		netProto = ipv6.ProtocolNumber
	}
	ep, terr := ns.NewEndpoint(tcp.ProtocolNumber, netProto, s.wq)
	if terr != nil {
		return errno(terr)
	}
	old := s.endpoint()
	copyOptions(old, ep)
	reset := false
	if t, ok := old.(*tcp.Endpoint); ok {
		// tcp_disconnect: a connection is reset, and the socket
		// reports ECONNRESET once (SO_ERROR).
		switch t.EndpointState() {
		case tcp.StateEstablished, tcp.StateCloseWait, tcp.StateFinWait1, tcp.StateFinWait2, tcp.StateSynRecv:
			reset = true
		}
		t.Abort()
	} else {
		old.Close()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetErr = reset
	if s.bound != nil {
		a := *s.bound
		if a.Addr.Len() == header.IPv6AddressSize && netProto == ipv4.ProtocolNumber {
			a.Addr = tcpip.AddrFrom4Slice(a.Addr.AsSlice()[12:]) // v4-mapped, now IPv4
		}
		if terr := ep.Bind(a); terr != nil {
			ep.Close()
			return errno(terr)
		}
	}
	s.ep.Store(&ep)
	s.sent.Store(0)
	s.copied.Store(0)
	s.urg.Store(nil)
	s.corkedForMore = false
	s.shutWrite.Store(false)
	return nil
}

// copyOptions gives a new endpoint the options of the one it replaces
// that a disconnect keeps.
func copyOptions(from, to tcpip.Endpoint) {
	f, t := from.SocketOptions(), to.SocketOptions()
	t.SetReuseAddress(f.GetReuseAddress())
	t.SetReusePort(f.GetReusePort())
	t.SetKeepAlive(f.GetKeepAlive())
	t.SetLinger(f.GetLinger())
	t.SetDelayOption(f.GetDelayOption())
	t.SetCorkOption(f.GetCorkOption())
	t.SetQuickAck(f.GetQuickAck())
	t.SetV6Only(f.GetV6Only())
	t.SetSendBufferSize(f.GetSendBufferSize(), false)
	t.SetReceiveBufferSize(f.GetReceiveBufferSize(), false)
	for _, o := range []tcpip.SockOptInt{tcpip.IPv4TTLOption, tcpip.IPv4TOSOption, tcpip.IPv6HopLimitOption, tcpip.IPv6TrafficClassOption} {
		if v, err := from.GetSockOptInt(o); err == nil {
			to.SetSockOptInt(o, v)
		}
	}
}

// addrForm is IPV6_ADDRFORM to AF_INET (do_ipv6_setsockopt): a TCP
// socket connected, or a UDP socket with a peer, to an IPv4 peer (as a
// v4-mapped address, without IPV6_V6ONLY) becomes an AF_INET socket: its
// addresses are struct sockaddr_in from then on. Otherwise ENOTCONN
// (not connected), EADDRNOTAVAIL (an IPv6 peer), EBUSY (a UDP datagram
// being gathered); other protocols ENOPROTOOPT.
func (s *Socket) addrForm(v []byte) error {
	i, err := intOption(v)
	if err != nil {
		return err
	}
	if i != sys.AF_INET {
		return sys.EINVAL
	}
	ep := s.endpoint()
	switch s.protocol {
	case sys.IPPROTO_UDP:
		s.mu.Lock()
		busy := s.pending.active
		s.mu.Unlock()
		if busy {
			return sys.EBUSY
		}
	case sys.IPPROTO_TCP:
		if t, ok := ep.(*tcp.Endpoint); !ok || t.EndpointState() != tcp.StateEstablished {
			return sys.ENOTCONN
		}
	default:
		return sys.ENOPROTOOPT
	}
	peer, terr := ep.GetRemoteAddress()
	if terr != nil {
		return sys.ENOTCONN
	}
	v4 := peer.Addr.Len() == header.IPv4AddressSize || header.IsV4MappedAddress(peer.Addr)
	if ep.SocketOptions().GetV6Only() || !v4 {
		return sys.EADDRNOTAVAIL
	}
	s.family.Store(sys.AF_INET)
	return nil
}

// BindPort returns the port raw (a bind(2) address) names, 0 if none or
// if raw is not one: the caller checks privileged ports.
func (s *Socket) BindPort(raw []byte) uint16 {
	a, err := bindAddress(s.fam(), raw)
	if err != nil {
		return 0
	}
	return a.Port
}

// Listen implements listen(2); Linux caps the backlog at somaxconn and
// takes a negative one as somaxconn too.
func (s *Socket) Listen(backlog int32) error {
	if s.typ != sys.SOCK_STREAM {
		return sys.EOPNOTSUPP
	}
	if backlog < 0 || backlog > maxBacklog {
		backlog = maxBacklog
	}
	if err := errno(s.endpoint().Listen(int(backlog))); err != nil {
		return err
	}
	s.backlog.Store(backlog)
	return nil
}

// maxBacklog is net.core.somaxconn.
const maxBacklog = 4096

// Accept takes a connection from the backlog without waiting (EAGAIN if
// there is none): its file, with flags (SOCK_NONBLOCK), and the peer's
// address.
func (s *Socket) Accept(flags int) (*vfs.File, []byte, error) {
	if s.typ != sys.SOCK_STREAM {
		return nil, nil, sys.EOPNOTSUPP
	}
	var peer tcpip.FullAddress
	ep, wq, err := s.endpoint().Accept(&peer)
	if err != nil {
		return nil, nil, errno(err)
	}
	c := newSocket(s.st, s.fam(), s.typ, s.protocol, ep, wq, s.uid)
	c.oobInline.Store(s.oobInline.Load())
	c.peekOff.Store(s.peekOff.Load()) // sk_clone_lock copies sk_peek_off
	s.st.adoptUrgent(c)
	return newFile(c, flags), encodeAddress(s.fam(), peer), nil
}

// Connect starts connect(2) to the address raw. A TCP connection that
// did not complete at once returns EINPROGRESS: the caller waits for
// POLLOUT and asks ConnectResult. AF_UNSPEC dissolves a datagram
// socket's association.
func (s *Socket) Connect(raw []byte) error {
	a, unspec, err := peerAddress(s.fam(), raw)
	if err != nil {
		return err
	}
	if unspec {
		if s.typ == sys.SOCK_STREAM {
			return s.disconnectStream()
		}
		s.endpoint().Disconnect()
		return nil
	}
	if s.typ == sys.SOCK_STREAM && s.endpoint().SocketOptions().GetAcceptConn() {
		return sys.EISCONN // inet_stream_connect: not in TCP_CLOSE
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.connectFailed.Store(false)
	s.errTaken.Store(false)
	err = errno(s.endpoint().Connect(a))
	if err != nil {
		s.autobind() // inet_dgram_connect binds a port first
	}
	return err
}

// ConnectResult is the outcome of a connection that Connect started:
// EAGAIN while it is in progress, nil once it is established, or why it
// failed. raw is the address given to Connect.
func (s *Socket) ConnectResult(raw []byte) error {
	a, _, err := peerAddress(s.fam(), raw)
	if err != nil {
		return err
	}
	switch err := s.endpoint().Connect(a); err.(type) {
	case *tcpip.ErrAlreadyConnecting, *tcpip.ErrConnectStarted:
		return sys.EAGAIN
	case nil:
		return nil
	default:
		s.takeError() // connect(2) reported it: SO_ERROR is clear
		s.connectFailed.Store(true)
		return errno(err)
	}
}

// takeError returns and clears the socket's pending error (SO_ERROR).
// Netstack may hold a failure twice (as the connection's hard error and
// as its last error); Linux has one sk_err, so both go.
func (s *Socket) takeError() tcpip.Error {
	s.errTaken.Store(true)
	s.mu.Lock()
	reset := s.resetErr
	s.resetErr = false
	s.mu.Unlock()
	if reset {
		return &tcpip.ErrConnectionReset{}
	}
	err := s.endpoint().LastError()
	if again := s.endpoint().LastError(); err == nil {
		err = again
	}
	return err
}

// Shutdown implements shutdown(2).
func (s *Socket) Shutdown(how int32) error {
	var flags tcpip.ShutdownFlags
	switch how {
	case sys.SHUT_RD:
		flags = tcpip.ShutdownRead
	case sys.SHUT_WR:
		flags = tcpip.ShutdownWrite
	case sys.SHUT_RDWR:
		flags = tcpip.ShutdownRead | tcpip.ShutdownWrite
	default:
		return sys.EINVAL
	}
	err := errno(s.endpoint().Shutdown(flags))
	if err == nil || err == sys.ENOTCONN && s.typ == sys.SOCK_STREAM {
		if flags&tcpip.ShutdownRead != 0 {
			s.shutRead.Store(true)
		}
		if flags&tcpip.ShutdownWrite != 0 {
			s.shutWrite.Store(true)
			s.queue.Notify(sys.POLLHUP)
		}
	}
	return err
}

// Name is getsockname(2)'s address.
func (s *Socket) Name() []byte {
	a, err := s.endpoint().GetLocalAddress()
	if err != nil {
		return unspecifiedName(s.fam())
	}
	return encodeAddress(s.fam(), a)
}

// PeerName is getpeername(2)'s address: ENOTCONN without a peer.
func (s *Socket) PeerName() ([]byte, error) {
	a, err := s.endpoint().GetRemoteAddress()
	if err != nil {
		return nil, errno(err)
	}
	return encodeAddress(s.fam(), a), nil
}

// Send sends data without waiting, to the address to (raw, from sendto
// or sendmsg) if given. A stream takes what fits and returns the count
// with EAGAIN for the rest (the vfs.Waitable contract); a datagram goes
// whole or fails. o.More (MSG_MORE) holds the data back: a TCP socket
// corks until a send without it, a UDP socket gathers one datagram
// (corkedSend).
func (s *Socket) Send(data []byte, to []byte, o SendOptions) (int, error) {
	opts := tcpip.WriteOptions{ControlMessages: o.Control}
	sent := len(data) // a datagram's send counts its own part only
	if s.protocol == sys.IPPROTO_UDP {
		var done bool
		var n int
		var err error
		if data, to, done, n, err = s.corkedSend(data, to, o.More); done {
			return n, err
		}
	}
	if to != nil {
		if s.typ == sys.SOCK_STREAM {
			// tcp_sendmsg ignores the address of a connected
			// socket; an unconnected one is EPIPE (or ENOTCONN).
		} else {
			a, unspec, err := s.sendAddress(to)
			if err != nil {
				return 0, err
			}
			if !unspec {
				opts.To = &a
			}
			if !unspec && s.st.sendToNowhere(s.fam(), a) {
				s.autobind()
				return sent, nil
			}
		}
	}
	if s.typ == sys.SOCK_STREAM {
		s.moreCork(o.More)
	}
	n, err := s.endpoint().Write(bytes.NewReader(data), opts)
	if s.typ == sys.SOCK_STREAM && !o.More {
		s.endMoreCork()
	}
	if s.typ == sys.SOCK_STREAM && n > 0 {
		s.sent.Add(n)
	}
	if err != nil {
		e := errno(err)
		if e == sys.EAGAIN {
			s.noSpace.Store(true)
		}
		return 0, e
	}
	if s.typ != sys.SOCK_STREAM {
		return sent, nil
	}
	if int(n) < len(data) {
		s.noSpace.Store(true)
		return int(n), sys.EAGAIN
	}
	return int(n), nil
}

// autobind gives an unbound UDP socket an ephemeral port, as
// inet_send_prepare and inet_dgram_connect do before the protocol's
// sendmsg or connect, for a send that goes nowhere (sendToNowhere) and
// a connect that failed (netstack binds only on success).
func (s *Socket) autobind() {
	if s.protocol != sys.IPPROTO_UDP {
		return
	}
	if a, err := s.endpoint().GetLocalAddress(); err == nil && a.Port == 0 {
		if err := s.endpoint().Bind(tcpip.FullAddress{}); err != nil {
			s.st.log().Debug("inet: autobind before a send to 0.0.0.0", "err", err)
		}
	}
}

// sendAddress is the destination of a send to the address to: an
// AF_UNSPEC address means the connected peer on an IPv6 socket
// (udpv6_sendmsg) but is taken as AF_INET's on an IPv4 UDP or raw
// socket (udp_sendmsg, raw_sendmsg: sin_family 0 passes, and its
// sin_addr, 0.0.0.0 among them, is the destination), and is
// EAFNOSUPPORT on an IPv4 ping socket (ping_v4_sendmsg).
func (s *Socket) sendAddress(to []byte) (tcpip.FullAddress, bool, error) {
	a, unspec, err := peerAddress(s.fam(), to)
	if err != nil || !unspec || s.fam() != sys.AF_INET {
		return a, unspec, err
	}
	if s.typ == sys.SOCK_DGRAM && s.protocol == sys.IPPROTO_ICMP {
		return a, false, sys.EAFNOSUPPORT
	}
	a, err = decodeAddress(sys.AF_INET, to)
	if err == nil && s.typ == sys.SOCK_DGRAM && a.Port == 0 {
		err = sys.EINVAL // udp_sendmsg: no port
	}
	return a, false, err
}

// moreCork corks a TCP connection for a send with MSG_MORE, unless
// TCP_CORK already does (tcp_push: MSG_MORE is TCP_NAGLE_CORK for that
// send). Netstack's cork sends what it holds after 200 ms at the latest.
func (s *Socket) moreCork(more bool) {
	if !more {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ops := s.endpoint().SocketOptions()
	if !s.corkedForMore && !ops.GetCorkOption() {
		ops.SetCorkOption(true)
		s.corkedForMore = true
	}
}

// endMoreCork uncorks what MSG_MORE corked: a send without it pushes.
func (s *Socket) endMoreCork() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.corkedForMore {
		s.corkedForMore = false
		s.endpoint().SocketOptions().SetCorkOption(false)
	}
}

// corkedSend gathers a UDP datagram sent in parts, as udp_sendmsg with
// MSG_MORE or UDP_CORK: each part is queued (the first one's address is
// the datagram's, later ones' addresses are ignored), and the first send
// without either sends the whole. done reports that the send is over
// (queued, or failed) with n and err; otherwise data and to are what to
// send now. Too much data in all is EMSGSIZE, and the parts go.
func (s *Socket) corkedSend(data, to []byte, more bool) (_, _ []byte, done bool, n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cork := more || s.udpCork
	if !s.pending.active {
		if !cork {
			return data, to, false, 0, nil
		}
		// The address is checked before anything is queued.
		if to != nil {
			if _, _, err := peerAddress(s.fam(), to); err != nil {
				return nil, nil, true, 0, err
			}
		} else if _, err := s.endpoint().GetRemoteAddress(); err != nil {
			return nil, nil, true, 0, sys.EDESTADDRREQ
		}
		s.pending = pendingDatagram{active: true, to: bytes.Clone(to)}
	}
	if len(s.pending.data)+len(data) > s.MaxDatagram() {
		s.pending = pendingDatagram{}
		return nil, nil, true, 0, sys.EMSGSIZE
	}
	s.pending.data = append(s.pending.data, data...)
	if cork {
		return nil, nil, true, len(data), nil
	}
	all, allTo := s.pending.data, s.pending.to
	s.pending = pendingDatagram{}
	return all, allTo, false, 0, nil
}

// pendingDatagram is a UDP datagram being gathered (corkedSend).
type pendingDatagram struct {
	active bool
	data   []byte
	to     []byte // the destination, nil: the connected peer
}

// pushPending sends a gathered datagram (UDP_CORK cleared).
func (s *Socket) pushPending() error {
	s.mu.Lock()
	p := s.pending
	s.pending = pendingDatagram{}
	s.mu.Unlock()
	if !p.active {
		return nil
	}
	_, err := s.Send(p.data, p.to, SendOptions{})
	return err
}

// Received is what one receive took.
type Received struct {
	// N is the number of bytes copied.
	N int
	// Len is the full length of the datagram (larger than N when it was
	// truncated); for streams, N.
	Len int
	// From is the sender's address (datagram sockets), nil otherwise.
	From []byte
	// Control are the control messages of a datagram the socket's
	// options ask for (receivedControl).
	Control []ControlMessage
	// OOB is set for the urgent byte of recv(MSG_OOB) (msg_flags'
	// MSG_OOB).
	OOB bool
}

// Recv takes data into dst without waiting: from a stream, what is
// queued up to len(dst); from a datagram socket, one datagram, cut to
// dst. peek leaves the data queued; discard (MSG_TRUNC on a stream)
// drops up to len(dst) bytes without copying them. EAGAIN when there is
// nothing to read; 0 at the end of a stream.
func (s *Socket) Recv(dst []byte, peek, discard bool) (Received, error) {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if u := s.urg.Load(); u != nil && s.typ == sys.SOCK_STREAM {
		return s.recvMarked(u, dst, peek, discard)
	}
	return s.recvPlain(dst, peek, discard)
}

// recvPlain is Recv without an urgent mark to stop at; the caller holds
// readMu. A stream's consumed bytes count in copied.
func (s *Socket) recvPlain(dst []byte, peek, discard bool) (Received, error) {
	stream := s.typ == sys.SOCK_STREAM
	if !stream && (len(s.stash) > 0 || s.protocol == sys.IPPROTO_UDP && s.peekOff.Load() >= 0) {
		return s.recvStashed(dst, peek, discard)
	}
	var w io.Writer = &tcpip.LimitedWriter{W: sliceWriter{&dst}, N: int64(len(dst))}
	if discard && stream {
		w = &tcpip.LimitedWriter{W: io.Discard, N: int64(len(dst))}
	}
	skip := 0
	if off := s.peekOff.Load(); peek && stream && off > 0 {
		// SO_PEEK_OFF: the peek starts past what earlier peeks saw
		// (tcp_recvmsg's peek_seq).
		skip = int(off)
		w = &tcpip.LimitedWriter{W: &skipWriter{skip: skip, w: w}, N: int64(skip + len(dst))}
	}
	res, err := s.endpoint().Read(w, tcpip.ReadOptions{Peek: peek, NeedRemoteAddr: !stream})
	switch err.(type) {
	case nil:
	case *tcpip.ErrClosedForReceive:
		return Received{}, nil
	case *tcpip.ErrBadBuffer:
		if len(dst) == 0 || discard {
			// A zero-length read of a datagram consumes it.
			return Received{Len: res.Total}, nil
		}
		return Received{}, sys.EFAULT
	default:
		return Received{}, errno(err)
	}
	r := Received{N: res.Count, Len: res.Total}
	if stream {
		if skip > 0 {
			if res.Count <= skip {
				return Received{}, sys.EAGAIN // nothing past the offset yet
			}
			r.N -= skip
		}
		s.movePeekOff(peek, r.N)
		r.Len = r.N
		if !peek && r.N > 0 {
			s.copied.Add(int64(r.N))
			s.endpoint().ModerateRecvBuf(r.N)
		}
	} else {
		r.From = encodeAddress(s.fam(), res.RemoteAddr)
		r.Control = s.receivedControl(res.ControlMessages)
	}
	return r, nil
}

// sliceWriter writes into a slice, advancing it; it takes no more than
// fits (LimitedWriter around it never offers more).
type sliceWriter struct{ b *[]byte }

func (w sliceWriter) Write(p []byte) (int, error) {
	n := copy(*w.b, p)
	*w.b = (*w.b)[n:]
	return n, nil
}

// MaxDatagram is the largest datagram a send may carry: the IP length
// field's limit less the headers.
func (s *Socket) MaxDatagram() int {
	if s.fam() == sys.AF_INET6 {
		return 65535 - 8
	}
	return 65535 - 20 - 8
}
