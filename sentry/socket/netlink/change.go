package netlink

import (
	"encoding/binary"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"

	"runsc-lite/abi"
	"runsc-lite/sentry/socket/inet"
)

// Requests that change the sandbox's network (rtnetlink's NEW and DEL
// kinds): addresses, routes of the main table, and an interface's IFF_UP.
// They need CAP_NET_ADMIN inside the sandbox (EPERM otherwise, for every
// kind but GET, as rtnetlink_rcv_msg); package inet applies them to the
// sandbox's netstack.

// isGet reports whether an rtnetlink message type is of the GET kind
// (RTM_GETLINK, RTM_GETADDR...): the only kind without CAP_NET_ADMIN.
func isGet(typ uint16) bool { return typ >= sys.RTM_BASE && (typ-sys.RTM_BASE)&3 == 2 }

// prefixMask is the mask of a prefix of n bits in an address of bits.
func prefixMask(bits, n int) tcpip.AddressMask {
	b := make([]byte, bits/8)
	for i := range b {
		switch {
		case n >= 8*(i+1):
			b[i] = 0xff
		case n > 8*i:
			b[i] = ^byte(0xff >> (n - 8*i))
		}
	}
	return tcpip.MaskFromBytes(b)
}

// attrs returns the rtattrs of b by type (the last of each type); a
// malformed one ends the list, as nla_parse rejects it (EINVAL).
func attrs(b []byte) (map[uint16][]byte, error) {
	m := map[uint16][]byte{}
	for len(b) >= linux.NetlinkAttrHeaderSize {
		var h linux.NetlinkAttrHeader
		copy(abi.AsBytes(&h), b)
		l := int(h.Length)
		if l < linux.NetlinkAttrHeaderSize || l > len(b) {
			return nil, sys.EINVAL
		}
		m[h.Type] = b[linux.NetlinkAttrHeaderSize:l]
		b = b[min((l+3)&^3, len(b)):]
	}
	return m, nil
}

// fixedPart splits a request's payload into its fixed struct (copied into
// v) and its attributes: EINVAL if the payload is shorter than v.
func fixedPart[T any](payload []byte, v *T) (map[uint16][]byte, error) {
	n := len(abi.AsBytes(v))
	if len(payload) < n {
		return nil, sys.EINVAL
	}
	copy(abi.AsBytes(v), payload)
	return attrs(payload[n:])
}

// familyBits is the address length in bits of AF_INET or AF_INET6 (0:
// another family).
func familyBits(fam uint8) int {
	switch fam {
	case sys.AF_INET:
		return 32
	case sys.AF_INET6:
		return 128
	}
	return 0
}

// ipAttr reads an address attribute of family fam: EINVAL if its length
// is not the family's.
func ipAttr(v []byte, fam uint8) (tcpip.Address, error) {
	if len(v)*8 != familyBits(fam) {
		return tcpip.Address{}, sys.EINVAL
	}
	return tcpip.AddrFromSlice(v), nil
}

// changeAddr is RTM_NEWADDR and RTM_DELADDR: the address is IFA_LOCAL,
// else IFA_ADDRESS (inet_rtm_to_ifa, inet6_rtm_newaddr).
func (s *Socket) changeAddr(h linux.NetlinkMessageHeader, payload []byte) error {
	var am linux.InterfaceAddrMessage
	at, err := fixedPart(payload, &am)
	if err != nil {
		return err
	}
	bits := familyBits(am.Family)
	if bits == 0 {
		return sys.EAFNOSUPPORT
	}
	if int(am.PrefixLen) > bits {
		return sys.EINVAL
	}
	v, ok := at[linux.IFA_LOCAL]
	if !ok {
		v, ok = at[linux.IFA_ADDRESS]
	}
	if !ok {
		return sys.EINVAL
	}
	a, err := ipAttr(v, am.Family)
	if err != nil {
		return err
	}
	ap := tcpip.AddressWithPrefix{Address: a, PrefixLen: int(am.PrefixLen)}
	if h.Type == linux.RTM_DELADDR {
		return s.st.RemoveAddress(int32(am.Index), ap)
	}
	return s.st.AddAddress(int32(am.Index), ap, h.Flags&linux.NLM_F_EXCL != 0)
}

