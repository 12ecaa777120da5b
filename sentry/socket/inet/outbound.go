package inet

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"

	"runsc-lite/netfwd"
)

// Outbound traffic (--network=sandbox). The sandbox's stack has a second
// interface, eth0 (netfwd.Guest/24 and netfwd.Guest6/64, default routes
// via netfwd.Gateway and netfwd.Gateway6), whose cable leads to a
// second netstack, the "outside": an
// address-less, promiscuous, spoofing NIC whose TCP and UDP forwarders
// catch every SYN and datagram the sandbox sends out. The outside stack
// has no listener of its own, so a flow can never be answered by a
// sandbox listener on the same port (which one promiscuous stack would
// do). For each flow the sentry asks the network forwarder (package
// netfwd, a confined process in the host's network namespace) for a host
// socket connected to the destination, and copies between it and the
// outside stack's endpoint, which stands for the destination. A TCP
// connect the host's network answers otherwise ends in the sandbox as it
// would have on the host (unreachable.go): refused (and refused by the
// policy) is a reset, ECONNREFUSED; unreachable is an ICMP error,
// EHOSTUNREACH or ENETUNREACH; silence is silence, ETIMEDOUT after the
// sandbox's own SYN retries. A UDP flow the policy refuses is dropped;
// one the destination refuses (port unreachable) is ECONNREFUSED for a
// connected sandbox socket.

// Options configure the sandbox's stack (Configure).
type Options struct {
	// Forwarder is the sentry's end of the network forwarder's socket
	// pair: eth0 and outbound traffic. nil: lo only (--network=none).
	Forwarder *os.File
	// Host is --network=host: Forwarder creates host sockets for the
	// application (package hostinet, which the caller sets up), and this
	// stack has lo alone and no outbound traffic.
	Host bool
	// Published are the host's listeners whose connections (and
	// datagrams) go to a port of the sandbox (--publish).
	Published []Published
	// Links are interfaces of a network namespace to take over, each on
	// its packet socket LinkFiles[i] (links.go): run --netns. An OCI
	// sandbox gets them later, through AddLinks.
	Links     []Link
	LinkFiles []*os.File
	Log       *slog.Logger
}

// Published is one --publish: a listening (TCP) or bound (UDP) host
// socket that runsc-lite opened, and the sandbox port it leads to.
type Published struct {
	Host  *os.File
	Proto uint8 // netfwd.TCP or netfwd.UDP
	Port  uint16
}

// EthNIC is eth0's index.
const EthNIC = 2

// outsideNIC is the outside stack's one NIC, eth0's other end.
const outsideNIC = 1

// ethMTU is eth0's MTU, slirp4netns's: packets never leave memory.
const ethMTU = 65520

// udpIdle is how long a UDP flow lives without a datagram either way.
const udpIdle = 60 * time.Second

// Configure sets the stack's options; call it before the sandbox runs.
// It starts serving o.Published and adds o.Links.
func (st *Stack) Configure(o Options) error {
	if o.Log == nil {
		o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st.opts = o
	if o.Forwarder != nil {
		st.fwd = netfwd.NewClient(o.Forwarder, o.Log)
	}
	for _, p := range o.Published {
		go st.servePublished(p)
	}
	if len(o.Links) > 0 || len(o.LinkFiles) > 0 {
		return st.AddLinks(o.Links, o.LinkFiles)
	}
	return nil
}

// addOutbound adds eth0 to the sandbox's stack s and makes the outside.
func (st *Stack) addOutbound(s *stack.Stack) error {
	in, out := newCable(ethMTU, "\x02\x00\x0a\x00\x02\x0f", "\x02\x00\x0a\x00\x02\x02")
	if err := s.CreateNICWithOptions(EthNIC, in, stack.NICOptions{Name: "eth0"}); err != nil {
		return fmt.Errorf("netstack eth0: %s", err)
	}
	guest := tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4(netfwd.Guest.As4()), PrefixLen: netfwd.Subnet.Bits()}
	guest6 := tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16(netfwd.Guest6.As16()), PrefixLen: netfwd.Subnet6.Bits()}
	for _, a := range []tcpip.ProtocolAddress{{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: guest}, {Protocol: ipv6.ProtocolNumber, AddressWithPrefix: guest6}} {
		if err := s.AddProtocolAddress(EthNIC, a, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("netstack eth0 address %s: %s", a.AddressWithPrefix, err)
		}
	}
	s.AddRoute(tcpip.Route{Destination: guest.Subnet(), NIC: EthNIC})
	s.AddRoute(tcpip.Route{Destination: header.IPv4EmptySubnet, Gateway: gateway4, NIC: EthNIC})
	s.AddRoute(tcpip.Route{Destination: guest6.Subnet(), NIC: EthNIC})
	s.AddRoute(tcpip.Route{Destination: header.IPv6EmptySubnet, Gateway: gateway6, NIC: EthNIC})

	o := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
	})
	sack := tcpip.TCPSACKEnabled(true)
	if err := o.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		return fmt.Errorf("outside netstack: %s", err)
	}
	if err := o.CreateNICWithOptions(outsideNIC, out, stack.NICOptions{Name: "outside"}); err != nil {
		return fmt.Errorf("outside netstack: %s", err)
	}
	if err := o.SetPromiscuousMode(outsideNIC, true); err != nil {
		return fmt.Errorf("outside netstack: %s", err)
	}
	if err := o.SetSpoofing(outsideNIC, true); err != nil {
		return fmt.Errorf("outside netstack: %s", err)
	}
	o.SetRouteTable([]tcpip.Route{{Destination: header.IPv4EmptySubnet, NIC: outsideNIC}, {Destination: header.IPv6EmptySubnet, NIC: outsideNIC}})
	tf := tcp.NewForwarder(o, 0, 1024, st.forwardTCP)
	o.SetTransportProtocolHandler(tcp.ProtocolNumber, tf.HandlePacket)
	uf := udp.NewForwarder(o, st.forwardUDP)
	o.SetTransportProtocolHandler(udp.ProtocolNumber, uf.HandlePacket)
	o.SetTransportProtocolHandler(icmp.ProtocolNumber4, st.handleEcho)
	o.SetTransportProtocolHandler(icmp.ProtocolNumber6, st.handleEcho)
	st.outside, st.eth = o, out
	return nil
}

