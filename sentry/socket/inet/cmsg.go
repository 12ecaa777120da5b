package inet

import (
	"encoding/binary"
	"fmt"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"

	"runsc-lite/abi"
)

// Control messages of Internet sockets: what sendmsg's control data asks
// of one send, checked as Linux's sock_cmsg_send (TCP), ip_cmsg_send
// (IPv4 datagrams) and ip6_datagram_send_ctl (IPv6 datagrams) check it.
// Unlike a Unix socket's, SCM_RIGHTS and SCM_CREDENTIALS are ignored
// here (their descriptors are not even looked up), as Linux does.

// SendOptions is what one send asks beyond its data and address.
type SendOptions struct {
	// More is MSG_MORE: more data of the same datagram (or segment)
	// follows.
	More bool
	// Control holds the per-send TTL, hop limit and IPv6 source that
	// the control messages asked for.
	Control tcpip.SendableControlMessages
	// NetAdmin is the sender's CAP_NET_ADMIN, which netlink's
	// requests that change the network need.
	NetAdmin bool
}

// cmsgAlign rounds n up as CMSG_ALIGN does on x86-64.
func cmsgAlign(n int) int { return (n + 7) &^ 7 }

// cmsgLen is CMSG_LEN(n).
func cmsgLen(n int) uint64 { return uint64(sys.SizeofCmsghdr + n) }

// ParseControl reads sendmsg's control data b for this socket. mayMark
// is the sender's CAP_NET_RAW or CAP_NET_ADMIN (SO_MARK needs one).
// Every error is EINVAL but SO_MARK's EPERM; on a TCP socket every error
// is EINVAL (tcp_sendmsg_locked).
func (s *Socket) ParseControl(b []byte, mayMark bool) (tcpip.SendableControlMessages, error) {
	return ParseControlFor(s.fam(), s.typ, b, mayMark)
}

// ParseControlFor checks sendmsg's control data b as Linux does for a
// socket of family and typ (ParseControl); --network=host's sockets
// (hostinet) are checked with it too.
func ParseControlFor(family, typ int, b []byte, mayMark bool) (tcpip.SendableControlMessages, error) {
	var cm tcpip.SendableControlMessages
	err := parseControl(family, typ, b, mayMark, &cm)
	if err != nil && typ == sys.SOCK_STREAM {
		err = fmt.Errorf("%v: %w", err, sys.EINVAL)
	}
	return cm, err
}

func parseControl(family, typ int, b []byte, mayMark bool, cm *tcpip.SendableControlMessages) error {
	for off := 0; off+sys.SizeofCmsghdr <= len(b); {
		var h sys.Cmsghdr
		abi.Decode(b[off:], &h)
		if h.Len < sys.SizeofCmsghdr || h.Len > uint64(len(b)-off) {
			return fmt.Errorf("control message of %d bytes at %d of %d: %w", h.Len, off, len(b), sys.EINVAL)
		}
		data := b[off+sys.SizeofCmsghdr : off+int(h.Len)]
		var err error
		switch {
		case h.Level == sys.SOL_SOCKET:
			err = socketControl(h, data, mayMark)
		case typ == sys.SOCK_STREAM:
			// TCP looks only at SOL_SOCKET's.
		case h.Level == sys.SOL_IP && family == sys.AF_INET:
			err = ipControl(h, data, cm)
		case h.Level == sys.SOL_IPV6 && family == sys.AF_INET6:
			err = ipv6Control(h, data, cm)
		}
		if err != nil {
			return err
		}
		off += cmsgAlign(int(h.Len))
	}
	return nil
}

// socketControl checks a SOL_SOCKET message (__sock_cmsg_send). The mark
// and timestamping requests are checked and then have no effect: the
// sandbox's stack has no packet marks nor transmit timestamps.
func socketControl(h sys.Cmsghdr, data []byte, mayMark bool) error {
	switch h.Type {
	case sys.SO_MARK:
		if !mayMark {
			return sys.EPERM
		}
		if h.Len != cmsgLen(4) {
			return sys.EINVAL
		}
	case sys.SO_TIMESTAMPING:
		if h.Len != cmsgLen(4) {
			return sys.EINVAL
		}
	case sys.SCM_RIGHTS, sys.SCM_CREDENTIALS:
		// "semantically in SOL_UNIX": ignored.
	default:
		return fmt.Errorf("SOL_SOCKET control message %d: %w", h.Type, sys.EINVAL)
	}
	return nil
}

