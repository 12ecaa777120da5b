package inet

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"

	"runsc-lite/abi"
)

// The files of /proc/net that netstack backs, in Linux's formats
// (net/ipv4/tcp_ipv4.c, udp.c, net/ipv6/addrconf.c, net/core/net-procfs.c,
// net/ipv4/fib_trie.c): the sandbox's sockets and interfaces only. Kernel
// pointers print as 0, as Linux prints them to the unprivileged.

// ProcNetFiles are the names of the files ProcNet makes.
var ProcNetFiles = []string{"tcp", "tcp6", "udp", "udp6", "dev", "if_inet6", "route", "ip_tables_names"}

// ProcNetSource is a network /proc/net describes: the sandbox's stack,
// or the host's with --network=host (package hostinet).
type ProcNetSource interface {
	SockLister
	// ProcDev, ProcIfInet6 and ProcRoute are /proc/net/dev, if_inet6
	// and route.
	ProcDev() (string, error)
	ProcIfInet6() (string, error)
	ProcRoute() (string, error)
}

// ProcNetFile returns the content of /proc/net/NAME (ProcNetFiles) of
// src.
func ProcNetFile(src ProcNetSource, name string) (string, error) {
	switch name {
	case "tcp":
		return SockTable(sys.AF_INET, sys.SOCK_STREAM, src.SockEntries(sys.AF_INET, sys.SOCK_STREAM)), nil
	case "tcp6":
		return SockTable(sys.AF_INET6, sys.SOCK_STREAM, src.SockEntries(sys.AF_INET6, sys.SOCK_STREAM)), nil
	case "udp":
		return SockTable(sys.AF_INET, sys.SOCK_DGRAM, src.SockEntries(sys.AF_INET, sys.SOCK_DGRAM)), nil
	case "udp6":
		return SockTable(sys.AF_INET6, sys.SOCK_DGRAM, src.SockEntries(sys.AF_INET6, sys.SOCK_DGRAM)), nil
	case "dev":
		return src.ProcDev()
	case "if_inet6":
		return src.ProcIfInet6()
	case "route":
		return src.ProcRoute()
	case "ip_tables_names":
		return "", nil // no iptables here (the host's with --network=host)
	}
	return "", sys.ENOENT
}

// ProcNet returns the content of /proc/net/NAME.
func (st *Stack) ProcNet(name string) (string, error) {
	if name == "ip_tables_names" {
		return st.ipt.procNames(), nil
	}
	return ProcNetFile(st, name)
}

// linuxTCPState is the Linux state of a netstack TCP state: netstack's
// own states before a connection are TCP_CLOSE, its SYN not yet sent is
// SYN_SENT.
func linuxTCPState(st tcp.EndpointState) uint32 {
	switch st {
	case tcp.StateInitial, tcp.StateBound, tcp.StateError:
		return linux.TCP_CLOSE
	case tcp.StateConnecting:
		return linux.TCP_SYN_SENT
	}
	return uint32(st) // netstack numbers the others as Linux
}

// hexAddr prints an address as Linux's /proc/net/{tcp,udp}: each 32-bit
// word of the network-order address as a host-order hex number.
func hexAddr(a tcpip.Address, fam int) string {
	n := 4
	if fam == sys.AF_INET6 {
		n = 16
	}
	var b [16]byte
	ip := a.AsSlice()
	if fam == sys.AF_INET6 && len(ip) == 4 {
		b[10], b[11] = 0xff, 0xff
		copy(b[12:], ip)
	} else {
		copy(b[:], ip)
	}
	var words [4]uint32 // the address as the kernel's __be32 words
	copy(abi.SliceBytes(words[:]), b[:n])
	var sb strings.Builder
	for _, w := range words[:n/4] {
		fmt.Fprintf(&sb, "%08X", w)
	}
	return sb.String()
}

