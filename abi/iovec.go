package abi

// Iovec is struct iovec as application memory holds it (readv, writev,
// msghdr's msg_iov); x/sys's Iovec has a Go pointer where the application
// has an address.
type Iovec struct {
	Base uint64
	Len  uint64
}
