package netlink

import (
	"bytes"
	"encoding/binary"
	"errors"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"runsc-lite/abi"
	"runsc-lite/sentry/socket/inet"
)

// message builds one netlink message: a header, a fixed part and
// attributes, each padded to 4 bytes.
type message struct {
	b []byte
}

func newMessage(typ, flags uint16, seq, port uint32, fixed []byte) *message {
	h := linux.NetlinkMessageHeader{Type: typ, Flags: flags, Seq: seq, PortID: port}
	m := &message{b: append([]byte(nil), abi.AsBytes(&h)...)}
	m.b = append(m.b, fixed...)
	m.pad()
	return m
}

func (m *message) pad() {
	for len(m.b)%linux.NLMSG_ALIGNTO != 0 {
		m.b = append(m.b, 0)
	}
}

// attr appends an attribute (struct rtattr and its value).
func (m *message) attr(typ uint16, v []byte) {
	h := linux.NetlinkAttrHeader{Length: uint16(linux.NetlinkAttrHeaderSize + len(v)), Type: typ}
	m.b = append(m.b, abi.AsBytes(&h)...)
	m.b = append(m.b, v...)
	m.pad()
}

func (m *message) u32(typ uint16, v uint32) { m.attr(typ, binary.LittleEndian.AppendUint32(nil, v)) }

func (m *message) str(typ uint16, v string) { m.attr(typ, append([]byte(v), 0)) }

// bytes returns the message with its length set.
func (m *message) bytes() []byte {
	binary.LittleEndian.PutUint32(m.b, uint32(len(m.b)))
	return m.b
}

// ack is an NLMSG_ERROR message answering h with errno e (0: an
// acknowledgement), carrying h as nlmsgerr does (without its payload).
func ack(h linux.NetlinkMessageHeader, port uint32, e sys.Errno) []byte {
	em := linux.NetlinkErrorMessage{Error: -int32(e), Header: h}
	return newMessage(linux.NLMSG_ERROR, 0, h.Seq, port, abi.AsBytes(&em)).bytes()
}

// errnoOf is the errno an error answers a request with: EINVAL unless
// it is one.
func errnoOf(err error) sys.Errno {
	var e sys.Errno
	if !errors.As(err, &e) {
		return sys.EINVAL
	}
	return e
}

// answer handles one request and returns the datagrams of its replies.
func (s *Socket) answer(h linux.NetlinkMessageHeader, payload []byte, port uint32, netAdmin bool) [][]byte {
	if h.Flags&linux.NLM_F_REQUEST == 0 || h.Type < linux.NLMSG_MIN_TYPE {
		return nil // not a request, or a control message: ignored
	}
	if s.protocol == linux.NETLINK_SOCK_DIAG {
		return s.answerDiag(h, payload, port)
	}
	if !isGet(h.Type) && !netAdmin {
		return [][]byte{ack(h, port, sys.EPERM)}
	}
	dump := h.Flags&linux.NLM_F_DUMP == linux.NLM_F_DUMP
	var msgs [][]byte
	var err error
	switch h.Type {
	case linux.RTM_NEWADDR, linux.RTM_DELADDR:
		err, dump = s.changeAddr(h, payload), false
	case linux.RTM_NEWROUTE, linux.RTM_DELROUTE:
		err, dump = s.changeRoute(h, payload), false
	case linux.RTM_NEWLINK:
		err, dump = s.changeLink(payload), false
	case linux.RTM_GETLINK:
		msgs, err = s.links(h, payload, port, dump)
	case linux.RTM_GETADDR:
		msgs, err = s.addrs(h, family(payload), port)
		dump = true // rtnetlink: RTM_GETADDR only dumps
	case linux.RTM_GETROUTE:
		msgs, err = s.routes(h, family(payload), port)
		dump = true
	default:
		// Changes, and queries the sandbox has nothing for.
		return [][]byte{ack(h, port, sys.EOPNOTSUPP)}
	}
	if err != nil {
		return [][]byte{ack(h, port, errnoOf(err))}
	}
	if !dump {
		if h.Flags&linux.NLM_F_ACK != 0 {
			msgs = append(msgs, ack(h, port, 0))
		}
		return msgs
	}
	return pack(append(msgs, doneMessage(h, port, 0)))
}

