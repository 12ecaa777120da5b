package inet

import (
	"encoding/binary"
	"math"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"runsc-lite/abi"
)

// Socket options: the SOL_SOCKET, SOL_TCP, SOL_IP and SOL_IPV6 options
// programs set, each mapped to netstack's socket options. Options this
// package does not know are ENOPROTOOPT, as Linux answers for options
// it does not know; ErrUnknown lets the caller log them.

// intSize is sizeof(int).
const intSize = 4

// Linux's bounds of the TCP keepalive options (include/net/tcp.h).
const (
	maxKeepIdle  = 32767
	maxKeepIntvl = 32767
	maxKeepCnt   = 127
)

// defaultTTL is net.ipv4.ip_default_ttl and the IPv6 hop limit.
const defaultTTL = 64

// Unknown marks an option this package does not implement, for the
// caller's log: it unwraps to ENOPROTOOPT.
type Unknown struct{ Level, Name int }

func (u Unknown) Error() string { return sys.ENOPROTOOPT.Error() }
func (u Unknown) Unwrap() error { return sys.ENOPROTOOPT }

func intBytes(v int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(int32(v))) }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// GetOption implements getsockopt(2) for an option of level and name;
// n is the caller's optlen (checked non-negative). The value is cut to
// n by the caller.
func (s *Socket) GetOption(level, name, n int) ([]byte, error) {
	switch level {
	case sys.SOL_SOCKET:
		return s.getSocketOption(name)
	case sys.SOL_TCP:
		if s.typ != sys.SOCK_STREAM {
			return nil, sys.EOPNOTSUPP
		}
		return s.getTCPOption(name)
	case sys.SOL_UDP:
		if s.protocol != sys.IPPROTO_UDP {
			break
		}
		if name == sys.UDP_CORK {
			s.mu.Lock()
			defer s.mu.Unlock()
			return intBytes(boolInt(s.udpCork)), nil
		}
		return nil, Unknown{sys.SOL_UDP, name}
	case sys.SOL_IP:
		// An AF_INET6 socket takes the IPv4 options too (ipv6_getsockopt).
		return s.getIPOption(name)
	case sys.SOL_IPV6:
		if s.fam() == sys.AF_INET6 {
			return s.getIPv6Option(name)
		}
	}
	if s.fam() == sys.AF_INET {
		return nil, sys.EOPNOTSUPP // ip_getsockopt: not SOL_IP
	}
	return nil, sys.ENOPROTOOPT
}

// SetOption implements setsockopt(2).
func (s *Socket) SetOption(level, name int, v []byte) error {
	switch level {
	case sys.SOL_SOCKET:
		return s.setSocketOption(name, v)
	case sys.SOL_TCP:
		if s.typ != sys.SOCK_STREAM {
			return sys.ENOPROTOOPT
		}
		return s.setTCPOption(name, v)
	case sys.SOL_UDP:
		if s.protocol == sys.IPPROTO_UDP {
			return s.setUDPOption(name, v)
		}
	case sys.SOL_IP:
		return s.setIPOption(name, v)
	case sys.SOL_IPV6:
		if s.fam() == sys.AF_INET6 {
			return s.setIPv6Option(name, v)
		}
	}
	return sys.ENOPROTOOPT
}

// setUDPOption sets a SOL_UDP option: UDP_CORK gathers the sends into
// one datagram until it is cleared, which sends it (udp_lib_setsockopt).
func (s *Socket) setUDPOption(name int, v []byte) error {
	i, err := intOption(v)
	if err != nil {
		return err
	}
	if name != sys.UDP_CORK {
		return Unknown{sys.SOL_UDP, name}
	}
	s.mu.Lock()
	s.udpCork = i != 0
	s.mu.Unlock()
	if i == 0 {
		return s.pushPending()
	}
	return nil
}

// intOption reads an int option: EINVAL if shorter than an int.
func intOption(v []byte) (int, error) {
	if len(v) < intSize {
		return 0, sys.EINVAL
	}
	return int(int32(binary.LittleEndian.Uint32(v))), nil
}

