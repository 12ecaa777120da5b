package inet

import (
	"sync"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// cable is one end of a virtual Ethernet cable between two netstacks: what
// one end's stack writes, the other end's stack receives, as loopback
// does within one stack. It needs no address resolution and carries no
// link header.
type cable struct {
	mac tcpip.LinkAddress
	mtu uint32

	mu         sync.RWMutex // guards dispatcher, peer
	dispatcher stack.NetworkDispatcher
	peer       *cable
}

// newCable returns the two ends of a cable of MTU mtu; macs name them.
func newCable(mtu uint32, a, b tcpip.LinkAddress) (*cable, *cable) {
	x, y := &cable{mac: a, mtu: mtu}, &cable{mac: b, mtu: mtu}
	x.peer, y.peer = y, x
	return x, y
}

// Attach implements stack.LinkEndpoint.
func (c *cable) Attach(d stack.NetworkDispatcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dispatcher = d
}

// IsAttached implements stack.LinkEndpoint.
func (c *cable) IsAttached() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.dispatcher != nil
}

// MTU implements stack.LinkEndpoint.
func (c *cable) MTU() uint32 { return c.mtu }

// SetMTU implements stack.LinkEndpoint; the MTU is fixed.
func (c *cable) SetMTU(uint32) {}

// Capabilities implements stack.LinkEndpoint: checksums are not computed
// (nothing corrupts a packet in memory), as on loopback.
func (*cable) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityRXChecksumOffload | stack.CapabilityTXChecksumOffload
}

// MaxHeaderLength implements stack.LinkEndpoint: no link header.
func (*cable) MaxHeaderLength() uint16 { return 0 }

// LinkAddress implements stack.LinkEndpoint.
func (c *cable) LinkAddress() tcpip.LinkAddress { return c.mac }

// SetLinkAddress implements stack.LinkEndpoint; the address is fixed.
func (*cable) SetLinkAddress(tcpip.LinkAddress) {}

// Wait implements stack.LinkEndpoint.
func (*cable) Wait() {}

// WritePackets implements stack.LinkEndpoint: each packet is delivered,
// afresh, to the other end's stack.
func (c *cable) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	c.peer.mu.RLock()
	d := c.peer.dispatcher
	c.peer.mu.RUnlock()
	for _, pkt := range pkts.AsSlice() {
		fresh := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: pkt.ToBuffer()})
		if d != nil {
			d.DeliverNetworkPacket(pkt.NetworkProtocolNumber, fresh)
		}
		fresh.DecRef()
	}
	return pkts.Len(), nil
}

// ARPHardwareType implements stack.LinkEndpoint.
func (*cable) ARPHardwareType() header.ARPHardwareType { return header.ARPHardwareEther }

// AddHeader implements stack.LinkEndpoint.
func (*cable) AddHeader(*stack.PacketBuffer) {}

// ParseHeader implements stack.LinkEndpoint.
func (*cable) ParseHeader(*stack.PacketBuffer) bool { return true }

// Close implements stack.LinkEndpoint.
func (*cable) Close() {}

// SetOnCloseAction implements stack.LinkEndpoint.
func (*cable) SetOnCloseAction(func()) {}

// deliver hands one network packet (IP header first) to the other end's
// stack, as if this end's stack had written it.
func (c *cable) deliver(proto tcpip.NetworkProtocolNumber, packet []byte) {
	c.peer.mu.RLock()
	d := c.peer.dispatcher
	c.peer.mu.RUnlock()
	if d == nil {
		return
	}
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(packet)})
	d.DeliverNetworkPacket(proto, pkt)
	pkt.DecRef()
}
