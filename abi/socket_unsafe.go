package abi

import "unsafe"

// Field offsets of the message headers (their sizes are x/sys's
// SizeofMsghdr and SizeofMmsghdr), for the fields that
// recvmsg and the multi-message calls write back one by one, as Linux
// does, leaving the rest of the application's header as it is.
const (
	MsgHdrNameLenOffset    = unsafe.Offsetof(MsgHdr{}.NameLen)
	MsgHdrControlLenOffset = unsafe.Offsetof(MsgHdr{}.ControlLen)
	MsgHdrFlagsOffset      = unsafe.Offsetof(MsgHdr{}.Flags)
	MMsgHdrLenOffset       = unsafe.Offsetof(MMsgHdr{}.Len)
)
