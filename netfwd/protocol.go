// Package netfwd is the network forwarder: the one runsc-lite process that
// opens sockets in the host's network namespace on a sandbox's behalf, so
// that the sentry keeps its empty network namespace and its seccomp
// allow-list (no socket, connect or bind).
//
// runsc-lite's parent gives the sentry one end of a SOCK_SEQPACKET socket
// pair (Start) and starts the forwarder, in the host's network namespace,
// with the other when the sentry's first request arrives on it (Forwarder
// says why). The forwarder then confines itself (Main): it learns the
// host's own addresses, drops to an unprivileged identity (65534 when
// started by root, with no capability), sets no_new_privs and installs a
// seccomp allow-list of its own (Filter): the Go runtime's calls, socket
// for AF_INET/AF_INET6 stream, datagram and ping sockets only, connect,
// getsockopt, ppoll, close, and sendmsg/recvmsg. It opens no file and
// binds nothing.
//
// With --network=sandbox the sentry sends a Request per outbound flow (a
// TCP connection, a UDP conversation or a ping identifier the sandbox
// started, OpConnect); the forwarder applies the Policy (no host
// loopback, link-local or host address unless allowed; the sandbox's
// gateway and DNS addresses mapped to the host's), opens and connects a
// host socket and answers with a Reply and, on success, the connected
// descriptor by SCM_RIGHTS; on failure, the connect's errno, which the
// sentry turns into the answer the sandbox's application sees. The
// forwarder keeps no descriptor it handed over: from then on the sentry
// copies between that socket and netstack.
// The forwarder ends when the sentry's end of the pair closes.
//
// With --network=host (an explicit opt-in: the host's network is the
// application's) the forwarder serves OpSocket and OpNetlink only: it
// creates an unbound, unconnected Internet socket (or a NETLINK_ROUTE
// one) in the host's network namespace and passes it over. A socket stays
// in the namespace it was created in, so the sentry, from its own empty
// namespace, binds, listens, accepts, connects, sends and receives on the
// host's network (package sentry/socket/hostinet); the sentry itself
// still cannot create a socket. OpConnect is refused in host mode, and
// OpSocket and OpNetlink in sandbox mode.
package netfwd

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Transport protocols a Request names (their IP protocol numbers).
// Echo asks for a ping socket (SOCK_DGRAM, IPPROTO_ICMP or
// IPPROTO_ICMPV6 by the address's family): ICMP echo, no port.
const (
	TCP  = unix.IPPROTO_TCP
	UDP  = unix.IPPROTO_UDP
	Echo = unix.IPPROTO_ICMP
)

// ICMP echo ("ping") sockets' protocols, for OpSocket.
const (
	ICMP   = unix.IPPROTO_ICMP
	ICMPv6 = unix.IPPROTO_ICMPV6
)

// Request operations.
const (
	// OpConnect asks for a socket of Proto connected to Addr:Port
	// (--network=sandbox).
	OpConnect = 0
	// OpSocket asks for a new socket of Proto, IPv4 if V4 is 1, else
	// IPv6 (--network=host).
	OpSocket = 1
	// OpNetlink asks for a NETLINK_ROUTE socket (--network=host).
	OpNetlink = 2
)

// Request asks for a host socket.
type Request struct {
	ID    uint32
	Op    uint8 // OpConnect, OpSocket or OpNetlink
	Proto uint8 // OpConnect: TCP, UDP or Echo; OpSocket: TCP, UDP, ICMP or ICMPv6
	V4    uint8 // 1: Addr is IPv4 (in its first 4 bytes)
	Port  uint16
	Addr  [16]byte
}

// Reply answers the Request of the same ID: Errno 0 comes with the
// descriptor.
type Reply struct {
	ID    uint32
	Errno uint32
}

// NewRequest makes the Request for proto to dst.
func NewRequest(id uint32, proto uint8, dst netip.AddrPort) Request {
	r := Request{ID: id, Proto: proto, Port: dst.Port()}
	a := dst.Addr().Unmap()
	if a.Is4() {
		r.V4 = 1
		v4 := a.As4()
		copy(r.Addr[:], v4[:])
	} else {
		r.Addr = a.As16()
	}
	return r
}

// NewSocketRequest makes the OpSocket Request for a socket of proto,
// IPv4 or IPv6.
func NewSocketRequest(id uint32, v4 bool, proto uint8) Request {
	r := Request{ID: id, Op: OpSocket, Proto: proto}
	if v4 {
		r.V4 = 1
	}
	return r
}

// Dest is the address the Request names.
func (r Request) Dest() netip.AddrPort {
	if r.V4 == 1 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(r.Addr[:4])), r.Port)
	}
	return netip.AddrPortFrom(netip.AddrFrom16(r.Addr), r.Port)
}

// Marshal encodes a Request or a Reply.
func Marshal(v any) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v) // fixed-size types: cannot fail
	return b.Bytes()
}

// Unmarshal decodes a Request or a Reply from exactly its size.
func Unmarshal(b []byte, v any) error {
	if len(b) != binary.Size(v) {
		return fmt.Errorf("netfwd: a message of %d bytes, want %d", len(b), binary.Size(v))
	}
	return binary.Read(bytes.NewReader(b), binary.LittleEndian, v)
}

// ErrRefused is the policy's refusal (the sandbox sees the connection
// refused).
var ErrRefused = errors.New("refused by the network policy")
