package hostinet

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"syscall"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"

	"runsc-lite/abi"
	"runsc-lite/sentry/socket/inet"
)

// /proc/net in host mode. The rule is that /proc shows no host figure;
// with --network=host the network is the host's, and the application
// already sees its interfaces, addresses and routes through netlink
// (netlink.go), so /proc/net agrees with them, as gVisor's runsc does in
// this mode:
//
//   - dev, if_inet6 and route are the host network namespace's, read by
//     the sentry from a NETLINK_ROUTE dump on a host socket the
//     forwarder made (the sentry's own namespace is empty): each
//     interface's counters (IFLA_STATS64, as dev_seq_printf_stats sums
//     them), each IPv6 address, the main table's IPv4 routes.
//   - tcp, tcp6, udp and udp6 list the sandbox's own sockets only, as
//     the sandbox's stack does in the other modes and runsc's hostinet
//     does: their addresses, state and queues are the host sockets'
//     (getsockname, getpeername, TCP_INFO, SIOCINQ, SIOCOUTQ); other host
//     processes' sockets are not the application's and are not shown.
//   - unix is the sandbox's own Unix sockets, as in every mode.

// ProcNet returns the content of /proc/net/NAME (inet.ProcNetFiles).
func (st *Stack) ProcNet(name string) (string, error) {
	return inet.ProcNetFile(st, name)
}

// SockEntries implements inet.SockLister: the sandbox's host sockets of
// family fam and type typ, in the order they were made.
func (st *Stack) SockEntries(fam, typ int) []inet.SockEntry {
	st.poller.mu.Lock()
	var socks []*Socket
	for _, s := range st.poller.socks {
		if s.family == fam && s.typ == typ && (s.protocol == sys.IPPROTO_TCP || s.protocol == sys.IPPROTO_UDP) {
			socks = append(socks, s)
		}
	}
	st.poller.mu.Unlock()
	sort.Slice(socks, func(i, j int) bool { return socks[i].ino < socks[j].ino })
	entries := make([]inet.SockEntry, 0, len(socks))
	for _, s := range socks {
		if e := s.procEntry(); inet.Hashed(typ, e) {
			entries = append(entries, e)
		}
	}
	return entries
}

// procEntry is the socket's line of /proc/net/{tcp,udp}{,6}, from the
// host socket.
func (s *Socket) procEntry() inet.SockEntry {
	e := inet.SockEntry{UID: s.uid, Ino: s.ino, State: linux.TCP_CLOSE}
	if raw, err := hostName(s.fd, false); err == nil {
		e.Local, e.LocalPort = sockaddrIP(raw)
	}
	raw, perr := hostName(s.fd, true)
	if perr == nil {
		e.Remote, e.RemotePort = sockaddrIP(raw)
	}
	if e.Local.Len() == 0 {
		e.Local = zeroAddr(s.family)
	}
	if e.Remote.Len() == 0 {
		e.Remote = zeroAddr(s.family)
	}
	if s.typ == sys.SOCK_STREAM {
		s.tcpInfoEntry(&e)
	} else if perr == nil {
		e.State = linux.TCP_ESTABLISHED
	}
	switch {
	case s.typ != sys.SOCK_STREAM:
		// udp4_format_sock: the memory the queues hold.
		var mem [sys.SK_MEMINFO_VARS]uint32
		if m, err := hostGetsockopt(s.fd, sys.SOL_SOCKET, sys.SO_MEMINFO, len(abi.AsBytes(&mem))); err == nil && abi.Decode(m, &mem) {
			e.RxQueue = int(mem[sys.SK_MEMINFO_RMEM_ALLOC])
			e.TxQueue = int(mem[sys.SK_MEMINFO_WMEM_ALLOC])
		}
	case e.State != linux.TCP_LISTEN:
		e.RxQueue = queueLen(s.fd, sys.SIOCINQ)
		e.TxQueue = queueLen(s.fd, sys.SIOCOUTQ)
	}
	return e
}

// tcpInfoEntry sets e's state from the host socket's TCP_INFO, and a
// listener's accept queue length and backlog, which tcp_get_info gives
// in tcpi_unacked and tcpi_sacked.
func (s *Socket) tcpInfoEntry(e *inet.SockEntry) {
	var info linux.TCPInfo
	b, err := hostGetsockopt(s.fd, sys.SOL_TCP, sys.TCP_INFO, len(abi.AsBytes(&info)))
	if err != nil || len(b) == 0 {
		return
	}
	copy(abi.AsBytes(&info), b) // an older host's is shorter
	e.State = uint32(info.State)
	if e.State == linux.TCP_LISTEN {
		e.RxQueue, e.Backlog = int(info.Unacked), int(info.Sacked)
	}
}

