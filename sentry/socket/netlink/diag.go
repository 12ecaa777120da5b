package netlink

import (
	"encoding/binary"
	"errors"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"

	"runsc-lite/abi"
	"runsc-lite/sentry/socket/inet"
)

// NETLINK_SOCK_DIAG (sock_diag(7)), what ss(8) asks before it falls
// back to /proc/net: SOCK_DIAG_BY_FAMILY requests for AF_INET and
// AF_INET6 TCP and UDP sockets, answered from the same list of the
// sandbox's sockets as /proc/net/tcp and udp (inet.SockLister), so that
// both agree, and for AF_UNIX ones (diagunix.go) as /proc/net/unix.
// Inet messages carry no attributes (INET_DIAG_INFO, MEMINFO and the
// like are left out), and what the sandbox cannot answer (bytecode
// filters, other families and protocols) is ENOENT, as Linux answers a
// family or protocol without a handler.

// The old inet_diag request types (<linux/inet_diag.h>), of struct
// inet_diag_req.
const (
	tcpDiagGetSock  = 18 // TCPDIAG_GETSOCK
	dccpDiagGetSock = 19 // DCCPDIAG_GETSOCK
)

// answerDiag handles one sock_diag request, as sock_diag_rcv_msg: the
// old inet_diag requests have no handler here (ENOENT), SOCK_DESTROY is
// not supported (EOPNOTSUPP), other types are EINVAL.
func (s *Socket) answerDiag(h linux.NetlinkMessageHeader, payload []byte, port uint32) [][]byte {
	switch h.Type {
	case sys.SOCK_DIAG_BY_FAMILY:
	case tcpDiagGetSock, dccpDiagGetSock:
		return [][]byte{ack(h, port, sys.ENOENT)}
	case sys.SOCK_DESTROY:
		return [][]byte{ack(h, port, sys.EOPNOTSUPP)}
	default:
		return [][]byte{ack(h, port, sys.EINVAL)}
	}
	msgs, err := s.diagByFamily(h, payload, port)
	var failed dumpFailed
	switch {
	case errors.As(err, &failed):
		msgs = nil
	case err != nil:
		return [][]byte{ack(h, port, errnoOf(err))}
	}
	if h.Flags&linux.NLM_F_DUMP != linux.NLM_F_DUMP {
		if h.Flags&linux.NLM_F_ACK != 0 {
			msgs = append(msgs, ack(h, port, 0))
		}
		return msgs
	}
	return pack(append(msgs, doneMessage(h, port, failed.errno)))
}

// dumpFailed is an error a dump meets once started, which Linux reports
// in its NLMSG_DONE (netlink_dump's dump_done_errno), not as an
// NLMSG_ERROR: inet_diag's missing protocol handler.
type dumpFailed struct{ errno sys.Errno }

func (d dumpFailed) Error() string { return "sock_diag dump: " + d.errno.Error() }

// diagByFamily answers SOCK_DIAG_BY_FAMILY by the request's family (its
// struct sock_diag_req's first byte), as __sock_diag_cmd: EINVAL for a
// short request or a family past AF_MAX, ENOENT for one without a
// handler.
func (s *Socket) diagByFamily(h linux.NetlinkMessageHeader, payload []byte, port uint32) ([][]byte, error) {
	if len(payload) < 2 { // struct sock_diag_req
		return nil, sys.EINVAL
	}
	switch fam := payload[0]; {
	case fam >= sys.AF_MAX:
		return nil, sys.EINVAL
	case fam == sys.AF_INET || fam == sys.AF_INET6:
		return s.inetDiag(h, payload, port)
	case fam == sys.AF_UNIX:
		return s.unixDiag(h, payload, port)
	}
	return nil, sys.ENOENT
}

