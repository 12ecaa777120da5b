package linux

import (
	"encoding/binary"
	"errors"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	unixsocket "runsc-lite/sentry/socket/unix"
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

// copyInMsghdr reads the msghdr at addr, with Linux's checks: EINVAL for
// a negative name length (a longer one is cut to sockaddr_storage),
// EMSGSIZE beyond UIO_MAXIOV buffers.
func copyInMsghdr(t *kernel.Task, addr uintptr) (msghdr, error) {
	var b [msghdrLen]byte
	if err := t.CopyIn(addr, b[:]); err != nil {
		return msghdr{}, err
	}
	le := binary.LittleEndian
	m := msghdr{
		name: uintptr(le.Uint64(b[0:])), namelen: int32(le.Uint32(b[8:])),
		iov: uintptr(le.Uint64(b[16:])), iovlen: le.Uint64(b[24:]),
		control: uintptr(le.Uint64(b[32:])), controllen: le.Uint64(b[40:]),
	}
	if m.namelen < 0 {
		return msghdr{}, unix.EINVAL
	}
	m.namelen = min(m.namelen, sockaddrStorage)
	if m.name == 0 {
		m.namelen = 0
	}
	if m.iovlen > linux.UIO_MAXIOV {
		return msghdr{}, unix.EMSGSIZE
	}
	return m, nil
}

func sendto(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	n, err := rwLen(a.Int64(2))
	if err != nil {
		return 0, err
	}
	var name []byte
	if a.Pointer(4) != 0 {
		if name, err = copyInAddr(t, a.Pointer(4), a.Int(5)); err != nil {
			return 0, err
		}
	}
	return sendIovecs(t, a.Int(0), []iovec{{a.Pointer(1), n}}, n, name, nil, int(a.Int(3)))
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
	iovs, total, err := copyInIovecs(t, m.iov, int32(m.iovlen))
	if err != nil {
		return 0, err
	}
	ctl, err := copyInControl(t, m.control, m.controllen)
	if err != nil {
		return 0, err
	}
	if ctl != nil {
		defer func() {
			for _, f := range ctl.Rights {
				f.DecRef()
			}
		}()
	}
	return sendIovecs(t, fd, iovs, total, name, ctl, flags)
}

// copyInControl reads and checks sendmsg's control messages as Linux's
// __scm_send: SCM_RIGHTS (at most SCM_MAX_FD descriptors in all, EBADF
// for a bad one) and SCM_CREDENTIALS (EPERM for an identity the caller
// may not claim); other SOL_SOCKET types are EINVAL, other levels are
// ignored. The returned rights are references the caller drops.
func copyInControl(t *kernel.Task, addr uintptr, n uint64) (ctl *unixsocket.Control, err error) {
	if n < cmsgHdrLen {
		return nil, nil
	}
	if n > optmemMax {
		return nil, unix.ENOBUFS
	}
	b := make([]byte, n)
	if err := t.CopyIn(addr, b); err != nil {
		return nil, err
	}
	ctl = &unixsocket.Control{}
	defer func() {
		if err != nil {
			for _, f := range ctl.Rights {
				f.DecRef()
			}
			ctl = nil
		}
	}()
	le := binary.LittleEndian
	for off := 0; off+cmsgHdrLen <= len(b); {
		clen := le.Uint64(b[off:])
		if clen < cmsgHdrLen || clen > uint64(len(b)-off) {
			return ctl, unix.EINVAL
		}
		data := b[off+cmsgHdrLen : off+int(clen)]
		if int32(le.Uint32(b[off+8:])) == unix.SOL_SOCKET {
			switch int32(le.Uint32(b[off+12:])) {
			case unix.SCM_RIGHTS:
				if err := addRights(t, ctl, data); err != nil {
					return ctl, err
				}
			case unix.SCM_CREDENTIALS:
				if len(data) != unix.SizeofUcred {
					return ctl, unix.EINVAL
				}
				cr := unixsocket.Cred{PID: int32(le.Uint32(data)), UID: le.Uint32(data[4:]), GID: le.Uint32(data[8:])}
				if !mayClaim(t, cr) {
					return ctl, unix.EPERM
				}
				ctl.Cred = &cr
			default:
				return ctl, unix.EINVAL
			}
		}
		off += cmsgAlign(int(clen))
	}
	return ctl, nil
}

// addRights takes a reference to each descriptor of an SCM_RIGHTS
// payload.
func addRights(t *kernel.Task, ctl *unixsocket.Control, data []byte) error {
	n := len(data) / 4
	if len(ctl.Rights)+n > unixsocket.MaxRights {
		return unix.EINVAL
	}
	for i := range n {
		f, err := getFileRaw(t, int32(binary.LittleEndian.Uint32(data[4*i:])))
		if err != nil {
			return err
		}
		ctl.Rights = append(ctl.Rights, f)
	}
	return nil
}

// mayClaim reports whether the caller may send cr, as Linux's
// scm_check_creds: its own pid and one of its user and group IDs, or
// anything for the sandbox's root.
func mayClaim(t *kernel.Task, cr unixsocket.Cred) bool {
	c := t.Creds()
	if c.UID.Effective == 0 {
		return true
	}
	in := func(id uint32, ids kernel.IDs) bool { return id == ids.Real || id == ids.Effective || id == ids.Saved }
	return int(cr.PID) == t.PID() && in(cr.UID, c.UID) && in(cr.GID, c.GID)
}

func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// sendIovecs sends the bytes of iovs (total in all) on the socket at fd,
// to name if given, with ctl's ancillary data.
func sendIovecs(t *kernel.Task, fd int32, iovs []iovec, total int, name []byte, ctl *unixsocket.Control, flags int) (uintptr, error) {
	f, s, err := getSocket(t, fd)
	if err != nil {
		return 0, err
	}
	defer f.DecRef()
	n, err := sendOn(t, f, s, iovs, total, name, ctl, flags)
	if err == unix.EPIPE && flags&unix.MSG_NOSIGNAL != 0 {
		err = unixsocket.NoSignal(err)
	}
	return uintptr(n), err
}

func sendOn(t *kernel.Task, f *vfs.File, s *unixsocket.Socket, iovs []iovec, total int, name []byte, ctl *unixsocket.Control, flags int) (int, error) {
	if flags&unix.MSG_OOB != 0 {
		return 0, unix.EOPNOTSUPP
	}
	ctx := callerCtx(t)
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
		if total > s.MaxDatagram() {
			return 0, unix.EMSGSIZE
		}
		data, err := gather(t, iovs, 0, total)
		if err != nil {
			return 0, err
		}
		return sockWait(t, f, unix.POLLOUT, nonblock, timeout, func() (int, error) {
			return s.Send(ctx, data, ctl, to, hasTo)
		})
	}
	sent := 0
	for {
		data, err := gather(t, iovs, sent, min(total-sent, chunk))
		if err != nil {
			return sendResult(sent, err)
		}
		done := 0
		_, err = sockWait(t, f, unix.POLLOUT, nonblock, timeout, func() (int, error) {
			n, err := s.Send(ctx, data[done:], ctl, to, hasTo)
			done += n
			return done, err
		})
		sent += done
		if err != nil || done < len(data) || sent == total {
			return sendResult(sent, err)
		}
	}
}

