package inet

import (
	"sync/atomic"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/waiter"

	"runsc-lite/sentry/vfs"
)

// TCP urgent data (MSG_OOB), tcp(7): the last byte of a send with
// MSG_OOB is urgent. Linux marks it with the urgent pointer; the
// receiver's reads stop at the mark, recv(MSG_OOB) takes the byte, and
// without SO_OOBINLINE the byte is not part of the stream.
//
// Netstack neither sends nor reads the urgent pointer (its SO_OOBINLINE
// is a no-op that reads as on). Between two sockets of the sandbox's own
// stack (loopback, or a connection to the sandbox's own address) the
// socket layer keeps the mark itself: the byte goes in line through
// netstack's TCP, and the sender records its stream offset and value on
// the receiving socket, which counts the bytes it consumed (copied, as
// Linux's copied_seq). The receiver then behaves as Linux's tcp_recvmsg,
// tcp_recv_urg, tcp_poll and SIOCATMARK do. A peer off the sandbox's
// stack (an outbound flow, a published port's client) would need the
// urgent pointer on the wire: send(MSG_OOB) to it is EINVAL, the errno
// gVisor's runsc gives for every MSG_OOB send, and is logged. The
// receiving socket's owner (F_SETOWN) gets SIGURG when the mark is set,
// through the socket's queue (vfs.EventUrgent). Not done: a second urgent
// byte sent before the first was read dropping the first from the stream.

// urgent is the urgent mark of a connection as its receiver sees it
// (Linux's urg_seq and urg_data).
type urgent struct {
	seq  int64       // the urgent byte's offset in the stream
	b    byte        // its value
	read atomic.Bool // taken with MSG_OOB (TCP_URG_READ)
}

// connKey names a TCP connection from its receiver's side.
type connKey struct {
	local, remote tcpip.FullAddress
}

// ErrUrgentOffStack is the error of a MSG_OOB send to a peer that is
// not on the sandbox's stack; the syscall layer logs it and returns
// EINVAL.
var ErrUrgentOffStack = sys.EINVAL

// SendUrgent sends b as urgent data (the last byte of a send with
// MSG_OOB), without waiting: EAGAIN when the connection takes nothing
// now. The peer must be a socket of the sandbox's own stack (off is set
// otherwise, nothing sent).
func (s *Socket) SendUrgent(b byte) (n int, off bool, err error) {
	if s.protocol != sys.IPPROTO_TCP {
		return 0, false, sys.EOPNOTSUPP
	}
	ep := s.endpoint()
	local, lerr := ep.GetLocalAddress()
	remote, rerr := ep.GetRemoteAddress()
	if lerr != nil || rerr != nil {
		// Not connected: the send fails as any send would.
		n, err := s.Send([]byte{b}, nil, SendOptions{})
		return n, false, err
	}
	key := connKey{local: remote, remote: local} // the receiver's view
	u := &urgent{seq: s.sent.Load(), b: b}
	peer, ok := s.st.markUrgent(key, u)
	if !ok {
		return 0, true, ErrUrgentOffStack
	}
	n, err = s.Send([]byte{b}, nil, SendOptions{})
	if n == 0 {
		s.st.unmarkUrgent(key, peer, u)
		return 0, false, err
	}
	if peer != nil {
		peer.queue.Notify(sys.POLLPRI | sys.POLLIN)
		go peer.signalUrgent(u)
	}
	return n, false, err
}

// markUrgent records u on the socket that receives connection key: an
// open socket of the stack, or, for a connection still waiting in a
// listener's backlog, in pendingUrgent for Accept to pick up (peer nil).
// It fails when the receiver is not on this stack.
func (st *Stack) markUrgent(key connKey, u *urgent) (*Socket, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for s := range st.sockets {
		if s.protocol != sys.IPPROTO_TCP {
			continue
		}
		ep := s.endpoint()
		l, lerr := ep.GetLocalAddress()
		r, rerr := ep.GetRemoteAddress()
		if lerr == nil && rerr == nil && sameAddr(l, key.local) && sameAddr(r, key.remote) {
			s.urg.Store(u)
			return s, true
		}
	}
	if !st.isLocal(key.local.Addr) {
		return nil, false
	}
	if st.pendingUrgent == nil {
		st.pendingUrgent = make(map[connKey]*urgent)
	}
	st.pendingUrgent[normalKey(key)] = u
	st.pendingUrgentN.Store(int32(len(st.pendingUrgent)))
	return nil, true
}

