package linux

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/socket/hostinet"
	"runsc-lite/sentry/socket/inet"
	unixsocket "runsc-lite/sentry/socket/unix"
	"runsc-lite/sentry/usermem"
	"runsc-lite/sentry/vfs"
)

// Socket data handlers: sendto, recvfrom, sendmsg, recvmsg and their
// multi-message forms, with the msghdr, iovec and cmsg layouts of
// x86-64.

// msghdr is a struct msghdr as the application gave it.
type msghdr struct {
	name       uintptr
	namelen    int32
	iov        uintptr
	iovlen     uint64
	control    uintptr
	controllen uint64
}

// copyInMsghdr reads the msghdr at addr (parseMsghdr).
func copyInMsghdr(t *kernel.Task, addr uintptr) (msghdr, error) {
	var b [unix.SizeofMsghdr]byte
	if err := t.CopyIn(addr, b[:]); err != nil {
		return msghdr{}, err
	}
	return parseMsghdr(b[:])
}

// parseMsghdr decodes a struct msghdr with the checks of Linux's
// __copy_msghdr: without a name the name length is 0 whatever it says;
// a negative one is EINVAL, a longer one is cut to sockaddr_storage;
// more than UIO_MAXIOV buffers is EMSGSIZE.
func parseMsghdr(b []byte) (msghdr, error) {
	var h abi.MsgHdr
	copy(abi.AsBytes(&h), b)
	m := msghdr{
		name: uintptr(h.Name), namelen: int32(h.NameLen),
		iov: uintptr(h.Iov), iovlen: h.IovLen,
		control: uintptr(h.Control), controllen: h.ControlLen,
	}
	if m.name == 0 {
		m.namelen = 0
	}
	if m.namelen < 0 {
		return msghdr{}, fmt.Errorf("msg_namelen %d: %w", m.namelen, unix.EINVAL)
	}
	m.namelen = min(m.namelen, linux.SockAddrMax)
	if m.iovlen > linux.UIO_MAXIOV {
		return msghdr{}, fmt.Errorf("msg_iovlen %d: %w", m.iovlen, unix.EMSGSIZE)
	}
	return m, nil
}

// socketBuffer is the one buffer of sendto and recvfrom, as
// import_single_range takes it: cut to MAX_RW_COUNT, then access_ok.
func socketBuffer(t *kernel.Task, addr uintptr, n uint64) (usermem.IOSequence, error) {
	return t.SingleIOSequence(addr, min(n, usermem.MaxRW))
}

func sendto(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	src, err := socketBuffer(t, a.Pointer(1), uint64(a.Int64(2)))
	if err != nil {
		return 0, err
	}
	var name []byte
	if a.Pointer(4) != 0 {
		if name, err = copyInAddr(t, a.Pointer(4), a.Int(5)); err != nil {
			return 0, err
		}
	}
	return sendSequence(t, a.Int(0), src, name, nil, int(a.Int(3)))
}

func sendmsg(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doSendmsg(t, a.Int(0), a.Pointer(1), int(a.Int(2)))
}

// doSendmsg sends the message described by the msghdr at addr.
func doSendmsg(t *kernel.Task, fd int32, addr uintptr, flags int) (uintptr, error) {
	m, err := copyInMsghdr(t, addr)
	if err != nil {
		return 0, err
	}
	var name []byte
	if m.namelen > 0 {
		if name, err = copyInAddr(t, m.name, m.namelen); err != nil {
			return 0, err
		}
	}
	src, err := t.IovecsIOSequence(m.iov, int(m.iovlen))
	if err != nil {
		return 0, err
	}
	ctl, err := copyInControl(t, m.control, m.controllen)
	if err != nil {
		return 0, err
	}
	return sendSequence(t, fd, src, name, ctl, flags)
}

// copyInControl reads sendmsg's control messages: n beyond
// net.core.optmem_max is ENOBUFS, less than one header is none. What they
// mean depends on the socket (sendSequence).
func copyInControl(t *kernel.Task, addr uintptr, n uint64) ([]byte, error) {
	if n < unix.SizeofCmsghdr {
		return nil, nil
	}
	if n > optmemMax {
		return nil, unix.ENOBUFS
	}
	b := make([]byte, n)
	if err := t.CopyIn(addr, b); err != nil {
		return nil, err
	}
	return b, nil
}