// sendResult is what a stream send that stopped returns: the count if
// anything went, else the error.
func sendResult(sent int, err error) (int, error) {
	if sent > 0 {
		return sent, nil
	}
	return 0, err
}

// gather copies n bytes of the iovecs, from byte skip on.
func gather(t *kernel.Task, iovs []iovec, skip, n int) ([]byte, error) {
	b := make([]byte, n)
	done := 0
	for _, v := range iovs {
		if done == n {
			break
		}
		if skip >= v.len {
			skip -= v.len
			continue
		}
		k := min(v.len-skip, n-done)
		if err := t.CopyIn(v.base+uintptr(skip), b[done:done+k]); err != nil {
			return nil, err
		}
		done += k
		skip = 0
	}
	return b, nil
}

// scatter copies b into the iovecs.
func scatter(t *kernel.Task, iovs []iovec, b []byte) error {
	for _, v := range iovs {
		if len(b) == 0 {
			break
		}
		k := min(v.len, len(b))
		if err := t.CopyOut(v.base, b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	return nil
}

func recvfrom(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	n, err := rwLen(a.Int64(2))
	if err != nil {
		return 0, err
	}
	flags := int(a.Int(3))
	r, got, err := recvIovecs(t, a.Int(0), []iovec{{a.Pointer(1), n}}, n, flags)
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
	iovs, total, err := copyInIovecs(t, m.iov, int32(m.iovlen))
	if err != nil {
		return 0, err
	}
	r, got, err := recvIovecs(t, fd, iovs, total, flags)
	if err != nil {
		return 0, err
	}
	var outFlags int32
	if r.Len > r.N {
		outFlags |= unix.MSG_TRUNC
	}
	ctl, trunc := putControl(t, &r, m.controllen, flags&unix.MSG_CMSG_CLOEXEC != 0)
	if trunc {
		outFlags |= unix.MSG_CTRUNC
	}
	le := binary.LittleEndian
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
	if err := t.CopyOut(addr+8, le.AppendUint32(nil, uint32(len(r.From)))); err != nil {
		return 0, err
	}
	if err := t.CopyOut(addr+40, le.AppendUint64(nil, uint64(len(ctl)))); err != nil {
		return 0, err
	}
	if err := t.CopyOut(addr+48, le.AppendUint32(nil, uint32(outFlags))); err != nil {
		return 0, err
	}
	return uintptr(got), nil
}

// recvIovecs receives into iovs from the socket at fd and returns what
// was received and the count recv returns (the full datagram length with
// MSG_TRUNC). MSG_WAITALL on a stream waits until the buffers are full.
func recvIovecs(t *kernel.Task, fd int32, iovs []iovec, total int, flags int) (unixsocket.Received, int, error) {
	if flags&unix.MSG_OOB != 0 {
		return unixsocket.Received{}, 0, unix.EOPNOTSUPP
	}
	if flags&unix.MSG_ERRQUEUE != 0 {
		return unixsocket.Received{}, 0, unix.EAGAIN // Unix sockets have no error queue
	}
	f, s, err := getSocket(t, fd)
	if err != nil {
		return unixsocket.Received{}, 0, err
	}
	defer f.DecRef()
	peek := flags&unix.MSG_PEEK != 0
	nonblock := nonblocking(f, flags)
	timeout, _ := s.Timeouts()
	buf := make([]byte, min(total, chunk))
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
	if err := scatter(t, iovs, buf[:r.N]); err != nil {
		r.Drop()
		return r, 0, err
	}
	got := r.N
	if flags&unix.MSG_TRUNC != 0 && s.Type() != unix.SOCK_STREAM {
		got = r.Len
	}
	return r, got, nil
}

// putControl builds recvmsg's control messages in at most n bytes, as
// Linux's scm_recv: SCM_CREDENTIALS first, then SCM_RIGHTS with as many
// descriptors as fit and can be installed; the others are closed. It
// reports whether anything was cut (MSG_CTRUNC).
func putControl(t *kernel.Task, r *unixsocket.Received, n uint64, cloexec bool) ([]byte, bool) {
	defer r.Drop()
	var b []byte
	trunc := false
	room := func() int { return int(min(n, uint64(1<<20))) - len(b) }
	put := func(typ int32, data []byte) {
		if room() < cmsgHdrLen {
			trunc = true
			return
		}
		l := cmsgHdrLen + len(data)
		if room() < l {
			trunc = true
			l = room()
		}
		h := binary.LittleEndian.AppendUint64(nil, uint64(l))
		h = binary.LittleEndian.AppendUint32(h, unix.SOL_SOCKET)
		h = binary.LittleEndian.AppendUint32(h, uint32(typ))
		b = append(append(b, h...), data[:l-cmsgHdrLen]...)
		if pad := min(cmsgAlign(l)-l, room()); pad > 0 {
			b = append(b, make([]byte, pad)...)
		}
	}
	if r.Cred != nil {
		c := binary.LittleEndian.AppendUint32(nil, uint32(r.Cred.PID))
		c = binary.LittleEndian.AppendUint32(c, r.Cred.UID)
		put(unix.SCM_CREDENTIALS, binary.LittleEndian.AppendUint32(c, r.Cred.GID))
	}
	if len(r.Rights) == 0 {
		return b, trunc
	}
	fit := max(room()-cmsgHdrLen, 0) / 4
	var fds []byte
	for _, f := range r.Rights[:min(fit, len(r.Rights))] {
		fd, err := t.FDs.Install(f, 0, cloexec)
		if err != nil {
			break
		}
		fds = binary.LittleEndian.AppendUint32(fds, uint32(fd))
	}
	if len(fds)/4 < len(r.Rights) {
		trunc = true
	}
	if len(fds) > 0 {
		put(unix.SCM_RIGHTS, fds)
	}
	return b, trunc
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
		addr := vec + uintptr(i)*mmsghdrLen
		n, err := op(addr, i)
		if err == nil {
			err = t.CopyOut(addr+msghdrLen, binary.LittleEndian.AppendUint32(nil, uint32(n)))
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