// doneMessage is the NLMSG_DONE that ends a dump answering h, with the
// dump's errno (netlink_dump's dump_done_errno, negated; 0 if it
// succeeded).
func doneMessage(h linux.NetlinkMessageHeader, port uint32, e sys.Errno) []byte {
	errno := binary.LittleEndian.AppendUint32(nil, uint32(-int32(e)))
	return newMessage(linux.NLMSG_DONE, linux.NLM_F_MULTI, h.Seq, port, errno).bytes()
}

// family is the address family a request asks for (the first byte of
// its rtgenmsg, ifaddrmsg or rtmsg): AF_UNSPEC for all.
func family(payload []byte) uint8 {
	if len(payload) == 0 {
		return sys.AF_UNSPEC
	}
	return payload[0]
}

// pack puts a dump's messages into datagrams of at most maxDatagram
// bytes each, as netlink_dump fills its skbs.
func pack(msgs [][]byte) [][]byte {
	var out [][]byte
	var cur []byte
	for _, m := range msgs {
		if len(cur) > 0 && len(cur)+len(m) > maxDatagram {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, m...)
	}
	return append(out, cur)
}

// links answers RTM_GETLINK: every interface (a dump), or the one whose
// index or name the request's ifinfomsg gives (ENODEV if none).
func (s *Socket) links(h linux.NetlinkMessageHeader, payload []byte, port uint32, dump bool) ([][]byte, error) {
	ifs, err := s.st.Interfaces()
	if err != nil {
		return nil, err
	}
	var want linux.InterfaceInfoMessage
	copy(abi.AsBytes(&want), payload)
	wantName := ""
	if n := len(abi.AsBytes(&want)); !dump && len(payload) > n {
		wantName = attrString(payload[n:], linux.IFLA_IFNAME)
	}
	var msgs [][]byte
	flags := uint16(0)
	if dump {
		flags = linux.NLM_F_MULTI
	}
	for _, in := range ifs {
		if !dump && ((want.Index != 0 && want.Index != in.Index) || (wantName != "" && wantName != in.Name)) {
			continue
		}
		info := linux.InterfaceInfoMessage{Family: sys.AF_UNSPEC, Type: in.Type, Index: in.Index, Flags: in.Flags}
		m := newMessage(linux.RTM_NEWLINK, flags, h.Seq, port, abi.AsBytes(&info))
		m.str(linux.IFLA_IFNAME, in.Name)
		m.u32(linux.IFLA_TXQLEN, 1000)
		m.u32(linux.IFLA_GROUP, 0)
		m.attr(linux.IFLA_OPERSTATE, []byte{operState(in)})
		m.attr(linux.IFLA_LINKMODE, []byte{0})
		m.u32(linux.IFLA_MTU, in.MTU)
		m.str(linux.IFLA_QDISC, "noqueue")
		m.attr(linux.IFLA_ADDRESS, in.MAC[:])
		broadcast := make([]byte, 6)
		if in.Flags&sys.IFF_BROADCAST != 0 {
			broadcast = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
		}
		m.attr(linux.IFLA_BROADCAST, broadcast)
		msgs = append(msgs, m.bytes())
	}
	if !dump && len(msgs) == 0 {
		return nil, sys.ENODEV
	}
	return msgs, nil
}

// operState is IFLA_OPERSTATE: a running lo is IF_OPER_UNKNOWN (0), as
// in Linux; another running interface IF_OPER_UP (6); a down one
// IF_OPER_DOWN (2).
func operState(in inet.Interface) byte {
	switch {
	case in.Flags&sys.IFF_RUNNING == 0:
		return 2
	case in.Flags&sys.IFF_LOOPBACK != 0:
		return 0
	}
	return 6
}

// eachAddress builds a message for every address of family want
// (AF_UNSPEC: all) of every interface.
func (s *Socket) eachAddress(want uint8, build func(in inet.Interface, a tcpip.AddressWithPrefix, fam uint8) []byte) ([][]byte, error) {
	ifs, err := s.st.Interfaces()
	if err != nil {
		return nil, err
	}
	var msgs [][]byte
	for _, in := range ifs {
		for _, a := range in.Addrs {
			fam := uint8(sys.AF_INET)
			if a.Address.Len() == header.IPv6AddressSize {
				fam = sys.AF_INET6
			}
			if want == sys.AF_UNSPEC || want == fam {
				msgs = append(msgs, build(in, a, fam))
			}
		}
	}
	return msgs, nil
}