// inetDiag answers an inet_diag_req_v2 (inet_diag_handler_cmd): a dump
// of the TCP or UDP sockets of its family in the states it asks for
// (ENOENT for a bytecode filter, in NLMSG_DONE for another protocol),
// or, without NLM_F_DUMP, the one socket its inet_diag_sockid names
// (ENOENT if none).
func (s *Socket) inetDiag(h linux.NetlinkMessageHeader, payload []byte, port uint32) ([][]byte, error) {
	var req abi.InetDiagReqV2
	as, err := fixedPart(payload, &req)
	if err != nil {
		return nil, err
	}
	if _, ok := as[abi.INET_DIAG_REQ_BYTECODE]; ok {
		return nil, sys.ENOENT // no filter programs here
	}
	dump := h.Flags&linux.NLM_F_DUMP == linux.NLM_F_DUMP
	typ, ok := diagType(req.Protocol)
	switch {
	case !ok && dump:
		return nil, dumpFailed{sys.ENOENT} // found by inet_diag_dump, once started
	case !ok:
		return nil, sys.ENOENT
	}
	flags := uint16(0)
	if dump {
		flags = linux.NLM_F_MULTI
	}
	var msgs [][]byte
	for _, e := range s.socks.SockEntries(int(req.Family), typ) {
		if dump && !dumpMatches(req, e) || !dump && !exactMatches(req, e) {
			continue
		}
		m := inetDiagMsg(req.Family, typ, e)
		msgs = append(msgs, newMessage(sys.SOCK_DIAG_BY_FAMILY, flags, h.Seq, port, abi.AsBytes(&m)).bytes())
		if !dump {
			return msgs, nil
		}
	}
	if !dump {
		return nil, sys.ENOENT
	}
	return msgs, nil
}

// diagType is the socket type of the protocol an inet_diag request asks
// for: false for one without a handler here.
func diagType(proto uint8) (int, bool) {
	switch proto {
	case sys.IPPROTO_TCP:
		return sys.SOCK_STREAM, true
	case sys.IPPROTO_UDP:
		return sys.SOCK_DGRAM, true
	}
	return 0, false
}

// dumpMatches reports whether a dump lists e: its state is among the
// request's, its ports those the request gives (0: any), as
// inet_diag_dump_icsk and udp_dump filter. Linux dumps no listener when
// the request names a destination port.
func dumpMatches(req abi.InetDiagReqV2, e inet.SockEntry) bool {
	sport, dport := binary.BigEndian.Uint16(req.ID.SPort[:]), binary.BigEndian.Uint16(req.ID.DPort[:])
	switch {
	case req.States&(1<<e.State) == 0:
		return false
	case sport != 0 && sport != e.LocalPort:
		return false
	case dport != 0 && (dport != e.RemotePort || e.State == linux.TCP_LISTEN):
		return false
	}
	return true
}

// exactMatches reports whether e is the socket an exact request names:
// its ports and addresses (inet_diag_find_one_icsk's lookup), and its
// cookie unless the request gives none (INET_DIAG_NOCOOKIE).
func exactMatches(req abi.InetDiagReqV2, e inet.SockEntry) bool {
	id := diagSockID(req.Family, e)
	if req.ID.Cookie != noCookie && req.ID.Cookie != id.Cookie {
		return false
	}
	return req.ID.SPort == id.SPort && req.ID.DPort == id.DPort && req.ID.Src == id.Src && req.ID.Dst == id.Dst
}

// inetDiagMsg is e's struct inet_diag_msg, as inet_sk_diag_fill fills it
// without timers: a listener's queues are its accept queue's length and
// its backlog (tcp_diag_get_info).
func inetDiagMsg(fam uint8, typ int, e inet.SockEntry) abi.InetDiagMsg {
	m := abi.InetDiagMsg{Family: fam, State: uint8(e.State), ID: diagSockID(fam, e),
		RQueue: uint32(e.RxQueue), WQueue: uint32(e.TxQueue), UID: e.UID, Inode: uint32(e.Ino)}
	if typ == sys.SOCK_STREAM && e.State == linux.TCP_LISTEN {
		m.WQueue = uint32(e.Backlog)
	}
	return m
}

// diagSockID is e's struct inet_diag_sockid: ports in network order,
// addresses as the family holds them, no interface, diagCookie.
func diagSockID(fam uint8, e inet.SockEntry) abi.InetDiagSockID {
	var id abi.InetDiagSockID
	binary.BigEndian.PutUint16(id.SPort[:], e.LocalPort)
	binary.BigEndian.PutUint16(id.DPort[:], e.RemotePort)
	id.Src, id.Dst = diagAddr(fam, e.Local), diagAddr(fam, e.Remote)
	id.Cookie = diagCookie(e.Ino)
	return id
}

// diagAddr is an address as inet_diag_sockid holds it: an IPv4 one in
// the first 4 bytes, or, for an AF_INET6 socket, v4-mapped.
func diagAddr(fam uint8, a tcpip.Address) [16]byte {
	var b [16]byte
	ip := a.AsSlice()
	if fam == sys.AF_INET6 && len(ip) == 4 {
		b[10], b[11] = 0xff, 0xff
		copy(b[12:], ip)
		return b
	}
	copy(b[:], ip)
	return b
}
