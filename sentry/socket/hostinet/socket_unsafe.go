package hostinet

import (
	"runtime"
	"unsafe"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"

	"runsc-lite/abi"
)

// The host socket calls, with addresses, values and buffers in the
// sentry's own memory (the application's were copied in by the syscall
// layer): x/sys's wrappers take typed addresses, these take the raw ones
// the syscall layer has.

// ptr is the address of b's first byte, or of a placeholder for an
// empty b (the kernel reads nothing through it).
func ptr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		var zero byte
		return unsafe.Pointer(&zero)
	}
	return unsafe.Pointer(&b[0])
}

func errnoOf(e sys.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

// retryEINTR runs a host call again while a signal of the sentry's own
// interrupts it (the sockets never block, so it returns at once).
func retryEINTR(call func() (uintptr, sys.Errno)) (uintptr, error) {
	for {
		r, e := call()
		if e == sys.EINTR {
			continue
		}
		return r, errnoOf(e)
	}
}

func hostBind(fd int, addr []byte) error {
	_, err := retryEINTR(func() (uintptr, sys.Errno) {
		_, _, e := sys.Syscall(sys.SYS_BIND, uintptr(fd), uintptr(ptr(addr)), uintptr(len(addr)))
		return 0, e
	})
	return err
}

func hostConnect(fd int, addr []byte) error {
	_, _, e := sys.Syscall(sys.SYS_CONNECT, uintptr(fd), uintptr(ptr(addr)), uintptr(len(addr)))
	if e == sys.EINTR {
		// The connection goes on in the background, as after a
		// non-blocking connect.
		return sys.EINPROGRESS
	}
	return errnoOf(e)
}

// hostAccept accepts a connection on listening socket fd: the new socket
// (non-blocking, close-on-exec) and its peer's address.
func hostAccept(fd int) (int, []byte, error) {
	var sa sys.RawSockaddrAny
	n := uint32(unsafe.Sizeof(sa))
	nfd, err := retryEINTR(func() (uintptr, sys.Errno) {
		r, _, e := sys.Syscall6(sys.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)),
			sys.SOCK_NONBLOCK|sys.SOCK_CLOEXEC, 0, 0)
		return r, e
	})
	if err != nil {
		return -1, nil, err
	}
	b := (*[unsafe.Sizeof(sa)]byte)(unsafe.Pointer(&sa))
	return int(nfd), append([]byte(nil), b[:min(uintptr(n), unsafe.Sizeof(sa))]...), nil
}

// hostName is getsockname (or getpeername, peer) of fd.
func hostName(fd int, peer bool) ([]byte, error) {
	var sa sys.RawSockaddrAny
	n := uint32(unsafe.Sizeof(sa))
	nr := uintptr(sys.SYS_GETSOCKNAME)
	if peer {
		nr = sys.SYS_GETPEERNAME
	}
	_, _, e := sys.RawSyscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&n)))
	if e != 0 {
		return nil, e
	}
	b := (*[unsafe.Sizeof(sa)]byte)(unsafe.Pointer(&sa))
	return append([]byte(nil), b[:min(uintptr(n), unsafe.Sizeof(sa))]...), nil
}

// hostGetsockopt gets an option of at most n bytes.
func hostGetsockopt(fd, level, name, n int) ([]byte, error) {
	buf := make([]byte, n)
	l := uint32(n)
	_, _, e := sys.Syscall6(sys.SYS_GETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(ptr(buf)), uintptr(unsafe.Pointer(&l)), 0)
	if e != 0 {
		return nil, e
	}
	return buf[:min(int(l), n)], nil
}

func hostSetsockopt(fd, level, name int, v []byte) error {
	_, _, e := sys.Syscall6(sys.SYS_SETSOCKOPT, uintptr(fd), uintptr(level), uintptr(name),
		uintptr(ptr(v)), uintptr(len(v)), 0)
	return errnoOf(e)
}

