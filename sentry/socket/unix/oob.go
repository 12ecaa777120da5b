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
// at the mark; poll reports POLLPRI while the byte is there.

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

// oobStepLocked is manage_oob for the message at s.rcv[i] that a stream
// read with copied bytes reaches: stop (the read ends before it), skip
// (pass over it; dropped from the queue unless peek), or read it.
func (s *Socket) oobStepLocked(m *message, copied int, peek bool) oobStep {
	if len(m.data) == 0 { // an emptied mark
		if copied > 0 {
			return oobStop
		}
		return oobSkip
	}
	if m != s.oob {
		return oobRead
	}
	switch {
	case copied > 0:
		return oobStop
	case !peek:
		s.oob = nil
		if s.oobInlineLocked() {
			return oobRead
		}
		// Linux 6.18 drops the byte without taking it off its count
		// of queued bytes (u->inq_len), which FIONREAD reports from
		// then on: so does oobDropped.
		s.oobDropped++
		return oobSkip
	case !s.oobInlineLocked():
		return oobSkip
	}
	return oobRead
}

type oobStep int

const (
	oobRead oobStep = iota
	oobStop
	oobSkip
)

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