// SockEntry is one socket's line of /proc/net/tcp, tcp6, udp or udp6.
type SockEntry struct {
	Local, Remote         tcpip.Address
	LocalPort, RemotePort uint16
	State                 uint32 // Linux's TCP state (UDP: TCP_ESTABLISHED when connected, else TCP_CLOSE)
	TxQueue, RxQueue      int
	UID                   uint32
	Ino                   uint64
	Backlog               int // a listener's listen(2) backlog (sk_max_ack_backlog)
}

// Hashed reports whether Linux lists a socket of type typ in its
// /proc/net table: a TCP socket in its listening or established hash
// (not one closed, bound or not), a UDP socket with a port.
func Hashed(typ int, e SockEntry) bool {
	if typ == sys.SOCK_STREAM {
		return e.State != linux.TCP_CLOSE
	}
	return e.LocalPort != 0
}

// SockTable formats /proc/net/tcp, tcp6, udp or udp6 (family fam, type
// typ) with one line per entry, as tcp4_seq_show, tcp6_seq_show and
// udp_seq_show print them.
func SockTable(fam, typ int, entries []SockEntry) string {
	var sb strings.Builder
	if typ == sys.SOCK_STREAM {
		if fam == sys.AF_INET {
			fmt.Fprintf(&sb, "%-149s\n", "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode")
		} else {
			sb.WriteString("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n")
		}
	} else {
		if fam == sys.AF_INET {
			fmt.Fprintf(&sb, "%-127s\n", "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops")
		} else {
			sb.WriteString("  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n")
		}
	}
	for i, e := range entries {
		local := fmt.Sprintf("%s:%04X", hexAddr(e.Local, fam), e.LocalPort)
		remote := fmt.Sprintf("%s:%04X", hexAddr(e.Remote, fam), e.RemotePort)
		if typ == sys.SOCK_STREAM {
			line := fmt.Sprintf("%4d: %s %s %02X %08X:%08X 00:00000000 00000000 %5d %8d %d 1 0000000000000000 100 0 0 10 0",
				i, local, remote, e.State, e.TxQueue, e.RxQueue, e.UID, 0, e.Ino)
			if fam == sys.AF_INET {
				line = fmt.Sprintf("%-149s", line) // Linux pads IPv4 lines
			}
			sb.WriteString(line + "\n")
			continue
		}
		line := fmt.Sprintf("%5d: %s %s %02X %08X:%08X 00:00000000 00000000 %5d %8d %d 2 0000000000000000 0",
			i, local, remote, e.State, e.TxQueue, e.RxQueue, e.UID, 0, e.Ino)
		if fam == sys.AF_INET {
			line = fmt.Sprintf("%-127s", line)
		}
		sb.WriteString(line + "\n")
	}
	return sb.String()
}

// SockLister lists a network's TCP and UDP sockets, for /proc/net and
// sock_diag (package netlink), which thereby agree.
type SockLister interface {
	// SockEntries are the sockets of family fam and type typ that
	// Linux hashes (Hashed), in the order they were made.
	SockEntries(fam, typ int) []SockEntry
}

// SockEntries are the sandbox's TCP or UDP sockets of family fam and
// type typ that Linux hashes (Hashed), in the order they were made: what
// /proc/net and sock_diag list.
func (st *Stack) SockEntries(fam, typ int) []SockEntry {
	st.mu.Lock()
	var socks []*Socket
	for s := range st.sockets {
		if s.fam() == fam && s.typ == typ && (s.protocol == sys.IPPROTO_TCP || s.protocol == sys.IPPROTO_UDP) {
			socks = append(socks, s)
		}
	}
	st.mu.Unlock()
	sort.Slice(socks, func(i, j int) bool { return socks[i].ino < socks[j].ino })
	var entries []SockEntry
	for _, s := range socks {
		e, ok := s.sockEntry()
		if !ok || !Hashed(typ, e) {
			continue
		}
		entries = append(entries, e)
		if e.State == linux.TCP_LISTEN {
			entries = append(entries, st.queuedEntries(s.uid, e.Local, e.LocalPort)...)
		}
	}
	return entries
}

