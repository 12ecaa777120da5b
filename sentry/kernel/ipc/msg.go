package ipc

import (
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// Message queue limits: Linux's defaults for MSGMAX, MSGMNB and MSGMNI
// (each namespace's, which root may change), and a sandbox-wide total of what queued messages may cost the sentry
// (text plus per-message overhead), beyond which msgsnd fails with ENOMEM
// as Linux does when it cannot allocate a message: MSGMNI full queues of
// tiny messages would otherwise cost gigabytes.
const (
	msgTotal    = 64 << 20
	msgOverhead = 64
)

type message struct {
	typ  int64
	text []byte
}

// Queue is one message queue.
type Queue struct {
	p                   Perm
	msgs                []message
	bytes               int
	qbytes              int
	stime, rtime, ctime int64
	lspid, lrpid        int
}

func (q *Queue) perm() *Perm { return &q.p }

// MsgGet implements msgget(2).
func (ns *Namespace) MsgGet(c *Caller, key int32, flags int) (int, error) {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	create := func() (*Queue, error) { return &Queue{qbytes: int(ns.limits.MsgMnb), ctime: now()}, nil }
	return ns.msgs.get(c, key, flags, create, func(*Queue) error { return nil })
}

// addMsgBytes counts n more bytes of queued messages (fewer if n < 0)
// in the namespace and the sandbox; ns.mu is held.
func (ns *Namespace) addMsgBytes(n int) {
	ns.msgBytes += n
	ns.sandbox.msgBytes.Add(int64(n))
}

// MsgSizeOK reports whether a message of n bytes may be sent at all
// (msgsnd's first check, before it reads the message): up to msgmax.
func (ns *Namespace) MsgSizeOK(n int64) bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return n >= 0 && uint64(n) <= ns.limits.MsgMax
}

// MsgSnd implements msgsnd(2) once the message is read: it waits while
// the queue is full, unless flags has IPC_NOWAIT (EAGAIN).
func (ns *Namespace) MsgSnd(c *Caller, id int, typ int64, text []byte, flags int) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	q, err := ns.msgs.lookup(id)
	if err != nil {
		return err
	}
	if err := q.p.mayAccess(c, 0222); err != nil {
		return err
	}
	for {
		// A queue holds at most qbytes bytes and qbytes messages.
		if len(text)+q.bytes <= q.qbytes && len(q.msgs)+1 <= q.qbytes {
			cost := len(text) + msgOverhead
			if !charge(&ns.sandbox.msgBytes, int64(cost), msgTotal) {
				return unix.ENOMEM
			}
			ns.msgBytes += cost
			q.msgs = append(q.msgs, message{typ, text})
			q.bytes += len(text)
			q.lspid, q.stime = c.KernelPID, now()
			q.p.notify()
			return nil
		}
		if flags&NoWait != 0 {
			return unix.EAGAIN
		}
		if err := q.p.wait(&ns.mu, c, nil); err != nil {
			return err
		}
	}
}

// pick returns the index of the message msgrcv's typ and flags select, or
// -1 (msgtyp 0: the first; > 0: the first of that type, or of another with
// MSG_EXCEPT; < 0: the first of the lowest type not above -typ).
func (q *Queue) pick(typ int64, flags int) int {
	switch {
	case flags&linux.MSG_COPY != 0:
		if typ >= 0 && typ < int64(len(q.msgs)) {
			return int(typ)
		}
	case typ == 0:
		if len(q.msgs) > 0 {
			return 0
		}
	case typ > 0:
		for i, m := range q.msgs {
			if (m.typ == typ) != (flags&linux.MSG_EXCEPT != 0) {
				return i
			}
		}
	default:
		limit := -typ
		if typ == -1<<63 {
			limit = 1<<63 - 1
		}
		best := -1
		for i, m := range q.msgs {
			if m.typ <= limit && (best < 0 || m.typ < q.msgs[best].typ) {
				best = i
			}
		}
		return best
	}
	return -1
}