func (s *Socket) getSocketOption(name int) ([]byte, error) {
	if name == sys.SO_PEEK_OFF {
		if !s.hasPeekOff() {
			return nil, sys.EOPNOTSUPP
		}
		return intBytes(int(s.peekOff.Load())), nil
	}
	ops := s.endpoint().SocketOptions()
	switch name {
	case sys.SO_TYPE:
		return intBytes(s.typ), nil
	case sys.SO_DOMAIN:
		return intBytes(s.fam()), nil
	case sys.SO_PROTOCOL:
		return intBytes(s.protocol), nil
	case sys.SO_ERROR:
		err := s.takeError()
		if err == nil {
			return intBytes(0), nil
		}
		e, _ := errno(err).(sys.Errno)
		return intBytes(int(e)), nil
	case sys.SO_REUSEADDR:
		return intBytes(boolInt(ops.GetReuseAddress())), nil
	case sys.SO_REUSEPORT:
		return intBytes(boolInt(ops.GetReusePort())), nil
	case sys.SO_KEEPALIVE:
		return intBytes(boolInt(ops.GetKeepAlive())), nil
	case sys.SO_BROADCAST:
		return intBytes(boolInt(ops.GetBroadcast())), nil
	case sys.SO_OOBINLINE:
		return intBytes(boolInt(s.oobInline.Load())), nil
	case sys.SO_ACCEPTCONN:
		return intBytes(boolInt(ops.GetAcceptConn())), nil
	case sys.SO_RCVLOWAT:
		return intBytes(int(ops.GetRcvlowat())), nil
	case sys.SO_SNDLOWAT:
		return intBytes(1), nil
	case sys.SO_SNDBUF:
		return intBytes(int(min(ops.GetSendBufferSize(), math.MaxInt32))), nil
	case sys.SO_RCVBUF:
		return intBytes(int(min(ops.GetReceiveBufferSize(), math.MaxInt32))), nil
	case sys.SO_LINGER:
		l := ops.GetLinger()
		v := linux.Linger{OnOff: int32(boolInt(l.Enabled)), Linger: int32(l.Timeout / time.Second)}
		return append([]byte(nil), abi.AsBytes(&v)...), nil
	case sys.SO_TIMESTAMP, sys.SO_TIMESTAMPNS:
		s.mu.Lock()
		defer s.mu.Unlock()
		want := stampMicro
		if name == sys.SO_TIMESTAMPNS {
			want = stampNano
		}
		return intBytes(boolInt(s.stamp == want)), nil
	case sys.SO_RCVTIMEO, sys.SO_SNDTIMEO:
		return s.GetTimeout(name), nil
	case sys.SO_NO_CHECK:
		return intBytes(boolInt(ops.GetNoChecksum())), nil
	}
	return nil, Unknown{sys.SOL_SOCKET, name}
}

func (s *Socket) setSocketOption(name int, v []byte) error {
	ops := s.endpoint().SocketOptions()
	switch name {
	case sys.SO_RCVTIMEO, sys.SO_SNDTIMEO:
		return s.SetTimeout(name, v)
	case sys.SO_LINGER:
		var l linux.Linger
		if len(v) < len(abi.AsBytes(&l)) {
			return sys.EINVAL
		}
		copy(abi.AsBytes(&l), v)
		ops.SetLinger(tcpip.LingerOption{Enabled: l.OnOff != 0, Timeout: time.Duration(max(l.Linger, 0)) * time.Second})
		return nil
	}
	i, err := intOption(v)
	if err != nil {
		return err
	}
	on := i != 0
	switch name {
	case sys.SO_PEEK_OFF:
		if !s.hasPeekOff() {
			return sys.EOPNOTSUPP
		}
		s.peekOff.Store(int32(i)) // sk_set_peek_off: any value
	case sys.SO_TIMESTAMP, sys.SO_TIMESTAMPNS:
		// sock_set_timestamp: on, the one asked for; off, none.
		s.mu.Lock()
		s.stamp = stampNone
		if on && name == sys.SO_TIMESTAMPNS {
			s.stamp = stampNano
		} else if on {
			s.stamp = stampMicro
		}
		s.mu.Unlock()
	case sys.SO_REUSEADDR:
		ops.SetReuseAddress(on)
	case sys.SO_REUSEPORT:
		ops.SetReusePort(on)
	case sys.SO_KEEPALIVE:
		ops.SetKeepAlive(on)
	case sys.SO_BROADCAST:
		ops.SetBroadcast(on)
	case sys.SO_NO_CHECK:
		ops.SetNoChecksum(on) // UDP over IPv4 sends no checksum; others ignore it, as Linux
	case sys.SO_OOBINLINE:
		s.oobInline.Store(on) // netstack's is a no-op (urgent.go)
	case sys.SO_RCVLOWAT:
		return errno(ops.SetRcvlowat(int32(max(i, 0))))
	case sys.SO_SNDBUF:
		lo, hi := ops.SendBufferLimits()
		ops.SetSendBufferSize(bufferSize(uint32(i), lo, hi), true)
	case sys.SO_RCVBUF:
		lo, hi := ops.ReceiveBufferLimits()
		ops.SetReceiveBufferSize(bufferSize(uint32(i), lo, hi), true)
	case sys.SO_SNDBUFFORCE:
		// The caller (CAP_NET_ADMIN, checked by the syscall) passes the
		// maximum; a negative value is 0, as sk_setsockopt takes it.
		lo, _ := ops.SendBufferLimits()
		ops.SetSendBufferSize(bufferSize(uint32(max(i, 0)), lo, math.MaxInt32/2), true)
	case sys.SO_RCVBUFFORCE:
		lo, _ := ops.ReceiveBufferLimits()
		ops.SetReceiveBufferSize(bufferSize(uint32(max(i, 0)), lo, math.MaxInt32/2), true)
	default:
		return Unknown{sys.SOL_SOCKET, name}
	}
	return nil
}