// unixControl reads and checks the control messages of a Unix or
// netlink socket (unixsocket.ParseControl). The returned rights are
// references the caller drops.
func unixControl(t *kernel.Task, b []byte) (*unixsocket.Control, error) {
	if b == nil {
		return nil, nil
	}
	return unixsocket.ParseControl(b,
		func(fd int32) (*vfs.File, error) { return getFileRaw(t, fd) },
		func(cr *unixsocket.Cred) error { return claimCred(t, cr) })
}

// claimCred checks an explicit SCM_CREDENTIALS as Linux's __scm_send and
// scm_check_creds: EINVAL for an ID that names no one (-1); EPERM unless
// the pid is the caller's (or it has CAP_SYS_ADMIN), the user ID one of
// its real, effective and saved ones (or it has CAP_SETUID) and the group
// ID too (or CAP_SETGID); ESRCH for another pid that no task has. The
// IDs are the caller's user namespace's, which must map them (EINVAL);
// cr gets their kernel IDs. CAP_SETUID and CAP_SETGID count in the
// caller's namespace, CAP_SYS_ADMIN (for the pid) in the initial one, as
// the sandbox has one pid namespace.
func claimCred(t *kernel.Task, cr *unixsocket.Cred) error {
	c := t.Creds()
	uid, uok := c.UserNS.UIDToKernel(cr.UID)
	gid, gok := c.UserNS.GIDToKernel(cr.GID)
	if !uok || !gok {
		return unix.EINVAL
	}
	cr.UID, cr.GID = uid, gid
	has := func(cap int) bool {
		if cap == unix.CAP_SYS_ADMIN {
			return c.HasCap(linux.CAP_SYS_ADMIN)
		}
		return c.HasOwnCap(linux.Capability(cap))
	}
	in := func(id uint32, ids kernel.IDs) bool { return id == ids.Real || id == ids.Effective || id == ids.Saved }
	own := int(cr.PID) == t.PID()
	if !(own || has(unix.CAP_SYS_ADMIN)) || !(in(cr.UID, c.UID) || has(unix.CAP_SETUID)) || !(in(cr.GID, c.GID) || has(unix.CAP_SETGID)) {
		return unix.EPERM
	}
	if !own && (cr.PID <= 0 || t.LookupTask(int(cr.PID)) == nil) {
		return unix.ESRCH
	}
	cr.PID = int32(t.KernelIDOf(int(cr.PID))) // the receiver's namespace shows it
	return nil
}

// sendSequence sends the bytes of src on the socket at fd, to name if
// given, with the control messages rawCtl (sendmsg's).
func sendSequence(t *kernel.Task, fd int32, src usermem.IOSequence, name []byte, rawCtl []byte, flags int) (uintptr, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	if s, ok := netSocketOf(f); ok {
		var o inet.SendOptions
		mayMark := hasCap(t, unix.CAP_NET_RAW) || hasCap(t, unix.CAP_NET_ADMIN)
		if is, ok := s.(*inet.Socket); ok {
			if o.Control, err = is.ParseControl(rawCtl, mayMark); err != nil {
				return 0, err
			}
		} else if hs, ok := s.(*hostinet.Socket); ok && hs.Family() != unix.AF_NETLINK {
			// Checked as Linux checks them; no descriptor or other
			// control message reaches the host.
			typ := unix.SOCK_DGRAM
			if hs.Stream() {
				typ = unix.SOCK_STREAM
			}
			if o.Control, err = inet.ParseControlFor(hs.Family(), typ, rawCtl, mayMark); err != nil {
				return 0, err
			}
		} else {
			ctl, err := unixControl(t, rawCtl)
			if err != nil {
				return 0, err
			}
			if ctl != nil {
				ctl.Drop() // netlink takes the messages and ignores them
			}
		}
		n, err := inetSend(t, f, s, src, name, o, flags)
		return uintptr(n), err
	}
	s, err := unixsocket.FromFile(f)
	if err != nil {
		return 0, err
	}
	ctl, err := unixControl(t, rawCtl)
	if err != nil {
		return 0, err
	}
	if ctl != nil {
		defer ctl.Drop()
	}
	n, err := sendOn(t, f, s, src, name, ctl, flags)
	if err == unix.EPIPE && flags&unix.MSG_NOSIGNAL != 0 {
		err = unixsocket.NoSignal(err)
	}
	return uintptr(n), err
}

