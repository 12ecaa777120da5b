package inet

import (
	"sync"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// A host connect that fails tells the sandbox what Linux would have told
// the application: the forwarder's errno becomes the packet a network
// answers with. ECONNREFUSED (and the policy's refusal) is a reset;
// ENETUNREACH and EHOSTUNREACH are an ICMP destination unreachable
// (net, host) from the gateway, quoting the sandbox's SYN as a router
// would, which netstack turns into that errno for a connect in SYN-SENT
// (as Linux's tcp_v4_err does); ETIMEDOUT is no answer at all, so the
// sandbox's connect times out by itself, after its own SYN retries (as
// the host's did). IPv6 has one code for both: netstack maps only "no
// route" (ENETUNREACH) and ignores "address unreachable".

// unreachable is the ICMP answer to a failed host connect.
type unreachable uint8

const (
	answerReset   unreachable = iota // TCP reset: ECONNREFUSED
	answerNone                       // silence: the sandbox times out
	answerNetwork                    // ICMP network unreachable
	answerHost                       // ICMP host unreachable
)

// answerFor is the answer to a host connect that failed with errno.
func answerFor(err error) unreachable {
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

// quoteLen is what an ICMP error quotes of the packet it answers beyond
// its IP header: the transport header's first 8 bytes (ports and, for
// TCP, the sequence number).
const quoteLen = 8

// maxQuotes bounds the SYNs remembered (as the TCP forwarder's in-flight
// connections are).
const maxQuotes = 1024

// synQuotes remembers, per connection the outside's TCP forwarder is
// deciding, the start of the SYN that opened it: the quote of an ICMP
// error about it.
type synQuotes struct {
	mu sync.Mutex // guards m
	m  map[stack.TransportEndpointID][]byte
}

// record remembers pkt's IP header and quoteLen bytes of TCP header if it
// is a SYN (a retransmitted one is the same; a new connection's replaces
// an old one's).
func (q *synQuotes) record(id stack.TransportEndpointID, pkt *stack.PacketBuffer) {
	th := header.TCP(pkt.TransportHeader().Slice())
	if len(th) < header.TCPMinimumSize || th.Flags()&(header.TCPFlagSyn|header.TCPFlagAck) != header.TCPFlagSyn {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.m == nil {
		q.m = make(map[stack.TransportEndpointID][]byte)
	}
	if _, ok := q.m[id]; !ok && len(q.m) >= maxQuotes {
		return
	}
	quote := append([]byte(nil), pkt.NetworkHeader().Slice()...)
	q.m[id] = append(quote, th[:quoteLen]...)
}

// take returns and forgets id's quote (nil if none was kept).
func (q *synQuotes) take(id stack.TransportEndpointID) []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	quote := q.m[id]
	delete(q.m, id)
	return quote
}

// sendUnreachable sends the sandbox, from the gateway, an ICMP
// destination unreachable (answerNetwork or answerHost) quoting a packet
// it sent (IP header first).
func (st *Stack) sendUnreachable(a unreachable, quote []byte) {
	if len(quote) == 0 || st.eth == nil {
		return
	}
	switch header.IPVersion(quote) {
	case header.IPv4Version:
		code := header.ICMPv4NetUnreachable
		if a == answerHost {
			code = header.ICMPv4HostUnreachable
		}
		st.eth.deliver(header.IPv4ProtocolNumber, icmpv4Error(header.IPv4(quote).SourceAddress(), code, quote))
	case header.IPv6Version:
		st.eth.deliver(header.IPv6ProtocolNumber, icmpv6Error(header.IPv6(quote).SourceAddress(), header.ICMPv6NetworkUnreachable, quote))
	}
}

// icmpv4Error is an IPv4 packet from the gateway to dst carrying an ICMP
// destination unreachable of code about quote.
func icmpv4Error(dst tcpip.Address, code header.ICMPv4Code, quote []byte) []byte {
	b := make([]byte, header.IPv4MinimumSize+header.ICMPv4MinimumSize+len(quote))
	ip := header.IPv4(b)
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(len(b)),
		TTL:         64,
		Protocol:    uint8(header.ICMPv4ProtocolNumber),
		SrcAddr:     gateway4,
		DstAddr:     dst,
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	icmp := header.ICMPv4(b[header.IPv4MinimumSize:])
	icmp.SetType(header.ICMPv4DstUnreachable)
	icmp.SetCode(code)
	copy(icmp[header.ICMPv4MinimumSize:], quote)
	icmp.SetChecksum(^checksum.Checksum(icmp, 0))
	return b
}

// icmpv6Error is an IPv6 packet from the gateway to dst carrying an
// ICMPv6 destination unreachable of code about quote.
func icmpv6Error(dst tcpip.Address, code header.ICMPv6Code, quote []byte) []byte {
	b := make([]byte, header.IPv6MinimumSize+header.ICMPv6DstUnreachableMinimumSize+len(quote))
	ip := header.IPv6(b)
	ip.Encode(&header.IPv6Fields{
		PayloadLength:     uint16(len(b) - header.IPv6MinimumSize),
		TransportProtocol: header.ICMPv6ProtocolNumber,
		HopLimit:          64,
		SrcAddr:           gateway6,
		DstAddr:           dst,
	})
	icmp := header.ICMPv6(b[header.IPv6MinimumSize:])
	icmp.SetType(header.ICMPv6DstUnreachable)
	icmp.SetCode(code)
	copy(icmp[header.ICMPv6DstUnreachableMinimumSize:], quote)
	icmp.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: icmp, Src: gateway6, Dst: dst}))
	return b
}
