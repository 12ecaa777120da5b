package inet

import (
	"errors"
	"net/netip"
	"os"
	"sync"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"runsc-lite/netfwd"
)

// Outbound ping. The outside stack's ICMP handlers take every echo
// request the sandbox sends out (a ping socket's or a raw socket's; the
// outside has no address, so netstack does not answer them itself). Per
// sandbox identifier and destination, the sentry asks the forwarder for
// a host ping socket (SOCK_DGRAM, IPPROTO_ICMP or IPPROTO_ICMPV6)
// connected to the destination, writes each request's ICMP message to it
// (the host kernel puts in its own identifier and the checksum) and
// hands each reply back to the sandbox as the destination's echo reply,
// with the sandbox's identifier. The host allows ping sockets only to the
// groups of net.ipv4.ping_group_range; where the forwarder's is not one
// (Linux's default range is empty), or the policy refuses the
// destination, the sandbox gets an ICMP "administratively prohibited"
// from the gateway (ping prints it), not silence.

// pingIdle is how long a ping flow lives without a request or a reply.
const pingIdle = 60 * time.Second

// maxPingFlows bounds the ping flows open at once; requests of further
// ones are dropped.
const maxPingFlows = 64

// pingKey names a ping flow: the sandbox's address and identifier and
// the destination.
type pingKey struct {
	src, dst tcpip.Address
	ident    uint16
}

// pingFlow is one flow's host ping socket, once the forwarder gave it.
type pingFlow struct {
	requests chan []byte // ICMP messages to send, in order
}

// pingFlows are the sandbox's ping flows.
type pingFlows struct {
	mu    sync.Mutex // guards flows
	flows map[pingKey]*pingFlow
}

// handleEcho is the outside stack's ICMP handler (both versions): it
// takes echo requests (and says so, so that netstack does not answer
// them) and leaves everything else.
func (st *Stack) handleEcho(id stack.TransportEndpointID, pkt *stack.PacketBuffer) bool {
	v6 := pkt.NetworkProtocolNumber == header.IPv6ProtocolNumber
	msg := append([]byte(nil), pkt.TransportHeader().Slice()...)
	msg = append(msg, pkt.Data().AsRange().ToSlice()...)
	if len(msg) < header.ICMPv4MinimumSize {
		return false
	}
	if (!v6 && header.ICMPv4(msg).Type() != header.ICMPv4Echo) || (v6 && header.ICMPv6(msg).Type() != header.ICMPv6EchoRequest) {
		return false
	}
	net := pkt.Network()
	k := pingKey{src: net.SourceAddress(), dst: net.DestinationAddress(), ident: header.ICMPv4(msg).Ident()}
	st.pings.mu.Lock()
	defer st.pings.mu.Unlock()
	if st.pings.flows == nil {
		st.pings.flows = make(map[pingKey]*pingFlow)
	}
	f, ok := st.pings.flows[k]
	if !ok {
		if len(st.pings.flows) >= maxPingFlows {
			return true
		}
		f = &pingFlow{requests: make(chan []byte, 16)}
		st.pings.flows[k] = f
		go st.runPingFlow(k, f)
	}
	select {
	case f.requests <- msg:
	default: // the host socket is behind: a lost echo, as on a network
	}
	return true
}

// runPingFlow gets the flow's host ping socket and relays until the flow
// is idle for pingIdle.
func (st *Stack) runPingFlow(k pingKey, f *pingFlow) {
	defer func() {
		st.pings.mu.Lock()
		delete(st.pings.flows, k)
		st.pings.mu.Unlock()
	}()
	dst, _ := netip.AddrFromSlice(k.dst.AsSlice())
	host, err := st.fwd.Dial(netfwd.Echo, netip.AddrPortFrom(dst, 0))
	if err != nil {
		st.opts.Log.Info("outbound ping refused", "to", dst, "err", err)
		if errors.Is(err, sys.EACCES) {
			st.opts.Log.Warn("ping leaves the sandbox only if net.ipv4.ping_group_range includes the network forwarder's group")
		}
		// Each request waiting, and each one to come while the flow
		// lingers, is answered as a router filtering ICMP would.
		timer := time.NewTimer(pingIdle)
		defer timer.Stop()
		for {
			select {
			case msg := <-f.requests:
				st.eth.deliver(prohibited(k, msg))
			case <-timer.C:
				return
			}
		}
	}
	defer host.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		st.relayEchoReplies(k, host)
	}()
	timer := time.NewTimer(pingIdle)
	defer timer.Stop()
	for {
		select {
		case msg := <-f.requests:
			host.Write(msg) // an echo that cannot go is lost, as on a network
			timer.Reset(pingIdle)
		case <-timer.C:
			return
		case <-done:
			return
		}
	}
}