func sendOn(t *kernel.Task, f *vfs.File, s *unixsocket.Socket, src usermem.IOSequence, name []byte, ctl *unixsocket.Control, flags int) (int, error) {
	if flags&unix.MSG_OOB != 0 {
		return unixSendOOB(t, f, s, src, name, ctl, flags)
	}
	ctx := t.Ctx()
	to, hasTo := "", false
	if len(name) > 0 {
		switch s.Type() {
		case unix.SOCK_STREAM:
			hasTo = true // the socket refuses it: EISCONN or EOPNOTSUPP
		case unix.SOCK_DGRAM:
			addr, err := unixsocket.ParseAddress(name)
			if err != nil {
				return 0, err
			}
			if to, err = resolve(t, ctx, s, addr); err != nil {
				return 0, err
			}
			hasTo = true
		}
	}
	nonblock := nonblocking(f, flags)
	_, timeout := s.Timeouts()
	if s.Type() != unix.SOCK_STREAM {
		// A datagram goes whole: refuse it before copying it if it can
		// never fit.
		if src.NumBytes() > s.MaxDatagram() {
			return 0, unix.EMSGSIZE
		}
		data := make([]byte, src.NumBytes())
		if _, err := src.CopyIn(data); err != nil {
			return 0, unix.EFAULT
		}
		return sockWait(t, f, unix.POLLOUT, nonblock, timeout, func() (int, error) {
			return s.Send(ctx, data, ctl, to, hasTo)
		})
	}
	// A stream takes each buffer-full whole, waiting for room, unless it
	// stops (non-blocking, a timeout, an error): what was sent is the
	// count.
	return partialSend(src.CopyInTo(usermem.WriterFunc(func(data []byte) (int, error) {
		done := 0
		_, err := sockWait(t, f, unix.POLLOUT, nonblock, timeout, func() (int, error) {
			n, err := s.Send(ctx, data[done:], ctl, to, hasTo)
			done += n
			return done, err
		})
		return done, err
	})))
}

// unixSendOOB is a send with MSG_OOB on a Unix socket (unix_stream_sendmsg
// with CONFIG_AF_UNIX_OOB): on a stream all but the last byte go as a
// send without it, the last byte as the peer's out-of-band byte; an empty
// send, and any other socket type, EOPNOTSUPP.
func unixSendOOB(t *kernel.Task, f *vfs.File, s *unixsocket.Socket, src usermem.IOSequence, name []byte, ctl *unixsocket.Control, flags int) (int, error) {
	n := src.NumBytes()
	if s.Type() != unix.SOCK_STREAM || n == 0 {
		return 0, unix.EOPNOTSUPP
	}
	head := 0
	if n > 1 {
		var err error
		head, err = sendOn(t, f, s, src.TakeFirst(n-1), name, ctl, flags&^unix.MSG_OOB)
		if head < n-1 {
			return head, err
		}
	}
	var b [1]byte
	if _, err := src.DropFirst(n - 1).CopyIn(b[:]); err != nil {
		return partialSend(head, unix.EFAULT)
	}
	sent, err := s.SendOOB(t.Ctx(), b[0])
	return partialSend(head+sent, err)
}

// partialSend is what a stream send that stopped returns: the count if
// anything went, else the error (EFAULT for memory it could not copy).
func partialSend(sent int, err error) (int, error) {
	if sent > 0 {
		return sent, nil
	}
	if errors.Is(err, unix.EFAULT) {
		return 0, unix.EFAULT
	}
	return 0, err
}

func recvfrom(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	dst, err := socketBuffer(t, a.Pointer(1), uint64(a.Int64(2)))
	if err != nil {
		return 0, err
	}
	flags := int(a.Int(3))
	r, got, err := recvSequence(t, a.Int(0), dst, flags)
	if err != nil {
		return 0, err
	}
	r.Drop() // recvfrom has no room for descriptors: they are closed
	if err := copyOutAddr(t, r.From, a.Pointer(4), a.Pointer(5)); err != nil {
		return 0, err
	}
	return uintptr(got), nil
}

func recvmsg(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doRecvmsg(t, a.Int(0), a.Pointer(1), int(a.Int(2)))
}

