package inet

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	sys "golang.org/x/sys/unix"
)

// recvFrom receives one datagram from the host socket fd into buf, with
// its sender. Not unix.Recvmsg: its address decoding asks getsockopt
// about the socket, which the sentry may not call.
func recvFrom(fd int, buf []byte) (int, netip.AddrPort, error) {
	var name sys.RawSockaddrInet6 // room for an IPv4 address too
	iov := sys.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	msg := sys.Msghdr{Name: (*byte)(unsafe.Pointer(&name)), Namelen: uint32(unsafe.Sizeof(name)), Iov: &iov, Iovlen: 1}
	n, _, e := sys.Syscall(sys.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), 0)
	if e != 0 {
		return 0, netip.AddrPort{}, e
	}
	return int(n), addrPortOf(&name), nil
}

// acceptFrom accepts a connection on the listening host socket fd
// (close-on-exec), with its peer. Not unix.Accept4, for the same reason.
func acceptFrom(fd int) (int, netip.AddrPort, error) {
	var name sys.RawSockaddrInet6 // room for an IPv4 address too
	namelen := uint32(unsafe.Sizeof(name))
	r, _, e := sys.Syscall6(sys.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&name)), uintptr(unsafe.Pointer(&namelen)), sys.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, netip.AddrPort{}, e
	}
	return int(r), addrPortOf(&name), nil
}

// addrPortOf decodes an Internet socket address the kernel wrote (the
// zero AddrPort for another family).
func addrPortOf(name *sys.RawSockaddrInet6) netip.AddrPort {
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&name.Port))[:])
	switch name.Family {
	case sys.AF_INET:
		v4 := (*sys.RawSockaddrInet4)(unsafe.Pointer(name))
		return netip.AddrPortFrom(netip.AddrFrom4(v4.Addr), port)
	case sys.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(name.Addr), port)
	}
	return netip.AddrPort{}
}