// addrs answers RTM_GETADDR with every address of every interface.
func (s *Socket) addrs(h linux.NetlinkMessageHeader, want uint8, port uint32) ([][]byte, error) {
	return s.eachAddress(want, func(in inet.Interface, a tcpip.AddressWithPrefix, fam uint8) []byte {
		ip := a.Address.AsSlice()
		// ip's default scope: host for a loopback address.
		scope := uint8(linux.RT_SCOPE_UNIVERSE)
		switch {
		case header.IsV4LoopbackAddress(a.Address) || header.IsV6LoopbackAddress(a.Address):
			scope = linux.RT_SCOPE_HOST
		case header.IsV6LinkLocalUnicastAddress(a.Address):
			scope = linux.RT_SCOPE_LINK
		}
		am := linux.InterfaceAddrMessage{Family: fam, PrefixLen: uint8(a.PrefixLen), Flags: sys.IFA_F_PERMANENT, Scope: scope, Index: uint32(in.Index)}
		m := newMessage(linux.RTM_NEWADDR, linux.NLM_F_MULTI, h.Seq, port, abi.AsBytes(&am))
		m.attr(linux.IFA_ADDRESS, ip)
		if fam == sys.AF_INET {
			m.attr(linux.IFA_LOCAL, ip)
			m.str(linux.IFA_LABEL, in.Name)
		}
		m.u32(linux.IFA_FLAGS, sys.IFA_F_PERMANENT)
		// struct ifa_cacheinfo {ifa_prefered, ifa_valid, cstamp, tstamp}:
		// preferred and valid forever.
		cache := [4]uint32{^uint32(0), ^uint32(0), 0, 0}
		m.attr(linux.IFA_CACHEINFO, abi.SliceBytes(cache[:]))
		return m.bytes()
	})
}

// routes answers RTM_GETROUTE with the sandbox's routes, in the tables
// Linux puts them: a loopback interface's IPv4 subnet in the local table
// (so `ip route` shows none), ::1 in the main one.
func (s *Socket) routes(h linux.NetlinkMessageHeader, want uint8, port uint32) ([][]byte, error) {
	msgs, err := s.eachAddress(want, func(in inet.Interface, a tcpip.AddressWithPrefix, fam uint8) []byte {
		sub := a.Subnet()
		id := sub.ID()
		ip := id.AsSlice()
		rm := linux.RouteMessage{Family: fam, DstLen: uint8(a.PrefixLen), Protocol: linux.RTPROT_KERNEL, Type: linux.RTN_UNICAST}
		table := uint32(linux.RT_TABLE_MAIN)
		switch {
		case fam == sys.AF_INET && in.Flags&sys.IFF_LOOPBACK != 0:
			rm.Scope, rm.Type = linux.RT_SCOPE_HOST, linux.RTN_LOCAL
			table = linux.RT_TABLE_LOCAL
		case fam == sys.AF_INET:
			rm.Scope = linux.RT_SCOPE_LINK // the subnet on the link
		}
		rm.Table = uint8(table)
		m := newMessage(linux.RTM_NEWROUTE, linux.NLM_F_MULTI, h.Seq, port, abi.AsBytes(&rm))
		m.u32(linux.RTA_TABLE, table)
		m.attr(linux.RTA_DST, ip)
		if rm.Family == sys.AF_INET {
			m.attr(linux.RTA_PREFSRC, a.Address.AsSlice())
		} else {
			m.u32(linux.RTA_PRIORITY, 256)
		}
		m.u32(linux.RTA_OIF, uint32(in.Index))
		return m.bytes()
	})
	if err != nil {
		return nil, err
	}
	msgs = append(msgs, s.userRoutes(h, want, port)...)
	// The default routes (eth0's, --network=sandbox) where Linux lists
	// them: IPv4's first, IPv6's last, with the metric Linux gives a
	// route added without one.
	ifs, err := s.st.Interfaces()
	if err != nil {
		return nil, err
	}
	var first, last [][]byte
	for _, in := range ifs {
		for _, gw := range []struct {
			fam  uint8
			addr tcpip.Address
		}{{sys.AF_INET, in.Gateway}, {sys.AF_INET6, in.Gateway6}} {
			if gw.addr.Len() == 0 || (want != sys.AF_UNSPEC && want != gw.fam) {
				continue
			}
			rm := linux.RouteMessage{Family: gw.fam, Table: linux.RT_TABLE_MAIN, Protocol: linux.RTPROT_BOOT, Type: linux.RTN_UNICAST}
			m := newMessage(linux.RTM_NEWROUTE, linux.NLM_F_MULTI, h.Seq, port, abi.AsBytes(&rm))
			m.u32(linux.RTA_TABLE, linux.RT_TABLE_MAIN)
			if gw.fam == sys.AF_INET6 {
				m.u32(linux.RTA_PRIORITY, 1024)
			}
			m.attr(linux.RTA_GATEWAY, gw.addr.AsSlice())
			m.u32(linux.RTA_OIF, uint32(in.Index))
			if gw.fam == sys.AF_INET {
				first = append(first, m.bytes())
			} else {
				last = append(last, m.bytes())
			}
		}
	}
	return append(append(first, msgs...), last...), nil
}