// queueLen is SIOCINQ or SIOCOUTQ of a host socket, 0 if it fails.
func queueLen(fd int, cmd uint32) int {
	var v [4]byte
	if hostIoctl(fd, cmd, v[:]) != nil {
		return 0
	}
	return int(int32(binary.LittleEndian.Uint32(v[:])))
}

// sockaddrIP returns the address and port of a struct sockaddr_in or
// sockaddr_in6.
func sockaddrIP(raw []byte) (tcpip.Address, uint16) {
	var sa4 sys.RawSockaddrInet4
	var sa6 sys.RawSockaddrInet6
	switch {
	case abi.Decode(raw, &sa6) && sa6.Family == sys.AF_INET6:
		return tcpip.AddrFrom16(sa6.Addr), binary.BigEndian.Uint16(abi.AsBytes(&sa6.Port))
	case abi.Decode(raw, &sa4) && sa4.Family == sys.AF_INET:
		return tcpip.AddrFrom4(sa4.Addr), binary.BigEndian.Uint16(abi.AsBytes(&sa4.Port))
	}
	return tcpip.Address{}, 0
}

// zeroAddr is the unspecified address of family fam.
func zeroAddr(fam int) tcpip.Address {
	if fam == sys.AF_INET6 {
		return tcpip.AddrFrom16([16]byte{})
	}
	return tcpip.AddrFrom4([4]byte{})
}

// routeDump makes an rtnetlink dump request of type typ, with header
// (an ifinfomsg, ifaddrmsg or rtmsg), on a host NETLINK_ROUTE socket of
// the host's network namespace, and returns its messages.
func (st *Stack) routeDump(typ uint16, header []byte) ([]syscall.NetlinkMessage, error) {
	fd, err := st.fwd.Netlink()
	if err != nil {
		st.log.Error("host netlink socket for /proc/net", "err", err)
		return nil, sys.EIO
	}
	defer sys.Close(fd)
	return dumpOn(fd, typ, header)
}

// dumpOn makes the dump request on netlink socket fd.
func dumpOn(fd int, typ uint16, header []byte) ([]syscall.NetlinkMessage, error) {
	h := sys.NlMsghdr{Type: typ, Flags: sys.NLM_F_REQUEST | sys.NLM_F_DUMP, Seq: 1}
	h.Len = uint32(len(abi.Encode(h)) + len(header))
	if _, err := hostSendmsg(fd, append(abi.Encode(h), header...), nil, nil, 0); err != nil {
		return nil, err
	}
	var msgs []syscall.NetlinkMessage
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<16) // each receive's own: the messages point into it
		n, _, _, err := hostRecvmsg(fd, buf, sys.MSG_DONTWAIT, false, nil)
		if err == sys.EAGAIN {
			if time.Now().After(deadline) {
				return nil, sys.EIO
			}
			fds := []sys.PollFd{{Fd: int32(fd), Events: sys.POLLIN}}
			ts := sys.NsecToTimespec(int64(100 * time.Millisecond))
			sys.Ppoll(fds, &ts, nil)
			continue
		}
		if err != nil {
			return nil, err
		}
		part, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, sys.EIO
		}
		for _, m := range part {
			switch m.Header.Type {
			case sys.NLMSG_DONE:
				return msgs, nil
			case sys.NLMSG_ERROR:
				return nil, sys.EIO
			}
			msgs = append(msgs, m)
		}
	}
}

// hostLink is what /proc/net and /sys/class/net show of a host
// interface.
type hostLink struct {
	index int32
	name  string
	flags uint32 // ifi_flags: dev_get_flags, with the operational bits
	typ   uint16 // ARPHRD_*
	mtu   uint32
	mac   [6]byte
	stats linkStats64
}

// linkStats64 is struct rtnl_link_stats64 (IFLA_STATS64), its fields up
// to tx_compressed, the ones /proc/net/dev sums.
type linkStats64 struct {
	RxPackets, TxPackets, RxBytes, TxBytes, RxErrors, TxErrors, RxDropped, TxDropped,
	Multicast, Collisions, RxLengthErrors, RxOverErrors, RxCRCErrors, RxFrameErrors,
	RxFIFOErrors, RxMissedErrors, TxAbortedErrors, TxCarrierErrors, TxFIFOErrors,
	TxHeartbeatErrors, TxWindowErrors, RxCompressed, TxCompressed uint64
}

