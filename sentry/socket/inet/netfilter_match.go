package inet

import (
	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"runsc-lite/abi"
)

// The extensions of netfilter.go's tables: what each match and target
// checks when a table is set (their checkentry) and how netstack
// enforces it.

// State bits of the "state" match (XT_STATE_BIT of
// include/uapi/linux/netfilter/xt_state.h).
const (
	stateInvalid     = 1 << 0
	stateEstablished = 1 << 1 // XT_STATE_BIT(IP_CT_ESTABLISHED)
	stateNew         = 1 << 3 // XT_STATE_BIT(IP_CT_NEW)
)

// matchKinds are the matches, with Linux's names, revisions and sizes.
var matchKinds = []extKind{
	{name: "tcp", size: linux.SizeOfXTTCP, proto: sys.IPPROTO_TCP, checkData: func(d []byte, _ *iptEntry) error {
		var m linux.XTTCP
		abi.Decode(d, &m)
		if m.InverseFlags&^linux.XT_TCP_INV_MASK != 0 {
			return sys.EINVAL
		}
		return nil
	}},
	{name: "udp", size: linux.SizeOfXTUDP, proto: sys.IPPROTO_UDP, checkData: func(d []byte, _ *iptEntry) error {
		var m linux.XTUDP
		abi.Decode(d, &m)
		if m.InverseFlags&^linux.XT_UDP_INV_MASK != 0 {
			return sys.EINVAL
		}
		return nil
	}},
	{name: "state", size: abi.SizeOfXTStateInfo, unspec: true},
	// "comment" matches every packet; its payload is the comment
	// (struct xt_comment_info, XT_MAX_COMMENT_LEN bytes).
	{name: "comment", size: xtMaxCommentLen, unspec: true},
}

// xtMaxCommentLen is XT_MAX_COMMENT_LEN (xt_comment.h).
const xtMaxCommentLen = 256

// targetKinds are the targets.
var targetKinds = []extKind{
	{name: xtStandardTarget, size: 4}, // the verdict, an int
	{name: xtErrorTarget, size: linux.XT_FUNCTION_MAXNAMELEN},
	{name: "REJECT", size: linux.SizeOfIPTRejectInfo, table: "filter", hooks: hookIn | hookFwd | hookOut, checkData: checkReject},
}

// checkReject is REJECT's checkentry (reject_tg_check): no echo reply,
// and a TCP reset only for rules that match TCP.
func checkReject(d []byte, e *iptEntry) error {
	var r linux.IPTRejectInfo
	abi.Decode(d, &r)
	switch r.With {
	case linux.IPT_ICMP_ECHOREPLY:
		return sys.EINVAL
	case linux.IPT_TCP_RESET:
		if e.hdr.IP.Protocol != sys.IPPROTO_TCP || e.hdr.IP.InverseFlags&linux.IPT_INV_PROTO != 0 {
			return sys.EINVAL
		}
	}
	return nil
}

// rejectTarget is REJECT for netstack: the ICMP error or TCP reset it
// sends. netstack cannot send a protocol unreachable; such a rule, and
// one with an unknown kind (which Linux sends nothing for), drops.
//
// The error is sent from a goroutine of its own, after the packet is
// dropped: netstack's loopback delivers inline, so a SYN rejected on lo
// would otherwise reach its own TCP endpoint's error handler while the
// connect that sent it holds the endpoint's lock (netstack's
// RejectIPv4Target deadlocks there).
type rejectTarget struct {
	h    stack.RejectIPv4WithHandler
	with stack.RejectIPv4WithICMPType
}

// Action implements stack.Target.
func (r *rejectTarget) Action(pkt *stack.PacketBuffer, hook stack.Hook, _ *stack.Route, _ stack.AddressableEndpoint) (stack.RuleVerdict, int) {
	switch hook {
	case stack.Input, stack.Forward, stack.Output:
		c := pkt.Clone()
		go func() {
			defer c.DecRef()
			_ = r.h.SendRejectionError(c, r.with, hook == stack.Input) // nothing to do if it cannot be sent
		}()
	}
	return stack.RuleDrop, 0
}

