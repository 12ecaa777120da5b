// Package hostinet implements the sandbox's Internet sockets with
// --network=host: each AF_INET or AF_INET6 socket of the application is a
// host socket that the sentry holds for it, as gVisor's runsc does with
// --network=host (its hostinet), for throughput where isolating the
// network is not wanted. Host mode is an explicit opt-in: the host's
// network, its loopback included, is the application's.
//
// Design decisions:
//
//   - The sentry keeps its own empty network namespace and creates no
//     socket. The network forwarder (package netfwd), in the host's
//     network namespace and confined as ever, creates each socket (OpSocket)
//     and passes it over by SCM_RIGHTS; a socket stays in the namespace it
//     was created in, so binds, listens, connects and sends on it are the
//     host namespace's. In host mode the forwarder connects nothing
//     itself.
//   - The sentry's seccomp program in host mode (a program of its own,
//     precompiled apart, sentry/confine's "hostnet" entries) adds bind,
//     connect, listen, accept4 (non-blocking, close-on-exec),
//     getsockname, getpeername, shutdown, getsockopt and setsockopt of
//     the options in confine.HostSocketOptions only, and ioctl SIOCOUTQ;
//     sendmsg, recvmsg and ppoll were allowed already. Every address,
//     option value and buffer passed to the host is a copy in the
//     sentry's own memory, never an application pointer, with the
//     lengths the filter bounds.
//   - Binding a port below 1024 is the host's decision for the sentry's
//     identity (65534, no capability): EACCES, as Linux answers an
//     unprivileged user (runsc runs as root with CAP_NET_BIND_SERVICE; we
//     do not). The sandbox's own capabilities do not reach the host.
//   - Host descriptors are non-blocking; the syscall layer waits on the
//     socket's vfs.Queue as for every other socket (signals end a wait
//     with EINTR or a restart, SO_RCVTIMEO and SO_SNDTIMEO are the
//     sentry's, MSG_DONTWAIT and O_NONBLOCK never wait). One epoll
//     instance of the sentry's (poller) watches every host socket,
//     edge-triggered, and turns its events into queue notifications;
//     readiness itself is a zero-timeout ppoll of the descriptor.
//   - AF_UNIX sockets stay the sentry's own (package unix); with
//     NETLINK_ROUTE, the application sees the host's interfaces
//     (netlink.go), and /proc/net agrees: the host's interfaces and
//     routes, the sandbox's own sockets (procnet.go).
//   - Raw Internet sockets and AF_PACKET sockets are EPERM
//     (RawSocketError): the host's answer to the unprivileged identity
//     that would create them, whatever CAP_NET_RAW the application has
//     inside; in a network namespace of the sandbox's own they are
//     netstack's.
//   - MSG_OOB and SO_PEEK_OFF are the host's: the last byte of a
//     MSG_OOB send goes with MSG_OOB, recv(MSG_OOB) and SIOCATMARK ask
//     the host socket.
package hostinet

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/netfwd"
	"runsc-lite/sentry/confine"
	"runsc-lite/sentry/socket/inet"
	"runsc-lite/sentry/vfs"
)

var (
// dev is st_dev of host-mode sockets.
)

// Stack is the sandbox's network in host mode: the forwarder that
// creates host sockets, and the poller that watches them.
type Stack struct {
	fwd    *netfwd.Client
	log    *slog.Logger
	poller poller
}

// NewStack returns the host-mode network whose sockets fwd creates.
func NewStack(fwd *netfwd.Client, log *slog.Logger) *Stack {
	return &Stack{fwd: fwd, log: log}
}

// protocol maps socket(2)'s type and protocol to the forwarder's
// protocol, with inet_create's checks (ESOCKTNOSUPPORT,
// EPROTONOSUPPORT), and returns the protocol number as Linux names it.
func protocol(fam, typ, proto int) (uint8, int, error) {
	if err := inet.CheckType(fam, typ, proto); err != nil {
		return 0, 0, err
	}
	switch {
	case typ == sys.SOCK_STREAM:
		return netfwd.TCP, sys.IPPROTO_TCP, nil
	case proto == sys.IPPROTO_ICMP:
		return netfwd.ICMP, proto, nil
	case proto == sys.IPPROTO_ICMPV6:
		return netfwd.ICMPv6, proto, nil
	}
	return netfwd.UDP, sys.IPPROTO_UDP, nil
}