// links dumps the host's interfaces.
func (st *Stack) links() ([]hostLink, error) {
	msgs, err := st.routeDump(sys.RTM_GETLINK, abi.Encode(sys.IfInfomsg{Family: sys.AF_UNSPEC}))
	if err != nil {
		return nil, err
	}
	var links []hostLink
	for _, m := range msgs {
		var ifi sys.IfInfomsg
		if m.Header.Type != sys.RTM_NEWLINK || !abi.Decode(m.Data, &ifi) {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		l := hostLink{index: ifi.Index, flags: ifi.Flags, typ: ifi.Type}
		for _, a := range attrs {
			switch a.Attr.Type {
			case sys.IFLA_IFNAME:
				l.name = strings.TrimRight(string(a.Value), "\x00")
			case sys.IFLA_MTU:
				abi.Decode(a.Value, &l.mtu)
			case sys.IFLA_ADDRESS:
				copy(l.mac[:], a.Value)
			case sys.IFLA_STATS64:
				abi.Decode(a.Value, &l.stats)
			}
		}
		links = append(links, l)
	}
	return links, nil
}

// Interfaces lists the host's interfaces, for /sys/class/net in host mode:
// the interfaces netlink and /proc/net/dev already show the application.
// Addresses and gateways are left out (sysfs shows neither).
func (st *Stack) Interfaces() ([]inet.Interface, error) {
	links, err := st.links()
	if err != nil {
		return nil, err
	}
	ifs := make([]inet.Interface, len(links))
	for i, l := range links {
		ifs[i] = inet.Interface{Index: l.index, Name: l.name, Flags: l.flags, MTU: l.mtu, Type: l.typ, MAC: l.mac}
	}
	return ifs, nil
}

// ProcDev is /proc/net/dev: the host's interfaces and their counters, as
// dev_seq_printf_stats prints them.
func (st *Stack) ProcDev() (string, error) {
	links, err := st.links()
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString(inet.ProcDevHeader)
	for _, l := range links {
		s := l.stats
		fmt.Fprintf(&sb, "%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d\n", l.name,
			s.RxBytes, s.RxPackets, s.RxErrors, s.RxDropped+s.RxMissedErrors, s.RxFIFOErrors,
			s.RxLengthErrors+s.RxOverErrors+s.RxCRCErrors+s.RxFrameErrors, s.RxCompressed, s.Multicast,
			s.TxBytes, s.TxPackets, s.TxErrors, s.TxDropped, s.TxFIFOErrors, s.Collisions,
			s.TxCarrierErrors+s.TxAbortedErrors+s.TxWindowErrors+s.TxHeartbeatErrors, s.TxCompressed)
	}
	return sb.String(), nil
}

// linkNames maps the host's interface indexes to names.
func (st *Stack) linkNames() (map[int32]string, error) {
	links, err := st.links()
	if err != nil {
		return nil, err
	}
	names := make(map[int32]string, len(links))
	for _, l := range links {
		names[l.index] = l.name
	}
	return names, nil
}

// ProcIfInet6 is /proc/net/if_inet6: the host's IPv6 addresses, as
// if6_seq_show prints them (the scope as the address's IPV6_ADDR_*
// scope bits, the flags' low byte). Linux lists them in the order of
// its address hash table; here they come in the dump's order.
func (st *Stack) ProcIfInet6() (string, error) {
	names, err := st.linkNames()
	if err != nil {
		return "", err
	}
	msgs, err := st.routeDump(sys.RTM_GETADDR, abi.Encode(sys.IfAddrmsg{Family: sys.AF_INET6}))
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, m := range msgs {
		var ifa sys.IfAddrmsg
		if m.Header.Type != sys.RTM_NEWADDR || !abi.Decode(m.Data, &ifa) || ifa.Family != sys.AF_INET6 {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		var addr []byte
		flags := uint32(ifa.Flags)
		for _, a := range attrs {
			switch a.Attr.Type {
			case sys.IFA_ADDRESS:
				addr = a.Value
			case sys.IFA_FLAGS:
				if len(a.Value) >= 4 {
					flags = binary.NativeEndian.Uint32(a.Value)
				}
			}
		}
		if len(addr) != 16 {
			continue
		}
		fmt.Fprintf(&sb, "%x %02x %02x %02x %02x %8s\n", addr, ifa.Index, ifa.Prefixlen, ipv6Scope(ifa.Scope), uint8(flags), names[int32(ifa.Index)])
	}
	return sb.String(), nil
}

// ipv6Scope is the IPV6_ADDR_* scope bits of an rtnetlink scope
// (ipv6_addr_scope2type's inverse): host, link, site, global.
func ipv6Scope(rtScope uint8) int {
	switch rtScope {
	case sys.RT_SCOPE_HOST:
		return 0x10
	case sys.RT_SCOPE_LINK:
		return 0x20
	case sys.RT_SCOPE_SITE:
		return 0x40
	}
	return 0
}

// ProcRoute is /proc/net/route: the IPv4 unicast routes of the host's
// main table, as fib_route_seq_show prints them (lines padded to 127
// characters; MTU, window and IRTT from the route's metrics).
func (st *Stack) ProcRoute() (string, error) {
	names, err := st.linkNames()
	if err != nil {
		return "", err
	}
	msgs, err := st.routeDump(sys.RTM_GETROUTE, abi.Encode(sys.RtMsg{Family: sys.AF_INET}))
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString(inet.ProcRouteHeader)
	le := binary.LittleEndian // the kernel's __be32 printed as a host u32
	for _, m := range msgs {
		var rt sys.RtMsg
		if m.Header.Type != sys.RTM_NEWROUTE || !abi.Decode(m.Data, &rt) || rt.Family != sys.AF_INET {
			continue
		}
		if rt.Table != sys.RT_TABLE_MAIN || rt.Type == sys.RTN_BROADCAST || rt.Type == sys.RTN_MULTICAST || rt.Type == sys.RTN_LOCAL {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			continue
		}
		var dst, gw, prio, advmss, window, rtt uint32
		oif := "*"
		table := uint32(rt.Table)
		for _, a := range attrs {
			switch a.Attr.Type {
			case sys.RTA_DST:
				if len(a.Value) == 4 {
					dst = le.Uint32(a.Value)
				}
			case sys.RTA_GATEWAY:
				if len(a.Value) == 4 {
					gw = le.Uint32(a.Value)
				}
			case sys.RTA_OIF:
				if len(a.Value) == 4 {
					oif = names[int32(binary.NativeEndian.Uint32(a.Value))]
				}
			case sys.RTA_PRIORITY:
				if len(a.Value) == 4 {
					prio = binary.NativeEndian.Uint32(a.Value)
				}
			case sys.RTA_TABLE:
				if len(a.Value) == 4 {
					table = binary.NativeEndian.Uint32(a.Value)
				}
			case sys.RTA_METRICS:
				advmss, window, rtt = routeMetrics(a.Value)
			}
		}
		if table != sys.RT_TABLE_MAIN {
			continue
		}
		mask := uint32(0)
		if rt.Dst_len > 0 {
			mask = le.Uint32(binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-rt.Dst_len)))
		}
		flags := sys.RTF_UP
		if gw != 0 {
			flags |= sys.RTF_GATEWAY
		}
		if rt.Dst_len == 32 {
			flags |= sys.RTF_HOST
		}
		if rt.Type == sys.RTN_UNREACHABLE || rt.Type == sys.RTN_PROHIBIT {
			flags |= sys.RTF_REJECT // fib_flag_trans
		}
		mtu := uint32(0)
		if advmss != 0 {
			mtu = advmss + 40
		}
		fmt.Fprintf(&sb, "%-127s\n", fmt.Sprintf("%s\t%08X\t%08X\t%04X\t%d\t%d\t%d\t%08X\t%d\t%d\t%d",
			oif, dst, gw, flags, 0, 0, prio, mask, mtu, window, rtt>>3))
	}
	return sb.String(), nil
}

// routeMetrics reads RTAX_ADVMSS, RTAX_WINDOW and RTAX_RTT from an
// RTA_METRICS attribute (nested attributes of u32).
func routeMetrics(b []byte) (advmss, window, rtt uint32) {
	var h syscall.RtAttr
	size := len(abi.AsBytes(&h))
	for len(b) >= size {
		abi.Decode(b, &h)
		if int(h.Len) < size || int(h.Len) > len(b) {
			return
		}
		if v := b[size:h.Len]; len(v) >= 4 {
			switch h.Type {
			case sys.RTAX_ADVMSS:
				advmss = binary.NativeEndian.Uint32(v)
			case sys.RTAX_WINDOW:
				window = binary.NativeEndian.Uint32(v)
			case sys.RTAX_RTT:
				rtt = binary.NativeEndian.Uint32(v)
			}
		}
		next := (int(h.Len) + sys.RTA_ALIGNTO - 1) &^ (sys.RTA_ALIGNTO - 1)
		b = b[min(next, len(b)):]
	}
	return
}
