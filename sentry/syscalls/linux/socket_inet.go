package linux

import (
	"errors"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/socket/hostinet"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/sentry/socket/netlink"
	unixsocket "runsc-lite/sentry/socket/unix"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// Internet socket handlers (AF_INET, AF_INET6; sentry/socket/inet):
// the socket calls for a descriptor that is an Internet socket come
// here from the handlers in socket.go and socket_msg.go. The sockets
// never block; the loop in sockWait waits on their queues, with
// MSG_DONTWAIT, O_NONBLOCK and SO_RCVTIMEO/SO_SNDTIMEO as for Unix
// sockets.

// socketMax is SOCK_MAX: types at or beyond it are EINVAL.
const socketMax = unix.SOCK_PACKET + 1

// ipprotoMax is IPPROTO_MAX: protocol numbers at or beyond it are EINVAL
// (IPPROTO_MPTCP, 262, is the last).
const ipprotoMax = 263

// privilegedPorts is net.ipv4.ip_unprivileged_port_start: binding below
// it needs CAP_NET_BIND_SERVICE.
const privilegedPorts = 1024

// inetSocket implements socket(2) for AF_INET and AF_INET6, in the order
// of Linux's __sock_create and inet_create: bad flags and types are
// EINVAL, then the type and protocol are looked up (ESOCKTNOSUPPORT,
// EPROTONOSUPPORT). Raw sockets need CAP_NET_RAW (EPERM, as Linux); they
// are the sandbox's netstack's, for ICMP, ICMPv6, TCP, UDP and
// IPPROTO_RAW (other protocols: EPROTONOSUPPORT, logged).
func inetSocket(t *kernel.Task, domain, typ, protocol int32) (uintptr, error) {
	flags := int(typ) &^ 0xf
	kind := int(typ) & 0xf
	if flags&^socketFlags != 0 || kind >= socketMax {
		return 0, unix.EINVAL
	}
	if kind == unix.SOCK_RAW {
		if err := rawSocketAllowed(t, protocol); err != nil {
			return 0, err
		}
	}
	var f *vfs.File
	var err error
	// A socket is its creator's network namespace's for its whole life.
	if ns := t.NetNS(); ns.Host != nil {
		f, err = ns.Host.New(int(domain), kind, int(protocol), flags, t.Creds().UID.Effective)
	} else {
		f, err = ns.Inet.New(int(domain), kind, int(protocol), flags, t.Creds().UID.Effective)
	}
	if err != nil {
		if kind == unix.SOCK_RAW && err == unix.EPROTONOSUPPORT {
			t.K.Log.Warn("unimplemented: raw Internet sockets of this protocol", "pid", t.PID(), "protocol", protocol)
		}
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&unix.SOCK_CLOEXEC != 0)
	return uintptr(fd), mfile(err)
}

// inetSocketpair is socketpair(2) for AF_INET and AF_INET6: the socket
// is checked as socket(2) checks it, then EOPNOTSUPP (Linux's
// sock_no_socketpair).
func inetSocketpair(t *kernel.Task, domain, typ, protocol int32) error {
	kind := int(typ) & 0xf
	if int(typ)&^0xf&^socketFlags != 0 || kind >= socketMax {
		return unix.EINVAL
	}
	if kind == unix.SOCK_RAW {
		if err := rawSocketAllowed(t, protocol); err != nil {
			return err
		}
		return unix.EOPNOTSUPP
	}
	if err := inet.CheckType(int(domain), kind, int(protocol)); err != nil {
		return err
	}
	return unix.EOPNOTSUPP
}

// rawSocketAllowed checks a raw Internet socket's protocol and caller as
// inet_create does: out of range is EINVAL; 0 (IPPROTO_IP) names no raw
// protocol (EPROTONOSUPPORT, the wildcard entry matches only a named
// one); then CAP_NET_RAW is needed (EPERM).
func rawSocketAllowed(t *kernel.Task, protocol int32) error {
	switch {
	case protocol < 0 || protocol >= ipprotoMax:
		return unix.EINVAL
	case protocol == 0:
		return unix.EPROTONOSUPPORT
	case !hasCap(t, unix.CAP_NET_RAW):
		return unix.EPERM
	}
	return nil
}

// hasCap reports whether the task has capability c in the user namespace
// that owns its network namespace (Linux's ns_capable(net->user_ns, c)):
// the initial one for the sandbox's first network namespace, so a process
// of a child user namespace has no network privilege there; in a network
// namespace its user namespace made, its root has them (sentry/kernel
// netns.go).
func hasCap(t *kernel.Task, c int) bool {
	return t.Creds().HasCapIn(t.NetNS().Owner, linux.Capability(c))
}

// netSocket is a socket that parses its own addresses: an Internet
// socket (sentry/socket/inet, or sentry/socket/hostinet with
// --network=host) or a netlink one (sentry/socket/netlink).
// Its calls never block (EAGAIN); the handlers here wait.
type netSocket interface {
	Bind(raw []byte) error
	BindPort(raw []byte) uint16
	Listen(backlog int32) error
	Accept(flags int) (*vfs.File, []byte, error)
	Connect(raw []byte) error
	ConnectResult(raw []byte) error
	Shutdown(how int32) error
	Name() []byte
	PeerName() ([]byte, error)
	GetOption(level, name, n int) ([]byte, error)
	SetOption(level, name int, v []byte) error
	Timeouts() (rcv, snd time.Duration)
	Send(data, to []byte, o inet.SendOptions) (int, error)
	Recv(dst []byte, peek, discard bool) (inet.Received, error)
	Stream() bool
	MaxDatagram() int
}

// netSocketOf returns f's socket if it is a netSocket.
func netSocketOf(f *vfs.File) (netSocket, bool) {
	if s, ok := inet.FromFile(f); ok {
		return s, true
	}
	if s, ok := hostinet.FromFile(f); ok {
		return s, true
	}
	if s, ok := netlink.FromFile(f); ok {
		return s, true
	}
	if s, ok := inet.PacketFromFile(f); ok {
		return s, true
	}
	return nil, false
}

// withAnySocket runs onNet or onUnix on the socket at fd: EBADF, or
// ENOTSOCK for a file that is not a socket.
func withAnySocket(t *kernel.Task, fd int32,
	onNet func(f *vfs.File, s netSocket) (uintptr, error),
	onUnix func(f *vfs.File, s *unixsocket.Socket) (uintptr, error)) (uintptr, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if s, ok := netSocketOf(f); ok {
		return onNet(f, s)
	}
	s, err := unixsocket.FromFile(f)
	if err != nil {
		return 0, err
	}
	return onUnix(f, s)
}

func inetBind(t *kernel.Task, s netSocket, raw []byte) error {
	if p := s.BindPort(raw); p != 0 && p < privilegedPorts && !hasCap(t, unix.CAP_NET_BIND_SERVICE) {
		return unix.EACCES
	}
	return s.Bind(raw)
}

func inetAccept(t *kernel.Task, f *vfs.File, s netSocket, addr, lenAddr uintptr, flags int) (uintptr, error) {
	var nf *vfs.File
	var peer []byte
	rcv, _ := s.Timeouts()
	_, err := sockWait(t, f, unix.POLLIN, nonblocking(f, 0), rcv, func() (int, error) {
		var err error
		nf, peer, err = s.Accept(flags)
		return 0, err
	})
	if err != nil {
		return 0, err
	}
	defer nf.DecRef()
	if err := copyOutAddr(t, peer, addr, lenAddr); err != nil {
		return 0, err
	}
	nfd, err := t.FDs().Install(nf, 0, flags&unix.SOCK_CLOEXEC != 0)
	return uintptr(nfd), mfile(err)
}

// inetConnect connects, waiting for a TCP handshake unless the socket
// is non-blocking (EINPROGRESS, the result then in SO_ERROR). An
// interrupted wait is EINTR, and the connection goes on, as in Linux.
func inetConnect(t *kernel.Task, f *vfs.File, s netSocket, raw []byte) error {
	err := s.Connect(raw)
	if err != unix.EINPROGRESS || nonblocking(f, 0) {
		return err
	}
	_, snd := s.Timeouts()
	_, err = sockWait(t, f, unix.POLLOUT, false, snd, func() (int, error) {
		return 0, s.ConnectResult(raw)
	})
	if err == unix.EAGAIN {
		return unix.EINPROGRESS // SO_SNDTIMEO expired first
	}
	return err
}

func inetGetsockopt(t *kernel.Task, s netSocket, level, name int32, n int32, valAddr, lenAddr uintptr) error {
	if n < 0 {
		return unix.EINVAL
	}
	var v []byte
	var err error
	if in, ok := s.(inputOption); ok && in.TakesInput(int(level), int(name)) {
		v, err = getOptionIn(t, in, level, name, n, valAddr)
	} else {
		v, err = s.GetOption(int(level), int(name), int(n))
	}
	if err != nil {
		logUnknownOption(t, err)
		return err
	}
	v = v[:min(int(n), len(v))]
	if err := t.CopyOut(valAddr, v); err != nil {
		return err
	}
	l := int32(len(v))
	return kernel.CopyOut(t, lenAddr, &l)
}

// ringSender is a socket whose sends may take their data from a ring
// the application fills (AF_PACKET's TX ring) instead of the buffer.
type ringSender interface {
	SendsFromRing() bool
}

// inputOption is a socket with getsockopt options that read a value
// from optval first (AF_PACKET's PACKET_HDRLEN).
type inputOption interface {
	TakesInput(level, name int) bool
	GetOptionIn(level, name int, in []byte) ([]byte, error)
}

// getOptionIn reads an input option's value, at most an int (EINVAL
// for less, EFAULT for memory that cannot be read), and answers it.
func getOptionIn(t *kernel.Task, s inputOption, level, name, n int32, valAddr uintptr) ([]byte, error) {
	if n < 4 {
		return nil, unix.EINVAL
	}
	in := make([]byte, 4)
	if err := t.CopyIn(valAddr, in); err != nil {
		return nil, err
	}
	return s.GetOptionIn(int(level), int(name), in)
}

func inetSetsockopt(t *kernel.Task, s netSocket, level, name int32, valAddr uintptr, n int32) error {
	if n < 0 {
		return unix.EINVAL
	}
	if is, ok := netfilterSocket(s, level, name, false); ok {
		return netfilterSetsockopt(t, is, name, valAddr, n)
	}
	v := make([]byte, min(int(n), maxSockOpt))
	if err := t.CopyIn(valAddr, v); err != nil {
		return err
	}
	if level == unix.SOL_SOCKET && (name == unix.SO_SNDBUFFORCE || name == unix.SO_RCVBUFFORCE) && !hasCap(t, unix.CAP_NET_ADMIN) {
		return unix.EPERM // past the limits is for the network's admin
	}
	err := s.SetOption(int(level), int(name), v)
	logUnknownOption(t, err)
	return err
}

// logUnknownOption logs an option the sockets do not implement.
func logUnknownOption(t *kernel.Task, err error) {
	var u inet.Unknown
	if errors.As(err, &u) {
		t.K.Log.Warn("unimplemented socket option", "pid", t.PID(), "level", u.Level, "name", u.Name)
	}
}

// inetSend sends src on s, to name if given. A stream takes each
// buffer-full whole, waiting for room, unless it stops; a datagram goes
// whole or not at all.
func inetSend(t *kernel.Task, f *vfs.File, s netSocket, src usermem.IOSequence, name []byte, o inet.SendOptions, flags int) (int, error) {
	if flags&unix.MSG_OOB != 0 {
		return inetSendUrgent(t, f, s, src, name, o, flags)
	}
	nonblock := nonblocking(f, flags)
	o.More = flags&unix.MSG_MORE != 0
	o.NetAdmin = hasCap(t, unix.CAP_NET_ADMIN)
	_, timeout := s.Timeouts()
	if r, ok := s.(ringSender); ok && r.SendsFromRing() {
		// The frames are in the ring; the buffer is not read
		// (tpacket_snd never looks at msg_iov).
		return s.Send(nil, name, o)
	}
	if !s.Stream() {
		if src.NumBytes() > s.MaxDatagram() {
			return 0, unix.EMSGSIZE
		}
		data := make([]byte, src.NumBytes())
		if _, err := src.CopyIn(data); err != nil {
			return 0, unix.EFAULT
		}
		n, err := sockWait(t, f, unix.POLLOUT, nonblock, timeout, func() (int, error) {
			return s.Send(data, name, o)
		})
		if err == unix.EPIPE {
			err = unixsocket.NoSignal(err) // only streams raise SIGPIPE
		}
		return n, err
	}
	n, err := partialSend(src.CopyInTo(usermem.WriterFunc(func(data []byte) (int, error) {
		done := 0
		_, err := sockWait(t, f, unix.POLLOUT, nonblock, timeout, func() (int, error) {
			n, err := s.Send(data[done:], name, o)
			done += n
			return done, err
		})
		return done, err
	})))
	if err == unix.EPIPE && flags&unix.MSG_NOSIGNAL != 0 {
		err = unixsocket.NoSignal(err)
	}
	return n, err
}

// urgentSocket is a socket that sends and receives TCP urgent data
// (MSG_OOB): the sandbox's stack's (inet.Socket) or the host's.
type urgentSocket interface {
	UrgentOffStack() bool
	SendUrgent(b byte) (int, bool, error)
	RecvUrgent(dst []byte, peek bool) (inet.Received, error)
}

// inetSendUrgent is a send with MSG_OOB: on a datagram socket
// EOPNOTSUPP (udp_sendmsg, ping, raw, netlink); on a TCP socket the data
// goes as a send without it, but for its last byte, which is urgent
// (tcp_sendmsg marks the end of the send). A TCP peer off the sandbox's
// stack cannot be given urgent data by netstack: EINVAL, as gVisor, and
// logged (inet/urgent.go).
func inetSendUrgent(t *kernel.Task, f *vfs.File, s netSocket, src usermem.IOSequence, name []byte, o inet.SendOptions, flags int) (int, error) {
	us, ok := s.(urgentSocket)
	if !s.Stream() || !ok {
		return 0, unix.EOPNOTSUPP
	}
	if us.UrgentOffStack() {
		logUrgentOffStack(t)
		return 0, inet.ErrUrgentOffStack
	}
	n := src.NumBytes()
	if n == 0 {
		return inetSend(t, f, s, src, name, o, flags&^unix.MSG_OOB)
	}
	head := 0
	if n > 1 {
		var err error
		head, err = inetSend(t, f, s, src.TakeFirst(n-1), name, o, flags&^unix.MSG_OOB)
		if head < n-1 {
			return head, err
		}
	}
	var b [1]byte
	if _, err := src.DropFirst(n - 1).CopyIn(b[:]); err != nil {
		return partialSend(head, unix.EFAULT)
	}
	_, snd := s.Timeouts()
	var off bool
	sent, err := sockWait(t, f, unix.POLLOUT, nonblocking(f, flags), snd, func() (int, error) {
		var n int
		var err error
		n, off, err = us.SendUrgent(b[0])
		return n, err
	})
	if off {
		logUrgentOffStack(t)
	}
	if err == unix.EPIPE && flags&unix.MSG_NOSIGNAL != 0 {
		err = unixsocket.NoSignal(err)
	}
	return partialSend(head+sent, err)
}

// logUrgentOffStack logs a MSG_OOB send refused because netstack cannot
// send urgent data to a peer off the sandbox's stack.
func logUrgentOffStack(t *kernel.Task) {
	t.K.Log.Warn("unimplemented: MSG_OOB to a peer off the sandbox's network stack (netstack sends no urgent pointer)", "pid", t.PID())
}

// inetRecv receives into dst from s and returns what was received and
// the count recv returns (with MSG_TRUNC: a datagram's full length, or
// the bytes a stream dropped). MSG_WAITALL on a stream waits until dst
// is full, the stream ends or an error comes.
func inetRecv(t *kernel.Task, f *vfs.File, s netSocket, dst usermem.IOSequence, flags int) (inet.Received, int, error) {
	if flags&unix.MSG_OOB != 0 {
		return inetRecvUrgent(s, dst, flags)
	}
	if flags&unix.MSG_ERRQUEUE != 0 {
		return inetRecvError(s, dst, flags)
	}
	peek := flags&unix.MSG_PEEK != 0
	trunc := flags&unix.MSG_TRUNC != 0
	nonblock := nonblocking(f, flags)
	timeout, _ := s.Timeouts()
	buf := make([]byte, min(dst.NumBytes(), usermem.ChunkSize))
	waitall := flags&unix.MSG_WAITALL != 0 && s.Stream() && !peek
	var r inet.Received
	for {
		var part inet.Received
		_, err := sockWait(t, f, unix.POLLIN, nonblock, timeout, func() (int, error) {
			var err error
			part, err = s.Recv(buf[r.N:], peek, trunc)
			return part.N, err
		})
		if err != nil {
			if r.N > 0 {
				break
			}
			return r, 0, err
		}
		if r.N == 0 {
			r.From, r.Len, r.Control = part.From, part.Len, part.Control
		} else {
			r.Len += part.Len
		}
		r.N += part.N
		if !waitall || part.N == 0 || r.N == len(buf) || atMark(s) {
			break
		}
	}
	if s.Stream() && trunc {
		return r, r.N, nil // the bytes were dropped, not copied
	}
	if _, err := dst.CopyOut(buf[:r.N]); err != nil {
		return r, 0, unix.EFAULT
	}
	got := r.N
	if trunc {
		got = r.Len
	}
	return r, got, nil
}

// atMark reports whether a stream's next read starts at an urgent mark
// (SIOCATMARK), where MSG_WAITALL stops (tcp_recvmsg).
func atMark(s netSocket) bool {
	m, ok := s.(interface{ AtMark() bool })
	return ok && m.AtMark()
}

// inetRecvUrgent is recv with MSG_OOB, which never waits (tcp_recv_urg):
// a TCP socket's urgent byte; other sockets read as without the flag
// (but netlink's, which, as a Unix socket's, refuse it).
func inetRecvUrgent(s netSocket, dst usermem.IOSequence, flags int) (inet.Received, int, error) {
	us, ok := s.(urgentSocket)
	if !ok {
		return inet.Received{}, 0, unix.EOPNOTSUPP
	}
	var b [1]byte
	buf := b[:min(dst.NumBytes(), 1)]
	r, err := us.RecvUrgent(buf, flags&unix.MSG_PEEK != 0)
	if err != nil {
		return r, 0, err
	}
	if _, err := dst.CopyOut(buf[:r.N]); err != nil {
		return r, 0, unix.EFAULT
	}
	return r, r.N, nil
}

// inetRecvError is recv with MSG_ERRQUEUE: an error queued with
// IP_RECVERR, never waiting (EAGAIN without one); other sockets have an
// empty queue.
func inetRecvError(s netSocket, dst usermem.IOSequence, flags int) (inet.Received, int, error) {
	is, ok := s.(interface {
		RecvError(dst []byte) (inet.Received, error)
	})
	if !ok {
		return inet.Received{}, 0, unix.EAGAIN
	}
	buf := make([]byte, min(dst.NumBytes(), usermem.ChunkSize))
	r, err := is.RecvError(buf)
	if err != nil {
		return r, 0, err
	}
	if _, err := dst.CopyOut(buf[:r.N]); err != nil {
		return r, 0, unix.EFAULT
	}
	got := r.N
	if flags&unix.MSG_TRUNC != 0 {
		got = r.Len
	}
	return r, got, nil
}

// netlinkSocket implements socket(2) for AF_NETLINK (NETLINK_ROUTE and
// NETLINK_SOCK_DIAG).
func netlinkSocket(t *kernel.Task, typ, protocol int32) (uintptr, error) {
	flags := int(typ) &^ 0xf
	if flags&^socketFlags != 0 || int(typ)&0xf >= socketMax {
		return 0, unix.EINVAL
	}
	var f *vfs.File
	var err error
	ns := t.NetNS()
	src := netlink.DiagSources{Inet: ns.Inet, Unix: func() []unixsocket.Entry { return t.K.UnixSockets.Entries(ns.Inode) }}
	switch {
	case ns.Host != nil && protocol == linux.NETLINK_SOCK_DIAG:
		// --network=host: the sandbox's own host sockets.
		src.Inet = ns.Host
		f, err = netlink.New(ns.Inet, src, int(typ)&0xf, int(protocol), flags, t.TG.PID)
	case ns.Host != nil:
		// --network=host: the host's interfaces, addresses and routes.
		f, err = ns.Host.NewNetlink(int(typ)&0xf, int(protocol), flags)
	default:
		f, err = netlink.New(ns.Inet, src, int(typ)&0xf, int(protocol), flags, t.TG.PID)
	}
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&unix.SOCK_CLOEXEC != 0)
	return uintptr(fd), mfile(err)
}