// New implements socket(2) for AF_INET and AF_INET6 (fam), type typ
// (without flags) and protocol; flags may hold SOCK_NONBLOCK; uid is its
// owner, as /proc/net shows it. The file has one reference.
func (st *Stack) New(fam, typ, proto, flags int, uid uint32) (*vfs.File, error) {
	fwdProto, linuxProto, err := protocol(fam, typ, proto)
	if err != nil {
		return nil, err
	}
	if typ == sys.SOCK_RAW {
		return nil, RawSocketError(st.log)
	}
	fd, err := st.fwd.Socket(fam == sys.AF_INET, fwdProto)
	if err != nil {
		if _, ok := err.(sys.Errno); !ok {
			st.log.Error("host socket", "err", err)
			err = sys.ENOBUFS
		}
		return nil, err
	}
	s, err := st.newSocket(fd, fam, typ, linuxProto)
	if err != nil {
		return nil, err
	}
	s.uid = uid
	return newFile(s, flags), nil
}

// RawSocketError is the answer to a raw Internet socket or a packet
// socket (AF_PACKET) in host mode: EPERM, what the host answers the
// identity that would create it (the forwarder's: nobody, without
// CAP_NET_RAW), as for a bind below port 1024 (EACCES). The sandbox's
// CAP_NET_RAW is its own and does not reach the host. Giving the
// forwarder CAP_NET_RAW in the host's namespace would let the sandbox
// read every frame of the host's interfaces and send any frame from them,
// far beyond what host mode gives (the host's network as an unprivileged
// user sees it); gVisor's runsc likewise allows them in host mode only
// with --net-raw, as root. The sandbox's own netstack cannot stand in:
// in host mode the first namespace's interfaces are the host's, of which
// a netstack packet socket would see no frame. A network namespace the
// sandbox makes (CLONE_NEWNET) is netstack's in every mode, and its raw
// and packet sockets work there.
func RawSocketError(log *slog.Logger) error {
	log.Info("a raw or packet socket with --network=host: EPERM, the host's answer to an unprivileged user")
	return sys.EPERM
}

// Socket is one AF_INET or AF_INET6 socket (or AF_NETLINK NETLINK_ROUTE,
// netlink.go) of the application: a host socket, non-blocking. It is the inode and the vfs.FileImpl of its file.
type Socket struct {
	st       *Stack
	fd       int // the host socket, owned; closed by Release
	family   int
	typ      int
	protocol int
	ino      uint64
	uid      uint32 // the creator's effective user ID, for /proc/net
	queue    vfs.Queue

	inet.SockTimeouts

	// peekOff is set while SO_PEEK_OFF is on (non-negative): a
	// datagram's receive then asks the host for MSG_TRUNC only when the
	// application did, since with it the host moves the offset by the
	// datagram's length instead of the bytes copied (udp_recvmsg).
	peekOff atomic.Bool
}

// newSocket wraps host socket fd, which it then owns, and watches it.
func (st *Stack) newSocket(fd, fam, typ, proto int) (*Socket, error) {
	s := &Socket{st: st, fd: fd, family: fam, typ: typ, protocol: proto, ino: vfs.NewSockIno()}
	if err := st.poller.add(s); err != nil {
		sys.Close(fd)
		st.log.Error("watching a host socket", "err", err)
		return nil, sys.ENOBUFS
	}
	return s, nil
}

// newFile returns a file with one reference for s.
func newFile(s *Socket, flags int) *vfs.File {
	return vfs.NewFile(nil, nil, s, s, sys.O_RDWR|flags&sys.O_NONBLOCK)
}

// FromFile returns the host-mode Internet socket of f, if it is one.
func FromFile(f *vfs.File) (*Socket, bool) {
	s, ok := f.Impl().(*Socket)
	return s, ok
}

// Family returns SO_DOMAIN.
func (s *Socket) Family() int { return s.family }

// Stream reports whether the socket is a TCP socket.
func (s *Socket) Stream() bool { return s.typ == sys.SOCK_STREAM }

// MaxDatagram is the largest datagram a send may carry.
func (s *Socket) MaxDatagram() int {
	if s.family == sys.AF_INET6 {
		return 65535 - 8
	}
	return 65535 - 20 - 8
}

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
// (sock_fasync). The host's events are relayed as they come, so SIGURG,
// which the host socket would send to the sentry, is not.
func (s *Socket) SignalDriven() {}

// Readiness implements vfs.Readiness: the host socket's own.
func (s *Socket) Readiness(mask int16) int16 {
	always := int16(sys.POLLERR | sys.POLLHUP)
	fds := []sys.PollFd{{Fd: int32(s.fd), Events: mask | always}}
	var zero sys.Timespec
	for {
		n, err := sys.Ppoll(fds, &zero, nil)
		if err == sys.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return 0
		}
		return fds[0].Revents & (mask | always)
	}
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