// relayEchoReplies hands each echo reply on host to the sandbox until
// none came for pingIdle or host is closed.
func (st *Stack) relayEchoReplies(k pingKey, host *os.File) {
	buf := make([]byte, 65536)
	for {
		host.SetReadDeadline(time.Now().Add(pingIdle))
		n, err := host.Read(buf)
		if err != nil {
			var e sys.Errno
			if errors.As(err, &e) && (e == sys.EHOSTUNREACH || e == sys.ENETUNREACH || e == sys.ECONNREFUSED) {
				continue // an ICMP error the host reported on the socket
			}
			return // idle, closed, or broken
		}
		if n < header.ICMPv4MinimumSize {
			continue
		}
		msg := append([]byte(nil), buf[:n]...)
		st.eth.deliver(echoReply(k, msg))
	}
}

// echoReply is the packet from k's destination to the sandbox carrying
// msg, an echo reply as a host ping socket reads it, with the sandbox's
// identifier.
func echoReply(k pingKey, msg []byte) (tcpip.NetworkProtocolNumber, []byte) {
	if k.dst.Len() == header.IPv6AddressSize {
		h := header.ICMPv6(msg)
		h.SetIdent(k.ident)
		return ipv6Packet(k.dst, k.src, msg)
	}
	h := header.ICMPv4(msg)
	h.SetIdent(k.ident)
	h.SetChecksum(0)
	h.SetChecksum(^checksum.Checksum(msg, 0))
	return ipv4Packet(k.dst, k.src, msg)
}

// prohibited is the packet from the gateway to the sandbox saying that
// the echo request msg of flow k was administratively prohibited.
func prohibited(k pingKey, msg []byte) (tcpip.NetworkProtocolNumber, []byte) {
	if k.dst.Len() == header.IPv6AddressSize {
		b := make([]byte, header.ICMPv6DstUnreachableMinimumSize)
		h := header.ICMPv6(b)
		h.SetType(header.ICMPv6DstUnreachable)
		h.SetCode(header.ICMPv6Prohibited)
		quote := ipv6Header(k.src, k.dst, len(msg))
		return ipv6Packet(gateway6, k.src, append(append(b, quote...), msg...))
	}
	b := make([]byte, header.ICMPv4MinimumSize)
	h := header.ICMPv4(b)
	h.SetType(header.ICMPv4DstUnreachable)
	h.SetCode(header.ICMPv4AdminProhibited)
	quote := ipv4Header(k.src, k.dst, len(msg))
	if len(msg) > 8 {
		msg = msg[:8] // RFC 792: the IP header and 64 bits of the datagram
	}
	b = append(append(b, quote...), msg...)
	h = header.ICMPv4(b)
	h.SetChecksum(^checksum.Checksum(b, 0))
	return ipv4Packet(gateway4, k.src, b)
}

// ipv4Header is the header of an ICMP packet from src to dst with
// payloadLen bytes.
func ipv4Header(src, dst tcpip.Address, payloadLen int) []byte {
	b := make([]byte, header.IPv4MinimumSize)
	ip := header.IPv4(b)
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(header.IPv4MinimumSize + payloadLen),
		TTL:         64,
		Protocol:    uint8(header.ICMPv4ProtocolNumber),
		SrcAddr:     src,
		DstAddr:     dst,
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	return b
}

// ipv4Packet is an ICMP packet from src to dst carrying msg.
func ipv4Packet(src, dst tcpip.Address, msg []byte) (tcpip.NetworkProtocolNumber, []byte) {
	return header.IPv4ProtocolNumber, append(ipv4Header(src, dst, len(msg)), msg...)
}

// ipv6Header is the header of an ICMPv6 packet from src to dst with
// payloadLen bytes.
func ipv6Header(src, dst tcpip.Address, payloadLen int) []byte {
	b := make([]byte, header.IPv6MinimumSize)
	header.IPv6(b).Encode(&header.IPv6Fields{
		PayloadLength:     uint16(payloadLen),
		TransportProtocol: header.ICMPv6ProtocolNumber,
		HopLimit:          64,
		SrcAddr:           src,
		DstAddr:           dst,
	})
	return b
}

// ipv6Packet is an ICMPv6 packet from src to dst carrying msg, whose
// checksum it sets.
func ipv6Packet(src, dst tcpip.Address, msg []byte) (tcpip.NetworkProtocolNumber, []byte) {
	h := header.ICMPv6(msg)
	h.SetChecksum(header.ICMPv6Checksum(header.ICMPv6ChecksumParams{Header: h, Src: src, Dst: dst}))
	return header.IPv6ProtocolNumber, append(ipv6Header(src, dst, len(msg)), msg...)
}