// bufferSize is what SO_SNDBUF and SO_RCVBUF make of a value, as Linux:
// capped at the maximum, then doubled for the kernel's bookkeeping, and
// at least the minimum.
func bufferSize(v uint32, lo, hi int64) int64 {
	n := min(int64(v), hi)
	if n >= math.MaxInt32/2 {
		return math.MaxInt32
	}
	return max(2*n, lo)
}

// TimeoutOption reads SO_RCVTIMEO or SO_SNDTIMEO as sock_set_timeout:
// shorter than a timeval is EINVAL, microseconds beyond a second EDOM; a
// negative time is no wait at all (Linux: the smallest timeout), zero no
// timeout.
func TimeoutOption(v []byte) (time.Duration, error) {
	var tv sys.Timeval
	if len(v) < len(abi.AsBytes(&tv)) {
		return 0, sys.EINVAL
	}
	copy(abi.AsBytes(&tv), v)
	if tv.Usec < 0 || tv.Usec >= 1e6 {
		return 0, sys.EDOM
	}
	if tv.Sec < 0 {
		return time.Nanosecond, nil
	}
	if tv.Sec > math.MaxInt64/int64(time.Second)-1 {
		return 0, nil
	}
	return time.Duration(tv.Sec)*time.Second + time.Duration(tv.Usec)*time.Microsecond, nil
}

func (s *Socket) getTCPOption(name int) ([]byte, error) {
	ops := s.endpoint().SocketOptions()
	switch name {
	case sys.TCP_NODELAY:
		return intBytes(boolInt(!ops.GetDelayOption())), nil
	case sys.TCP_CORK:
		s.mu.Lock()
		defer s.mu.Unlock()
		return intBytes(boolInt(ops.GetCorkOption() && !s.corkedForMore)), nil
	case sys.TCP_QUICKACK:
		return intBytes(boolInt(ops.GetQuickAck())), nil
	case sys.TCP_MAXSEG:
		v, err := s.endpoint().GetSockOptInt(tcpip.MaxSegOption)
		return intBytes(v), errno(err)
	case sys.TCP_KEEPIDLE:
		var v tcpip.KeepaliveIdleOption
		err := s.endpoint().GetSockOpt(&v)
		return intBytes(int(time.Duration(v) / time.Second)), errno(err)
	case sys.TCP_KEEPINTVL:
		var v tcpip.KeepaliveIntervalOption
		err := s.endpoint().GetSockOpt(&v)
		return intBytes(int(time.Duration(v) / time.Second)), errno(err)
	case sys.TCP_KEEPCNT:
		v, err := s.endpoint().GetSockOptInt(tcpip.KeepaliveCountOption)
		return intBytes(v), errno(err)
	case sys.TCP_INFO:
		var v tcpip.TCPInfoOption
		if err := s.endpoint().GetSockOpt(&v); err != nil {
			return nil, errno(err)
		}
		info := linux.TCPInfo{
			State:       uint8(v.State),
			RTO:         uint32(v.RTO / time.Microsecond),
			RTT:         uint32(v.RTT / time.Microsecond),
			RTTVar:      uint32(v.RTTVar / time.Microsecond),
			SndSsthresh: v.SndSsthresh,
			SndCwnd:     v.SndCwnd,
		}
		switch v.CcState {
		case tcpip.RTORecovery:
			info.CaState = linux.TCP_CA_Loss
		case tcpip.FastRecovery, tcpip.SACKRecovery:
			info.CaState = linux.TCP_CA_Recovery
		case tcpip.Disorder:
			info.CaState = linux.TCP_CA_Disorder
		}
		return append([]byte(nil), abi.AsBytes(&info)...), nil
	}
	return nil, Unknown{sys.SOL_TCP, name}
}

