package unix

import (
	"context"
	"slices"

	sys "golang.org/x/sys/unix"

	"runsc-lite/sentry/vfs"
)

// Out-of-band data on stream sockets (MSG_OOB), as Linux 6.18 has it
// with CONFIG_AF_UNIX_OOB (net/unix/af_unix.c: queue_oob, manage_oob,
// unix_stream_recv_urg, SIOCATMARK). The last byte of a send with MSG_OOB
// is queued as a message of its own and becomes the receiver's
// out-of-band byte (oob), replacing an earlier one, which stays in the
// stream as ordinary data; the receiver's owner gets SIGURG. Reads stop
// before the byte when they have copied something; a read that starts at
// it drops the byte (unless SO_OOBINLINE, which reads it in line); a peek
// passes over it. recv(MSG_OOB) takes it (EINVAL when there is none, or
// with SO_OOBINLINE) and leaves an empty message where it was, at which
// later reads still stop. SIOCATMARK says whether the next read starts
// at the mark; poll reports POLLPRI while the byte is there. With
// SO_PEEK_OFF a peek skips the offset's bytes before looking at marks,
// over the out-of-band byte too (recvStreamLocked): a peek that starts at
// the byte shows it as data, as Linux 6.18's does.

// oobInlineLocked reports SO_OOBINLINE; mu is held.
func (s *Socket) oobInlineLocked() bool { return s.opts.flags[sys.SO_OOBINLINE] != 0 }

// SendOOB queues b as the peer's out-of-band byte (queue_oob), after the
// rest of the send went as ordinary data. It does not wait for room: one
// byte is always taken.
func (s *Socket) SendOOB(ctx context.Context, b byte) (int, error) {
	cr := CallerCred(ctx)
	t := lock()
	defer t.unlock()
	if s.typ != sys.SOCK_STREAM {
		return 0, sys.EOPNOTSUPP
	}
	p, err := s.sendPeerLocked()
	if err != nil {
		return 0, err
	}
	m := &message{data: []byte{b}, cred: cr, from: s.addr, sender: s, charge: 1 + msgOverhead}
	s.charged += m.charge
	p.rcv = append(p.rcv, m)
	p.oob = m
	t.notify(p, readEvents|sys.POLLPRI|vfs.EventUrgent)
	return 1, nil
}

// RecvOOB is recv with MSG_OOB (unix_stream_recv_urg): the out-of-band
// byte, which never waits; EINVAL without one or with SO_OOBINLINE,
// EOPNOTSUPP on other than stream sockets.
func (s *Socket) RecvOOB(dst []byte, peek bool) (Received, error) {
	t := lock()
	defer t.unlock()
	if s.typ != sys.SOCK_STREAM {
		return Received{}, sys.EOPNOTSUPP
	}
	m := s.oob
	if m == nil || s.oobInlineLocked() {
		return Received{}, sys.EINVAL
	}
	r := Received{N: copy(dst, m.data), OOB: true}
	r.Len = r.N
	if !peek {
		s.oob = nil
		// An emptied mark right before this one goes.
		if i := slices.Index(s.rcv, m); i > 0 && len(s.rcv[i-1].data) == 0 {
			prev := s.rcv[i-1]
			s.rcv = slices.Delete(s.rcv, i-1, i)
			s.uncharge(t, prev)
		}
		m.data = m.data[:0]
	}
	return r, nil
}

// manageOOBLocked is manage_oob for the message at s.rcv[i], where a
// stream read with copied bytes so far starts or a peek moves on to:
// it returns the index of the message to read from, or -1 when the read
// ends here (before the out-of-band byte or an emptied mark once it has
// copied something; past the queue's end). An emptied mark is passed
// over (and dropped unless peek); the out-of-band byte is passed over by
// a peek, and dropped by a read that starts at it, unless SO_OOBINLINE
// makes it data.
func (s *Socket) manageOOBLocked(t *tx, i int, peek bool, copied int) int {
	m := s.rcv[i]
	if len(m.data) > 0 && m != s.oob {
		return i
	}
	if len(m.data) == 0 {
		switch {
		case copied > 0 && (s.oob == nil || m == s.oob):
			return -1
		case peek:
			i++
		default:
			s.unlinkLocked(t, i)
		}
		if i >= len(s.rcv) {
			return -1
		}
	}
	if s.rcv[i] != s.oob {
		return i
	}
	switch {
	case copied > 0:
		return -1
	case !peek:
		s.oob = nil
		if !s.oobInlineLocked() {
			// Linux 6.18 drops the byte without taking it off its
			// count of queued bytes (u->inq_len), which FIONREAD
			// reports from then on: so does oobDropped.
			s.oobDropped++
			s.unlinkLocked(t, i)
			if len(s.rcv) == 0 {
				return -1
			}
			return 0 // skb_peek: the head
		}
	case !s.oobInlineLocked():
		i++
		if i >= len(s.rcv) {
			return -1
		}
	}
	return i
}

// atMarkLocked is SIOCATMARK: the next read starts at the out-of-band
// byte, or at an emptied mark with no other byte, or just before it.
func (s *Socket) atMarkLocked() bool {
	if len(s.rcv) == 0 {
		return false
	}
	first := s.rcv[0]
	if first == s.oob {
		return true
	}
	return len(first.data) == 0 && (s.oob == nil || len(s.rcv) > 1 && s.rcv[1] == s.oob)
}