// sockEntry describes a TCP or UDP socket as /proc/net and sock_diag do
// (false if netstack has no transport information for it).
func (s *Socket) sockEntry() (SockEntry, bool) {
	info, ok := s.endpoint().Info().(*stack.TransportEndpointInfo)
	if !ok {
		return SockEntry{}, false
	}
	id := info.ID
	rx, _ := s.endpoint().GetSockOptInt(tcpip.ReceiveQueueSizeOption)
	tx, _ := s.endpoint().GetSockOptInt(tcpip.SendQueueSizeOption)
	e := SockEntry{Local: id.LocalAddress, Remote: id.RemoteAddress, LocalPort: id.LocalPort, RemotePort: id.RemotePort,
		TxQueue: max(tx, 0), RxQueue: max(rx, 0), UID: s.uid, Ino: s.ino, State: linux.TCP_CLOSE}
	if s.typ == sys.SOCK_STREAM {
		e.State = linuxTCPState(tcp.EndpointState(s.endpoint().State()))
		if e.State == linux.TCP_LISTEN {
			e.RxQueue, e.TxQueue = len(s.st.acceptQueue(id.LocalAddress, id.LocalPort)), 0
			e.Backlog = int(s.backlog.Load())
		}
	} else if transport.DatagramEndpointState(s.endpoint().State()) == transport.DatagramEndpointStateConnected {
		e.State = linux.TCP_ESTABLISHED
	}
	return e, true
}

// acceptQueue is the accept queue of the listener on addr and port
// (Linux's sk_ack_backlog counts it), which netstack keeps to itself:
// the established TCP endpoints there that no socket of the sandbox
// holds yet.
func (st *Stack) acceptQueue(addr tcpip.Address, port uint16) []tcpip.Endpoint {
	ns, err := st.netstack()
	if err != nil {
		return nil
	}
	held := st.heldEndpoints()
	var queued []tcpip.Endpoint
	for _, ep := range ns.RegisteredEndpoints() {
		te, ok := ep.(tcpip.Endpoint)
		if !ok || held[te] {
			continue
		}
		info, ok := te.Info().(*stack.TransportEndpointInfo)
		if !ok || info.TransProto != header.TCPProtocolNumber || info.ID.LocalPort != port {
			continue
		}
		if addr.Len() != 0 && !addr.Unspecified() && info.ID.LocalAddress != addr {
			continue
		}
		if st := linuxTCPState(tcp.EndpointState(te.State())); st == linux.TCP_ESTABLISHED || st == linux.TCP_CLOSE_WAIT {
			queued = append(queued, te)
		}
	}
	return queued
}

// queuedEntries describe the connections queued on the listener on
// addr and port as Linux lists them: the listener's owner uid, no file
// (inode 0).
func (st *Stack) queuedEntries(uid uint32, addr tcpip.Address, port uint16) []SockEntry {
	var entries []SockEntry
	for _, ep := range st.acceptQueue(addr, port) {
		info, ok := ep.Info().(*stack.TransportEndpointInfo)
		if !ok {
			continue
		}
		rx, _ := ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
		tx, _ := ep.GetSockOptInt(tcpip.SendQueueSizeOption)
		entries = append(entries, SockEntry{Local: info.ID.LocalAddress, Remote: info.ID.RemoteAddress,
			LocalPort: info.ID.LocalPort, RemotePort: info.ID.RemotePort, TxQueue: max(tx, 0), RxQueue: max(rx, 0),
			UID: uid, State: linuxTCPState(tcp.EndpointState(ep.State()))})
	}
	return entries
}

// heldEndpoints are the netstack endpoints of the sandbox's sockets.
func (st *Stack) heldEndpoints() map[tcpip.Endpoint]bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	held := make(map[tcpip.Endpoint]bool, len(st.sockets))
	for s := range st.sockets {
		held[s.endpoint()] = true
	}
	return held
}