// isLocal reports whether a is an address of the stack's interfaces.
func (st *Stack) isLocal(a tcpip.Address) bool {
	ns, err := st.netstack()
	if err != nil {
		return false
	}
	proto := header.IPv4ProtocolNumber
	if a.Len() == header.IPv6AddressSize {
		proto = header.IPv6ProtocolNumber
	}
	return ns.CheckLocalAddress(0, proto, a) != 0
}

// UrgentOffStack reports whether the socket is connected to a peer off
// the sandbox's stack, to which it cannot send urgent data: checked
// before any of a MSG_OOB send goes.
func (s *Socket) UrgentOffStack() bool {
	if s.protocol != sys.IPPROTO_TCP {
		return false
	}
	remote, err := s.endpoint().GetRemoteAddress()
	return err == nil && !s.st.isLocal(unmapped(remote.Addr))
}

// unmarkUrgent takes back a mark whose byte was not sent.
func (st *Stack) unmarkUrgent(key connKey, peer *Socket, u *urgent) {
	if peer != nil {
		peer.urg.CompareAndSwap(u, nil)
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.pendingUrgent[normalKey(key)] == u {
		delete(st.pendingUrgent, normalKey(key))
		st.pendingUrgentN.Store(int32(len(st.pendingUrgent)))
	}
}

// adoptUrgent gives a newly accepted socket the mark sent to it while
// it waited in the backlog.
func (st *Stack) adoptUrgent(s *Socket) {
	if st.pendingUrgentN.Load() == 0 {
		return
	}
	ep := s.endpoint()
	l, lerr := ep.GetLocalAddress()
	r, rerr := ep.GetRemoteAddress()
	if lerr != nil || rerr != nil {
		return
	}
	key := normalKey(connKey{local: l, remote: r})
	st.mu.Lock()
	defer st.mu.Unlock()
	if u, ok := st.pendingUrgent[key]; ok {
		s.urg.Store(u)
		delete(st.pendingUrgent, key)
		st.pendingUrgentN.Store(int32(len(st.pendingUrgent)))
	}
}

// normalKey drops what addresses of one connection may differ in as the
// two sides report them (the NIC).
func normalKey(k connKey) connKey {
	k.local.NIC, k.remote.NIC = 0, 0
	k.local.Addr, k.remote.Addr = unmapped(k.local.Addr), unmapped(k.remote.Addr)
	return k
}

// sameAddr reports whether two addresses name the same end.
func sameAddr(a, b tcpip.FullAddress) bool {
	return a.Port == b.Port && unmapped(a.Addr) == unmapped(b.Addr)
}

// unmapped returns the IPv4 address of a v4-mapped IPv6 one.
func unmapped(a tcpip.Address) tcpip.Address {
	if a.Len() == header.IPv6AddressSize && header.IsV4MappedAddress(a) {
		return tcpip.AddrFrom4Slice(a.AsSlice()[12:])
	}
	return a
}

// RecvUrgent is recv(MSG_OOB) (tcp_recv_urg), never waiting: the urgent
// byte, copied into dst if it has room (Len 1 either way, OOB set).
// EINVAL without urgent data, once it was taken, or with SO_OOBINLINE;
// EAGAIN while the byte is on its way; 0 once the peer shut down.
// Other sockets than TCP read normally (udp_recvmsg ignores MSG_OOB).
func (s *Socket) RecvUrgent(dst []byte, peek bool) (Received, error) {
	if s.protocol != sys.IPPROTO_TCP {
		return s.Recv(dst, peek, false)
	}
	u := s.urg.Load()
	if s.oobInline.Load() || u == nil || u.read.Load() {
		return Received{}, sys.EINVAL
	}
	if s.urgentArrived(u) {
		if !peek {
			u.read.Store(true)
		}
		r := Received{Len: 1, OOB: true}
		if len(dst) > 0 {
			dst[0] = u.b
			r.N = 1
		}
		return r, nil
	}
	if e, ok := s.endpoint().(*tcp.Endpoint); ok {
		switch e.EndpointState() {
		case tcp.StateEstablished, tcp.StateFinWait1, tcp.StateFinWait2:
			return Received{}, sys.EAGAIN
		}
	}
	return Received{}, nil
}

// urgentArrived reports whether the urgent byte is in the receive queue
// (or was read past).
func (s *Socket) urgentArrived(u *urgent) bool {
	queued, err := s.endpoint().GetSockOptInt(tcpip.ReceiveQueueSizeOption)
	return err == nil && s.copied.Load()+int64(queued) > u.seq
}

// recvMarked is Recv on a stream with an urgent mark ahead, as
// tcp_recvmsg: a read stops at the mark; one at the mark
// skips the urgent byte unless SO_OOBINLINE keeps it in line; once the
// read passed it, the mark is gone. The caller holds readMu.
func (s *Socket) recvMarked(u *urgent, dst []byte, peek, discard bool) (Received, error) {
	before := u.seq - s.copied.Load()
	if before > 0 {
		return s.recvPlain(dst[:min(int64(len(dst)), before)], peek, discard)
	}
	if before < 0 || s.oobInline.Load() {
		r, err := s.recvPlain(dst, peek, discard)
		if s.copied.Load() > u.seq {
			s.urg.CompareAndSwap(u, nil)
		}
		return r, err
	}
	if peek {
		// The urgent byte is not in line: what follows it.
		tmp := make([]byte, len(dst)+1)
		r, err := s.recvPlain(tmp, true, false)
		if err != nil || r.N == 0 {
			return r, err
		}
		if r.N == 1 {
			return Received{}, sys.EAGAIN
		}
		r.N = copy(dst, tmp[1:r.N])
		r.Len = r.N
		return r, nil
	}
	r, err := s.recvPlain(make([]byte, 1), false, true)
	if err != nil || r.N == 0 {
		return r, err
	}
	s.urg.CompareAndSwap(u, nil)
	return s.recvPlain(dst, false, discard)
}

// urgentReadiness adjusts a TCP socket's readiness ev for an urgent
// mark (tcp_poll): POLLPRI while the urgent byte is there to take, and
// no POLLIN at the mark when the byte, not in line, is all there is.
func (s *Socket) urgentReadiness(ev int16) int16 {
	u := s.urg.Load()
	if u == nil {
		return ev
	}
	queued, err := s.endpoint().GetSockOptInt(tcpip.ReceiveQueueSizeOption)
	if err != nil {
		return ev
	}
	copied := s.copied.Load()
	if copied+int64(queued) > u.seq && !u.read.Load() {
		ev |= sys.POLLPRI
	}
	if copied == u.seq && queued == 1 && !s.oobInline.Load() {
		if e, ok := s.endpoint().(*tcp.Endpoint); ok {
			switch e.EndpointState() {
			case tcp.StateEstablished, tcp.StateFinWait1, tcp.StateFinWait2:
				ev &^= sys.POLLIN | linux.POLLRDNORM
			}
		}
	}
	return ev
}

// AtMark is SIOCATMARK (tcp_ioctl): whether the next read starts at the
// urgent mark.
func (s *Socket) AtMark() bool {
	u := s.urg.Load()
	return u != nil && u.seq == s.copied.Load()
}

// urgentWait bounds how long signalUrgent waits for the urgent byte to
// reach the receiver (a full receive window holds it back).
const urgentWait = 100 * time.Millisecond

// signalUrgent tells the socket's file's owner of urgent data u (SIGURG,
// tcp_check_urg's sk_send_sigurg) once its byte is in the receive queue:
// on loopback Linux signals as the segment that holds the byte is taken
// in, so that a handler's recv(MSG_OOB) finds it. The byte goes through
// netstack after the mark is set, and netstack's events come with its
// locks held, where the queue cannot be measured: a goroutine of the
// sender's waits for the byte on the socket's queue, at most urgentWait
// (then it signals anyway, as Linux does for a header whose byte is yet
// to come).
func (s *Socket) signalUrgent(u *urgent) {
	w := vfs.NewWaiter()
	e := w.Entry(sys.POLLIN | sys.POLLPRI)
	s.queue.Add(e)
	defer s.queue.Remove(e)
	timeout := time.NewTimer(urgentWait)
	defer timeout.Stop()
wait:
	for s.urg.Load() == u && !s.urgentArrived(u) {
		select {
		case <-w.C():
		case <-timeout.C:
			break wait
		}
	}
	s.queue.Notify(vfs.EventUrgent)
}

// urgentEvents adds POLLPRI to netstack's events while a mark is set, so
// that a waiter for urgent data (select's exceptional set) wakes when
// its byte arrives.
func (s *Socket) urgentEvents(mask waiter.EventMask) waiter.EventMask {
	if s.urg.Load() != nil {
		mask |= waiter.EventPri
	}
	return mask
}