// MsgRcv implements msgrcv(2): it returns the type and text of the
// message selected, at most size bytes of it (E2BIG for a longer one
// unless MSG_NOERROR), waiting for one unless IPC_NOWAIT (ENOMSG).
// MSG_COPY reads the message at index typ without removing it.
func (ns *Namespace) MsgRcv(c *Caller, id int, size int64, typ int64, flags int) (int64, []byte, error) {
	if flags&linux.MSG_COPY != 0 && (flags&NoWait == 0 || flags&linux.MSG_EXCEPT != 0) {
		return 0, nil, unix.EINVAL
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	q, err := ns.msgs.lookup(id)
	if err != nil {
		return 0, nil, err
	}
	if err := q.p.mayAccess(c, 0444); err != nil {
		return 0, nil, err
	}
	for {
		if i := q.pick(typ, flags); i >= 0 {
			m := q.msgs[i]
			text := m.text
			if int64(len(text)) > size {
				if flags&linux.MSG_NOERROR == 0 {
					return 0, nil, unix.E2BIG
				}
				text = text[:size]
			}
			if flags&linux.MSG_COPY != 0 {
				if err := ns.copyFits(len(m.text), size); err != nil {
					return 0, nil, err
				}
				return m.typ, m.text, nil
			}
			q.msgs = append(q.msgs[:i:i], q.msgs[i+1:]...)
			q.bytes -= len(m.text)
			ns.addMsgBytes(-(len(m.text) + msgOverhead))
			q.lrpid, q.rtime = c.KernelPID, now()
			q.p.notify()
			return m.typ, text, nil
		}
		if flags&NoWait != 0 {
			return 0, nil, unix.ENOMSG
		}
		if err := q.p.wait(&ns.mu, c, nil); err != nil {
			return 0, nil, err
		}
	}
}

// copyFits is MSG_COPY's copy_msg check: the copy's buffer is the
// smaller of the caller's size and msgmax, and a message longer than it
// is EINVAL (MSG_NOERROR does not cut a copy short); ns.mu is held.
func (ns *Namespace) copyFits(n int, size int64) error {
	if int64(n) > size || uint64(n) > ns.limits.MsgMax {
		return unix.EINVAL
	}
	return nil
}

// MsgCtl implements msgctl(2) for IPC_STAT (which fills ds), IPC_SET
// (which reads it) and IPC_RMID. Raising msg_qbytes above MSGMNB needs
// CAP_SYS_RESOURCE.
func (ns *Namespace) MsgCtl(c *Caller, id, cmd int, ds *linux.MsqidDS) error {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	q, err := ns.msgs.lookup(id)
	if err != nil {
		return err
	}
	switch cmd {
	case STAT:
		if err := q.p.mayAccess(c, 0444); err != nil {
			return err
		}
		*ds = linux.MsqidDS{MsgPerm: q.p.ABI(c), MsgStime: linux.TimeT(q.stime), MsgRtime: linux.TimeT(q.rtime),
			MsgCtime: linux.TimeT(q.ctime), MsgCbytes: uint64(q.bytes), MsgQnum: uint64(len(q.msgs)),
			MsgQbytes: uint64(q.qbytes), MsgLspid: int32(c.showPID(q.lspid)), MsgLrpid: int32(c.showPID(q.lrpid))}
	case SET:
		qbytes := ds.MsgQbytes
		if qbytes > ns.limits.MsgMnb && !c.Privileged {
			return unix.EPERM
		}
		if err := q.p.setFrom(c, &ds.MsgPerm); err != nil {
			return err
		}
		q.qbytes = int(min(qbytes, 1<<62)) // msgTotal bounds what it holds
		q.ctime = now()
		// A larger queue may take blocked senders' messages now.
		q.p.notify()
	case RMID:
		if err := q.p.mayControl(c); err != nil {
			return err
		}
		for _, m := range q.msgs {
			ns.addMsgBytes(-(len(m.text) + msgOverhead))
		}
		ns.msgs.remove(q)
	default:
		return unix.EINVAL
	}
	return nil
}
