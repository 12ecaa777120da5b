package inet

import (
	"slices"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// Changes to the sandbox's own network (netlink's RTM_NEWADDR,
// RTM_DELADDR, RTM_NEWROUTE, RTM_DELROUTE and RTM_NEWLINK's IFF_UP), for
// a caller with CAP_NET_ADMIN inside the sandbox, which the caller
// checks. They change netstack's interfaces, addresses and routes only:
// the host's network is never touched, and traffic that leaves through
// eth0 still goes through the forwarder and its policy.

// UserRoute is a route added with RTM_NEWROUTE: netstack's route and
// what netlink dumps of it.
type UserRoute struct {
	Route    tcpip.Route
	Protocol uint8 // rtm_protocol
	Priority uint32
}

// nicProto is the network protocol of an address.
func nicProto(a tcpip.Address) tcpip.NetworkProtocolNumber {
	if a.Len() == header.IPv6AddressSize {
		return ipv6.ProtocolNumber
	}
	return ipv4.ProtocolNumber
}

// AddAddress adds a to interface nic, as inet_rtm_newaddr: ENODEV for an
// interface the sandbox lacks, EEXIST if it has the address (with excl;
// otherwise nothing changes).
func (st *Stack) AddAddress(nic int32, a tcpip.AddressWithPrefix, excl bool) error {
	ns, err := st.netstack()
	if err != nil {
		return err
	}
	id := tcpip.NICID(nic)
	if !ns.HasNIC(id) {
		return sys.ENODEV
	}
	proto := nicProto(a.Address)
	for _, have := range ns.AllAddresses()[id] {
		if have.AddressWithPrefix.Address == a.Address {
			if excl {
				return sys.EEXIST
			}
			return nil
		}
	}
	pa := tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: a}
	if terr := ns.AddProtocolAddress(id, pa, stack.AddressProperties{}); terr != nil {
		return errno(terr)
	}
	// The prefix route Linux adds with an address (fib_add_ifaddr).
	if a.PrefixLen < a.Address.BitLen() {
		ns.AddRoute(tcpip.Route{Destination: a.Subnet(), NIC: id})
	}
	return nil
}

// RemoveAddress removes a from interface nic (inet_rtm_deladdr):
// EADDRNOTAVAIL if it does not have it. Its prefix route goes with it.
func (st *Stack) RemoveAddress(nic int32, a tcpip.AddressWithPrefix) error {
	ns, err := st.netstack()
	if err != nil {
		return err
	}
	id := tcpip.NICID(nic)
	if !ns.HasNIC(id) {
		return sys.ENODEV
	}
	var found tcpip.AddressWithPrefix
	ok := false
	for _, have := range ns.AllAddresses()[id] {
		if have.AddressWithPrefix.Address == a.Address {
			found, ok = have.AddressWithPrefix, true
		}
	}
	if !ok {
		return sys.EADDRNOTAVAIL
	}
	if terr := ns.RemoveAddress(id, a.Address); terr != nil {
		return errno(terr)
	}
	sub := found.Subnet()
	ns.RemoveRoutes(func(r tcpip.Route) bool {
		return r.NIC == id && r.Destination == sub && r.Gateway.Len() == 0 && !st.hasAddressIn(ns, id, sub)
	})
	return nil
}

// hasAddressIn reports whether interface id still has an address in sub.
func (st *Stack) hasAddressIn(ns *stack.Stack, id tcpip.NICID, sub tcpip.Subnet) bool {
	for _, have := range ns.AllAddresses()[id] {
		if have.AddressWithPrefix.Subnet() == sub {
			return true
		}
	}
	return false
}