// doRecvmsg receives into the msghdr at addr and writes back its name
// length, control length and flags.
func doRecvmsg(t *kernel.Task, fd int32, addr uintptr, flags int) (uintptr, error) {
	m, err := copyInMsghdr(t, addr)
	if err != nil {
		return 0, err
	}
	dst, err := t.IovecsIOSequence(m.iov, int(m.iovlen))
	if err != nil {
		return 0, err
	}
	r, got, err := recvSequence(t, fd, dst, flags)
	if err != nil {
		return 0, err
	}
	// MSG_CMSG_CLOEXEC comes back in msg_flags, as ___sys_recvmsg
	// starts them from the call's flags.
	outFlags := int32(flags & (unix.MSG_CMSG_CLOEXEC | unix.MSG_ERRQUEUE)) // ip_recv_error sets MSG_ERRQUEUE
	if r.Len > r.N {
		outFlags |= unix.MSG_TRUNC
	}
	if r.OOB {
		outFlags |= unix.MSG_OOB
	}
	cloexec := flags&unix.MSG_CMSG_CLOEXEC != 0
	if r.Cred != nil {
		// The sender's kernel IDs, as the receiver's namespaces have
		// them (0 for a process outside its PID namespace).
		cr := *r.Cred
		ns := t.UserNS()
		cr.UID, cr.GID = ns.ShowUID(cr.UID), ns.ShowGID(cr.GID)
		cr.PID = int32(t.IDOf(int(cr.PID)))
		r.Cred = &cr
	}
	ctl, trunc := unixsocket.BuildControl(&r, m.controllen, func(f *vfs.File) (int32, error) {
		return t.FDs().Install(f, 0, cloexec)
	})
	if trunc {
		outFlags |= unix.MSG_CTRUNC
	}
	if len(ctl) > 0 {
		if err := t.CopyOut(m.control, ctl); err != nil {
			return 0, err
		}
	}
	if m.name != 0 {
		if k := min(int(m.namelen), len(r.From)); k > 0 {
			if err := t.CopyOut(m.name, r.From[:k]); err != nil {
				return 0, err
			}
		}
	}
	// The lengths and flags are stored one by one, as ___sys_recvmsg
	// stores them.
	namelen, controllen := uint32(len(r.From)), uint64(len(ctl))
	if err := kernel.CopyOut(t, addr+abi.MsgHdrNameLenOffset, &namelen); err != nil {
		return 0, err
	}
	if err := kernel.CopyOut(t, addr+abi.MsgHdrControlLenOffset, &controllen); err != nil {
		return 0, err
	}
	if err := kernel.CopyOut(t, addr+abi.MsgHdrFlagsOffset, &outFlags); err != nil {
		return 0, err
	}
	return uintptr(got), nil
}

// recvSequence receives into dst from the socket at fd and returns what
// was received and the count recv returns (the full datagram length with
// MSG_TRUNC). MSG_WAITALL on a stream waits until the buffers are full.
func recvSequence(t *kernel.Task, fd int32, dst usermem.IOSequence, flags int) (unixsocket.Received, int, error) {
	f, err := getFile(t, fd)
	if err != nil {
		return unixsocket.Received{}, 0, err
	}
	defer f.DecRef()
	if s, ok := netSocketOf(f); ok {
		r, got, err := inetRecv(t, f, s, dst, flags)
		ur := unixsocket.Received{N: r.N, Len: r.Len, From: r.From, OOB: r.OOB}
		for _, m := range r.Control {
			ur.Extra = append(ur.Extra, unixsocket.ControlMessage{Level: m.Level, Type: m.Type, Data: m.Data})
		}
		return ur, got, err
	}
	s, err := unixsocket.FromFile(f)
	if err != nil {
		return unixsocket.Received{}, 0, err
	}
	if flags&unix.MSG_OOB != 0 {
		return unixRecvOOB(t, s, dst, flags)
	}
	if flags&unix.MSG_ERRQUEUE != 0 {
		return unixsocket.Received{}, 0, unix.EAGAIN // Unix sockets have no error queue
	}
	peek := flags&unix.MSG_PEEK != 0
	nonblock := nonblocking(f, flags)
	timeout, _ := s.Timeouts()
	buf := make([]byte, min(dst.NumBytes(), usermem.ChunkSize))
	var r unixsocket.Received
	for {
		var part unixsocket.Received
		_, err := sockWait(t, f, unix.POLLIN, nonblock, timeout, func() (int, error) {
			var err error
			part, err = s.Recv(buf[r.N:], peek)
			return part.N, err
		})
		if err != nil {
			if r.N > 0 {
				break
			}
			return r, 0, err
		}
		if r.N == 0 {
			r.From, r.Cred, r.Len = part.From, part.Cred, part.Len
		} else {
			r.Len += part.Len
		}
		r.N += part.N
		r.Rights = append(r.Rights, part.Rights...)
		// MSG_WAITALL goes on, but never past descriptors, nor (with
		// SO_PASSCRED) into data whose credentials may differ.
		waitall := flags&unix.MSG_WAITALL != 0 && s.Type() == unix.SOCK_STREAM && !peek
		if !waitall || part.N == 0 || r.N == len(buf) || len(part.Rights) > 0 || part.Cred != nil {
			break
		}
	}
	if _, err := dst.CopyOut(buf[:r.N]); err != nil {
		r.Drop()
		return r, 0, unix.EFAULT
	}
	got := r.N
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unix.SOCK_STREAM {
		got = r.Len
	}
	return r, got, nil
}