func newRejectTarget(s *stack.Stack, d []byte) (stack.Target, error) {
	var r linux.IPTRejectInfo
	abi.Decode(d, &r)
	with, ok := map[uint32]stack.RejectIPv4WithICMPType{
		linux.IPT_ICMP_NET_UNREACHABLE:  stack.RejectIPv4WithICMPNetUnreachable,
		linux.IPT_ICMP_HOST_UNREACHABLE: stack.RejectIPv4WithICMPHostUnreachable,
		linux.IPT_ICMP_PORT_UNREACHABLE: stack.RejectIPv4WithICMPPortUnreachable,
		linux.IPT_ICMP_NET_PROHIBITED:   stack.RejectIPv4WithICMPNetProhibited,
		linux.IPT_ICMP_HOST_PROHIBITED:  stack.RejectIPv4WithICMPHostProhibited,
		linux.IPT_TCP_RESET:             stack.RejectIPv4WithTCPReset,
		linux.IPT_ICMP_ADMIN_PROHIBITED: stack.RejectIPv4WithICMPAdminProhibited,
	}[r.With]
	h, isHandler := s.NetworkProtocolInstance(ipv4.ProtocolNumber).(stack.RejectIPv4WithHandler)
	if !ok || !isHandler {
		return &stack.DropTarget{NetworkProtocol: header.IPv4ProtocolNumber}, nil
	}
	return &rejectTarget{h: h, with: with}, nil
}

// newMatcher is the netstack matcher of a checked match.
func newMatcher(m xtExt) stack.Matcher {
	switch m.name {
	case "tcp":
		var t linux.XTTCP
		abi.Decode(m.data, &t)
		return &tcpMatcher{t}
	case "udp":
		var u linux.XTUDP
		abi.Decode(m.data, &u)
		return &udpMatcher{u}
	case "comment":
		return commentMatcher{}
	default: // "state", the only other one
		var s abi.XTStateInfo
		abi.Decode(m.data, &s)
		return &stateMatcher{s.StateMask}
	}
}

// invert is NF_INVF: b, inverted if the entry's flag says so.
func invert(flags, flag uint8, b bool) bool { return b != (flags&flag != 0) }

// ipMatcher is the ipt_ip part of an entry (ip_packet_match).
type ipMatcher struct{ ip linux.IPTIP }

// Match implements stack.Matcher.
func (m *ipMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, in, out string) (bool, bool) {
	if pkt.NetworkProtocolNumber != header.IPv4ProtocolNumber {
		return false, false
	}
	h := header.IPv4(pkt.NetworkHeader().Slice())
	ip := &m.ip
	inv := ip.InverseFlags
	if invert(inv, linux.IPT_INV_SRCIP, !maskedEqual(h.SourceAddress().As4(), ip.SrcMask, ip.Src)) ||
		invert(inv, linux.IPT_INV_DSTIP, !maskedEqual(h.DestinationAddress().As4(), ip.DstMask, ip.Dst)) {
		return false, false
	}
	if invert(inv, linux.IPT_INV_VIA_IN, !ifaceMatch(in, ip.InputInterface, ip.InputInterfaceMask)) ||
		invert(inv, linux.IPT_INV_VIA_OUT, !ifaceMatch(out, ip.OutputInterface, ip.OutputInterfaceMask)) {
		return false, false
	}
	if ip.Protocol != 0 && invert(inv, linux.IPT_INV_PROTO, uint16(h.Protocol()) != ip.Protocol) {
		return false, false
	}
	if invert(inv, linux.IPT_INV_FRAG, ip.Flags&iptFFrag != 0 && h.FragmentOffset() == 0) {
		return false, false
	}
	return true, false
}

func maskedEqual(a [4]byte, mask, want linux.InetAddr) bool {
	for i := range a {
		if a[i]&mask[i] != want[i] {
			return false
		}
	}
	return true
}

// ifaceMatch compares an interface's name with a rule's under its mask
// (ifname_compare): "eth+" is a mask over "eth" alone.
func ifaceMatch(dev string, name, mask [linux.IFNAMSIZ]byte) bool {
	var d [linux.IFNAMSIZ]byte
	copy(d[:], dev)
	for i := range d {
		if (d[i]^name[i])&mask[i] != 0 {
			return false
		}
	}
	return true
}

// fragOffset is the packet's fragment offset in 8-byte units, as Linux's
// par->fragoff; -1 if it is not IPv4.
func fragOffset(pkt *stack.PacketBuffer) int {
	if pkt.NetworkProtocolNumber != header.IPv4ProtocolNumber {
		return -1
	}
	return int(header.IPv4(pkt.NetworkHeader().Slice()).FragmentOffset() / 8)
}