func (s *Socket) setTCPOption(name int, v []byte) error {
	i, err := intOption(v)
	if err != nil {
		return err
	}
	ops := s.endpoint().SocketOptions()
	switch name {
	case sys.TCP_NODELAY:
		ops.SetDelayOption(i == 0)
	case sys.TCP_CORK:
		s.mu.Lock()
		s.corkedForMore = false // the application's cork from now on
		ops.SetCorkOption(i != 0)
		s.mu.Unlock()
	case sys.TCP_QUICKACK:
		ops.SetQuickAck(i != 0)
	case sys.TCP_MAXSEG:
		return errno(s.endpoint().SetSockOptInt(tcpip.MaxSegOption, i))
	case sys.TCP_KEEPIDLE:
		if i < 1 || i > maxKeepIdle {
			return sys.EINVAL
		}
		o := tcpip.KeepaliveIdleOption(time.Duration(i) * time.Second)
		return errno(s.endpoint().SetSockOpt(&o))
	case sys.TCP_KEEPINTVL:
		if i < 1 || i > maxKeepIntvl {
			return sys.EINVAL
		}
		o := tcpip.KeepaliveIntervalOption(time.Duration(i) * time.Second)
		return errno(s.endpoint().SetSockOpt(&o))
	case sys.TCP_KEEPCNT:
		if i < 1 || i > maxKeepCnt {
			return sys.EINVAL
		}
		return errno(s.endpoint().SetSockOptInt(tcpip.KeepaliveCountOption, i))
	default:
		return Unknown{sys.SOL_TCP, name}
	}
	return nil
}

func (s *Socket) getIPOption(name int) ([]byte, error) {
	switch name {
	case sys.IP_TTL:
		v, err := s.endpoint().GetSockOptInt(tcpip.IPv4TTLOption)
		if v == 0 {
			v = defaultTTL
		}
		return intBytes(v), errno(err)
	case sys.IP_TOS:
		v, err := s.endpoint().GetSockOptInt(tcpip.IPv4TOSOption)
		return intBytes(v), errno(err)
	case sys.IP_MULTICAST_TTL:
		v, err := s.endpoint().GetSockOptInt(tcpip.MulticastTTLOption)
		return intBytes(v), errno(err)
	case sys.IP_MULTICAST_LOOP:
		return intBytes(boolInt(s.endpoint().SocketOptions().GetMulticastLoop())), nil
	case sys.IP_MULTICAST_IF:
		return s.getMulticastIf(), nil
	case sys.IP_RECVTOS:
		return intBytes(boolInt(s.endpoint().SocketOptions().GetReceiveTOS())), nil
	case sys.IP_RECVTTL:
		return intBytes(boolInt(s.endpoint().SocketOptions().GetReceiveTTL())), nil
	case sys.IP_PKTINFO:
		return intBytes(boolInt(s.endpoint().SocketOptions().GetReceivePacketInfo())), nil
	case sys.IP_RECVERR:
		return intBytes(boolInt(s.endpoint().SocketOptions().GetIPv4RecvError())), nil
	case sys.IP_RECVORIGDSTADDR:
		return intBytes(boolInt(s.endpoint().SocketOptions().GetReceiveOriginalDstAddress())), nil
	case sys.IP_HDRINCL:
		if s.typ == sys.SOCK_RAW {
			return intBytes(boolInt(s.endpoint().SocketOptions().GetHeaderIncluded())), nil
		}
	}
	return nil, Unknown{sys.SOL_IP, name}
}