// packetSocket implements socket(2) for AF_PACKET, in the order of
// packet_create: CAP_NET_RAW (EPERM), then the type (SOCK_RAW or
// SOCK_DGRAM; SOCK_PACKET, obsolete, is ESOCKTNOSUPPORT here). The
// socket is in the caller's network namespace (sentry/socket/inet
// packet.go). With --network=host the first namespace's interfaces
// are the host's, on which the host gives no packet socket to the
// unprivileged forwarder: EPERM there (hostinet.RawSocketError).
func packetSocket(t *kernel.Task, typ, protocol int32) (uintptr, error) {
	flags := int(typ) &^ 0xf
	kind := int(typ) & 0xf
	if flags&^socketFlags != 0 || kind >= socketMax {
		return 0, unix.EINVAL
	}
	if !hasCap(t, unix.CAP_NET_RAW) {
		return 0, unix.EPERM
	}
	ns := t.NetNS()
	if ns.Host != nil {
		return 0, hostinet.RawSocketError(t.K.Log)
	}
	if kind == unix.SOCK_PACKET {
		t.K.Log.Warn("unimplemented: SOCK_PACKET", "pid", t.PID())
	}
	f, err := ns.Inet.NewPacket(kind, int(protocol), flags, t.MemoryAccount())
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&unix.SOCK_CLOEXEC != 0)
	return uintptr(fd), mfile(err)
}

// isSocket reports whether f is a socket of any family.
func isSocket(f *vfs.File) bool {
	if _, ok := netSocketOf(f); ok {
		return true
	}
	_, err := unixsocket.FromFile(f)
	return err == nil
}
