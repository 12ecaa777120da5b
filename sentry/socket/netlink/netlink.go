// Package netlink implements NETLINK_ROUTE and NETLINK_SOCK_DIAG sockets (netlink(7),
// rtnetlink(7)) inside the sandbox, enough for getifaddrs(3), `ip addr`,
// `ip link` and `ip route`: dumps of links (RTM_GETLINK), addresses
// (RTM_GETADDR) and routes (RTM_GETROUTE) that describe the sandbox's
// own network stack (package inet), never the host's, and the changes
// `ip addr add`, `ip route add` and `ip link set up/down` make to it.
//
// Design decisions:
//
//   - The kernel side answers while the request is sent: a dump is built
//     at once and queued as datagrams, each no larger than a page (as
//     netlink_dump's skbs), the last with NLMSG_DONE. Like the other
//     sockets, receives never block; the syscall layer waits on the
//     socket's queue.
//   - Changes (change.go) need CAP_NET_ADMIN inside the sandbox, for
//     every kind but GET (EPERM otherwise, as rtnetlink_rcv_msg):
//     RTM_NEWADDR/RTM_DELADDR, RTM_NEWROUTE/RTM_DELROUTE of unicast routes
//     of the main table, and RTM_NEWLINK's IFF_UP on an existing
//     interface change the sandbox's netstack (package inet), never the
//     host's network; anything else (other tables and route types, new
//     interfaces, other link attributes) is EOPNOTSUPP. Errors carry the
//     errno only, without Linux's extended acknowledgement messages.
//     Changes made through sendmsg are checked against the sender's
//     capabilities; write(2) on the socket counts as unprivileged.
//   - Multicast group memberships are accepted and never deliver
//     anything (no change notifications are sent).
//   - NETLINK_SOCK_DIAG (diag.go) lists the sandbox's own TCP, UDP and
//     Unix sockets, as /proc/net/tcp, udp and unix do, for ss(8).
//   - Other netlink protocols are EPROTONOSUPPORT at socket(2).
package netlink

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/sentry/socket/unix"
	"runsc-lite/sentry/vfs"
)

// ports are the bound sockets' port IDs, per network namespace (a
// stack) as Linux's netlink table is: the first socket of a process
// takes its pid, the others numbers downwards from -4096, as
// netlink_autobind.
var ports struct {
	mu   sync.Mutex           // guards the fields below; taken under Socket.mu
	used map[portKey]struct{} // bound ports
	next int32                // the last negative port given
}

// portKey is a port in a network namespace.
type portKey struct {
	st   *inet.Stack
	port uint32
}

// maxDatagram is the most one receive of a dump returns: a page less an
// sk_buff's overhead, as netlink_dump allocates.
const maxDatagram = 4096 - 320

// Socket is one NETLINK_ROUTE or NETLINK_SOCK_DIAG socket.
type Socket struct {
	st       *inet.Stack
	socks    inet.SockLister     // the TCP and UDP sockets NETLINK_SOCK_DIAG lists
	unix     func() []unix.Entry // the Unix sockets it lists
	typ      int
	protocol int // NETLINK_ROUTE or NETLINK_SOCK_DIAG
	ino      uint64
	queue    vfs.Queue
	inet.SockTimeouts

	// mu guards the fields below.
	mu     sync.Mutex
	port   uint32 // nl_pid, 0 until bound
	pid    uint32 // the creating process, the first port it tries
	groups uint32
	rcv    [][]byte
	rcvbuf int
	sndbuf int
	shut   bool
}

// New implements socket(2) for AF_NETLINK in network namespace st: typ
// SOCK_RAW or SOCK_DGRAM (ESOCKTNOSUPPORT otherwise), protocol
// NETLINK_ROUTE or NETLINK_SOCK_DIAG (EPROTONOSUPPORT otherwise), whose
// dumps list src. pid is the caller's process.
func New(st *inet.Stack, src DiagSources, typ, protocol, flags int, pid int) (*vfs.File, error) {
	if typ != sys.SOCK_RAW && typ != sys.SOCK_DGRAM {
		return nil, sys.ESOCKTNOSUPPORT
	}
	if protocol != linux.NETLINK_ROUTE && protocol != linux.NETLINK_SOCK_DIAG {
		return nil, sys.EPROTONOSUPPORT
	}
	s := &Socket{st: st, socks: src.Inet, unix: src.Unix, typ: typ, protocol: protocol, ino: vfs.NewSockIno(), pid: uint32(pid), rcvbuf: 212992, sndbuf: 212992}
	st.Hold() // its network namespace lives while it does
	return vfs.NewFile(nil, nil, s, s, sys.O_RDWR|flags&sys.O_NONBLOCK), nil
}

