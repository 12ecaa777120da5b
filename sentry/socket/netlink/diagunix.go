package netlink

import (
	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/sentry/socket/unix"
)

// unixDiag answers a unix_diag_req (unix_diag_handler_dump): a dump of
// the namespace's Unix sockets that have a file, in the states it asks
// for, or, without NLM_F_DUMP, the one of inode udiag_ino (EINVAL for 0,
// ENOENT if none, ESTALE for another cookie). Of the attributes,
// UDIAG_SHOW_NAME, PEER and RQLEN are given, and UNIX_DIAG_SHUTDOWN
// always, as Linux; VFS, ICONS, MEMINFO and UID are left out.
func (s *Socket) unixDiag(h linux.NetlinkMessageHeader, payload []byte, port uint32) ([][]byte, error) {
	var req abi.UnixDiagReq
	if _, err := fixedPart(payload, &req); err != nil {
		return nil, err
	}
	dump := h.Flags&linux.NLM_F_DUMP == linux.NLM_F_DUMP
	if !dump && req.Ino == 0 {
		return nil, sys.EINVAL
	}
	var entries []unix.Entry
	if s.unix != nil {
		entries = s.unix()
	}
	flags := uint16(0)
	if dump {
		flags = linux.NLM_F_MULTI
	}
	var msgs [][]byte
	for _, e := range entries {
		switch {
		case e.Ino == 0:
			continue // a queued connection: no file (sk_diag_dump skips it)
		case dump && req.States&(1<<e.State) == 0:
			continue
		case !dump && uint64(req.Ino) != e.Ino:
			continue
		case !dump && req.Cookie != noCookie && req.Cookie != diagCookie(e.Ino):
			return nil, sys.ESTALE
		}
		msgs = append(msgs, unixDiagMsg(h, port, flags, req.Show, e))
		if !dump {
			return msgs, nil
		}
	}
	if !dump {
		return nil, sys.ENOENT
	}
	return msgs, nil
}

// unixDiagMsg is e's unix_diag_msg with the attributes show asks for, in
// sk_diag_fill's order.
func unixDiagMsg(h linux.NetlinkMessageHeader, port uint32, flags uint16, show uint32, e unix.Entry) []byte {
	um := abi.UnixDiagMsg{Family: sys.AF_UNIX, Type: uint8(e.Type), State: uint8(e.State), Ino: uint32(e.Ino), Cookie: diagCookie(e.Ino)}
	m := newMessage(sys.SOCK_DIAG_BY_FAMILY, flags, h.Seq, port, abi.AsBytes(&um))
	if show&abi.UDIAG_SHOW_NAME != 0 && len(e.Addr) > 2 {
		m.attr(abi.UNIX_DIAG_NAME, e.Addr[2:]) // sun_path, as long as bound
	}
	if show&abi.UDIAG_SHOW_PEER != 0 && e.HasPeer {
		m.u32(abi.UNIX_DIAG_PEER, uint32(e.PeerIno))
	}
	if show&abi.UDIAG_SHOW_RQLEN != 0 {
		rql := abi.UnixDiagRQLen{RQueue: uint32(e.RQueue), WQueue: uint32(e.WQueue)}
		m.attr(abi.UNIX_DIAG_RQLEN, abi.AsBytes(&rql))
	}
	m.attr(abi.UNIX_DIAG_SHUTDOWN, []byte{e.Shutdown})
	return m.bytes()
}

// noCookie is INET_DIAG_NOCOOKIE in both words: a request naming no
// cookie.
var noCookie = [2]uint32{^uint32(0), ^uint32(0)}

// diagCookie is a socket's sock_diag cookie: its inode number, unique
// among the sandbox's sockets as sock_gen_cookie's are.
func diagCookie(ino uint64) [2]uint32 {
	return [2]uint32{uint32(ino), uint32(ino >> 32)}
}