func portIn(lo, hi, port uint16, inv bool) bool { return (port >= lo && port <= hi) != inv }

// tcpMatcher is the "tcp" match (xt_tcpudp's tcp_mt).
type tcpMatcher struct{ m linux.XTTCP }

// Match implements stack.Matcher.
func (t *tcpMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	switch fragOffset(pkt) {
	case -1:
		return false, false
	case 0:
	case 1:
		return false, true // a fragment overlapping the header: dropped
	default:
		return false, false
	}
	th := header.TCP(pkt.TransportHeader().Slice())
	if pkt.TransportProtocolNumber != header.TCPProtocolNumber || len(th) < header.TCPMinimumSize {
		return false, true
	}
	m := &t.m
	if !portIn(m.SourcePortStart, m.SourcePortEnd, th.SourcePort(), m.InverseFlags&linux.XT_TCP_INV_SRCPT != 0) ||
		!portIn(m.DestinationPortStart, m.DestinationPortEnd, th.DestinationPort(), m.InverseFlags&linux.XT_TCP_INV_DSTPT != 0) {
		return false, false
	}
	if invert(m.InverseFlags, linux.XT_TCP_INV_FLAGS, uint8(th.Flags())&m.FlagMask != m.FlagCompare) {
		return false, false
	}
	if m.Option != 0 {
		found, ok := tcpOption(th, m.Option)
		if !ok {
			return false, true
		}
		if found == (m.InverseFlags&linux.XT_TCP_INV_OPTION != 0) {
			return false, false
		}
	}
	return true, false
}

// tcpOption reports whether the segment carries option kind; ok is false
// for a header shorter than its data offset says.
func tcpOption(th header.TCP, kind uint8) (found, ok bool) {
	n := int(th.DataOffset())
	if n < header.TCPMinimumSize || n > len(th) {
		return false, false
	}
	opts := th[header.TCPMinimumSize:n]
	for i := 0; i < len(opts); {
		if opts[i] == kind {
			return true, true
		}
		if opts[i] < 2 || i+1 >= len(opts) || opts[i+1] == 0 {
			i++
		} else {
			i += int(opts[i+1])
		}
	}
	return false, true
}

// udpMatcher is the "udp" match (udp_mt).
type udpMatcher struct{ m linux.XTUDP }

// Match implements stack.Matcher.
func (u *udpMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	if fragOffset(pkt) != 0 {
		return false, false
	}
	uh := header.UDP(pkt.TransportHeader().Slice())
	if pkt.TransportProtocolNumber != header.UDPProtocolNumber || len(uh) < header.UDPMinimumSize {
		return false, true
	}
	m := &u.m
	return portIn(m.SourcePortStart, m.SourcePortEnd, uh.SourcePort(), m.InverseFlags&linux.XT_UDP_INV_SRCPT != 0) &&
		portIn(m.DestinationPortStart, m.DestinationPortEnd, uh.DestinationPort(), m.InverseFlags&linux.XT_UDP_INV_DSTPT != 0), false
}

// stateMatcher is the "state" match: the packet's connection tracking
// state from netstack's conntrack (NEW, ESTABLISHED either way, INVALID
// for a packet it does not track; netstack has no RELATED).
type stateMatcher struct{ mask uint32 }

// Match implements stack.Matcher.
func (s *stateMatcher) Match(_ stack.Hook, pkt *stack.PacketBuffer, _, _ string) (bool, bool) {
	bit := uint32(stateInvalid)
	var info stack.ConnTrackInfo
	if pkt.FillConnTrackInfo(stack.ConnTrackInfoOpts{FillState: true, UseReplyDir: pkt.IsReplyPacket()}, &info) {
		switch info.State {
		case stack.ConnTrackStateNew:
			bit = stateNew
		case stack.ConnTrackStateEstablished, stack.ConnTrackStateEstablishedReply:
			bit = stateEstablished
		}
	}
	return s.mask&bit != 0, false
}

// commentMatcher is the "comment" match: a note for the rule's reader.
type commentMatcher struct{}

// Match implements stack.Matcher.
func (commentMatcher) Match(stack.Hook, *stack.PacketBuffer, string, string) (bool, bool) {
	return true, false
}