// DiagSources are what NETLINK_SOCK_DIAG lists: a network namespace's
// TCP and UDP sockets, and its Unix sockets.
type DiagSources struct {
	Inet inet.SockLister
	Unix func() []unix.Entry
}

// FromFile returns the netlink socket of f, if it is one.
func FromFile(f *vfs.File) (*Socket, bool) {
	s, ok := f.Impl().(*Socket)
	return s, ok
}

// Stat implements vfs.Inode.
func (s *Socket) Stat(ctx context.Context) (sys.Stat_t, error) {
	return sys.Stat_t{Dev: vfs.SockDev, Ino: s.ino, Nlink: 1, Mode: sys.S_IFSOCK | 0o777, Blksize: 4096}, nil
}

// Open implements vfs.Inode.
func (s *Socket) Open(ctx context.Context, flags int) (vfs.FileImpl, error) { return nil, sys.ENXIO }

// LinkName implements vfs.LinkNamer.
func (s *Socket) LinkName() string { return fmt.Sprintf("socket:[%d]", s.ino) }

// EventQueue implements vfs.Waitable.
func (s *Socket) EventQueue() *vfs.Queue { return &s.queue }

// SignalDriven implements vfs.SignalDriven: every socket may send SIGIO
// (sock_fasync).
func (s *Socket) SignalDriven() {}

// Readiness implements vfs.Readiness: readable with a queued reply,
// always writable (requests are answered at once).
func (s *Socket) Readiness(mask int16) int16 {
	s.mu.Lock()
	defer s.mu.Unlock()
	ev := int16(sys.POLLOUT | linux.POLLWRNORM)
	if len(s.rcv) > 0 {
		ev |= sys.POLLIN | linux.POLLRDNORM
	}
	return ev & (mask | sys.POLLHUP | sys.POLLERR)
}

// ReadAt implements vfs.FileImpl.
func (s *Socket) ReadAt(ctx context.Context, p []byte, off int64) (int, error) { return 0, sys.ESPIPE }

// WriteAt implements vfs.FileImpl.
func (s *Socket) WriteAt(ctx context.Context, p []byte, off int64) (int, error) { return 0, sys.ESPIPE }

// Read implements vfs.Stream.
func (s *Socket) Read(ctx context.Context, p []byte) (int, error) {
	r, err := s.Recv(p, false, false)
	return r.N, err
}

// Write implements vfs.Stream.
func (s *Socket) Write(ctx context.Context, p []byte) (int, error) {
	return s.Send(p, nil, inet.SendOptions{})
}

// Release implements vfs.FileImpl: the port is free again.
func (s *Socket) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.port != 0 {
		ports.mu.Lock()
		delete(ports.used, portKey{s.st, s.port})
		ports.mu.Unlock()
	}
	s.st.Unhold()
}

// Stream reports false: netlink is datagrams.
func (s *Socket) Stream() bool { return false }

// MaxDatagram is the largest request a send takes (SO_SNDBUF).
func (s *Socket) MaxDatagram() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sndbuf
}

// address decodes a sockaddr_nl: EINVAL if short or not AF_NETLINK.
func address(raw []byte) (linux.SockAddrNetlink, error) {
	var a linux.SockAddrNetlink
	if len(raw) < linux.SockAddrNetlinkSize {
		return a, sys.EINVAL
	}
	copy(abi.AsBytes(&a), raw)
	if a.Family != sys.AF_NETLINK {
		return a, sys.EINVAL
	}
	return a, nil
}

// bindLocked gives the socket its port: the one asked for, or the
// process's pid, or a negative one (netlink_autobind).
func (s *Socket) bindLocked(port uint32) error {
	if s.port != 0 {
		return nil
	}
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.used == nil {
		ports.used, ports.next = make(map[portKey]struct{}), -4096
	}
	_, taken := ports.used[portKey{s.st, port}]
	switch {
	case port != 0 && taken:
		return sys.EADDRINUSE
	case port == 0:
		port = s.pid
		for _, taken := ports.used[portKey{s.st, port}]; taken || port == 0; _, taken = ports.used[portKey{s.st, port}] {
			ports.next--
			port = uint32(ports.next)
		}
	}
	ports.used[portKey{s.st, port}] = struct{}{}
	s.port = port
	return nil
}

// Bind implements bind(2).
func (s *Socket) Bind(raw []byte) error {
	a, err := address(raw)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.port != 0 && a.PortID != 0 && a.PortID != s.port {
		return sys.EINVAL
	}
	if err := s.bindLocked(a.PortID); err != nil {
		return err
	}
	s.groups = a.Groups
	return nil
}