// ipControl reads a SOL_IP message of an IPv4 datagram socket
// (ip_cmsg_send).
func ipControl(h sys.Cmsghdr, data []byte, cm *tcpip.SendableControlMessages) error {
	switch h.Type {
	case sys.IP_TTL:
		if h.Len != cmsgLen(4) {
			return sys.EINVAL
		}
		v := int32(binary.LittleEndian.Uint32(data))
		if v < 1 || v > 255 {
			return sys.EINVAL
		}
		cm.HasTTL, cm.TTL = true, uint8(v)
	case sys.IP_TOS:
		// A per-send TOS is checked; netstack sends with the socket's.
		var v int32
		switch h.Len {
		case cmsgLen(4):
			v = int32(binary.LittleEndian.Uint32(data))
		case cmsgLen(1):
			v = int32(data[0])
		default:
			return sys.EINVAL
		}
		if v < 0 || v > 255 {
			return sys.EINVAL
		}
	case sys.IP_PKTINFO:
		var pi linux.ControlMessageIPPacketInfo
		if h.Len != cmsgLen(len(abi.AsBytes(&pi))) {
			return sys.EINVAL
		}
		// The interface and source address choose the route in
		// Linux; netstack's IPv4 send takes neither per send.
	case sys.IP_RETOPTS:
		if h.Len-sys.SizeofCmsghdr > 40 {
			return sys.EINVAL
		}
	default:
		return fmt.Errorf("SOL_IP control message %d: %w", h.Type, sys.EINVAL)
	}
	return nil
}

// ipv6Control reads a SOL_IPV6 message of an IPv6 datagram socket
// (ip6_datagram_send_ctl).
func ipv6Control(h sys.Cmsghdr, data []byte, cm *tcpip.SendableControlMessages) error {
	intValue := func(lo, hi int32) (int32, error) {
		if h.Len != cmsgLen(4) {
			return 0, sys.EINVAL
		}
		v := int32(binary.LittleEndian.Uint32(data))
		if v < lo || v > hi {
			return 0, sys.EINVAL
		}
		return v, nil
	}
	switch h.Type {
	case sys.IPV6_PKTINFO, sys.IPV6_2292PKTINFO:
		var pi linux.ControlMessageIPv6PacketInfo
		if h.Len < cmsgLen(len(abi.AsBytes(&pi))) {
			return sys.EINVAL
		}
		copy(abi.AsBytes(&pi), data)
		cm.HasIPv6PacketInfo = true
		cm.IPv6PacketInfo = tcpip.IPv6PacketInfo{Addr: ipAddress(pi.Addr[:]), NIC: tcpip.NICID(pi.NIC)}
	case sys.IPV6_HOPLIMIT, sys.IPV6_2292HOPLIMIT:
		v, err := intValue(-1, 255)
		if err != nil {
			return err
		}
		if v >= 0 {
			cm.HasHopLimit, cm.HopLimit = true, uint8(v)
		}
	case sys.IPV6_TCLASS:
		// Checked; netstack sends with the socket's traffic class.
		if _, err := intValue(-1, 255); err != nil {
			return err
		}
	case sys.IPV6_DONTFRAG:
		if _, err := intValue(0, 1); err != nil {
			return err
		}
	default:
		return fmt.Errorf("SOL_IPV6 control message %d: %w", h.Type, sys.EINVAL)
	}
	return nil
}

// ControlMessage is one control message recvmsg returns.
type ControlMessage struct {
	Level, Type int32
	Data        []byte
}

// Timestamp modes (SO_TIMESTAMP, SO_TIMESTAMPNS).
const (
	stampNone = iota
	stampMicro
	stampNano
)