func (s *Socket) setIPOption(name int, v []byte) error {
	switch name {
	case sys.IP_ADD_MEMBERSHIP, sys.IP_DROP_MEMBERSHIP:
		if s.typ == sys.SOCK_STREAM {
			return sys.EPROTO // not for connection sockets (is_icsk)
		}
		return s.setMembership(name == sys.IP_ADD_MEMBERSHIP, v)
	case sys.MCAST_JOIN_GROUP, sys.MCAST_LEAVE_GROUP:
		return s.setGroupRequest(name == sys.MCAST_JOIN_GROUP, v)
	case sys.IP_MULTICAST_IF:
		return s.setMulticastIf(v)
	}
	// Linux takes a single byte for most IP options; an int otherwise.
	var i int
	switch {
	case len(v) >= intSize:
		i = int(int32(binary.LittleEndian.Uint32(v)))
	case len(v) >= 1:
		i = int(v[0])
	default:
		return sys.EINVAL
	}
	ops := s.endpoint().SocketOptions()
	switch name {
	case sys.IP_TTL:
		if i == -1 {
			i = 0 // the default
		} else if i < 1 || i > 255 {
			return sys.EINVAL
		}
		return errno(s.endpoint().SetSockOptInt(tcpip.IPv4TTLOption, i))
	case sys.IP_TOS:
		return errno(s.endpoint().SetSockOptInt(tcpip.IPv4TOSOption, i&0xff))
	case sys.IP_MULTICAST_TTL:
		if i == -1 {
			i = 1
		} else if i < 0 || i > 255 {
			return sys.EINVAL
		}
		return errno(s.endpoint().SetSockOptInt(tcpip.MulticastTTLOption, i))
	case sys.IP_MULTICAST_LOOP:
		ops.SetMulticastLoop(i != 0)
	case sys.IP_RECVTOS:
		ops.SetReceiveTOS(i != 0)
	case sys.IP_RECVTTL:
		ops.SetReceiveTTL(i != 0)
	case sys.IP_PKTINFO:
		ops.SetReceivePacketInfo(i != 0)
	case sys.IP_RECVERR: // glibc's resolver sets it on its DNS sockets
		ops.SetIPv4RecvError(i != 0)
	case sys.IP_RECVORIGDSTADDR:
		ops.SetReceiveOriginalDstAddress(i != 0)
	case sys.IP_HDRINCL:
		if s.typ != sys.SOCK_RAW {
			return sys.ENOPROTOOPT
		}
		ops.SetHeaderIncluded(i != 0)
	default:
		return Unknown{sys.SOL_IP, name}
	}
	return nil
}

// maxMemberships is net.ipv4.igmp_max_memberships.
const maxMemberships = 20

// membership is one multicast group a socket joined, as Linux keys it:
// the group and the interface it was joined on.
type membership struct {
	group tcpip.Address
	nic   tcpip.NICID
}

// setMembership joins or leaves an IPv4 multicast group (struct ip_mreq
// or struct ip_mreqn).
func (s *Socket) setMembership(join bool, v []byte) error {
	var mreq linux.InetMulticastRequestWithNIC
	switch {
	case len(v) >= len(abi.AsBytes(&mreq)):
		copy(abi.AsBytes(&mreq), v)
	case len(v) >= len(abi.AsBytes(&mreq.InetMulticastRequest)):
		copy(abi.AsBytes(&mreq.InetMulticastRequest), v)
	default:
		return sys.EINVAL
	}
	group := tcpip.AddrFrom4([4]byte(mreq.MulticastAddr))
	iface := ipAddress(mreq.InterfaceAddr[:])
	return s.joinOrLeave(join, group, tcpip.NICID(mreq.InterfaceIndex), iface)
}

