package linux

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	unixsocket "runsc-lite/sentry/socket/unix"
	"runsc-lite/sentry/vfs"
)

// Socket handlers: Unix-domain sockets (sentry/socket/unix) and
// Internet sockets (sentry/socket/inet, socket_inet.go); other families
// fail with EAFNOSUPPORT. Addresses and ancillary data are parsed here,
// with Linux's limits; the sockets themselves never block, and the loop
// in sockWait waits on their queues.

func registerSocket(st *kernel.SyscallTable) {
	fd, hex, i := kernel.ArgFD, kernel.ArgHex, kernel.ArgInt
	partial(st, unix.SYS_SOCKET, "socket", socket, "AF_UNIX; AF_INET and AF_INET6 TCP, UDP and ICMP echo (no raw sockets); AF_NETLINK NETLINK_ROUTE and NETLINK_SOCK_DIAG dumps; AF_PACKET SOCK_RAW and SOCK_DGRAM without rings", i, hex, i)
	partial(st, unix.SYS_SOCKETPAIR, "socketpair", socketpair, "AF_UNIX only", i, hex, i, hex)
	reg(st, unix.SYS_BIND, "bind", bind, fd, hex, i)
	reg(st, unix.SYS_LISTEN, "listen", listen, fd, i)
	reg(st, unix.SYS_ACCEPT, "accept", accept, fd, hex, hex)
	reg(st, unix.SYS_ACCEPT4, "accept4", accept4, fd, hex, hex, hex)
	reg(st, unix.SYS_CONNECT, "connect", connect, fd, hex, i)
	partial(st, unix.SYS_SENDTO, "sendto", sendto, "MSG_OOB: TCP urgent data to a peer on the sandbox's stack (inet/urgent.go)", fd, hex, i, hex, hex, i)
	partial(st, unix.SYS_RECVFROM, "recvfrom", recvfrom, "no MSG_ERRQUEUE", fd, hex, i, hex, hex, hex)
	partial(st, unix.SYS_SENDMSG, "sendmsg", sendmsg, "MSG_OOB as sendto; SCM_RIGHTS and SCM_CREDENTIALS only", fd, hex, hex)
	partial(st, unix.SYS_RECVMSG, "recvmsg", recvmsg, "MSG_OOB as recvfrom; no MSG_ERRQUEUE", fd, hex, hex)
	partial(st, unix.SYS_SENDMMSG, "sendmmsg", sendmmsg, "as sendmsg", fd, hex, i, hex)
	partial(st, unix.SYS_RECVMMSG, "recvmmsg", recvmmsg, "as recvmsg; the timeout is checked between messages, as in Linux", fd, hex, i, hex, hex)
	reg(st, unix.SYS_SHUTDOWN, "shutdown", shutdown, fd, i)
	reg(st, unix.SYS_GETSOCKNAME, "getsockname", getsockname, fd, hex, hex)
	reg(st, unix.SYS_GETPEERNAME, "getpeername", getpeername, fd, hex, hex)
	partial(st, unix.SYS_GETSOCKOPT, "getsockopt", getsockopt, "SOL_SOCKET options; SOL_TCP, SOL_IP, SOL_IPV6 options of Internet sockets (sentry/socket/inet/opts.go)", fd, i, i, hex, hex)
	partial(st, unix.SYS_SETSOCKOPT, "setsockopt", setsockopt, "as getsockopt", fd, i, i, hex, i)
}

// Linux's limits on what a socket call copies in.
const (
	// optmemMax is net.core.optmem_max: the most control data sendmsg
	// takes.
	optmemMax = 131072
	// maxSockOpt bounds the option values setsockopt copies in.
	maxSockOpt = 512
)

// socketFlags are the flags socket(2)'s type may carry.
const socketFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC

// socketType checks socket(2)'s domain, type and protocol in Linux's
// order and returns the type and its flags.
func socketType(domain, typ, protocol int32) (int, int, error) {
	flags := int(typ) &^ 0xf
	if flags&^socketFlags != 0 {
		return 0, 0, unix.EINVAL
	}
	if domain != unix.AF_UNIX {
		return 0, 0, unix.EAFNOSUPPORT
	}
	kind, err := unixsocket.Types(int(typ) & 0xf)
	if err != nil {
		return 0, 0, err
	}
	if protocol != 0 && protocol != unix.AF_UNIX {
		return 0, 0, unix.EPROTONOSUPPORT
	}
	return kind, flags, nil
}

