package inet

import (
	"io"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/waiter"
)

// SO_PEEK_OFF (socket(7)): with an offset set, MSG_PEEK reads from it,
// peeks move it forward and reads move it back. Linux has it on TCP,
// UDP and ping sockets (whose receives ignore it), not on raw ones
// (EOPNOTSUPP).
//
// TCP: a peek copies from netstack's receive queue past the offset
// (skipWriter), as tcp_recvmsg's peek_seq. UDP: a peek at an offset
// passes over whole datagrams first (__skb_try_recv_from_queue), but
// netstack peeks only its first datagram; so the socket takes the
// datagrams it must pass over out of netstack into its own stash, which
// every later receive reads first, and which makes the socket readable.

// hasPeekOff reports whether the socket has SO_PEEK_OFF (a set_peek_off
// in Linux's proto_ops).
func (s *Socket) hasPeekOff() bool {
	return s.typ != sys.SOCK_RAW
}

// movePeekOff moves SO_PEEK_OFF, when set, past n bytes peeked, or back
// by n bytes read (sk_peek_offset_fwd, sk_peek_offset_bwd).
func (s *Socket) movePeekOff(peek bool, n int) {
	off := s.peekOff.Load()
	switch {
	case off < 0:
	case peek:
		s.peekOff.Store(off + int32(n))
	default:
		s.peekOff.Store(max(off-int32(n), 0))
	}
}

// skipWriter drops the first skip bytes written to it and passes on the
// rest.
type skipWriter struct {
	skip int
	w    io.Writer
}

func (w *skipWriter) Write(p []byte) (int, error) {
	n := min(w.skip, len(p))
	w.skip -= n
	if n == len(p) {
		return n, nil
	}
	k, err := w.w.Write(p[n:])
	return n + k, err
}

// stashed is a UDP datagram taken out of netstack: its data and what a
// receive reports with it.
type stashed struct {
	data []byte
	rcv  Received
}

// recvStashed is a UDP receive with SO_PEEK_OFF set or datagrams
// stashed, served from the stash, which it fills from netstack as far as
// a peek at the offset needs (udp_recvmsg): a peek passes over whole
// datagrams within the offset and starts within the next; a read takes
// the first datagram whole. The offset moves by the bytes copied, or with
// MSG_TRUNC (trunc) the datagram's length (skb_consume_udp). The caller
// holds readMu.
func (s *Socket) recvStashed(dst []byte, peek, trunc bool) (Received, error) {
	skip := 0
	if off := s.peekOff.Load(); peek && off > 0 {
		skip = int(off)
	}
	i := 0
	for {
		for i >= len(s.stash) {
			if err := s.pull(); err != nil {
				return Received{}, err
			}
		}
		if skip == 0 || skip < len(s.stash[i].data) {
			break
		}
		skip -= len(s.stash[i].data)
		i++
	}
	d := s.stash[i]
	r := d.rcv
	r.N = copy(dst, d.data[skip:])
	r.Len = len(d.data) - skip
	moved := r.N
	if trunc {
		moved = len(d.data)
	}
	s.movePeekOff(peek, moved)
	if peek {
		return r, nil
	}
	s.stash[0] = stashed{}
	s.stash = s.stash[1:]
	s.stashed.Store(int32(len(s.stash)))
	return r, nil
}

// pull takes netstack's first datagram into the stash: EAGAIN when
// there is none, or the socket's pending error.
func (s *Socket) pull() error {
	return errno(s.pullDatagram())
}

// pullDatagram is pull with netstack's error.
func (s *Socket) pullDatagram() tcpip.Error {
	buf := make([]byte, s.MaxDatagram())
	rest := buf
	w := &tcpip.LimitedWriter{W: sliceWriter{&rest}, N: int64(len(buf))}
	res, err := s.endpoint().Read(w, tcpip.ReadOptions{NeedRemoteAddr: true})
	if err != nil {
		return err
	}
	data := make([]byte, res.Count)
	copy(data, buf)
	s.stash = append(s.stash, stashed{data: data, rcv: Received{
		From:    encodeAddress(s.fam(), res.RemoteAddr),
		Control: s.receivedControl(res.ControlMessages),
	}})
	s.stashed.Store(int32(len(s.stash)))
	return nil
}

// stashForSignals takes the datagrams netstack holds into the stash
// (up to SO_RCVBUF bytes in it), for signal-driven I/O on a UDP socket:
// Linux signals each datagram that arrives (sock_def_readable, then
// sk_wake_async, per skb), but netstack notifies only for a datagram
// that finds its queue empty, so with its queue left as it is three
// datagrams arriving together were one POLL_IN. With the queue emptied
// at each notification, the next datagram notifies again. Runs in the
// notification (AsyncReasons), which netstack's UDP endpoint makes
// holding none of the locks its Read takes. A pending error (an ICMP
// one) stops it and stays pending.
func (s *Socket) stashForSignals() {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	limit := int(s.endpoint().SocketOptions().GetReceiveBufferSize())
	held := 0
	for _, d := range s.stash {
		held += len(d.data)
	}
	for held < limit {
		if s.endpoint().Readiness(waiter.EventErr) != 0 {
			return
		}
		switch err := s.pullDatagram(); err.(type) {
		case nil:
			held += len(s.stash[len(s.stash)-1].data)
		case *tcpip.ErrWouldBlock, *tcpip.ErrClosedForReceive:
			return
		default:
			// The error came between the check and the read:
			// keep it for the application.
			s.endpoint().SocketOptions().SetLastError(err)
			return
		}
	}
}

// stashedLen is the length of the first stashed datagram, for SIOCINQ;
// ok is false when the stash is empty.
func (s *Socket) stashedLen() (n int, ok bool) {
	if s.stashed.Load() == 0 {
		return 0, false
	}
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if len(s.stash) == 0 {
		return 0, false
	}
	return len(s.stash[0].data), true
}