// setGroupRequest joins or leaves a group with MCAST_JOIN_GROUP or
// MCAST_LEAVE_GROUP (struct group_req; ip_mcast_join_leave).
func (s *Socket) setGroupRequest(join bool, v []byte) error {
	var greq abi.GroupReq
	if len(v) < len(abi.AsBytes(&greq)) {
		return sys.EINVAL
	}
	copy(abi.AsBytes(&greq), v)
	var sin linux.SockAddrInet
	copy(abi.AsBytes(&sin), greq.Group[:])
	if sin.Family != sys.AF_INET {
		return sys.EINVAL
	}
	return s.joinOrLeave(join, tcpip.AddrFrom4([4]byte(sin.Addr)), tcpip.NICID(greq.Interface), tcpip.Address{})
}

// joinOrLeave is ip_mc_join_group and ip_mc_leave_group: the interface is
// the one named by index, else the one with address iface, else the one
// the route to the group takes (none: ENODEV). A socket joins a group on
// an interface once (EADDRINUSE), at most maxMemberships groups
// (ENOBUFS); leaving a group not joined is EADDRNOTAVAIL. Every
// protocol keeps the list, as Linux; netstack's UDP also receives.
func (s *Socket) joinOrLeave(join bool, group tcpip.Address, nic tcpip.NICID, iface tcpip.Address) error {
	if join && !header.IsV4MulticastAddress(group) {
		return sys.EINVAL
	}
	found, err := s.multicastNIC(group, nic, iface)
	if err != nil && (join || nic == 0 && iface.BitLen() == 0) {
		return err
	}
	if nic == 0 {
		nic = found
	}
	key := membership{group, nic}
	s.mu.Lock()
	defer s.mu.Unlock()
	if join {
		if s.groups[key] {
			return sys.EADDRINUSE
		}
		if len(s.groups) >= maxMemberships {
			return sys.ENOBUFS
		}
	} else if !s.groups[key] {
		return sys.EADDRNOTAVAIL
	}
	if s.protocol == sys.IPPROTO_UDP {
		o := tcpip.MembershipOption{NIC: nic, MulticastAddr: group}
		var terr tcpip.Error
		if join {
			a := tcpip.AddMembershipOption(o)
			terr = s.endpoint().SetSockOpt(&a)
		} else {
			r := tcpip.RemoveMembershipOption(o)
			terr = s.endpoint().SetSockOpt(&r)
		}
		if terr != nil {
			return errno(terr)
		}
	}
	if join {
		if s.groups == nil {
			s.groups = map[membership]bool{}
		}
		s.groups[key] = true
	} else {
		delete(s.groups, key)
	}
	return nil
}

// multicastNIC is ip_mc_find_dev: the interface of index nic, else the
// one whose address is iface, else the one the route to group takes.
func (s *Socket) multicastNIC(group tcpip.Address, nic tcpip.NICID, iface tcpip.Address) (tcpip.NICID, error) {
	ns, err := s.st.netstack()
	if err != nil {
		return 0, err
	}
	switch {
	case nic != 0:
		if !ns.HasNIC(nic) {
			return 0, sys.ENODEV
		}
		return nic, nil
	case iface.BitLen() != 0:
		if n := ns.CheckLocalAddress(0, ipv4.ProtocolNumber, iface); n != 0 {
			return n, nil
		}
		return 0, sys.ENODEV
	}
	r, terr := ns.FindRoute(0, tcpip.Address{}, group, ipv4.ProtocolNumber, false)
	if terr != nil {
		return 0, sys.ENODEV
	}
	defer r.Release()
	return r.NICID(), nil
}

func (s *Socket) getIPv6Option(name int) ([]byte, error) {
	switch name {
	case sys.IPV6_V6ONLY:
		return intBytes(boolInt(s.endpoint().SocketOptions().GetV6Only())), nil
	case sys.IPV6_UNICAST_HOPS:
		v, err := s.endpoint().GetSockOptInt(tcpip.IPv6HopLimitOption)
		if v == -1 || v == 0 {
			v = defaultTTL
		}
		return intBytes(v), errno(err)
	case sys.IPV6_TCLASS:
		v, err := s.endpoint().GetSockOptInt(tcpip.IPv6TrafficClassOption)
		return intBytes(v), errno(err)
	case sys.IPV6_RECVERR:
		return intBytes(boolInt(s.endpoint().SocketOptions().GetIPv6RecvError())), nil
	// netstack keeps one multicast hop limit and loop flag for both
	// families (its TCP answers the default hop limit, 1).
	case sys.IPV6_MULTICAST_HOPS:
		return s.getIPOption(sys.IP_MULTICAST_TTL)
	case sys.IPV6_MULTICAST_LOOP:
		return s.getIPOption(sys.IP_MULTICAST_LOOP)
	case sys.IPV6_MULTICAST_IF:
		if s.typ == sys.SOCK_STREAM {
			return intBytes(0), nil // never set (see setIPv6Option)
		}
		v, err := s.endpoint().GetSockOptInt(tcpip.IPv6MulticastInterfaceOption)
		return intBytes(v), errno(err)
	}
	if get, _ := s.ipv6Flag(name); get != nil {
		return intBytes(boolInt(get())), nil
	}
	return nil, Unknown{sys.SOL_IPV6, name}
}