// Write implements vfs.Stream (write(2), writev(2)): send without flags.
func (s *Socket) Write(ctx context.Context, p []byte) (int, error) {
	return s.Send(p, nil, inet.SendOptions{})
}

// Release implements vfs.FileImpl: the host socket closes.
func (s *Socket) Release() {
	s.st.poller.remove(s)
	sys.Close(s.fd)
}

// BindPort returns 0: a port below 1024 is the host's decision (EACCES
// for the sentry's unprivileged identity), not the sandbox's
// capabilities'.
func (s *Socket) BindPort(raw []byte) uint16 { return 0 }

// Bind implements bind(2).
func (s *Socket) Bind(raw []byte) error {
	return hostBind(s.fd, clipAddr(raw))
}

// Listen implements listen(2); a backlog beyond somaxconn (or negative)
// is somaxconn, as Linux takes it.
func (s *Socket) Listen(backlog int32) error {
	if backlog < 0 || backlog > confine.MaxBacklog {
		backlog = confine.MaxBacklog
	}
	return sys.Listen(s.fd, int(backlog))
}

// Accept takes a connection from the backlog without waiting (EAGAIN if
// there is none): its file, with flags (SOCK_NONBLOCK), and the peer's
// address.
func (s *Socket) Accept(flags int) (*vfs.File, []byte, error) {
	nfd, peer, err := hostAccept(s.fd)
	if err != nil {
		return nil, nil, err
	}
	c, err := s.st.newSocket(nfd, s.family, s.typ, s.protocol)
	if err != nil {
		return nil, nil, err
	}
	c.uid = s.uid
	return newFile(c, flags), peer, nil
}

// Connect starts connect(2): a TCP connection that did not complete at
// once is EINPROGRESS, and the caller waits for POLLOUT and asks
// ConnectResult.
func (s *Socket) Connect(raw []byte) error {
	return hostConnect(s.fd, clipAddr(raw))
}

// ConnectResult is the outcome of the connection Connect started: EAGAIN
// while it is in progress, nil once established, or why it failed (taken
// from SO_ERROR, which it clears, as connect(2) does).
func (s *Socket) ConnectResult(raw []byte) error {
	if s.Readiness(sys.POLLOUT) == 0 {
		return sys.EAGAIN
	}
	v, err := hostGetsockopt(s.fd, sys.SOL_SOCKET, sys.SO_ERROR, 4)
	if err != nil {
		return err
	}
	if len(v) == 4 && binary.LittleEndian.Uint32(v) != 0 {
		return sys.Errno(binary.LittleEndian.Uint32(v))
	}
	return nil
}

// Shutdown implements shutdown(2).
func (s *Socket) Shutdown(how int32) error {
	if how < sys.SHUT_RD || how > sys.SHUT_RDWR {
		return sys.EINVAL
	}
	return sys.Shutdown(s.fd, int(how))
}

// Name is getsockname(2)'s address.
func (s *Socket) Name() []byte {
	raw, err := hostName(s.fd, false)
	if err != nil {
		return unspecifiedName(s.family)
	}
	return raw
}

// PeerName is getpeername(2)'s address: ENOTCONN without a peer.
func (s *Socket) PeerName() ([]byte, error) {
	return hostName(s.fd, true)
}

// unspecifiedName is the address of family fam with nothing in it.
func unspecifiedName(fam int) []byte {
	if fam == sys.AF_NETLINK {
		a := linux.SockAddrNetlink{Family: sys.AF_NETLINK}
		return append([]byte(nil), abi.AsBytes(&a)...)
	}
	if fam == sys.AF_INET {
		a := linux.SockAddrInet{Family: sys.AF_INET}
		return append([]byte(nil), abi.AsBytes(&a)...)
	}
	a := linux.SockAddrInet6{Family: sys.AF_INET6}
	return append([]byte(nil), abi.AsBytes(&a)...)
}

// clipAddr cuts an address to the longest an Internet socket reads
// (sockaddr_in6): the kernel ignores what lies beyond, and the sentry's
// filter passes no longer one.
func clipAddr(raw []byte) []byte {
	return raw[:min(len(raw), sys.SizeofSockaddrInet6)]
}

// Send sends data without waiting, to the address to if given. A stream
// takes what fits and returns the count with EAGAIN for the rest; a
// datagram goes whole or fails. o.More is MSG_MORE.
func (s *Socket) Send(data []byte, to []byte, o inet.SendOptions) (int, error) {
	flags := sys.MSG_DONTWAIT | sys.MSG_NOSIGNAL
	if o.More {
		flags |= sys.MSG_MORE
	}
	if to != nil {
		to = clipAddr(to)
	}
	if s.family == sys.AF_NETLINK {
		if err := checkRouteReads(data); err != nil {
			return 0, err
		}
	}
	n, err := hostSendmsg(s.fd, data, to, sendControl(o.Control), flags)
	if err != nil {
		return 0, err
	}
	if n < len(data) && s.Stream() {
		return n, sys.EAGAIN
	}
	return n, nil
}