func socket(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	switch d := a.Int(0); d {
	case unix.AF_INET, unix.AF_INET6:
		return inetSocket(t, d, a.Int(1), a.Int(2))
	case unix.AF_NETLINK:
		return netlinkSocket(t, a.Int(1), a.Int(2))
	case unix.AF_PACKET:
		return packetSocket(t, a.Int(1), a.Int(2))
	}
	typ, flags, err := socketType(a.Int(0), a.Int(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	f := unixsocket.New(t.K.UnixSockets, t.NetNS().Inode, typ, flags)
	defer f.DecRef()
	fd, err := t.FDs().Install(f, 0, flags&unix.SOCK_CLOEXEC != 0)
	return uintptr(fd), mfile(err)
}

func socketpair(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	if d := a.Int(0); d == unix.AF_INET || d == unix.AF_INET6 {
		return 0, inetSocketpair(t, d, a.Int(1), a.Int(2))
	}
	typ, flags, err := socketType(a.Int(0), a.Int(1), a.Int(2))
	if err != nil {
		return 0, err
	}
	x, y := unixsocket.NewPair(t.Ctx(), t.K.UnixSockets, t.NetNS().Inode, typ, flags)
	defer x.DecRef()
	defer y.DecRef()
	cloexec := flags&unix.SOCK_CLOEXEC != 0
	fd0, err := t.FDs().Install(x, 0, cloexec)
	if err != nil {
		return 0, mfile(err)
	}
	fd1, err := t.FDs().Install(y, 0, cloexec)
	if err != nil {
		t.FDs().Close(fd0)
		return 0, mfile(err)
	}
	fds := [2]int32{int32(fd0), int32(fd1)}
	if err := kernel.CopyOut(t, a.Pointer(3), &fds); err != nil {
		t.FDs().Close(fd0)
		t.FDs().Close(fd1)
		return 0, err
	}
	return 0, nil
}

// copyInAddr reads a socket address of n bytes: EINVAL for a negative
// length or one beyond sockaddr_storage.
func copyInAddr(t *kernel.Task, addr uintptr, n int32) ([]byte, error) {
	if n < 0 || n > linux.SockAddrMax {
		return nil, unix.EINVAL
	}
	b := make([]byte, n)
	if err := t.CopyIn(addr, b); err != nil {
		return nil, err
	}
	return b, nil
}

// copyOutAddr writes raw to addr, truncated to the length at lenAddr,
// and writes the full length back, as Linux's move_addr_to_user.
func copyOutAddr(t *kernel.Task, raw []byte, addr, lenAddr uintptr) error {
	if addr == 0 {
		return nil
	}
	return copyOutName(t, raw, addr, lenAddr)
}

// copyOutName is move_addr_to_user, for getsockname and getpeername,
// whose address is never optional: a NULL one is EFAULT once the length
// says something is to be written.
func copyOutName(t *kernel.Task, raw []byte, addr, lenAddr uintptr) error {
	var n int32 // a socklen_t, read as int, as move_addr_to_user does
	if err := kernel.CopyIn(t, lenAddr, &n); err != nil {
		return err
	}
	if n < 0 {
		return unix.EINVAL
	}
	if k := min(int(n), len(raw)); k > 0 {
		if err := t.CopyOut(addr, raw[:k]); err != nil {
			return err
		}
	}
	full := uint32(len(raw))
	return kernel.CopyOut(t, lenAddr, &full)
}

// resolve finds the key of the socket an address names: an abstract
// name as it is, a path through the VFS (it must be a socket node the
// caller may write; anything else refuses the connection).
func resolve(t *kernel.Task, ctx context.Context, s *unixsocket.Socket, a unixsocket.Address) (string, error) {
	if a.Abstract() {
		return a.Key(s.Net(), s.Type()), nil
	}
	d, err := t.K.VFS.Lookup(ctx, t.FSCreds(), t.FS(), nil, a.Path, true)
	if err != nil {
		return "", err
	}
	if err := vfs.AccessDentry(ctx, t.FSCreds(), d, unix.W_OK); err != nil {
		if err == unix.EROFS {
			err = nil // a socket node is written by sending, not by its filesystem
		} else {
			return "", err
		}
	}
	st, err := d.Inode().Stat(ctx)
	if err != nil {
		return "", err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return "", unix.ECONNREFUSED
	}
	return unixsocket.PathKey(st.Dev, st.Ino), nil
}

func bind(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return withAnySocket(t, a.Int(0), func(_ *vfs.File, s netSocket) (uintptr, error) {
		raw, err := copyInAddr(t, a.Pointer(1), a.Int(2))
		if err != nil {
			return 0, err
		}
		return 0, inetBind(t, s, raw)
	}, func(_ *vfs.File, s *unixsocket.Socket) (uintptr, error) {
		raw, err := copyInAddr(t, a.Pointer(1), a.Int(2))
		if err != nil {
			return 0, err
		}
		if unixsocket.IsAutobind(raw) {
			return 0, s.Autobind()
		}
		addr, err := unixsocket.ParseAddress(raw)
		if err != nil {
			return 0, err
		}
		if addr.Abstract() {
			return 0, s.Bind(addr.Key(s.Net(), s.Type()), addr)
		}
		return 0, bindPath(t, s, addr)
	})
}

// bindPath creates the socket node of a path (EADDRINUSE if the name
// exists) and binds the socket to it; as Linux, the node goes again if
// the socket turns out to be bound already.
func bindPath(t *kernel.Task, s *unixsocket.Socket, addr unixsocket.Address) error {
	ctx := t.Ctx()
	v := t.K.VFS
	if err := v.Mknod(ctx, t.FSCreds(), t.FS(), nil, addr.Path, unix.S_IFSOCK|0o777, 0); err != nil {
		if err == unix.EEXIST {
			return unix.EADDRINUSE
		}
		return err
	}
	st, err := v.StatAt(ctx, t.FSCreds(), t.FS(), nil, addr.Path, false)
	if err == nil {
		err = s.Bind(unixsocket.PathKey(st.Dev, st.Ino), addr)
	}
	if err != nil {
		// Best effort: the node is the caller's own, just made.
		_ = v.Unlink(ctx, t.FSCreds(), t.FS(), nil, addr.Path)
	}
	return err
}

func listen(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return withAnySocket(t, a.Int(0), func(_ *vfs.File, s netSocket) (uintptr, error) {
		return 0, s.Listen(a.Int(1))
	}, func(_ *vfs.File, s *unixsocket.Socket) (uintptr, error) {
		return 0, s.Listen(t.Ctx(), a.Int(1))
	})
}

func accept(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doAccept(t, a.Int(0), a.Pointer(1), a.Pointer(2), 0)
}

func accept4(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return doAccept(t, a.Int(0), a.Pointer(1), a.Pointer(2), int(a.Int(3)))
}

func doAccept(t *kernel.Task, fd int32, addr, lenAddr uintptr, flags int) (uintptr, error) {
	if flags&^socketFlags != 0 {
		return 0, unix.EINVAL
	}
	return withAnySocket(t, fd, func(f *vfs.File, s netSocket) (uintptr, error) {
		return inetAccept(t, f, s, addr, lenAddr, flags)
	}, func(f *vfs.File, s *unixsocket.Socket) (uintptr, error) {
		var c *unixsocket.Socket
		rcv, _ := s.Timeouts()
		_, err := sockWait(t, f, unix.POLLIN, nonblocking(f, 0), rcv, func() (int, error) {
			var err error
			c, err = s.Accept()
			return 0, err
		})
		if err != nil {
			return 0, err
		}
		nf := unixsocket.NewFile(c, flags)
		defer nf.DecRef()
		peer, err := c.PeerName()
		if err != nil {
			peer = []byte{unix.AF_UNIX, 0}
		}
		if err := copyOutAddr(t, peer, addr, lenAddr); err != nil {
			return 0, err
		}
		nfd, err := t.FDs().Install(nf, 0, flags&unix.SOCK_CLOEXEC != 0)
		return uintptr(nfd), mfile(err)
	})
}

func connect(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return withAnySocket(t, a.Int(0), func(f *vfs.File, s netSocket) (uintptr, error) {
		raw, err := copyInAddr(t, a.Pointer(1), a.Int(2))
		if err != nil {
			return 0, err
		}
		return 0, inetConnect(t, f, s, raw)
	}, func(f *vfs.File, s *unixsocket.Socket) (uintptr, error) {
		raw, err := copyInAddr(t, a.Pointer(1), a.Int(2))
		if err != nil {
			return 0, err
		}
		if len(raw) >= 2 && raw[0] == unix.AF_UNSPEC && raw[1] == 0 {
			return 0, s.Disconnect()
		}
		addr, err := unixsocket.ParseAddress(raw)
		if err != nil {
			return 0, err
		}
		ctx := t.Ctx()
		key, err := resolve(t, ctx, s, addr)
		if err != nil {
			return 0, err
		}
		_, snd := s.Timeouts()
		_, err = sockWait(t, f, unix.POLLOUT, nonblocking(f, 0), snd, func() (int, error) {
			return 0, s.Connect(ctx, key)
		})
		return 0, err
	})
}

func shutdown(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return withAnySocket(t, a.Int(0), func(_ *vfs.File, s netSocket) (uintptr, error) {
		return 0, s.Shutdown(a.Int(1))
	}, func(_ *vfs.File, s *unixsocket.Socket) (uintptr, error) {
		return 0, s.Shutdown(a.Int(1))
	})
}

func getsockname(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return withAnySocket(t, a.Int(0), func(_ *vfs.File, s netSocket) (uintptr, error) {
		return 0, copyOutName(t, s.Name(), a.Pointer(1), a.Pointer(2))
	}, func(_ *vfs.File, s *unixsocket.Socket) (uintptr, error) {
		return 0, copyOutName(t, s.Name(), a.Pointer(1), a.Pointer(2))
	})
}

func getpeername(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return withAnySocket(t, a.Int(0), func(_ *vfs.File, s netSocket) (uintptr, error) {
		raw, err := s.PeerName()
		if err != nil {
			return 0, err
		}
		return 0, copyOutName(t, raw, a.Pointer(1), a.Pointer(2))
	}, func(_ *vfs.File, s *unixsocket.Socket) (uintptr, error) {
		raw, err := s.PeerName()
		if err != nil {
			return 0, err
		}
		return 0, copyOutName(t, raw, a.Pointer(1), a.Pointer(2))
	})
}

func getsockopt(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return withAnySocket(t, a.Int(0), func(_ *vfs.File, s netSocket) (uintptr, error) {
		var n int32 // optlen
		if err := kernel.CopyIn(t, a.Pointer(4), &n); err != nil {
			return 0, err
		}
		if is, ok := netfilterSocket(s, a.Int(1), a.Int(2), true); ok && n >= 0 {
			return netfilterGetsockopt(t, is, a.Int(2), a.Pointer(3), a.Pointer(4), n)
		}
		return 0, inetGetsockopt(t, s, a.Int(1), a.Int(2), n, a.Pointer(3), a.Pointer(4))
	}, func(_ *vfs.File, s *unixsocket.Socket) (uintptr, error) {
		var n int32 // optlen
		if err := kernel.CopyIn(t, a.Pointer(4), &n); err != nil {
			return 0, err
		}
		if a.Int(1) != unix.SOL_SOCKET {
			return 0, unix.EOPNOTSUPP
		}
		if n < 0 {
			return 0, unix.EINVAL
		}
		v, err := s.GetOption(int(a.Int(2)))
		if err != nil {
			return 0, err
		}
		if a.Int(2) == unix.SO_PEERCRED {
			v = showPeerCred(t, v)
		}
		v = v[:min(int(n), len(v))]
		if err := t.CopyOut(a.Pointer(3), v); err != nil {
			return 0, err
		}
		optlen := uint32(len(v))
		return 0, kernel.CopyOut(t, a.Pointer(4), &optlen)
	})
}

func setsockopt(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
	return withAnySocket(t, a.Int(0), func(_ *vfs.File, s netSocket) (uintptr, error) {
		return 0, inetSetsockopt(t, s, a.Int(1), a.Int(2), a.Pointer(3), a.Int(4))
	}, func(_ *vfs.File, s *unixsocket.Socket) (uintptr, error) {
		if a.Int(1) != unix.SOL_SOCKET {
			return 0, unix.EOPNOTSUPP
		}
		n := a.Int(4)
		if n < 0 {
			return 0, unix.EINVAL
		}
		v := make([]byte, min(int(n), maxSockOpt))
		if err := t.CopyIn(a.Pointer(3), v); err != nil {
			return 0, err
		}
		return 0, s.SetOption(int(a.Int(2)), v)
	})
}

// nonblocking reports whether a socket call must not wait: the file is
// O_NONBLOCK or the call passed MSG_DONTWAIT.
func nonblocking(f *vfs.File, flags int) bool {
	return f.Flags()&unix.O_NONBLOCK != 0 || flags&unix.MSG_DONTWAIT != 0
}

// sockWait runs op until it fails with something other than EAGAIN,
// waiting for events on the socket's file between tries (poll's
// waitReady): at most timeout (0: no limit; then EAGAIN, as SO_RCVTIMEO
// says), EINTR when the task is interrupted. A non-blocking call gets
// op's first answer.
func sockWait(t *kernel.Task, f *vfs.File, events int16, nonblock bool, timeout time.Duration, op func() (int, error)) (int, error) {
	timed := timeout > 0
	switch {
	case nonblock:
		timeout = 0
	case timeout == 0:
		timeout = forever
	}
	var n int
	err := error(unix.EAGAIN)
	_, werr := waitReady(t, []watched{{f, events}}, timeout, func() (int, error) {
		if n, err = op(); err == unix.EAGAIN {
			return 0, nil
		}
		return 1, nil
	})
	if werr == unix.EINTR && timed && !nonblock {
		// Linux's sock_intr_errno: a wait with a timeout is not
		// restarted after a handler, even under SA_RESTART.
		return n, kernel.ErrRestartNoHand
	}
	if werr != nil {
		return n, werr
	}
	return n, err
}
