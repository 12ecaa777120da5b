package inet

import (
	"encoding/binary"
	"math"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"

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
	case sys.SOL_IP:
		// An AF_INET6 socket takes the IPv4 options too (ipv6_getsockopt).
		return s.getIPOption(name)
	case sys.SOL_IPV6:
		if s.family == sys.AF_INET6 {
			return s.getIPv6Option(name)
		}
	}
	if s.family == sys.AF_INET {
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
	case sys.SOL_IP:
		return s.setIPOption(name, v)
	case sys.SOL_IPV6:
		if s.family == sys.AF_INET6 {
			return s.setIPv6Option(name, v)
		}
	}
	return sys.ENOPROTOOPT
}

// intOption reads an int option: EINVAL if shorter than an int.
func intOption(v []byte) (int, error) {
	if len(v) < intSize {
		return 0, sys.EINVAL
	}
	return int(int32(binary.LittleEndian.Uint32(v))), nil
}

func (s *Socket) getSocketOption(name int) ([]byte, error) {
	ops := s.ep.SocketOptions()
	switch name {
	case sys.SO_TYPE:
		return intBytes(s.typ), nil
	case sys.SO_DOMAIN:
		return intBytes(s.family), nil
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
		return intBytes(boolInt(ops.GetOutOfBandInline())), nil
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
	case sys.SO_RCVTIMEO, sys.SO_SNDTIMEO:
		return s.GetTimeout(name), nil
	}
	return nil, Unknown{sys.SOL_SOCKET, name}
}

func (s *Socket) setSocketOption(name int, v []byte) error {
	ops := s.ep.SocketOptions()
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
	case sys.SO_REUSEADDR:
		ops.SetReuseAddress(on)
	case sys.SO_REUSEPORT:
		ops.SetReusePort(on)
	case sys.SO_KEEPALIVE:
		ops.SetKeepAlive(on)
	case sys.SO_BROADCAST:
		ops.SetBroadcast(on)
	case sys.SO_OOBINLINE:
		ops.SetOutOfBandInline(on)
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
	ops := s.ep.SocketOptions()
	switch name {
	case sys.TCP_NODELAY:
		return intBytes(boolInt(!ops.GetDelayOption())), nil
	case sys.TCP_CORK:
		return intBytes(boolInt(ops.GetCorkOption())), nil
	case sys.TCP_QUICKACK:
		return intBytes(boolInt(ops.GetQuickAck())), nil
	case sys.TCP_MAXSEG:
		v, err := s.ep.GetSockOptInt(tcpip.MaxSegOption)
		return intBytes(v), errno(err)
	case sys.TCP_KEEPIDLE:
		var v tcpip.KeepaliveIdleOption
		err := s.ep.GetSockOpt(&v)
		return intBytes(int(time.Duration(v) / time.Second)), errno(err)
	case sys.TCP_KEEPINTVL:
		var v tcpip.KeepaliveIntervalOption
		err := s.ep.GetSockOpt(&v)
		return intBytes(int(time.Duration(v) / time.Second)), errno(err)
	case sys.TCP_KEEPCNT:
		v, err := s.ep.GetSockOptInt(tcpip.KeepaliveCountOption)
		return intBytes(v), errno(err)
	case sys.TCP_INFO:
		var v tcpip.TCPInfoOption
		if err := s.ep.GetSockOpt(&v); err != nil {
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
	ops := s.ep.SocketOptions()
	switch name {
	case sys.TCP_NODELAY:
		ops.SetDelayOption(i == 0)
	case sys.TCP_CORK:
		ops.SetCorkOption(i != 0)
	case sys.TCP_QUICKACK:
		ops.SetQuickAck(i != 0)
	case sys.TCP_MAXSEG:
		return errno(s.ep.SetSockOptInt(tcpip.MaxSegOption, i))
	case sys.TCP_KEEPIDLE:
		if i < 1 || i > maxKeepIdle {
			return sys.EINVAL
		}
		o := tcpip.KeepaliveIdleOption(time.Duration(i) * time.Second)
		return errno(s.ep.SetSockOpt(&o))
	case sys.TCP_KEEPINTVL:
		if i < 1 || i > maxKeepIntvl {
			return sys.EINVAL
		}
		o := tcpip.KeepaliveIntervalOption(time.Duration(i) * time.Second)
		return errno(s.ep.SetSockOpt(&o))
	case sys.TCP_KEEPCNT:
		if i < 1 || i > maxKeepCnt {
			return sys.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.KeepaliveCountOption, i))
	default:
		return Unknown{sys.SOL_TCP, name}
	}
	return nil
}

func (s *Socket) getIPOption(name int) ([]byte, error) {
	switch name {
	case sys.IP_TTL:
		v, err := s.ep.GetSockOptInt(tcpip.IPv4TTLOption)
		if v == 0 {
			v = defaultTTL
		}
		return intBytes(v), errno(err)
	case sys.IP_TOS:
		v, err := s.ep.GetSockOptInt(tcpip.IPv4TOSOption)
		return intBytes(v), errno(err)
	case sys.IP_MULTICAST_TTL:
		v, err := s.ep.GetSockOptInt(tcpip.MulticastTTLOption)
		return intBytes(v), errno(err)
	case sys.IP_MULTICAST_LOOP:
		return intBytes(boolInt(s.ep.SocketOptions().GetMulticastLoop())), nil
	case sys.IP_RECVTOS:
		return intBytes(boolInt(s.ep.SocketOptions().GetReceiveTOS())), nil
	case sys.IP_RECVTTL:
		return intBytes(boolInt(s.ep.SocketOptions().GetReceiveTTL())), nil
	case sys.IP_PKTINFO:
		return intBytes(boolInt(s.ep.SocketOptions().GetReceivePacketInfo())), nil
	case sys.IP_RECVERR:
		return intBytes(boolInt(s.ep.SocketOptions().GetIPv4RecvError())), nil
	}
	return nil, Unknown{sys.SOL_IP, name}
}

func (s *Socket) setIPOption(name int, v []byte) error {
	switch name {
	case sys.IP_ADD_MEMBERSHIP, sys.IP_DROP_MEMBERSHIP:
		return s.setMembership(name == sys.IP_ADD_MEMBERSHIP, v)
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
	ops := s.ep.SocketOptions()
	switch name {
	case sys.IP_TTL:
		if i == -1 {
			i = 0 // the default
		} else if i < 1 || i > 255 {
			return sys.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.IPv4TTLOption, i))
	case sys.IP_TOS:
		return errno(s.ep.SetSockOptInt(tcpip.IPv4TOSOption, i&0xff))
	case sys.IP_MULTICAST_TTL:
		if i == -1 {
			i = 1
		} else if i < 0 || i > 255 {
			return sys.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.MulticastTTLOption, i))
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
	default:
		return Unknown{sys.SOL_IP, name}
	}
	return nil
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
	o := tcpip.MembershipOption{
		NIC:           tcpip.NICID(mreq.InterfaceIndex),
		InterfaceAddr: ipAddress(mreq.InterfaceAddr[:]),
		MulticastAddr: tcpip.AddrFrom4([4]byte(mreq.MulticastAddr)),
	}
	if join {
		a := tcpip.AddMembershipOption(o)
		return errno(s.ep.SetSockOpt(&a))
	}
	r := tcpip.RemoveMembershipOption(o)
	return errno(s.ep.SetSockOpt(&r))
}

