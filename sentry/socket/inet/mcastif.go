package inet

import (
	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"runsc-lite/abi"
)

// IP_MULTICAST_IF: the interface of a socket's IPv4 multicast sends,
// and the source address they take (do_ip_setsockopt, inet->mc_index
// and mc_addr). It is set from a struct ip_mreqn (an interface index,
// else the interface of an address), a struct ip_mreq (its second
// address) or a struct in_addr, as long as the value is; 0.0.0.0
// without an index goes back to the route's choice; an address no
// interface has (a broadcast address neither) or an unknown index is
// EADDRNOTAVAIL; an index is taken with whatever address comes with it.
// getsockopt returns the address as set, 0.0.0.0 when set by index
// alone. Stream sockets refuse it (EINVAL). netstack's endpoint sends
// by it (tcpip.MulticastInterfaceOption); the address is kept here too,
// for getsockopt and because an IPv6 endpoint of netstack takes no IPv4
// address (an AF_INET6 socket gets the interface alone).

// multicastIfRequest decodes IP_MULTICAST_IF's value by its length.
func multicastIfRequest(v []byte) (tcpip.Address, tcpip.NICID, error) {
	var mreq linux.InetMulticastRequestWithNIC
	switch {
	case len(v) >= len(abi.AsBytes(&mreq)):
		copy(abi.AsBytes(&mreq), v)
	case len(v) >= len(abi.AsBytes(&mreq.InetMulticastRequest)):
		copy(abi.AsBytes(&mreq.InetMulticastRequest), v)
	case len(v) >= len(mreq.InterfaceAddr):
		copy(mreq.InterfaceAddr[:], v)
	default:
		return tcpip.Address{}, 0, sys.EINVAL
	}
	return ipAddress(mreq.InterfaceAddr[:]), tcpip.NICID(mreq.InterfaceIndex), nil
}

// setMulticastIf is setsockopt(IP_MULTICAST_IF).
func (s *Socket) setMulticastIf(v []byte) error {
	if s.typ == sys.SOCK_STREAM {
		return sys.EINVAL
	}
	addr, nic, err := multicastIfRequest(v)
	if err != nil {
		return err
	}
	if nic != 0 || addr.BitLen() != 0 {
		if nic, err = s.multicastIfNIC(addr, nic); err != nil {
			return err
		}
	}
	opt := tcpip.MulticastInterfaceOption{NIC: nic, InterfaceAddr: addr}
	if s.fam() == sys.AF_INET6 {
		opt.InterfaceAddr = tcpip.Address{}
	}
	if terr := s.endpoint().SetSockOpt(&opt); terr != nil {
		return errno(terr) // EINVAL: the socket is bound to another device
	}
	s.mu.Lock()
	s.multicastIf = addr
	s.mu.Unlock()
	return nil
}

// multicastIfNIC is the interface IP_MULTICAST_IF names: nic if there is
// one of that index, else the one with address addr (ip_dev_find).
func (s *Socket) multicastIfNIC(addr tcpip.Address, nic tcpip.NICID) (tcpip.NICID, error) {
	ns, err := s.st.netstack()
	if err != nil {
		return 0, err
	}
	if nic != 0 {
		if !ns.HasNIC(nic) {
			return 0, sys.EADDRNOTAVAIL
		}
		return nic, nil
	}
	if addr == header.IPv4Broadcast {
		return 0, sys.EADDRNOTAVAIL // netstack takes it as its own
	}
	nic = ns.CheckLocalAddress(0, ipv4.ProtocolNumber, addr)
	if nic == 0 || ns.IsSubnetBroadcast(nic, ipv4.ProtocolNumber, addr) {
		return 0, sys.EADDRNOTAVAIL
	}
	return nic, nil
}

// getMulticastIf is getsockopt(IP_MULTICAST_IF): a struct in_addr.
func (s *Socket) getMulticastIf() []byte {
	s.mu.Lock()
	addr := s.multicastIf
	s.mu.Unlock()
	if addr.BitLen() == 0 {
		return make([]byte, 4)
	}
	return addr.AsSlice()
}