func (s *Socket) setIPv6Option(name int, v []byte) error {
	if name == sys.IPV6_ADDRFORM {
		return s.addrForm(v)
	}
	if s.typ == sys.SOCK_STREAM && (name == sys.IPV6_MULTICAST_HOPS || name == sys.IPV6_MULTICAST_IF) {
		return sys.ENOPROTOOPT // do_ipv6_setsockopt: not on stream sockets, whatever the length
	}
	i, err := intOption(v)
	if err != nil {
		return err
	}
	switch name {
	case sys.IPV6_V6ONLY:
		if !s.unbound() {
			return sys.EINVAL // inet6: not after bind
		}
		s.endpoint().SocketOptions().SetV6Only(i != 0)
		return nil
	case sys.IPV6_UNICAST_HOPS:
		if i < -1 || i > 255 {
			return sys.EINVAL
		}
		return errno(s.endpoint().SetSockOptInt(tcpip.IPv6HopLimitOption, i))
	case sys.IPV6_TCLASS:
		if i < -1 || i > 255 {
			return sys.EINVAL
		}
		return errno(s.endpoint().SetSockOptInt(tcpip.IPv6TrafficClassOption, max(i, 0)))
	case sys.IPV6_RECVERR:
		s.endpoint().SocketOptions().SetIPv6RecvError(i != 0)
		return nil
	case sys.IPV6_MULTICAST_HOPS:
		// One hop limit for multicast, IPv4's IP_MULTICAST_TTL too:
		// netstack keeps one (Linux two, mc_ttl and mcast_hops).
		if i < -1 || i > 255 {
			return sys.EINVAL
		}
		if i == -1 {
			i = 1 // IPV6_DEFAULT_MCASTHOPS
		}
		return errno(s.endpoint().SetSockOptInt(tcpip.MulticastTTLOption, i))
	case sys.IPV6_MULTICAST_LOOP:
		if i != 0 && i != 1 {
			return sys.EINVAL
		}
		s.endpoint().SocketOptions().SetMulticastLoop(i == 1)
		return nil
	case sys.IPV6_MULTICAST_IF:
		// 0 clears it; an unknown index is ENODEV, another device than
		// the one bound to EINVAL (netstack checks both).
		return errno(s.endpoint().SetSockOptInt(tcpip.IPv6MulticastInterfaceOption, i))
	}
	if _, set := s.ipv6Flag(name); set != nil {
		set(i != 0)
		return nil
	}
	return Unknown{sys.SOL_IPV6, name}
}

// ipv6Flag returns the getter and setter of a boolean SOL_IPV6 option
// that asks recvmsg for a control message (nil if name is not one).
func (s *Socket) ipv6Flag(name int) (func() bool, func(bool)) {
	ops := s.endpoint().SocketOptions()
	switch name {
	case sys.IPV6_RECVPKTINFO:
		return ops.GetIPv6ReceivePacketInfo, ops.SetIPv6ReceivePacketInfo
	case sys.IPV6_RECVHOPLIMIT:
		return ops.GetReceiveHopLimit, ops.SetReceiveHopLimit
	case sys.IPV6_RECVTCLASS:
		return ops.GetReceiveTClass, ops.SetReceiveTClass
	case sys.IPV6_RECVORIGDSTADDR:
		return ops.GetReceiveOriginalDstAddress, ops.SetReceiveOriginalDstAddress
	}
	return nil, nil
}

// unbound reports whether the socket has no local port yet.
func (s *Socket) unbound() bool {
	a, err := s.endpoint().GetLocalAddress()
	return err != nil || a.Port == 0
}