// AddRoute adds a route (inet_rtm_newroute, for the main table): the
// interface must exist (ENODEV) and be up (ENETDOWN); a gateway must be
// on a subnet of the interface, or of some interface when none is named
// (ENETUNREACH); a route to the same destination with the same metric
// is EEXIST with excl, replaced otherwise.
func (st *Stack) AddRoute(r UserRoute, excl bool) error {
	ns, err := st.netstack()
	if err != nil {
		return err
	}
	if r.Route.NIC == 0 && r.Route.Gateway.Len() == 0 {
		return sys.ENODEV
	}
	if r.Route.Gateway.Len() > 0 {
		nic, ok := onLink(ns, r.Route.NIC, r.Route.Gateway)
		if !ok {
			return sys.ENETUNREACH
		}
		r.Route.NIC = nic
	}
	if !ns.HasNIC(r.Route.NIC) {
		return sys.ENODEV
	}
	if !ns.CheckNIC(r.Route.NIC) {
		return sys.ENETDOWN
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for i, have := range st.userRoutes {
		if have.Route.Destination == r.Route.Destination && have.Priority == r.Priority {
			if excl {
				return sys.EEXIST
			}
			st.userRoutes = slices.Delete(st.userRoutes, i, i+1)
			ns.RemoveRoutes(func(x tcpip.Route) bool { return x == have.Route })
			break
		}
	}
	st.userRoutes = append(st.userRoutes, r)
	ns.AddRoute(r.Route)
	return nil
}

// onLink finds the interface (nic, or any if 0) with a subnet that holds
// gateway.
func onLink(ns *stack.Stack, nic tcpip.NICID, gateway tcpip.Address) (tcpip.NICID, bool) {
	for id, addrs := range ns.AllAddresses() {
		if nic != 0 && id != nic {
			continue
		}
		for _, a := range addrs {
			if sub := a.AddressWithPrefix.Subnet(); sub.Contains(gateway) {
				return id, true
			}
		}
	}
	return 0, false
}

// RemoveRoute removes the routes added with AddRoute, or the sandbox's
// default routes, to dst whose gateway and interface match those given
// (if given): ESRCH if none does (inet_rtm_delroute).
func (st *Stack) RemoveRoute(dst tcpip.Subnet, gateway tcpip.Address, nic tcpip.NICID) error {
	ns, err := st.netstack()
	if err != nil {
		return err
	}
	match := func(r tcpip.Route) bool {
		return r.Destination == dst && (gateway.Len() == 0 || r.Gateway == gateway) && (nic == 0 || r.NIC == nic)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	n := len(st.userRoutes)
	st.userRoutes = slices.DeleteFunc(st.userRoutes, func(u UserRoute) bool { return match(u.Route) })
	removed := n - len(st.userRoutes)
	if removed > 0 || dst.Prefix() == 0 {
		removed += ns.RemoveRoutes(func(r tcpip.Route) bool { return match(r) && (dst.Prefix() == 0 || r.Gateway.Len() > 0) })
	}
	if removed == 0 {
		return sys.ESRCH
	}
	return nil
}

// UserRoutes returns the routes added with AddRoute.
func (st *Stack) UserRoutes() []UserRoute {
	st.mu.Lock()
	defer st.mu.Unlock()
	return slices.Clone(st.userRoutes)
}

// SetUp brings interface nic up or down (RTM_NEWLINK's IFF_UP, or
// SIOCSIFFLAGS): a down interface neither sends nor receives, and its
// addresses stay.
func (st *Stack) SetUp(nic int32, up bool) error {
	ns, err := st.netstack()
	if err != nil {
		return err
	}
	id := tcpip.NICID(nic)
	if !ns.HasNIC(id) {
		return sys.ENODEV
	}
	return st.setNIC(ns, id, up)
}

// setNIC enables or disables a NIC. Netstack keeps routing through a
// disabled NIC (a connect through a down lo timed out); Linux's routes
// through a down device are dead (fib_sync_down_dev), so a lookup fails
// with ENETUNREACH: the NIC's routes leave the table while it is down and
// come back when it is up.
func (st *Stack) setNIC(ns *stack.Stack, id tcpip.NICID, up bool) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if up {
		if err := ns.EnableNIC(id); err != nil {
			return errno(err)
		}
		if id == LoopbackNIC {
			st.loDown = false
		}
		for _, r := range st.downRoutes[id] {
			ns.AddRoute(r)
		}
		delete(st.downRoutes, id)
		return nil
	}
	if err := ns.DisableNIC(id); err != nil {
		return errno(err)
	}
	if id == LoopbackNIC {
		st.loDown = true
	}
	if st.downRoutes == nil {
		st.downRoutes = make(map[tcpip.NICID][]tcpip.Route)
	}
	ns.RemoveRoutes(func(r tcpip.Route) bool {
		if r.NIC == id {
			st.downRoutes[id] = append(st.downRoutes[id], r)
			return true
		}
		return false
	})
	return nil
}

// sendToNowhere reports whether a datagram to a (from a socket of
// family fam) is one Linux sends on a down lo, where it is dropped:
// 0.0.0.0 as an IPv4 destination is the local host, which
// ip_route_output_key_hash routes to the loopback device without a
// lookup and whatever its state, so udp_sendmsg and raw_sendmsg succeed
// even in a new namespace whose lo has no address yet. Netstack, which
// takes 0.0.0.0 for 127.0.0.1, finds no route to it then (ENETUNREACH).
// A connect to 0.0.0.0 looks its source 127.0.0.1 up again and fails
// with ENETUNREACH in both.
//
// Not matched: a lo brought down after it was up keeps its address
// and local routes in Linux, so sends to 127.0.0.1 succeed (and are
// dropped) and connects to it succeed or hang; here they are
// ENETUNREACH, as netstack routes nothing through a disabled NIC.
func (st *Stack) sendToNowhere(fam int, a tcpip.FullAddress) bool {
	if fam != sys.AF_INET || !a.Addr.Unspecified() { // 0.0.0.0 decodes as the empty address
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.loDown
}