// Recv takes data into dst without waiting (EAGAIN when there is none; 0
// at the end of a stream): from a stream what is queued, up to len(dst);
// from a datagram socket one datagram, cut to dst, with its full length
// and sender. peek leaves the data queued; discard (MSG_TRUNC on a
// stream) drops up to len(dst) bytes without copying them.
func (s *Socket) Recv(dst []byte, peek, discard bool) (inet.Received, error) {
	flags := sys.MSG_DONTWAIT
	if peek {
		flags |= sys.MSG_PEEK
	}
	if discard || !s.Stream() && !s.peekOff.Load() {
		flags |= sys.MSG_TRUNC // a datagram's full length
	}
	var oob []byte
	if !s.Stream() && s.family != sys.AF_NETLINK {
		oob = make([]byte, 512)
	}
	n, from, oobn, mflags, err := hostRecvmsgFlags(s.fd, dst, flags, !s.Stream(), oob)
	if err != nil {
		return inet.Received{}, err
	}
	r := inet.Received{N: min(n, len(dst)), Len: n}
	if flags&sys.MSG_TRUNC == 0 && mflags&sys.MSG_TRUNC != 0 {
		r.Len = n + 1 // cut, of a length the host did not say
	}
	if s.Stream() {
		r.N, r.Len = n, n
	} else {
		r.From = from
		if msgs, err := sys.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if m.Header.Level == sys.SOL_SOCKET && (m.Header.Type == sys.SCM_RIGHTS || m.Header.Type == sys.SCM_CREDENTIALS) {
					continue // never on an Internet socket; never passed on
				}
				r.Control = append(r.Control, inet.ControlMessage{Level: m.Header.Level, Type: m.Header.Type, Data: m.Data})
			}
		}
	}
	return r, nil
}

// UrgentOffStack is false: the host's TCP sends urgent data anywhere.
func (s *Socket) UrgentOffStack() bool { return false }

// SendUrgent sends b as TCP urgent data (the last byte of a send with
// MSG_OOB; the host's TCP marks it), without waiting.
func (s *Socket) SendUrgent(b byte) (int, bool, error) {
	n, err := hostSendmsg(s.fd, []byte{b}, nil, nil, sys.MSG_DONTWAIT|sys.MSG_NOSIGNAL|sys.MSG_OOB)
	return n, false, err
}

// AtMark is SIOCATMARK on the host socket: whether the next read
// starts at the urgent mark.
func (s *Socket) AtMark() bool {
	var v [4]byte
	return s.Stream() && hostIoctl(s.fd, sys.SIOCATMARK, v[:]) == nil && v != [4]byte{}
}

// RecvUrgent is recv(MSG_OOB) on the host socket, which never waits.
func (s *Socket) RecvUrgent(dst []byte, peek bool) (inet.Received, error) {
	flags := sys.MSG_DONTWAIT | sys.MSG_OOB
	if peek {
		flags |= sys.MSG_PEEK
	}
	n, _, _, mflags, err := hostRecvmsgFlags(s.fd, dst, flags, false, nil)
	if err != nil {
		return inet.Received{}, err
	}
	r := inet.Received{N: n, Len: n, OOB: mflags&sys.MSG_OOB != 0}
	if mflags&sys.MSG_TRUNC != 0 {
		r.Len = 1
	}
	return r, nil
}

// GetOption implements getsockopt(2): SO_RCVTIMEO and SO_SNDTIMEO are the
// sentry's; the options of confine.HostSocketOptions are the host
// socket's; others are ENOPROTOOPT (inet.Unknown, logged).
func (s *Socket) GetOption(level, name, n int) ([]byte, error) {
	if inet.IsTimeoutOption(level, name) {
		return s.GetTimeout(name), nil
	}
	if !allowed(level, name, false) {
		return nil, inet.Unknown{Level: level, Name: name}
	}
	return hostGetsockopt(s.fd, level, name, min(n, confine.MaxOptLen))
}

