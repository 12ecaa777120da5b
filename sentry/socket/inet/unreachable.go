package inet

import (
	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// A host connect that fails tells the sandbox what Linux would have told
// the application: the forwarder's errno becomes the answer a network
// gives. ECONNREFUSED (and the policy's refusal) is a reset; ENETUNREACH
// and EHOSTUNREACH are an ICMP destination unreachable (network, host;
// ICMPv6 no route, address unreachable), which a connect in SYN-SENT
// fails with at once, as Linux's tcp_v4_err and tcp_v6_err do; ETIMEDOUT
// is no answer at all, so the sandbox's connect times out by itself,
// after its own SYN retries (as the host's did). A UDP flow's host socket
// that reports ECONNREFUSED (the destination's port unreachable) is an
// ICMP port unreachable for the sandbox's endpoint, which a connected UDP
// socket reports as ECONNREFUSED, as Linux's does.
//
// The ICMP error is handed to the sandbox's endpoint directly, as
// netstack's ICMP code would after parsing one (the kind, origin, type
// and code are those IP_RECVERR reports): netstack's ICMPv6 code ignores
// "address unreachable", so a packet could not say EHOSTUNREACH over
// IPv6.

// answer is how the sandbox learns that a host connect failed.
type answer uint8

const (
	answerReset   answer = iota // TCP reset: ECONNREFUSED
	answerNone                  // silence: the sandbox times out
	answerNetwork               // ICMP network unreachable
	answerHost                  // ICMP host unreachable
	answerPort                  // ICMP port unreachable (UDP's refusal)
)

// answerFor is the answer to a host connect that failed with err.
func answerFor(err error) answer {
	switch err {
	case sys.ETIMEDOUT:
		return answerNone
	case sys.ENETUNREACH:
		return answerNetwork
	case sys.EHOSTUNREACH:
		return answerHost
	}
	return answerReset
}

// icmpUnreachable is an ICMP destination unreachable as netstack's
// endpoints take it (stack.TransportError).
type icmpUnreachable struct {
	kind   stack.TransportErrorKind
	origin tcpip.SockErrOrigin
	typ    uint8
	code   uint8
}

func (u icmpUnreachable) Origin() tcpip.SockErrOrigin    { return u.origin }
func (u icmpUnreachable) Type() uint8                    { return u.typ }
func (u icmpUnreachable) Code() uint8                    { return u.code }
func (u icmpUnreachable) Info() uint32                   { return 0 }
func (u icmpUnreachable) Kind() stack.TransportErrorKind { return u.kind }

// unreachableCodes are the ICMP and ICMPv6 destination unreachable codes
// of each answer, and the error kind netstack's ICMP code makes of them.
var unreachableCodes = map[answer]struct {
	kind stack.TransportErrorKind
	v4   header.ICMPv4Code
	v6   header.ICMPv6Code
}{
	answerNetwork: {stack.DestinationNetworkUnreachableTransportError, header.ICMPv4NetUnreachable, header.ICMPv6NetworkUnreachable},
	answerHost:    {stack.DestinationHostUnreachableTransportError, header.ICMPv4HostUnreachable, header.ICMPv6AddressUnreachable},
	answerPort:    {stack.DestinationPortUnreachableTransportError, header.ICMPv4PortUnreachable, header.ICMPv6PortUnreachable},
}

// unreachableFor is the ICMP error a answers with for proto.
func unreachableFor(a answer, proto tcpip.NetworkProtocolNumber) icmpUnreachable {
	c := unreachableCodes[a]
	if proto == header.IPv6ProtocolNumber {
		return icmpUnreachable{c.kind, tcpip.SockExtErrorOriginICMP6, uint8(header.ICMPv6DstUnreachable), uint8(c.v6)}
	}
	return icmpUnreachable{c.kind, tcpip.SockExtErrorOriginICMP, uint8(header.ICMPv4DstUnreachable), uint8(c.v4)}
}

// sendUnreachable tells the sandbox's endpoint (of transport protocol
// transport) of the flow the outside knows as id (its local address is
// the destination) that its destination is unreachable (answerNetwork,
// answerHost or answerPort).
func (st *Stack) sendUnreachable(a answer, transport tcpip.TransportProtocolNumber, id stack.TransportEndpointID) {
	proto := header.IPv4ProtocolNumber
	if id.LocalAddress.Len() == header.IPv6AddressSize {
		proto = header.IPv6ProtocolNumber
	}
	sandboxID := stack.TransportEndpointID{
		LocalPort: id.RemotePort, LocalAddress: id.RemoteAddress,
		RemotePort: id.LocalPort, RemoteAddress: id.LocalAddress,
	}
	ep := st.s.FindTransportEndpoint(proto, transport, sandboxID, EthNIC)
	if ep == nil {
		return // the application gave up already
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{})
	defer pkt.DecRef()
	pkt.NetworkProtocolNumber = proto
	pkt.NICID = EthNIC
	ep.HandleError(unreachableFor(a, proto), pkt)
}
