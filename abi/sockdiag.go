package abi

// The sock_diag(7) structures of <linux/inet_diag.h> and
// <linux/unix_diag.h>, which neither library defines.

// InetDiagSockID is struct inet_diag_sockid: a socket's ports (network
// order), addresses (an IPv4 one in the first 4 bytes), interface and
// cookie.
type InetDiagSockID struct {
	SPort  [2]byte
	DPort  [2]byte
	Src    [16]byte
	Dst    [16]byte
	If     uint32
	Cookie [2]uint32
}

// InetDiagReqV2 is struct inet_diag_req_v2, a SOCK_DIAG_BY_FAMILY
// request for AF_INET or AF_INET6.
type InetDiagReqV2 struct {
	Family   uint8
	Protocol uint8
	Ext      uint8
	Pad      uint8
	States   uint32 // a bit per TCP state to dump
	ID       InetDiagSockID
}

// InetDiagMsg is struct inet_diag_msg, one socket of a dump's answer.
type InetDiagMsg struct {
	Family  uint8
	State   uint8
	Timer   uint8
	Retrans uint8
	ID      InetDiagSockID
	Expires uint32
	RQueue  uint32
	WQueue  uint32
	UID     uint32
	Inode   uint32
}

// UnixDiagReq is struct unix_diag_req, a SOCK_DIAG_BY_FAMILY request for
// AF_UNIX.
type UnixDiagReq struct {
	Family   uint8
	Protocol uint8
	Pad      uint16
	States   uint32
	Ino      uint32
	Show     uint32 // UDIAG_SHOW_* bits: the attributes to add
	Cookie   [2]uint32
}

// UnixDiagMsg is struct unix_diag_msg, one AF_UNIX socket of a dump.
type UnixDiagMsg struct {
	Family uint8
	Type   uint8
	State  uint8
	Pad    uint8
	Ino    uint32
	Cookie [2]uint32
}

// UnixDiagRQLen is struct unix_diag_rqlen, UNIX_DIAG_RQLEN's value.
type UnixDiagRQLen struct {
	RQueue uint32
	WQueue uint32
}

// Constants of <linux/inet_diag.h> and <linux/unix_diag.h>.
const (
	INET_DIAG_REQ_BYTECODE = 1 // the request attribute of a filter program

	// unix_diag_req.udiag_show bits: the attributes to add.
	UDIAG_SHOW_NAME  = 0x1
	UDIAG_SHOW_PEER  = 0x4
	UDIAG_SHOW_RQLEN = 0x10

	// unix_diag_msg's attributes.
	UNIX_DIAG_NAME     = 0
	UNIX_DIAG_PEER     = 2
	UNIX_DIAG_RQLEN    = 4
	UNIX_DIAG_SHUTDOWN = 6
)