// ProcRouteHeader is the first line of /proc/net/route, padded to 127
// characters as fib_route_seq_show pads it.
var ProcRouteHeader = fmt.Sprintf("%-127s\n", "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT")

// ProcDevHeader is the first two lines of /proc/net/dev.
const ProcDevHeader = "Inter-|   Receive                                                |  Transmit\n" +
	" face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"

// ProcDev is /proc/net/dev: each interface's counters, from netstack.
func (st *Stack) ProcDev() (string, error) {
	ns, err := st.netstack()
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString(ProcDevHeader)
	infos := ns.NICInfo()
	ids := make([]int, 0, len(infos))
	for id := range infos {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	for _, id := range ids {
		in := infos[tcpip.NICID(id)]
		s := in.Stats
		fmt.Fprintf(&sb, "%6s: %7d %7d %4d %4d %4d %5d %10d %9d %8d %7d %4d %4d %4d %5d %7d %10d\n", in.Name,
			s.Rx.Bytes.Value(), s.Rx.Packets.Value(), 0, 0, 0, 0, 0, 0,
			s.Tx.Bytes.Value(), s.Tx.Packets.Value(), 0, 0, 0, 0, 0, 0)
	}
	return sb.String(), nil
}

// ProcIfInet6 is /proc/net/if_inet6: each IPv6 address with its
// interface's index, prefix length, scope and flags (permanent).
func (st *Stack) ProcIfInet6() (string, error) {
	ifs, err := st.Interfaces()
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	for _, in := range ifs {
		for _, a := range in.Addrs {
			if a.Address.Len() != header.IPv6AddressSize {
				continue
			}
			scope := 0x00 // global
			switch {
			case a.Address == header.IPv6Loopback:
				scope = 0x10
			case header.IsV6LinkLocalUnicastAddress(a.Address):
				scope = 0x20
			}
			fmt.Fprintf(&sb, "%x %02x %02x %02x %02x %8s\n", a.Address.AsSlice(), in.Index, a.PrefixLen, scope, 0x80, in.Name)
		}
	}
	return sb.String(), nil
}

// ProcRoute is /proc/net/route: the IPv4 routes of interfaces other than
// lo (whose routes are in the local table, which this file leaves out),
// addresses as the kernel's u32 prints in hex, each line padded to 127
// characters as fib_route_seq_show does.
func (st *Stack) ProcRoute() (string, error) {
	ifs, err := st.Interfaces()
	if err != nil {
		return "", err
	}
	var sb strings.Builder
	sb.WriteString(ProcRouteHeader)
	hex := func(a tcpip.Address) uint32 { return binary.LittleEndian.Uint32(a.AsSlice()) }
	line := func(name string, dst, gw, mask uint32, flags int) {
		fmt.Fprintf(&sb, "%-127s\n", fmt.Sprintf("%s\t%08X\t%08X\t%04X\t%d\t%d\t%d\t%08X\t%d\t%d\t%d", name, dst, gw, flags, 0, 0, 0, mask, 0, 0, 0))
	}
	for _, in := range ifs {
		if in.Flags&sys.IFF_LOOPBACK != 0 {
			continue
		}
		if in.Gateway.Len() == header.IPv4AddressSize {
			line(in.Name, 0, hex(in.Gateway), 0, sys.RTF_UP|sys.RTF_GATEWAY)
		}
		for _, a := range in.Addrs {
			if a.Address.Len() != header.IPv4AddressSize {
				continue
			}
			sub := a.Subnet()
			mask := ^uint32(0) >> (32 - a.PrefixLen) // the first PrefixLen bytes' bits, as the kernel's u32 holds them
			if a.PrefixLen == 0 {
				mask = 0
			}
			line(in.Name, hex(sub.ID()), 0, mask, sys.RTF_UP)
		}
	}
	return sb.String(), nil
}