// SetOption implements setsockopt(2), as GetOption.
func (s *Socket) SetOption(level, name int, v []byte) error {
	if inet.IsTimeoutOption(level, name) {
		return s.SetTimeout(name, v)
	}
	if !allowed(level, name, true) {
		return inet.Unknown{Level: level, Name: name}
	}
	err := hostSetsockopt(s.fd, level, name, v[:min(len(v), confine.MaxOptLen)])
	if err == nil && level == sys.SOL_SOCKET && name == sys.SO_PEEK_OFF && len(v) >= 4 {
		s.peekOff.Store(int32(binary.LittleEndian.Uint32(v)) >= 0)
	}
	return err
}

// allowed reports whether an option may be passed to the host (set, or
// got).
func allowed(level, name int, set bool) bool {
	for _, o := range confine.HostSocketOptions {
		if o.Level == level && o.Name == name {
			return (set && o.Set) || (!set && o.Get)
		}
	}
	return false
}

// Ioctl implements vfs.Ioctler: the queues (FIONREAD alias SIOCINQ,
// SIOCOUTQ), SIOCATMARK, and netdevice(7)'s requests about the host's
// interfaces, passed to the host with the sentry's copies of their
// structures; changing an interface is EPERM (the request read first,
// as dev_ioctl reads it), as Linux answers a caller without
// CAP_NET_ADMIN in the host's namespace.
func (s *Socket) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	switch cmd {
	case sys.SIOCINQ, sys.SIOCOUTQ, sys.SIOCATMARK:
		v, err := sys.IoctlGetInt(s.fd, uint(cmd))
		if err != nil {
			return 0, err
		}
		return 0, mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(v)))
	case sys.SIOCGIFCONF:
		return 0, s.ifconf(mem, arg)
	}
	if inet.IsInterfaceChange(cmd) {
		return 0, inet.RefuseInterfaceChange(mem, arg)
	}
	if slices.Contains(confine.HostIfreqIoctls, uintptr(cmd)) {
		var ifr linux.IFReq
		b := abi.AsBytes(&ifr)
		if err := mem.CopyIn(arg, b); err != nil {
			return 0, err
		}
		if err := hostIoctl(s.fd, cmd, b); err != nil {
			return 0, err
		}
		return 0, mem.CopyOut(arg, b)
	}
	s.st.log.Warn("unimplemented: ioctl on a host-mode socket", "cmd", fmt.Sprintf("%#x", cmd))
	return 0, sys.ENOTTY
}

// maxIfconf bounds the buffer SIOCGIFCONF fills (a struct ifreq per
// IPv4 address of the host).
const maxIfconf = 64 << 10

// ifconf answers SIOCGIFCONF from the host, through a buffer of the
// sentry's: with no buffer, the length that all addresses take.
func (s *Socket) ifconf(mem vfs.Memory, arg uintptr) error {
	var ifc linux.IFConf
	b := abi.AsBytes(&ifc)
	if err := mem.CopyIn(arg, b); err != nil {
		return err
	}
	var buf []byte
	if ifc.Ptr != 0 {
		buf = make([]byte, min(max(ifc.Len, 0), maxIfconf))
	}
	n, err := hostIfconf(s.fd, buf)
	if err != nil {
		return err
	}
	if ifc.Ptr != 0 {
		if err := mem.CopyOut(uintptr(ifc.Ptr), buf[:n]); err != nil {
			return err
		}
	}
	ifc.Len = int32(n)
	return mem.CopyOut(arg, b)
}

// RecvError implements recvmsg(MSG_ERRQUEUE): the host socket's error
// queue (IP_RECVERR, IPV6_RECVERR), never waiting (EAGAIN when empty):
// the errant datagram's payload into dst, its destination, and the
// control messages (sock_extended_err and the offender's address).
func (s *Socket) RecvError(dst []byte) (inet.Received, error) {
	if s.family == sys.AF_NETLINK {
		return inet.Received{}, sys.EAGAIN
	}
	oob := make([]byte, 512)
	n, from, oobn, mflags, err := hostRecvmsgFlags(s.fd, dst, sys.MSG_DONTWAIT|sys.MSG_ERRQUEUE, true, oob)
	if err != nil {
		return inet.Received{}, err
	}
	r := inet.Received{N: min(n, len(dst)), Len: n, From: from}
	if mflags&sys.MSG_TRUNC != 0 && r.Len <= r.N {
		r.Len = r.N + 1 // the payload was longer than dst
	}
	if msgs, err := sys.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if m.Header.Level == sys.SOL_SOCKET && (m.Header.Type == sys.SCM_RIGHTS || m.Header.Type == sys.SCM_CREDENTIALS) {
				continue
			}
			r.Control = append(r.Control, inet.ControlMessage{Level: m.Header.Level, Type: m.Header.Type, Data: m.Data})
		}
	}
	return r, nil
}
