package inet

import (
	"encoding/binary"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"

	"runsc-lite/abi"
)

// Sizes of the socket addresses: struct sockaddr_in, struct sockaddr_in6,
// and the sockaddr_in6 of RFC 2133 (without sin6_scope_id), which Linux
// still takes.
const (
	sockaddrInLen      = 16
	sockaddrIn6Len     = 28
	sockaddrIn6LenV1   = 24
	sockaddrFamilySize = 2
)

// ntohs and htons swap a port between network and host order.
func ntohs(v uint16) uint16 { return v<<8 | v>>8 }
func htons(v uint16) uint16 { return ntohs(v) }

// family returns sa_family of a socket address: the first two bytes, in
// host order.
func family(raw []byte) int {
	return int(binary.LittleEndian.Uint16(raw))
}

// ipAddress is a netstack address from the bytes of an in_addr or
// in6_addr; the unspecified address is netstack's empty one.
func ipAddress(b []byte) tcpip.Address {
	for _, c := range b {
		if c != 0 {
			return tcpip.AddrFromSlice(b)
		}
	}
	return tcpip.Address{}
}

// decodeAddress decodes raw as an address of family fam (AF_INET or
// AF_INET6), which the caller has checked; EINVAL if it is too short.
func decodeAddress(fam int, raw []byte) (tcpip.FullAddress, error) {
	switch fam {
	case sys.AF_INET:
		if len(raw) < sockaddrInLen {
			return tcpip.FullAddress{}, sys.EINVAL
		}
		var a linux.SockAddrInet
		copy(abi.AsBytes(&a), raw)
		return tcpip.FullAddress{Addr: ipAddress(a.Addr[:]), Port: ntohs(a.Port)}, nil
	case sys.AF_INET6:
		if len(raw) < sockaddrIn6LenV1 {
			return tcpip.FullAddress{}, sys.EINVAL
		}
		var a linux.SockAddrInet6
		copy(abi.AsBytes(&a), raw)
		out := tcpip.FullAddress{Addr: ipAddress(a.Addr[:]), Port: ntohs(a.Port)}
		if a.Addr[0] == 0xfe && a.Addr[1]&0xc0 == 0x80 {
			out.NIC = tcpip.NICID(a.Scope_id) // link-local: the interface matters
		}
		return out, nil
	}
	return tcpip.FullAddress{}, sys.EAFNOSUPPORT
}

// encodeAddress is a for a socket of family fam: a sockaddr_in, or a
// sockaddr_in6 (an IPv4 address then in its v4-mapped form).
func encodeAddress(fam int, a tcpip.FullAddress) []byte {
	ip := a.Addr.AsSlice()
	if fam == sys.AF_INET {
		out := linux.SockAddrInet{Family: sys.AF_INET, Port: htons(a.Port)}
		copy(out.Addr[:], ip)
		return append([]byte(nil), abi.AsBytes(&out)...)
	}
	out := linux.SockAddrInet6{Family: sys.AF_INET6, Port: htons(a.Port)}
	if len(ip) == 4 {
		out.Addr[10], out.Addr[11] = 0xff, 0xff
		copy(out.Addr[12:], ip)
	} else {
		copy(out.Addr[:], ip)
	}
	if out.Addr[0] == 0xfe && out.Addr[1]&0xc0 == 0x80 {
		out.Scope_id = uint32(a.NIC)
	}
	return append([]byte(nil), abi.AsBytes(&out)...)
}

// unspecifiedName is what getsockname reports for an unbound socket: the
// family with a zero address and port.
func unspecifiedName(fam int) []byte {
	return encodeAddress(fam, tcpip.FullAddress{})
}

// bindAddress checks bind(2)'s address for a socket of family fam, as
// inet_bind and inet6_bind do: too short is EINVAL; an AF_INET socket
// takes AF_UNSPEC only with INADDR_ANY, and refuses other families with
// EAFNOSUPPORT; an AF_INET6 socket refuses other families with EINVAL.
func bindAddress(fam int, raw []byte) (tcpip.FullAddress, error) {
	if fam == sys.AF_INET {
		if len(raw) < sockaddrInLen {
			return tcpip.FullAddress{}, sys.EINVAL
		}
		switch family(raw) {
		case sys.AF_INET:
		case sys.AF_UNSPEC:
			a, _ := decodeAddress(sys.AF_INET, raw)
			if a.Addr.Len() != 0 {
				return tcpip.FullAddress{}, sys.EAFNOSUPPORT
			}
		default:
			return tcpip.FullAddress{}, sys.EAFNOSUPPORT
		}
		return decodeAddress(sys.AF_INET, raw)
	}
	if len(raw) < sockaddrIn6LenV1 {
		return tcpip.FullAddress{}, sys.EINVAL
	}
	if family(raw) != sys.AF_INET6 {
		return tcpip.FullAddress{}, sys.EINVAL
	}
	return decodeAddress(sys.AF_INET6, raw)
}

// peerAddress checks the address of connect(2) or sendto(2) for a socket
// of family fam. unspec reports AF_UNSPEC (connect: dissolve the
// association), which the caller handles.
func peerAddress(fam int, raw []byte) (a tcpip.FullAddress, unspec bool, err error) {
	if len(raw) < sockaddrFamilySize {
		return a, false, sys.EINVAL
	}
	f := family(raw)
	if f == sys.AF_UNSPEC {
		return a, true, nil
	}
	if fam == sys.AF_INET {
		if len(raw) < sockaddrInLen {
			return a, false, sys.EINVAL
		}
		if f != sys.AF_INET {
			return a, false, sys.EAFNOSUPPORT
		}
		a, err = decodeAddress(sys.AF_INET, raw)
		return a, false, err
	}
	if len(raw) < sockaddrIn6LenV1 {
		return a, false, sys.EINVAL
	}
	if f != sys.AF_INET6 {
		return a, false, sys.EAFNOSUPPORT
	}
	a, err = decodeAddress(sys.AF_INET6, raw)
	return a, false, err
}