// hostSendmsg sends data, to the address to if not nil, with flags.
func hostSendmsg(fd int, data, to, control []byte, flags int) (int, error) {
	iov := sys.Iovec{Base: (*byte)(ptr(data))}
	iov.SetLen(len(data))
	msg := sys.Msghdr{Iov: &iov, Iovlen: 1}
	if len(control) > 0 {
		msg.Control = (*byte)(ptr(control))
		msg.SetControllen(len(control))
	}
	if to != nil {
		msg.Name = (*byte)(ptr(to))
		msg.Namelen = uint32(len(to))
	}
	n, err := retryEINTR(func() (uintptr, sys.Errno) {
		r, _, e := sys.Syscall(sys.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
		return r, e
	})
	return int(n), err
}

// hostRecvmsg receives into dst with flags, and the sender's address if
// from is asked for, and control messages into oob if not nil; it
// returns recvmsg's count and the length of the control messages.
func hostRecvmsg(fd int, dst []byte, flags int, from bool, oob []byte) (int, []byte, int, error) {
	n, name, oobn, _, err := hostRecvmsgFlags(fd, dst, flags, from, oob)
	return n, name, oobn, err
}

// hostRecvmsgFlags is hostRecvmsg, also returning msg_flags.
func hostRecvmsgFlags(fd int, dst []byte, flags int, from bool, oob []byte) (int, []byte, int, int, error) {
	iov := sys.Iovec{Base: (*byte)(ptr(dst))}
	iov.SetLen(len(dst))
	msg := sys.Msghdr{Iov: &iov, Iovlen: 1}
	if len(oob) > 0 {
		msg.Control = (*byte)(ptr(oob))
		msg.SetControllen(len(oob))
	}
	var sa sys.RawSockaddrAny
	if from {
		msg.Name = (*byte)(unsafe.Pointer(&sa))
		msg.Namelen = uint32(unsafe.Sizeof(sa))
	}
	n, err := retryEINTR(func() (uintptr, sys.Errno) {
		r, _, e := sys.Syscall(sys.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
		return r, e
	})
	if err != nil {
		return 0, nil, 0, 0, err
	}
	var name []byte
	if from && msg.Namelen > 0 {
		b := (*[unsafe.Sizeof(sa)]byte)(unsafe.Pointer(&sa))
		name = append([]byte(nil), b[:min(uintptr(msg.Namelen), unsafe.Sizeof(sa))]...)
	}
	return int(n), name, int(msg.Controllen), int(msg.Flags), nil
}

// epollWait waits for events on epoll instance epfd (epoll_pwait: the
// call the sentry's filter allows, as Go's runtime makes it).
func epollWait(epfd int, events []sys.EpollEvent) (int, error) {
	r, _, e := sys.Syscall6(sys.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)),
		^uintptr(0), 0, 0)
	return int(r), errnoOf(e)
}

// hostIoctl makes ioctl request cmd with a structure of the sentry's.
func hostIoctl(fd int, cmd uint32, arg []byte) error {
	_, _, e := sys.Syscall(sys.SYS_IOCTL, uintptr(fd), uintptr(cmd), uintptr(ptr(arg)))
	return errnoOf(e)
}

// hostIfconf is SIOCGIFCONF into buf (nil: the length needed), which it
// returns the length of.
func hostIfconf(fd int, buf []byte) (int, error) {
	ifc := linux.IFConf{Len: int32(len(buf))}
	if buf != nil {
		ifc.Ptr = uint64(uintptr(ptr(buf)))
	}
	_, _, e := sys.Syscall(sys.SYS_IOCTL, uintptr(fd), sys.SIOCGIFCONF, uintptr(unsafe.Pointer(&ifc)))
	runtime.KeepAlive(buf)
	if e != 0 {
		return 0, e
	}
	return int(ifc.Len), nil
}

// intControl is one control message carrying an int (IP_TTL,
// IPV6_HOPLIMIT), padded to CMSG_SPACE(4).
type intControl struct {
	Hdr sys.Cmsghdr
	Val int32
	_   [4]byte
}

// sendControl is the host control messages for what sendmsg's checked
// control data asked for (inet.ParseControlFor): a per-send TTL or hop
// limit; nothing else reaches the host.
func sendControl(cm tcpip.SendableControlMessages) []byte {
	var b []byte
	add := func(level, typ int32, v int32) {
		m := intControl{Hdr: sys.Cmsghdr{Level: level, Type: typ}, Val: v}
		m.Hdr.SetLen(sys.CmsgLen(4))
		b = append(b, abi.Encode(m)...)
	}
	if cm.HasTTL {
		add(sys.SOL_IP, sys.IP_TTL, int32(cm.TTL))
	}
	if cm.HasHopLimit {
		add(sys.SOL_IPV6, sys.IPV6_HOPLIMIT, int32(cm.HopLimit))
	}
	return b
}
