package netfwd

import (
	"fmt"
	"net/netip"
)

// The sandbox's side of its outbound link (eth0), as slirp numbers it:
// the sandbox is Guest in Subnet (and Guest6 in Subnet6), Gateway (and
// Gateway6) stands for the host's loopback and DNS for the host's
// resolver.
var (
	Subnet  = netip.MustParsePrefix("10.0.2.0/24")
	Guest   = netip.MustParseAddr("10.0.2.15")
	Gateway = netip.MustParseAddr("10.0.2.2")
	DNS     = netip.MustParseAddr("10.0.2.3")
	// The IPv6 side: a unique local /64 (slirp4netns's fd00::/64).
	Subnet6  = netip.MustParsePrefix("fd00::/64")
	Guest6   = netip.MustParseAddr("fd00::2:15")
	Gateway6 = netip.MustParseAddr("fd00::2:2")
)

// Policy decides where a sandbox's outbound flow may go.
type Policy struct {
	// AllowHostLoopback lets the sandbox reach the host's loopback (as
	// Gateway), link-local addresses and the host's own addresses.
	AllowHostLoopback bool
	// HostDNS is the host's resolver (from its resolv.conf), the one
	// address DNS leads to (port 53 only), even on the host's loopback.
	HostDNS netip.Addr
	// HostAddrs are the host's own addresses, refused like its loopback
	// (a service bound to 0.0.0.0 on the host listens on them too).
	HostAddrs []netip.Addr
}

// Resolve returns where the forwarder connects for a flow to dst, or
// ErrRefused (wrapped, naming why).
func (p *Policy) Resolve(dst netip.AddrPort) (netip.AddrPort, error) {
	if dst.Port() == 0 {
		return netip.AddrPort{}, fmt.Errorf("%s: port 0: %w", dst, ErrRefused)
	}
	return p.resolve(dst)
}

// ResolveEcho returns where the forwarder sends an ICMP echo the sandbox
// sends to dst, or ErrRefused (wrapped, naming why): as Resolve, with no
// port (the sandbox's resolver does not answer pings).
func (p *Policy) ResolveEcho(dst netip.Addr) (netip.Addr, error) {
	if dst.Unmap() == DNS {
		return netip.Addr{}, fmt.Errorf("%s: the sandbox's resolver serves port 53 only: %w", dst, ErrRefused)
	}
	to, err := p.resolve(netip.AddrPortFrom(dst, 0))
	return to.Addr(), err
}

// resolve is Resolve's and ResolveEcho's policy, for any port.
func (p *Policy) resolve(dst netip.AddrPort) (netip.AddrPort, error) {
	a := dst.Addr().Unmap()
	refuse := func(why string) (netip.AddrPort, error) {
		return netip.AddrPort{}, fmt.Errorf("%s: %s: %w", dst, why, ErrRefused)
	}
	switch {
	case a == Gateway:
		if !p.AllowHostLoopback {
			return refuse("the host's loopback (needs --allow-host-loopback)")
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), dst.Port()), nil
	case a == Gateway6:
		if !p.AllowHostLoopback {
			return refuse("the host's loopback (needs --allow-host-loopback)")
		}
		return netip.AddrPortFrom(netip.IPv6Loopback(), dst.Port()), nil
	case a == DNS:
		if dst.Port() != 53 || !p.HostDNS.IsValid() {
			return refuse("the sandbox's resolver serves port 53 only")
		}
		return netip.AddrPortFrom(p.HostDNS, 53), nil
	case Subnet.Contains(a), Subnet6.Contains(a):
		return refuse("nothing else is on the sandbox's link")
	case a.IsUnspecified(), a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}),
		a.Is4() && a.As4()[0] == 0:
		return refuse("not a unicast address")
	case p.AllowHostLoopback:
	case a.IsLoopback():
		return refuse("the host's loopback (needs --allow-host-loopback)")
	case a.IsLinkLocalUnicast():
		return refuse("link-local (needs --allow-host-loopback)")
	default:
		for _, h := range p.HostAddrs {
			if h.Unmap() == a {
				return refuse("an address of the host (needs --allow-host-loopback)")
			}
		}
	}
	return netip.AddrPortFrom(a, dst.Port()), nil
}