// GetOption implements getsockopt(2): SO_TYPE, SO_DOMAIN, SO_PROTOCOL,
// the buffer sizes and timeouts; SOL_NETLINK options read as off.
func (s *Socket) GetOption(level, name, n int) ([]byte, error) {
	i := func(v int) []byte { return binary.LittleEndian.AppendUint32(nil, uint32(v)) }
	s.mu.Lock()
	defer s.mu.Unlock()
	switch level {
	case sys.SOL_SOCKET:
		switch name {
		case sys.SO_TYPE:
			return i(s.typ), nil
		case sys.SO_DOMAIN:
			return i(sys.AF_NETLINK), nil
		case sys.SO_PROTOCOL:
			return i(s.protocol), nil
		case sys.SO_RCVBUF:
			return i(s.rcvbuf), nil
		case sys.SO_SNDBUF:
			return i(s.sndbuf), nil
		case sys.SO_ERROR:
			return i(0), nil
		}
	case linux.SOL_NETLINK:
		return i(0), nil
	}
	return nil, inet.Unknown{Level: level, Name: name}
}

// SetOption implements setsockopt(2): buffer sizes and timeouts are
// kept; SOL_NETLINK options (memberships, extended acknowledgements,
// strict checking) are accepted, having no effect on what is answered.
func (s *Socket) SetOption(level, name int, v []byte) error {
	if inet.IsTimeoutOption(level, name) {
		return s.SetTimeout(name, v)
	}
	if len(v) < 4 {
		return sys.EINVAL
	}
	val := int(int32(binary.LittleEndian.Uint32(v)))
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case level == sys.SOL_SOCKET && (name == sys.SO_RCVBUF || name == sys.SO_RCVBUFFORCE):
		s.rcvbuf = max(2*val, 2304)
	case level == sys.SOL_SOCKET && (name == sys.SO_SNDBUF || name == sys.SO_SNDBUFFORCE):
		s.sndbuf = max(2*val, 4608)
	case level == sys.SOL_SOCKET && name == sys.SO_PASSCRED:
	case level == linux.SOL_NETLINK:
	default:
		return inet.Unknown{Level: level, Name: name}
	}
	return nil
}

// attrString returns the string attribute typ among the rtattrs of b
// ("" if absent or malformed): a request's IFLA_IFNAME.
func attrString(b []byte, typ uint16) string {
	for len(b) >= linux.NetlinkAttrHeaderSize {
		var h linux.NetlinkAttrHeader
		copy(abi.AsBytes(&h), b)
		l := int(h.Length)
		if l < linux.NetlinkAttrHeaderSize || l > len(b) {
			return ""
		}
		if h.Type == typ {
			v := b[linux.NetlinkAttrHeaderSize:l]
			if i := bytes.IndexByte(v, 0); i >= 0 {
				v = v[:i]
			}
			return string(v)
		}
		b = b[min((l+3)&^3, len(b)):]
	}
	return ""
}