// The gateway's addresses, as netstack's.
var (
	gateway4 = tcpip.AddrFrom4(netfwd.Gateway.As4())
	gateway6 = tcpip.AddrFrom16(netfwd.Gateway6.As16())
)

// addrPort is a netstack address and port as a netip.AddrPort.
func addrPort(a tcpip.Address, port uint16) netip.AddrPort {
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	return netip.AddrPortFrom(ip, port)
}

// forwardTCP takes a connection the sandbox opens to the outside.
func (st *Stack) forwardTCP(r *tcp.ForwarderRequest) {
	id := r.ID()
	dst := addrPort(id.LocalAddress, id.LocalPort)
	host, err := st.fwd.Dial(netfwd.TCP, dst)
	if err != nil {
		st.opts.Log.Info("outbound TCP refused", "to", dst, "err", err)
		switch a := answerFor(err); a {
		case answerReset:
			r.Complete(true)
		case answerNone:
			r.Complete(false)
		default:
			r.Complete(false)
			st.sendUnreachable(a, tcp.ProtocolNumber, id)
		}
		return
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	if terr != nil {
		r.Complete(true)
		host.Close()
		return
	}
	r.Complete(false)
	ep.SocketOptions().SetKeepAlive(true)
	relayStream(gonet.NewTCPConn(&wq, ep), ep.Abort, host)
}

// forwardUDP takes the first datagram of a flow the sandbox sends out.
func (st *Stack) forwardUDP(r *udp.ForwarderRequest) bool {
	id := r.ID()
	dst := addrPort(id.LocalAddress, id.LocalPort)
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	if terr != nil {
		return false
	}
	conn := gonet.NewUDPConn(&wq, ep)
	go func() {
		host, err := st.fwd.Dial(netfwd.UDP, dst)
		if err != nil {
			st.opts.Log.Info("outbound UDP refused", "to", dst, "err", err)
			conn.Close()
			return
		}
		relayDatagrams(conn, host, func() { st.sendUnreachable(answerPort, udp.ProtocolNumber, id) })
	}()
	return true
}

// onlyReader and onlyWriter hide io.Copy's shortcuts (ReadFrom, WriteTo:
// splice and copy_file_range, which the sentry may not call).
type onlyReader struct{ io.Reader }
type onlyWriter struct{ io.Writer }

// relayStream copies both ways between a netstack connection c and a
// host stream socket, passing half-closes on, and closes both at the end.
// A host connection that is reset has abort reset c.
func relayStream(c *gonet.TCPConn, abort func(), host *os.File) {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		io.Copy(onlyWriter{host}, onlyReader{c})
		shutdownWrite(host)
	}()
	go func() {
		defer wg.Done()
		if _, err := io.Copy(onlyWriter{c}, onlyReader{host}); err != nil && errors.Is(err, sys.ECONNRESET) {
			abort()
			return
		}
		c.CloseWrite()
	}()
	wg.Wait()
	c.Close()
	host.Close()
}

// shutdownWrite half-closes a host socket.
func shutdownWrite(f *os.File) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { sys.Shutdown(int(fd), sys.SHUT_WR) })
	}
}

// relayDatagrams copies datagrams both ways between a netstack UDP
// endpoint and a connected host datagram socket until neither side has
// sent one for udpIdle. A host socket refused (an ICMP port unreachable
// came back) calls refused and goes on.
func relayDatagrams(c *gonet.UDPConn, host *os.File, refused func()) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	idle := func() bool { return time.Since(time.Unix(0, last.Load())) >= udpIdle }
	var once sync.Once
	stop := func() { once.Do(func() { c.Close(); host.Close() }) }
	type deadliner interface {
		SetReadDeadline(time.Time) error
		Read([]byte) (int, error)
	}
	copyOne := func(dst io.Writer, src deadliner) {
		defer stop()
		buf := make([]byte, 65536)
		for {
			src.SetReadDeadline(time.Now().Add(udpIdle))
			n, err := src.Read(buf)
			if err != nil {
				var to interface{ Timeout() bool }
				if errors.As(err, &to) && to.Timeout() && !idle() {
					continue
				}
				if src == deadliner(host) && errors.Is(err, sys.ECONNREFUSED) {
					refused()
					continue
				}
				return
			}
			last.Store(time.Now().UnixNano())
			dst.Write(buf[:n]) // a datagram that cannot go is lost, as on a network
		}
	}
	go copyOne(host, c)
	copyOne(c, host)
}