// changeRoute is RTM_NEWROUTE and RTM_DELROUTE for unicast routes of the
// main table (another table or type is EOPNOTSUPP): the destination
// RTA_DST/rtm_dst_len (host bits set: EINVAL), RTA_GATEWAY, RTA_OIF,
// RTA_PRIORITY.
func (s *Socket) changeRoute(h linux.NetlinkMessageHeader, payload []byte) error {
	var rm linux.RouteMessage
	at, err := fixedPart(payload, &rm)
	if err != nil {
		return err
	}
	bits := familyBits(rm.Family)
	if bits == 0 {
		return sys.EAFNOSUPPORT
	}
	table := uint32(rm.Table)
	if v, ok := at[linux.RTA_TABLE]; ok && len(v) == 4 {
		table = binary.LittleEndian.Uint32(v)
	}
	if table != linux.RT_TABLE_UNSPEC && table != linux.RT_TABLE_MAIN {
		return sys.EOPNOTSUPP
	}
	if h.Type == linux.RTM_NEWROUTE && rm.Type != linux.RTN_UNICAST {
		return sys.EOPNOTSUPP
	}
	if int(rm.DstLen) > bits {
		return sys.EINVAL
	}
	dst := make([]byte, bits/8)
	if v, ok := at[linux.RTA_DST]; ok {
		if len(v) != len(dst) {
			return sys.EINVAL
		}
		copy(dst, v)
	}
	sub, serr := tcpip.NewSubnet(tcpip.AddrFromSlice(dst), prefixMask(bits, int(rm.DstLen)))
	if serr != nil {
		return sys.EINVAL // host bits beyond the prefix
	}
	var gw tcpip.Address
	if v, ok := at[linux.RTA_GATEWAY]; ok {
		if gw, err = ipAttr(v, rm.Family); err != nil {
			return err
		}
	}
	var nic tcpip.NICID
	if v, ok := at[linux.RTA_OIF]; ok && len(v) == 4 {
		nic = tcpip.NICID(binary.LittleEndian.Uint32(v))
	}
	if h.Type == linux.RTM_DELROUTE {
		return s.st.RemoveRoute(sub, gw, nic)
	}
	r := inet.UserRoute{Route: tcpip.Route{Destination: sub, Gateway: gw, NIC: nic}, Protocol: rm.Protocol}
	if v, ok := at[linux.RTA_PRIORITY]; ok && len(v) == 4 {
		r.Priority = binary.LittleEndian.Uint32(v)
	}
	return s.st.AddRoute(r, h.Flags&linux.NLM_F_EXCL != 0)
}

// changeLink is RTM_NEWLINK on an existing interface (by index, else
// IFLA_IFNAME; none: ENODEV): IFF_UP in ifi_change (or, with ifi_change
// 0, in ifi_flags) brings it up or down (rtnl_dev_combine_flags). The
// interface's other flags are fixed; creating an interface, and the
// other attributes but its own name and MTU, are EOPNOTSUPP.
func (s *Socket) changeLink(payload []byte) error {
	var im linux.InterfaceInfoMessage
	at, err := fixedPart(payload, &im)
	if err != nil {
		return err
	}
	ifs, err := s.st.Interfaces()
	if err != nil {
		return err
	}
	name := attrString(payload[linux.InterfaceInfoMessageSize:], linux.IFLA_IFNAME)
	var in *inet.Interface
	for i := range ifs {
		if im.Index != 0 && ifs[i].Index == im.Index || im.Index == 0 && name != "" && ifs[i].Name == name {
			in = &ifs[i]
		}
	}
	if im.Index < 0 {
		return sys.EINVAL
	}
	if in == nil {
		return sys.ENODEV
	}
	for typ, v := range at {
		switch typ {
		case linux.IFLA_IFNAME:
		case linux.IFLA_MTU:
			if len(v) != 4 || binary.LittleEndian.Uint32(v) != in.MTU {
				return sys.EOPNOTSUPP
			}
		default:
			return sys.EOPNOTSUPP
		}
	}
	change := im.Change
	if change == 0 && im.Flags != 0 {
		change = ^uint32(0)
	}
	if change&sys.IFF_UP == 0 {
		return nil
	}
	up := im.Flags&sys.IFF_UP != 0
	if up == (in.Flags&sys.IFF_UP != 0) {
		return nil
	}
	return s.st.SetUp(in.Index, up)
}

// userRoutes are RTM_NEWROUTE messages for the routes added with
// RTM_NEWROUTE, of family want (AF_UNSPEC: all).
func (s *Socket) userRoutes(h linux.NetlinkMessageHeader, want uint8, port uint32) [][]byte {
	var msgs [][]byte
	for _, u := range s.st.UserRoutes() {
		r := u.Route
		fam := uint8(sys.AF_INET)
		if id := r.Destination.ID(); id.Len() == header.IPv6AddressSize {
			fam = sys.AF_INET6
		}
		if want != sys.AF_UNSPEC && want != fam {
			continue
		}
		rm := linux.RouteMessage{Family: fam, DstLen: uint8(r.Destination.Prefix()), Table: linux.RT_TABLE_MAIN,
			Protocol: u.Protocol, Scope: linux.RT_SCOPE_UNIVERSE, Type: linux.RTN_UNICAST}
		if r.Gateway.Len() == 0 {
			rm.Scope = linux.RT_SCOPE_LINK
		}
		m := newMessage(linux.RTM_NEWROUTE, linux.NLM_F_MULTI, h.Seq, port, abi.AsBytes(&rm))
		m.u32(linux.RTA_TABLE, linux.RT_TABLE_MAIN)
		if rm.DstLen > 0 {
			id := r.Destination.ID()
			m.attr(linux.RTA_DST, id.AsSlice())
		}
		if u.Priority != 0 || fam == sys.AF_INET6 {
			prio := u.Priority
			if prio == 0 {
				prio = 1024 // IP6_RT_PRIO_USER
			}
			m.u32(linux.RTA_PRIORITY, prio)
		}
		if r.Gateway.Len() > 0 {
			m.attr(linux.RTA_GATEWAY, r.Gateway.AsSlice())
		}
		m.u32(linux.RTA_OIF, uint32(r.NIC))
		msgs = append(msgs, m.bytes())
	}
	return msgs
}