// unixRecvOOB is recv with MSG_OOB on a Unix socket: the out-of-band
// byte, without waiting (unix_stream_recv_urg).
func unixRecvOOB(t *kernel.Task, s *unixsocket.Socket, dst usermem.IOSequence, flags int) (unixsocket.Received, int, error) {
	buf := make([]byte, min(dst.NumBytes(), 1))
	r, err := s.RecvOOB(buf, flags&unix.MSG_PEEK != 0)
	if err != nil {
		return r, 0, err
	}
	if _, err := dst.CopyOut(buf[:r.N]); err != nil {
		return r, 0, unix.EFAULT
	}
	return r, r.N, nil
}

func sendmmsg(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := int(a.Int(3))
	return multiMsg(t, a.Pointer(1), a.Uint(2), func(addr uintptr, _ int) (uintptr, error) {
		return doSendmsg(t, a.Int(0), addr, flags)
	})
}

func recvmmsg(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	flags := int(a.Int(3))
	tsAddr := a.Pointer(4)
	var deadline time.Time
	if tsAddr != 0 {
		var ts unix.Timespec
		if err := kernel.CopyIn(t, tsAddr, &ts); err != nil {
			return 0, err
		}
		if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
			return 0, unix.EINVAL
		}
		deadline = time.Now().Add(time.Duration(ts.Nano()))
	}
	n, err := multiMsg(t, a.Pointer(1), a.Uint(2), func(addr uintptr, i int) (uintptr, error) {
		// As Linux, the timeout is only looked at between messages.
		if i > 0 && tsAddr != 0 && !time.Now().Before(deadline) {
			return 0, errTimedOut
		}
		f := flags &^ unix.MSG_WAITFORONE
		if i > 0 && flags&unix.MSG_WAITFORONE != 0 {
			f |= unix.MSG_DONTWAIT
		}
		return doRecvmsg(t, a.Int(0), addr, f)
	})
	if err == nil && n > 0 && tsAddr != 0 {
		left := unix.NsecToTimespec(max(time.Until(deadline), 0).Nanoseconds())
		if err := kernel.CopyOut(t, tsAddr, &left); err != nil {
			return 0, err
		}
	}
	return n, err
}

// errTimedOut stops recvmmsg at its timeout; it never reaches the
// application, because a first message is never refused.
var errTimedOut = errors.New("recvmmsg timeout")

// multiMsg runs one message operation per mmsghdr (at most UIO_MAXIOV)
// and stores each count in its msg_len; it returns how many succeeded,
// or the first one's error.
func multiMsg(t *kernel.Task, vec uintptr, vlen uint32, op func(addr uintptr, i int) (uintptr, error)) (uintptr, error) {
	vlen = min(vlen, linux.UIO_MAXIOV)
	done := 0
	for i := range int(vlen) {
		addr := vec + uintptr(i)*unix.SizeofMmsghdr
		n, err := op(addr, i)
		if err == nil {
			msgLen := uint32(n)
			err = kernel.CopyOut(t, addr+abi.MMsgHdrLenOffset, &msgLen)
		}
		if err != nil {
			if done > 0 {
				break
			}
			return 0, err
		}
		done++
	}
	return uintptr(done), nil
}

// showPeerCred maps SO_PEERCRED's struct ucred (kernel IDs) into t's user
// and PID namespaces; -1, no peer, stays.
func showPeerCred(t *kernel.Task, v []byte) []byte {
	ns := t.UserNS()
	var uc unix.Ucred
	if len(v) != unix.SizeofUcred || !abi.Decode(v, &uc) {
		return v
	}
	if uc.Uid != ^uint32(0) {
		uc.Uid, uc.Gid = ns.ShowUID(uc.Uid), ns.ShowGID(uc.Gid)
	}
	uc.Pid = int32(t.IDOf(int(uc.Pid)))
	return abi.Encode(uc)
}