// BindPort reports no privileged port: netlink has none.
func (s *Socket) BindPort(raw []byte) uint16 { return 0 }

// Listen implements listen(2): netlink sockets do not listen.
func (s *Socket) Listen(backlog int32) error { return sys.EOPNOTSUPP }

// Accept implements accept(2): EOPNOTSUPP.
func (s *Socket) Accept(flags int) (*vfs.File, []byte, error) { return nil, nil, sys.EOPNOTSUPP }

// Connect implements connect(2): only to the kernel (port 0); AF_UNSPEC
// disconnects.
func (s *Socket) Connect(raw []byte) error {
	if len(raw) >= 2 && binary.LittleEndian.Uint16(raw) == sys.AF_UNSPEC {
		return nil
	}
	a, err := address(raw)
	if err != nil {
		return err
	}
	if a.PortID != 0 {
		return sys.ECONNREFUSED // no other netlink sockets listen in the sandbox
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bindLocked(0)
}

// ConnectResult implements the end of a connect: it never waits.
func (s *Socket) ConnectResult(raw []byte) error { return nil }

// Shutdown implements shutdown(2).
func (s *Socket) Shutdown(how int32) error {
	if how < sys.SHUT_RD || how > sys.SHUT_RDWR {
		return sys.EINVAL
	}
	return nil
}

// Name is getsockname(2)'s sockaddr_nl.
func (s *Socket) Name() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := linux.SockAddrNetlink{Family: sys.AF_NETLINK, PortID: s.port, Groups: s.groups}
	return append([]byte(nil), abi.AsBytes(&a)...)
}

// PeerName is getpeername(2)'s: the kernel, port 0.
func (s *Socket) PeerName() ([]byte, error) { return kernelName(), nil }

// kernelName is the kernel's sockaddr_nl.
func kernelName() []byte {
	a := linux.SockAddrNetlink{Family: sys.AF_NETLINK}
	return append([]byte(nil), abi.AsBytes(&a)...)
}

// Received is one receive's result.
type Received = inet.Received

// Recv takes one queued datagram into dst (cut to it, the full length in
// Len); peek leaves it queued. EAGAIN when none is queued.
func (s *Socket) Recv(dst []byte, peek, discard bool) (Received, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rcv) == 0 {
		return Received{}, sys.EAGAIN
	}
	m := s.rcv[0]
	if !peek {
		s.rcv = s.rcv[1:]
	}
	from := kernelName()
	return Received{N: copy(dst, m), Len: len(m), From: from}, nil
}

// Send takes requests (one or more netlink messages) and queues the
// replies. to, if given, must name the kernel.
func (s *Socket) Send(data []byte, to []byte, o inet.SendOptions) (int, error) {
	if to != nil {
		a, err := address(to)
		if err != nil {
			return 0, err
		}
		if a.PortID != 0 {
			return 0, sys.ECONNREFUSED
		}
	}
	s.mu.Lock()
	err := s.bindLocked(0)
	port := s.port
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	var replies [][]byte
	for rest := data; len(rest) >= linux.NetlinkMessageHeaderSize; {
		var h linux.NetlinkMessageHeader
		copy(abi.AsBytes(&h), rest)
		if h.Length < linux.NetlinkMessageHeaderSize || int(h.Length) > len(rest) {
			break // netlink_rcv_skb: a malformed message ends the batch
		}
		replies = append(replies, s.answer(h, rest[linux.NetlinkMessageHeaderSize:h.Length], port, o.NetAdmin)...)
		rest = rest[min(align(int(h.Length)), len(rest)):]
	}
	if len(replies) > 0 {
		s.mu.Lock()
		s.rcv = append(s.rcv, replies...)
		s.mu.Unlock()
		s.queue.Notify(sys.POLLIN | linux.POLLRDNORM)
	}
	return len(data), nil
}

// align rounds n up to NLMSG_ALIGNTO.
func align(n int) int { return (n + linux.NLMSG_ALIGNTO - 1) &^ (linux.NLMSG_ALIGNTO - 1) }

// Deliver queues a datagram the kernel sends the socket on its own (an
// mq_notify SIGEV_THREAD cookie, netlink_sendskb).
func (s *Socket) Deliver(b []byte) {
	s.mu.Lock()
	s.rcv = append(s.rcv, b)
	s.mu.Unlock()
	s.queue.Notify(sys.POLLIN | linux.POLLRDNORM)
}
