package unix

import (
	"context"
	"slices"

	sys "golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// Control is the ancillary data of a send.
type Control struct {
	// Rights are the files of SCM_RIGHTS; the caller keeps its
	// references, the message takes its own.
	Rights []*vfs.File
	// Cred is an explicit SCM_CREDENTIALS, checked by the caller; nil
	// sends the caller's own.
	Cred *Cred
	// delivered is set once Rights went with a message: a stream sent
	// in several parts carries them once.
	delivered bool
}

// Drop drops the references to the files of SCM_RIGHTS that
// ParseControl took.
func (c *Control) Drop() {
	for _, f := range c.Rights {
		f.DecRef()
	}
	c.Rights = nil
}

// MaxDatagram returns the largest datagram the socket may send now
// (SO_SNDBUF less Linux's headroom).
func (s *Socket) MaxDatagram() int {
	mu.Lock()
	defer mu.Unlock()
	return s.opts.sndbuf - dgramHeadroom
}

// Send queues data for the peer, or for the socket bound under to when
// hasTo is set (datagram sockets). It never blocks: a stream sends what
// fits and returns the count with EAGAIN for the rest (the vfs.Waitable
// contract); a datagram goes whole or fails with EAGAIN. ctl's
// descriptors go with the first byte sent.
func (s *Socket) Send(ctx context.Context, data []byte, ctl *Control, to string, hasTo bool) (int, error) {
	cr := CallerCred(ctx)
	if ctl != nil && ctl.Cred != nil {
		cr = *ctl.Cred
	}
	t := lock()
	defer t.unlock()
	var n int
	var err error
	if s.typ == sys.SOCK_STREAM {
		n, err = s.sendStreamLocked(t, data, ctl, cr, hasTo)
	} else {
		n, err = s.sendPacketLocked(t, data, ctl, cr, to, hasTo)
	}
	if err == sys.EAGAIN {
		s.noSpace.Store(true)
	}
	return n, err
}

// sendPeerLocked is a connected stream socket's peer to send to: ENOTCONN
// if there is none, EPIPE once either side shut this direction.
func (s *Socket) sendPeerLocked() (*Socket, error) {
	p := s.peer
	if p == nil || s.state != connected {
		return nil, sys.ENOTCONN
	}
	if s.shutdown&shutSend != 0 || p.released || p.shutdown&shutRcv != 0 {
		return nil, sys.EPIPE
	}
	return p, nil
}

func (s *Socket) sendStreamLocked(t *tx, data []byte, ctl *Control, cr Cred, hasTo bool) (int, error) {
	if hasTo {
		if s.state == connected {
			return 0, sys.EISCONN
		}
		return 0, sys.EOPNOTSUPP
	}
	p, err := s.sendPeerLocked()
	if err != nil {
		return 0, err
	}
	if len(data) == 0 {
		return 0, nil
	}
	room := s.opts.sndbuf - s.charged - msgOverhead
	if room <= 0 {
		return 0, sys.EAGAIN
	}
	n := min(len(data), room)
	if err := s.enqueueLocked(t, p, data[:n], ctl, cr); err != nil {
		return 0, err
	}
	if n < len(data) {
		return n, sys.EAGAIN
	}
	return n, nil
}

// sendPacketLocked sends a datagram or a seqpacket record, with Linux's
// checks in Linux's order (unix_dgram_sendmsg).
func (s *Socket) sendPacketLocked(t *tx, data []byte, ctl *Control, cr Cred, to string, hasTo bool) (int, error) {
	target := s.peer
	if s.typ == sys.SOCK_SEQPACKET {
		if err := s.takeErrLocked(); err != nil {
			return 0, err
		}
		if s.state != connected {
			return 0, sys.ENOTCONN
		}
	} else if !hasTo && target == nil {
		return 0, sys.ENOTCONN
	}
	if s.opts.passcred {
		if err := s.autobindLocked(); err != nil {
			return 0, err
		}
	}
	if len(data) > s.opts.sndbuf-dgramHeadroom {
		return 0, sys.EMSGSIZE
	}
	if s.shutdown&shutSend != 0 {
		return 0, NoSignal(sys.EPIPE)
	}
	if s.charged >= s.opts.sndbuf {
		return 0, sys.EAGAIN
	}
	if s.typ == sys.SOCK_DGRAM && hasTo {
		if target = s.ns.names[to]; target == nil {
			return 0, sys.ECONNREFUSED
		}
		if target.typ != s.typ {
			return 0, sys.EPROTOTYPE
		}
	}
	if target.released {
		if s.typ == sys.SOCK_SEQPACKET {
			return 0, NoSignal(sys.EPIPE)
		}
		if s.peer == target {
			s.peer, s.state = nil, unconnected
		}
		return 0, sys.ECONNREFUSED
	}
	if s.typ == sys.SOCK_DGRAM && target.peer != nil && target.peer != s {
		return 0, sys.EPERM
	}
	if target.shutdown&shutRcv != 0 {
		return 0, NoSignal(sys.EPIPE)
	}
	if target != s && target.peer != s && target.dgramQueueFull() {
		target.block(s)
		return 0, sys.EAGAIN
	}
	if err := s.enqueueLocked(t, target, data, ctl, cr); err != nil {
		return 0, err
	}
	return len(data), nil
}

// quietErr is an errno that raises no signal: EPIPE from a datagram or
// seqpacket socket, or from a send with MSG_NOSIGNAL (Linux raises
// SIGPIPE only from stream sockets). The kernel asks NoSignal before it
// raises SIGPIPE.
type quietErr struct{ errno sys.Errno }

func (e quietErr) Error() string  { return e.errno.Error() }
func (e quietErr) Unwrap() error  { return e.errno }
func (e quietErr) NoSignal() bool { return true }

// NoSignal returns err marked as raising no signal.
func NoSignal(err error) error {
	if e, ok := err.(sys.Errno); ok {
		return quietErr{e}
	}
	return err
}

// takeErrLocked returns and clears SO_ERROR.
func (s *Socket) takeErrLocked() error {
	if s.err == 0 {
		return nil
	}
	err := s.err
	s.err = 0
	return err
}

// enqueueLocked queues a message from s in p's receive queue.
func (s *Socket) enqueueLocked(t *tx, p *Socket, data []byte, ctl *Control, cr Cred) error {
	var rights []*vfs.File
	if ctl != nil && len(ctl.Rights) > 0 && !ctl.delivered {
		if s.ns.inflight+len(ctl.Rights) > maxInflight {
			return sys.ETOOMANYREFS
		}
		rights = slices.Clone(ctl.Rights)
		for _, f := range rights {
			f.IncRef()
		}
		s.ns.inflight += len(rights)
		ctl.delivered = true
	}
	m := &message{data: slices.Clone(data), rights: rights, cred: cr, from: s.addr, sender: s, charge: len(data) + msgOverhead}
	s.charged += m.charge
	p.rcv = append(p.rcv, m)
	t.notify(p, readEvents)
	return nil
}

// Received is what one receive took.
type Received struct {
	// N is the number of bytes copied.
	N int
	// Len is the full length of the datagram (larger than N when it was
	// truncated); for streams, N.
	Len int
	// From is the sender's address, nil if it is unnamed.
	From []byte
	// Rights are the descriptors received, references the caller owns.
	Rights []*vfs.File
	// Cred is the sender's credentials, with SO_PASSCRED.
	Cred *Cred
	// Extra are control messages of other sockets (an Internet
	// datagram's), returned before the others.
	Extra []ControlMessage
	// OOB is set for TCP urgent data (recv with MSG_OOB of an Internet
	// socket): msg_flags' MSG_OOB.
	OOB bool
}

// ControlMessage is one control message for recvmsg: its level, type
// and data.
type ControlMessage struct {
	Level, Type int32
	Data        []byte
}

// Drop closes the received descriptors the caller did not take.
func (r *Received) Drop() {
	for _, f := range r.Rights {
		f.DecRef()
	}
	r.Rights = nil
}

// Recv takes data into dst: from a stream, what is queued up to len(dst)
// (without gluing messages from different senders when SO_PASSCRED is
// set, and stopping after a message that carries descriptors); from a
// datagram or seqpacket socket, one message, truncated to dst. peek
// leaves the data queued (descriptors are then duplicated). EAGAIN when
// there is nothing to read, 0 at the end of the connection.
func (s *Socket) Recv(dst []byte, peek bool) (Received, error) {
	t := lock()
	defer t.unlock()
	if s.typ == sys.SOCK_STREAM {
		return s.recvStreamLocked(t, dst, peek)
	}
	return s.recvPacketLocked(t, dst, peek)
}

// emptyLocked is what a receive from an empty queue returns: a pending
// error, the end of the connection, or EAGAIN.
func (s *Socket) emptyLocked() (Received, error) {
	if err := s.takeErrLocked(); err != nil {
		return Received{}, err
	}
	if s.shutdown&shutRcv != 0 {
		return Received{}, nil
	}
	return Received{}, sys.EAGAIN
}

// recvStreamLocked reads a stream as unix_stream_read_generic does:
// from the head, or for a peek from SO_PEEK_OFF's offset, message by
// message. Out-of-band marks are managed (manageOOBLocked) only where a
// read starts and at each message a peek moves on to; the offset's
// skip passes over whatever lies before it, the out-of-band byte
// included, which a peek that starts at it then shows as data (Linux
// 6.18 does so too).
func (s *Socket) recvStreamLocked(t *tx, dst []byte, peek bool) (Received, error) {
	if s.state != connected {
		return Received{}, sys.EINVAL
	}
	if len(s.rcv) == 0 {
		return s.emptyLocked()
	}
	var r Received
	if len(dst) == 0 {
		return r, nil
	}
	skip := 0
	if peek && s.opts.peekOff > 0 {
		skip = int(s.opts.peekOff)
	}
	i := 0 // the message read next (skb)
	for r.N < len(dst) {
		// again:
		if i < len(s.rcv) {
			i = s.manageOOBLocked(t, i, peek, r.N)
		}
		if i < 0 || i >= len(s.rcv) {
			break
		}
		for i < len(s.rcv) && skip >= len(s.rcv[i].data) {
			skip -= len(s.rcv[i].data)
			i++
		}
		if i == len(s.rcv) {
			break // the offset is past the queue: as if empty
		}
		m := s.rcv[i]
		if s.opts.passcred {
			if r.Cred == nil {
				c := m.cred
				r.Cred = &c
			} else if *r.Cred != m.cred {
				break // never glue messages from different writers
			}
		}
		if r.N == 0 {
			r.From = m.from
		}
		k := copy(dst[r.N:], m.data[skip:])
		skip = 0
		r.N += k
		carried := len(m.rights) > 0
		r.Rights = append(r.Rights, s.takeRightsLocked(m, peek)...)
		if !peek {
			if m.data = m.data[k:]; len(m.data) > 0 {
				break // dst is full
			}
			s.unlinkLocked(t, i) // the next is at i now
		} else {
			i++
		}
		if carried {
			break
		}
	}
	if r.N == 0 {
		// Nothing (past the offset), or only out-of-band marks
		// passed over (manage_oob): as if the queue were empty.
		return s.emptyLocked()
	}
	s.movePeekOffLocked(peek, r.N)
	r.Len = r.N
	return r, nil
}

// unlinkLocked takes the message at s.rcv[i] off the queue.
func (s *Socket) unlinkLocked(t *tx, i int) {
	s.uncharge(t, s.rcv[i])
	if i == 0 {
		s.rcv[0] = nil
		s.rcv = s.rcv[1:]
		return
	}
	s.rcv = slices.Delete(s.rcv, i, i+1)
}

// movePeekOffLocked moves SO_PEEK_OFF, when set, past n bytes peeked,
// or back by n bytes read (sk_peek_offset_fwd, sk_peek_offset_bwd).
func (s *Socket) movePeekOffLocked(peek bool, n int) {
	switch {
	case s.opts.peekOff < 0:
	case peek:
		s.opts.peekOff += int32(n)
	default:
		s.opts.peekOff = max(s.opts.peekOff-int32(n), 0)
	}
}

// takeRightsLocked takes a message's descriptors, or duplicates them for
// a peek.
func (s *Socket) takeRightsLocked(m *message, peek bool) []*vfs.File {
	if peek {
		for _, f := range m.rights {
			f.IncRef()
		}
		return slices.Clone(m.rights)
	}
	rights := m.rights
	s.ns.inflight -= len(rights)
	m.rights = nil
	return rights
}

func (s *Socket) recvPacketLocked(t *tx, dst []byte, peek bool) (Received, error) {
	if s.typ == sys.SOCK_SEQPACKET && s.state != connected {
		return Received{}, sys.ENOTCONN
	}
	if len(s.rcv) == 0 {
		return s.emptyLocked()
	}
	m, skip := s.rcv[0], 0
	if peek && s.opts.peekOff >= 0 {
		// SO_PEEK_OFF: whole messages an earlier peek saw are passed
		// over (__skb_try_recv_from_queue), then the peek starts within
		// the message.
		skip = int(s.opts.peekOff)
		i := 0
		for i < len(s.rcv) && skip > 0 && skip >= len(s.rcv[i].data) {
			skip -= len(s.rcv[i].data)
			i++
		}
		if i == len(s.rcv) {
			return s.emptyLocked()
		}
		m = s.rcv[i]
	}
	r := Received{N: copy(dst, m.data[skip:]), Len: len(m.data) - skip, From: m.from}
	if s.opts.passcred {
		c := m.cred
		r.Cred = &c
	}
	r.Rights = s.takeRightsLocked(m, peek)
	if peek {
		s.movePeekOffLocked(true, r.N)
	} else {
		s.movePeekOffLocked(false, len(m.data))
		s.rcv[0] = nil
		s.rcv = s.rcv[1:]
		s.uncharge(t, m)
		s.wakeBlockedLocked(t)
	}
	return r, nil
}