// receivedControl is what recvmsg returns as control messages for a
// datagram, in the order of Linux's udp_recvmsg: the receive time
// (sock_recv_cmsgs), then the IPv4 ones (ip_cmsg_recv_offset: IP_PKTINFO,
// IP_TTL, IP_TOS, IP_ORIGDSTADDR), then the IPv6 ones
// (ip6_datagram_recv_specific_ctl: IPV6_PKTINFO, IPV6_HOPLIMIT,
// IPV6_TCLASS, IPV6_ORIGDSTADDR). Netstack fills in those the socket's
// options asked for.
func (s *Socket) receivedControl(cm tcpip.ReceivableControlMessages) []ControlMessage {
	var out []ControlMessage
	add := func(level, typ int32, data []byte) {
		out = append(out, ControlMessage{Level: level, Type: typ, Data: data})
	}
	s.mu.Lock()
	stamp := s.stamp
	s.mu.Unlock()
	if cm.HasTimestamp && stamp != stampNone {
		if stamp == stampNano {
			ts := sys.NsecToTimespec(cm.Timestamp.UnixNano())
			add(sys.SOL_SOCKET, sys.SO_TIMESTAMPNS, abi.Encode(ts))
		} else {
			tv := sys.NsecToTimeval(cm.Timestamp.UnixNano())
			add(sys.SOL_SOCKET, sys.SO_TIMESTAMP, abi.Encode(tv))
		}
	}
	if cm.HasIPPacketInfo {
		pi := linux.ControlMessageIPPacketInfo{NIC: int32(cm.PacketInfo.NIC)}
		copy(pi.LocalAddr[:], cm.PacketInfo.LocalAddr.AsSlice())
		copy(pi.DestinationAddr[:], cm.PacketInfo.DestinationAddr.AsSlice())
		add(sys.SOL_IP, sys.IP_PKTINFO, abi.Encode(pi))
	}
	if cm.HasTTL {
		add(sys.SOL_IP, sys.IP_TTL, intBytes(int(cm.TTL)))
	}
	if cm.HasTOS {
		add(sys.SOL_IP, sys.IP_TOS, []byte{cm.TOS})
	}
	if cm.HasOriginalDstAddress && cm.OriginalDstAddress.Addr.Len() == header.IPv4AddressSize {
		add(sys.SOL_IP, sys.IP_ORIGDSTADDR, encodeAddress(sys.AF_INET, cm.OriginalDstAddress))
	}
	if cm.HasIPv6PacketInfo {
		pi := linux.ControlMessageIPv6PacketInfo{NIC: uint32(cm.IPv6PacketInfo.NIC)}
		copy(pi.Addr[:], cm.IPv6PacketInfo.Addr.AsSlice())
		add(sys.SOL_IPV6, sys.IPV6_PKTINFO, abi.Encode(pi))
	}
	if cm.HasHopLimit {
		add(sys.SOL_IPV6, sys.IPV6_HOPLIMIT, intBytes(int(cm.HopLimit)))
	}
	if cm.HasTClass {
		add(sys.SOL_IPV6, sys.IPV6_TCLASS, intBytes(int(cm.TClass)))
	}
	if cm.HasOriginalDstAddress && cm.OriginalDstAddress.Addr.Len() == header.IPv6AddressSize {
		add(sys.SOL_IPV6, sys.IPV6_ORIGDSTADDR, encodeAddress(sys.AF_INET6, cm.OriginalDstAddress))
	}
	return out
}

// sockExtendedErr is struct sock_extended_err (linux/errqueue.h).
type sockExtendedErr struct {
	Errno  uint32
	Origin uint8
	Type   uint8
	Code   uint8
	_      uint8
	Info   uint32
	Data   uint32
}

// RecvError implements recvmsg(MSG_ERRQUEUE) (ip_recv_error,
// ipv6_recv_error): the oldest error that IP_RECVERR or IPV6_RECVERR
// queued: the errant datagram's payload into dst, its destination as the
// name, and an IP_RECVERR (IPV6_RECVERR) message holding the
// sock_extended_err and the offender's address; SO_ERROR is cleared.
// EAGAIN if none.
func (s *Socket) RecvError(dst []byte) (Received, error) {
	se := s.endpoint().SocketOptions().DequeueErr()
	if se == nil {
		return Received{}, sys.EAGAIN
	}
	// sock_dequeue_err_skb: the error was the socket's pending one too,
	// and is no longer.
	s.takeError()
	var payload []byte
	if se.Payload != nil {
		payload = se.Payload.AsSlice()
	}
	r := Received{N: copy(dst, payload), Len: len(payload)}
	fam, level, typ := sys.AF_INET, int32(sys.SOL_IP), int32(sys.IP_RECVERR)
	if se.NetProto == ipv6.ProtocolNumber {
		fam, level, typ = sys.AF_INET6, sys.SOL_IPV6, sys.IPV6_RECVERR
	}
	if s.fam() == sys.AF_INET6 || fam == sys.AF_INET6 {
		r.From = encodeAddress(sys.AF_INET6, se.Dst)
	} else {
		r.From = encodeAddress(sys.AF_INET, se.Dst)
	}
	e, _ := errno(se.Err).(sys.Errno)
	ee := sockExtendedErr{Errno: uint32(e)}
	if se.Cause != nil {
		ee.Origin, ee.Type, ee.Code, ee.Info = uint8(se.Cause.Origin()), se.Cause.Type(), se.Cause.Code(), se.Cause.Info()
	}
	data := append(abi.Encode(ee), encodeAddress(fam, se.Offender)...)
	r.Control = []ControlMessage{{Level: level, Type: typ, Data: data}}
	return r, nil
}
