package hostinet

import (
	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// NETLINK_ROUTE in host mode: the application's netlink socket is a host
// NETLINK_ROUTE socket the forwarder created in the host's network
// namespace, so getifaddrs(3), `ip addr`, `ip link` and `ip route` show
// the host's interfaces, addresses and routes, which host mode gives the
// application (an explicit opt-in). Only the requests that read them go
// to the host: RTM_GETLINK, RTM_GETADDR and RTM_GETROUTE. Anything else
// (a change, or another table) is EPERM at sendmsg, before the host sees
// it; the host would refuse changes anyway (the forwarder and the sentry
// have no capability in the host's namespace). Subscribing to multicast
// groups (bind's nl_groups) is the host's business: link, address and
// route events come as they happen on the host.

// routeReads are the rtnetlink requests passed to the host.
var routeReads = []uint16{linux.RTM_GETLINK, linux.RTM_GETADDR, linux.RTM_GETROUTE}

// NewNetlink implements socket(2) for AF_NETLINK in host mode: typ
// SOCK_RAW or SOCK_DGRAM (ESOCKTNOSUPPORT otherwise), protocol
// NETLINK_ROUTE (EPROTONOSUPPORT otherwise); flags may hold SOCK_NONBLOCK.
func (st *Stack) NewNetlink(typ, protocol, flags int) (*vfs.File, error) {
	if typ != sys.SOCK_RAW && typ != sys.SOCK_DGRAM {
		return nil, sys.ESOCKTNOSUPPORT
	}
	if protocol != sys.NETLINK_ROUTE {
		return nil, sys.EPROTONOSUPPORT
	}
	fd, err := st.fwd.Netlink()
	if err != nil {
		if _, ok := err.(sys.Errno); !ok {
			st.log.Error("host netlink socket", "err", err)
			err = sys.ENOBUFS
		}
		return nil, err
	}
	s, err := st.newSocket(fd, sys.AF_NETLINK, typ, protocol)
	if err != nil {
		return nil, err
	}
	return newFile(s, flags), nil
}

// checkRouteReads checks that every message of a netlink datagram is one
// of routeReads: EPERM otherwise. It stops where the kernel stops
// (netlink_rcv_skb): at a header too short or longer than what is left,
// past which the host reads nothing either.
func checkRouteReads(data []byte) error {
	var h linux.NetlinkMessageHeader
	size := len(abi.AsBytes(&h))
	for len(data) >= size {
		abi.Decode(data[:size], &h)
		if int(h.Length) < size || int(h.Length) > len(data) {
			return nil
		}
		ok := false
		for _, t := range routeReads {
			ok = ok || h.Type == t
		}
		if !ok {
			return sys.EPERM
		}
		next := (int(h.Length) + linux.NLMSG_ALIGNTO - 1) &^ (linux.NLMSG_ALIGNTO - 1)
		data = data[min(next, len(data)):]
	}
	return nil
}