func (s *Socket) getIPv6Option(name int) ([]byte, error) {
	switch name {
	case sys.IPV6_V6ONLY:
		return intBytes(boolInt(s.ep.SocketOptions().GetV6Only())), nil
	case sys.IPV6_UNICAST_HOPS:
		v, err := s.ep.GetSockOptInt(tcpip.IPv6HopLimitOption)
		if v == -1 || v == 0 {
			v = defaultTTL
		}
		return intBytes(v), errno(err)
	case sys.IPV6_TCLASS:
		v, err := s.ep.GetSockOptInt(tcpip.IPv6TrafficClassOption)
		return intBytes(v), errno(err)
	case sys.IPV6_RECVERR:
		return intBytes(boolInt(s.ep.SocketOptions().GetIPv6RecvError())), nil
	}
	return nil, Unknown{sys.SOL_IPV6, name}
}

func (s *Socket) setIPv6Option(name int, v []byte) error {
	i, err := intOption(v)
	if err != nil {
		return err
	}
	switch name {
	case sys.IPV6_V6ONLY:
		if !s.unbound() {
			return sys.EINVAL // inet6: not after bind
		}
		s.ep.SocketOptions().SetV6Only(i != 0)
		return nil
	case sys.IPV6_UNICAST_HOPS:
		if i < -1 || i > 255 {
			return sys.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.IPv6HopLimitOption, i))
	case sys.IPV6_TCLASS:
		if i < -1 || i > 255 {
			return sys.EINVAL
		}
		return errno(s.ep.SetSockOptInt(tcpip.IPv6TrafficClassOption, max(i, 0)))
	case sys.IPV6_RECVERR:
		s.ep.SocketOptions().SetIPv6RecvError(i != 0)
		return nil
	}
	return Unknown{sys.SOL_IPV6, name}
}

// unbound reports whether the socket has no local port yet.
func (s *Socket) unbound() bool {
	a, err := s.ep.GetLocalAddress()
	return err != nil || a.Port == 0
}
