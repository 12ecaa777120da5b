package inet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Links of an OCI container's network namespace (package netns scrapes
// them in the runtime, as root): each is a NIC of the sandbox's stack
// whose frames come and go through an AF_PACKET socket bound to that
// interface in that namespace, which the runtime opened there and passed
// to the sentry. The sentry itself stays in its own empty namespace; the
// socket is all it holds of the container's. Netstack speaks Ethernet on
// it: ARP, NDP, the interface's own MAC, addresses and routes.

// MaxLinks bounds the interfaces a sandbox takes over.
const MaxLinks = 8

// Link is one interface of a container's network namespace.
type Link struct {
	Name string
	// MAC is its hardware address, as net.HardwareAddr prints it.
	MAC    string
	MTU    uint32
	Addrs  []netip.Prefix
	Routes []Route
}

// Route is one route through a Link: to Dst, through Gateway if valid,
// else on the link.
type Route struct {
	Dst     netip.Prefix
	Gateway netip.Addr
}

// AddLinks adds links to the sandbox's stack, links[i] on the AF_PACKET
// socket files[i]. The stack owns files from then on: it keeps those its
// NICs use and closes the others. Call it once, before the sandbox's
// first process runs.
func (st *Stack) AddLinks(links []Link, files []*os.File) error {
	taken := 0
	defer func() {
		for _, f := range files[taken:] {
			f.Close()
		}
	}()
	if len(links) != len(files) {
		return fmt.Errorf("%d links with %d sockets", len(links), len(files))
	}
	if len(links) > MaxLinks {
		return fmt.Errorf("%d links, more than %d", len(links), MaxLinks)
	}
	s, err := st.netstack()
	if err != nil {
		return err
	}
	st.linkMu.Lock()
	defer st.linkMu.Unlock()
	if st.linkFiles != nil {
		return errors.New("the sandbox's links are set already")
	}
	st.linkFiles = []*os.File{}
	id := tcpip.NICID(len(s.NICInfo()) + 1)
	for i, l := range links {
		err := addLink(s, id, l, files[i])
		if err != nil && !s.HasNIC(id) {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		// The NIC uses the socket, even if its addresses failed.
		st.linkFiles = append(st.linkFiles, files[i])
		taken++
		if err != nil {
			return fmt.Errorf("link %s: %w", l.Name, err)
		}
		id++
	}
	return nil
}

// addLink makes NIC id of s for l on the packet socket f.
func addLink(s *stack.Stack, id tcpip.NICID, l Link, f *os.File) error {
	mac, err := net.ParseMAC(l.MAC)
	if err != nil || len(mac) != 6 {
		return fmt.Errorf("MAC %q: not an Ethernet address", l.MAC)
	}
	if l.MTU < header.IPv4MinimumMTU || l.MTU > 65535 {
		return fmt.Errorf("MTU %d out of range", l.MTU)
	}
	var st sys.Stat_t
	if err := sys.Fstat(int(f.Fd()), &st); err != nil || st.Mode&sys.S_IFMT != sys.S_IFSOCK {
		return errors.New("its descriptor is not a socket")
	}
	ep, err := fdbased.New(&fdbased.Options{
		FDs:            []int{int(f.Fd())},
		MTU:            l.MTU,
		EthernetHeader: true,
		Address:        tcpip.LinkAddress(mac),
		// recvmmsg in, sendmmsg out (fdbased batches writes on a socket
		// whatever the mode): the two host syscalls this adds to the
		// sentry's list, MSG_DONTWAIT only (docs/security.md).
		PacketDispatchMode: fdbased.RecvMMsg,
		// A veth's peer in the same host hands frames over with their
		// checksums not computed (CHECKSUM_PARTIAL): trust received
		// ones, as runsc does; compute the ones sent.
		RXChecksumOffload: true,
		// The runtime bound the socket; no getsockname or fanout here.
		PreConfigured:  true,
		IsPacketSocket: []bool{true},
	})
	if err != nil {
		return err
	}
	if err := s.CreateNICWithOptions(id, ep, stack.NICOptions{Name: l.Name, DeliverLinkPackets: true}); err != nil {
		return fmt.Errorf("netstack: %s", err)
	}
	for _, a := range l.Addrs {
		proto := ipv4.ProtocolNumber
		if a.Addr().Is6() {
			proto = ipv6.ProtocolNumber
		}
		pa := tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: tcpip.AddressWithPrefix{
			Address: tcpip.AddrFromSlice(a.Addr().AsSlice()), PrefixLen: a.Bits()}}
		if err := s.AddProtocolAddress(id, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("address %s: %s", a, err)
		}
		s.AddRoute(tcpip.Route{Destination: pa.AddressWithPrefix.Subnet(), NIC: id})
	}
	for _, r := range l.Routes {
		dst, err := tcpip.NewSubnet(tcpip.AddrFromSlice(r.Dst.Masked().Addr().AsSlice()),
			tcpip.MaskFromBytes(net.CIDRMask(r.Dst.Bits(), r.Dst.Addr().BitLen())))
		if err != nil {
			return fmt.Errorf("route to %s: %s", r.Dst, err)
		}
		route := tcpip.Route{Destination: dst, NIC: id}
		if r.Gateway.IsValid() {
			route.Gateway = tcpip.AddrFromSlice(r.Gateway.AsSlice())
		}
		s.AddRoute(route)
	}
	return nil
}
