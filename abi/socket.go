package abi

// MsgHdr is struct msghdr (x86-64) as application memory holds it; x/sys's
// Msghdr has Go pointers where the application has addresses.
type MsgHdr struct {
	Name       uint64
	NameLen    uint32
	_          uint32
	Iov        uint64
	IovLen     uint64
	Control    uint64
	ControlLen uint64
	Flags      int32
	_          int32
}

// MMsgHdr is struct mmsghdr, an element of sendmmsg's and recvmmsg's
// vector: a message and the count the call stores for it.
type MMsgHdr struct {
	Hdr MsgHdr
	Len uint32
	_   uint32
}

// GroupReq is struct group_req (MCAST_JOIN_GROUP, MCAST_LEAVE_GROUP): an
// interface index and a group address (a struct sockaddr_storage).
type GroupReq struct {
	Interface uint32
	_         uint32
	Group     [128]byte
}
