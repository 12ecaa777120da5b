package vfs

import "sync/atomic"

// Sockets are inodes of one filesystem, as Linux's sockfs: one device,
// and inode numbers unique among every kind of socket (AF_UNIX, AF_INET
// and AF_INET6, AF_NETLINK, AF_PACKET, host sockets), since
// /proc/PID/fd's socket:[N], /proc/net and sock_diag name a socket by
// its number alone.

// SockDev is the st_dev of every socket.
var SockDev = NewDeviceID()

var lastSockIno atomic.Uint64

// NewSockIno returns a fresh socket inode number.
func NewSockIno() uint64 { return lastSockIno.Add(1) }
