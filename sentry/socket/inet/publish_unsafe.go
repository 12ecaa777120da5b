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
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&name.Port))[:])
	var from netip.AddrPort
	switch name.Family {
	case sys.AF_INET:
		v4 := (*sys.RawSockaddrInet4)(unsafe.Pointer(&name))
		from = netip.AddrPortFrom(netip.AddrFrom4(v4.Addr), port)
	case sys.AF_INET6:
		from = netip.AddrPortFrom(netip.AddrFrom16(name.Addr), port)
	}
	return int(n), from, nil
}
