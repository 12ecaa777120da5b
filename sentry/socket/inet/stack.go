// Package inet implements Internet sockets (AF_INET and AF_INET6) inside
// the sandbox: TCP stream sockets, UDP datagram sockets, ICMP echo
// ("ping") datagram sockets and raw sockets (ICMP, ICMPv6, TCP, UDP,
// IPPROTO_RAW; CAP_NET_RAW), served by gVisor's user-space TCP/IP stack
// (netstack, gvisor.dev/gvisor/pkg/tcpip). This package is the glue
// between netstack's endpoints and the sentry's files; TCP, UDP, IP and
// ICMP themselves are netstack's.
//
// Design decisions:
//
//   - One netstack per sandbox (Stack), made on the first socket (or the
//     first connection to a published port). Its first interface is lo
//     (NIC 1, 127.0.0.1/8 and ::1/128, MTU 65536). With --network=none it
//     is the only one, and nothing a sandboxed program sends reaches the
//     host's network or loopback: no link endpoint leads there. Netstack
//     runs in the sentry's own goroutines and makes no host syscall
//     beyond the Go runtime's (timers, futexes, getrandom for its
//     sequence numbers), all on the sentry's allow-list already.
//   - With --network=sandbox, eth0 (NIC 2, 10.0.2.15/24 and
//     fd00::2:15/64, default routes via 10.0.2.2 and fd00::2:2) is cabled
//     to a second netstack, the "outside", whose TCP and UDP forwarders
//     and ICMP echo handler take every flow the sandbox starts
//     (outbound.go, ping.go); a failed host connect comes back as the
//     errno Linux would give (unreachable.go). The sentry keeps its empty network namespace and its
//     allow-list: a separate confined process in the host's network
//     namespace (package netfwd) checks each destination against the
//     policy and opens and connects the host socket, which it passes
//     back over a SEQPACKET socket pair by SCM_RIGHTS; the sentry copies
//     between it and the outside's endpoint with read, write, epoll and
//     shutdown(SHUT_WR). Two stacks, not one promiscuous one, so that a
//     sandbox listener on some port never answers a flow meant for a
//     remote host's same port.
//   - An OCI container whose network namespace has interfaces (Docker's,
//     CNI's veths) gets a NIC per interface, on an AF_PACKET socket the
//     runtime opened in that namespace (links.go, package netns): the
//     sandbox then speaks Ethernet on the container's own link, with its
//     MAC, addresses and routes, as gVisor's runsc does.
//   - --publish: runsc-lite's parent opens the host's listening socket;
//     the sentry accepts on it and the outside stack connects each
//     connection to the sandbox's eth0 PORT from the client's address
//     (the gateway's for the host's loopback), or to 127.0.0.1:PORT
//     when only a loopback listener takes it (publish.go).
//   - Like Unix sockets and pipes, sockets never block: netstack's
//     endpoints answer ErrWouldBlock, translated to EAGAIN, and the
//     syscall layer waits on the socket's vfs.Queue. Netstack announces
//     readiness on its own waiter.Queue; one entry per socket relays it
//     to the vfs.Queue (netstack's event bits are poll(2)'s).
//   - Errors are netstack's, translated to the errno Linux gives for the
//     same condition (errno).
//   - What Linux checks before the protocol (address lengths and
//     families, option lengths, capabilities) is checked here or in the
//     syscall layer, in Linux's order; the protocols' own answers come
//     from netstack.
//   - Where netstack lacks a Linux behaviour the socket layer adds it:
//     sendmsg's control messages checked as Linux checks them (cmsg.go;
//     per-send TTL, hop limit and IPv6 source applied, per-send TOS and
//     traffic class checked only); MSG_MORE (a TCP cork until the next
//     send, at most netstack's 200 ms; a UDP datagram gathered in the
//     socket, as UDP_CORK); multicast memberships kept per socket for
//     every protocol, as Linux does (netstack keeps UDP's).
//   - TCP urgent data (MSG_OOB, SO_OOBINLINE, SIOCATMARK, POLLPRI):
//     netstack has no urgent pointer, so between two sockets of this
//     stack the socket layer keeps the mark itself: the byte travels in
//     line and the receiving socket learns its stream offset from the
//     sender (urgent.go). To a peer off the stack (outbound, published)
//     MSG_OOB is EINVAL, gVisor's errno, logged as unimplemented.
//   - SO_PEEK_OFF on TCP, UDP and ping sockets (peekoff.go): a TCP peek
//     copies past the offset; a UDP peek past netstack's first datagram
//     takes the datagrams it passes over into the socket's own stash,
//     read before netstack's queue. gVisor has no SO_PEEK_OFF.
//   - A Stack is one network namespace. The sandbox's first is the one
//     above; one a program makes with CLONE_NEWNET (sentry/kernel
//     netns.go) is NewIsolated's: lo alone, down until brought up, no
//     options, nothing cabled to it, in every mode. Its sockets hold it
//     (Hold): its netstack is closed when the namespace and its last
//     socket are gone. Without netstack's HandleLocal, so that a down lo
//     routes nothing (ENETUNREACH), as Linux's; but a UDP or raw
//     datagram to 0.0.0.0 is sent (and dropped) on a down lo, as
//     Linux routes that address to lo without a lookup (sendToNowhere).
//   - lo frames packets in a zero Ethernet header (link/ethernet), as
//     Linux's and gVisor's do, for AF_PACKET sockets (packet.go).
//   - With CAP_NET_ADMIN inside the sandbox, netlink and SIOCSIFFLAGS
//     change the sandbox's own interfaces, addresses and routes
//     (admin.go): netstack's, never the host's; what leaves through
//     eth0 still goes through the forwarder's policy.
package inet

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/ethernet"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/raw"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"

	"runsc-lite/netfwd"
)

// LoopbackNIC is the index of lo, the sandbox's first interface.
const LoopbackNIC = 1

// loopbackMTU is lo's MTU, as Linux's.
const loopbackMTU = 65536

// Stack is the network stack of one sandbox. The zero value is ready:
// netstack itself is made on first use, so a sandbox that never opens an
// Internet socket runs no netstack goroutine.
type Stack struct {
	// opts, fwd are set by Configure, before the first use.
	opts Options
	fwd  *netfwd.Client
	// outside is the netstack beyond eth0 (outbound.go) and eth its end
	// of eth0's cable, set by once.
	outside *stack.Stack
	eth     *cable
	// pings are the outbound ping flows (ping.go).
	pings pingFlows

	lentMu sync.Mutex            // guards lent
	lent   map[tcpip.Address]int // addresses lent to the outside, by use (publish.go)

	once sync.Once
	s    *stack.Stack // set by once
	err  error        // set by once

	// isolated marks a later network namespace's stack (NewIsolated):
	// lo only, down at first, never configured.
	isolated bool
	// holds counts what keeps an isolated stack alive: its namespace
	// (one hold until Release) and its sockets (Hold); the last to go
	// closes its netstack. The first stack is never closed.
	holds atomic.Int64

	linkMu    sync.Mutex // guards linkFiles
	linkFiles []*os.File // the packet sockets of AddLinks' NICs; non-nil once set

	mu      sync.Mutex           // guards sockets and userRoutes
	sockets map[*Socket]struct{} // the open sockets, for /proc/net
	// userRoutes are the routes added with RTM_NEWROUTE (admin.go).
	userRoutes []UserRoute
	// tags are the namespace's net.ipv4.conf.DEV.tag sysctls, by DEV
	// (/proc/sys/net); absent is 0.
	tags map[string]uint32
	// downRoutes are the routes of NICs brought down, taken out of
	// netstack's table until they are up again (admin.go).
	downRoutes map[tcpip.NICID][]tcpip.Route
	// loDown is set while lo is down (setNIC), for sends to 0.0.0.0
	// (sendToNowhere).
	loDown bool
	// pendingUrgent are urgent marks sent to connections still in a
	// listener's backlog (urgent.go), by the receiver's addresses;
	// pendingUrgentN is its size, read without mu.
	pendingUrgent  map[connKey]*urgent
	pendingUrgentN atomic.Int32

	// ipt are the namespace's iptables (netfilter.go).
	ipt iptables
	// owner is the *kernel.UserNamespace that owns the stack's network
	// namespace (nil: the initial one), where CAP_NET_ADMIN counts for
	// its sockets (sock_net(sk)->user_ns); set before the namespace is
	// used.
	owner any
}

// SetOwner records the user namespace that owns the stack's network
// namespace (a *kernel.UserNamespace; this package does not know the type).
func (st *Stack) SetOwner(o any) { st.owner = o }

// Owner returns what SetOwner recorded, nil for the first namespace.
func (st *Stack) Owner() any { return st.owner }

// NewIsolated returns the stack of a new network namespace: lo
// (127.0.0.1/8, ::1) down, as a new namespace's is in Linux, and
// nothing else; it leads nowhere outside itself. Its namespace holds it
// until Release.
func NewIsolated() *Stack {
	st := &Stack{isolated: true}
	st.holds.Store(1)
	return st
}

// Hold keeps an isolated stack alive for one more user (a socket of it,
// a netlink or packet socket); Unhold drops it.
func (st *Stack) Hold() {
	if st.isolated {
		st.holds.Add(1)
	}
}

// Unhold drops a Hold: the last one closes an isolated stack's netstack.
func (st *Stack) Unhold() {
	if !st.isolated || st.holds.Add(-1) != 0 {
		return
	}
	st.once.Do(func() { st.err = sys.ENETDOWN }) // never made: none to make now
	if st.s != nil {
		s := st.s
		// Close waits for the stack's goroutines; not on the caller's.
		go func() {
			s.Close()
			s.Wait()
		}()
	}
}

// Release drops the namespace's own hold on an isolated stack (its
// last task or namespace file is gone).
func (st *Stack) Release() { st.Unhold() }

// ConfTag returns net.ipv4.conf.DEV.tag of the stack's namespace.
func (st *Stack) ConfTag(dev string) uint32 {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.tags[dev]
}

// SetConfTag sets net.ipv4.conf.DEV.tag.
func (st *Stack) SetConfTag(dev string, v uint32) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.tags == nil {
		st.tags = make(map[string]uint32)
	}
	st.tags[dev] = v
}

// add registers an open socket.
func (st *Stack) add(s *Socket) {
	st.Hold()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.sockets == nil {
		st.sockets = make(map[*Socket]struct{})
	}
	st.sockets[s] = struct{}{}
}

// remove forgets a released socket.
func (st *Stack) remove(s *Socket) {
	st.mu.Lock()
	delete(st.sockets, s)
	st.mu.Unlock()
	st.Unhold()
}

// netstack returns the sandbox's netstack, making it on first use.
func (st *Stack) netstack() (*stack.Stack, error) {
	st.once.Do(func() {
		st.s, st.err = newNetstack(!st.isolated)
		if st.err == nil && st.isolated {
			st.err = st.setNIC(st.s, LoopbackNIC, false)
		}
		if st.err == nil && st.opts.Forwarder != nil {
			st.err = st.addOutbound(st.s)
		}
	})
	return st.s, st.err
}

// newNetstack makes a netstack with lo as its only interface. With
// handleLocal, packets to the stack's own addresses on any NIC loop
// back inside it (netstack's HandleLocal); without, only through the
// route table, as for a namespace's lo alone, whose routes go while it
// is down (netstack's local routes ignore a NIC's state).
func newNetstack(handleLocal bool) (*stack.Stack, error) {
	s := stack.New(stack.Options{
		// ARP for the Ethernet links of a container's namespace (links.go).
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		HandleLocal:        handleLocal,
		RawFactory:         raw.EndpointFactory{}, // SOCK_RAW, for CAP_NET_RAW (checked by the caller)
		// AF_PACKET sockets send (packet.go; CAP_NET_RAW).
		AllowPacketEndpointWrite: true,
	})
	sack := tcpip.TCPSACKEnabled(true)
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	nagle := tcpip.TCPDelayEnabled(true) // Linux's default: TCP_NODELAY off
	for _, opt := range []tcpip.SettableTransportProtocolOption{&sack, &moderate, &nagle} {
		if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, opt); err != nil {
			return nil, fmt.Errorf("netstack TCP option %T: %s", opt, err)
		}
	}
	// lo frames its packets in a zero Ethernet header, as Linux's does
	// (and gVisor's): packet sockets see and send them so.
	// The wrapper's MTU is its link endpoint's less the header: lo's
	// stays Linux's 65536.
	lo := loopback.New()
	lo.SetMTU(loopbackMTU + header.EthernetMinimumSize)
	if err := s.CreateNICWithOptions(LoopbackNIC, ethernet.New(lo), stack.NICOptions{Name: "lo", DeliverLinkPackets: true}); err != nil {
		return nil, fmt.Errorf("netstack lo: %s", err)
	}
	v4 := tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8}
	v6 := tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16([16]byte{15: 1}), PrefixLen: 128}
	for _, a := range []tcpip.ProtocolAddress{{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: v4}, {Protocol: ipv6.ProtocolNumber, AddressWithPrefix: v6}} {
		if err := s.AddProtocolAddress(LoopbackNIC, a, stack.AddressProperties{}); err != nil {
			return nil, fmt.Errorf("netstack address %s: %s", a.AddressWithPrefix, err)
		}
	}
	s.SetRouteTable([]tcpip.Route{
		{Destination: v4.Subnet(), NIC: LoopbackNIC},
		{Destination: v6.Subnet(), NIC: LoopbackNIC},
	})
	return s, nil
}

// errno translates a netstack error to the errno Linux returns for the
// same condition (gVisor's syserr.TranslateNetstackError has the same
// table). nil stays nil; ErrClosedForReceive is the end of the stream,
// which callers handle before.
// log is the stack's logger: the configured one, else slog's default (a
// namespace's stack is never configured).
func (st *Stack) log() *slog.Logger {
	if st.opts.Log != nil {
		return st.opts.Log
	}
	return slog.Default()
}

func errno(err tcpip.Error) error {
	switch err.(type) {
	case nil:
		return nil
	case *tcpip.ErrWouldBlock:
		return sys.EAGAIN
	case *tcpip.ErrUnknownProtocol, *tcpip.ErrAlreadyBound, *tcpip.ErrInvalidEndpointState,
		*tcpip.ErrInvalidOptionValue, *tcpip.ErrMalformedHeader, *tcpip.ErrInvalidPortRange,
		*tcpip.ErrMulticastInputCannotBeOutput, *tcpip.ErrMissingRequiredFields:
		return sys.EINVAL
	case *tcpip.ErrUnknownNICID, *tcpip.ErrUnknownDevice:
		return sys.ENODEV
	case *tcpip.ErrUnknownProtocolOption:
		return sys.ENOPROTOOPT
	case *tcpip.ErrDuplicateNICID, *tcpip.ErrDuplicateAddress:
		return sys.EEXIST
	case *tcpip.ErrHostUnreachable:
		return sys.EHOSTUNREACH
	case *tcpip.ErrHostDown:
		return sys.EHOSTDOWN
	case *tcpip.ErrNoNet:
		return sys.ENONET
	case *tcpip.ErrAlreadyConnecting:
		return sys.EALREADY
	case *tcpip.ErrAlreadyConnected:
		return sys.EISCONN
	case *tcpip.ErrNoPortAvailable:
		return sys.EAGAIN
	case *tcpip.ErrPortInUse:
		return sys.EADDRINUSE
	case *tcpip.ErrBadLocalAddress:
		return sys.EADDRNOTAVAIL
	case *tcpip.ErrClosedForSend, *tcpip.ErrAborted:
		return sys.EPIPE
	case *tcpip.ErrConnectionRefused:
		return sys.ECONNREFUSED
	case *tcpip.ErrTimeout:
		return sys.ETIMEDOUT
	case *tcpip.ErrConnectStarted:
		return sys.EINPROGRESS
	case *tcpip.ErrDestinationRequired:
		return sys.EDESTADDRREQ
	case *tcpip.ErrNotSupported:
		return sys.EOPNOTSUPP
	case *tcpip.ErrQueueSizeNotSupported:
		return sys.ENOTTY
	case *tcpip.ErrNotConnected:
		return sys.ENOTCONN
	case *tcpip.ErrConnectionReset:
		return sys.ECONNRESET
	case *tcpip.ErrConnectionAborted:
		return sys.ECONNABORTED
	case *tcpip.ErrNoSuchFile:
		return sys.ENOENT
	case *tcpip.ErrBadAddress, *tcpip.ErrBadBuffer:
		return sys.EFAULT
	case *tcpip.ErrNetworkUnreachable:
		return sys.ENETUNREACH
	case *tcpip.ErrMessageTooLong:
		return sys.EMSGSIZE
	case *tcpip.ErrNoBufferSpace:
		return sys.ENOBUFS
	case *tcpip.ErrBroadcastDisabled:
		return sys.EACCES
	case *tcpip.ErrNotPermitted:
		return sys.EPERM
	case *tcpip.ErrAddressFamilyNotSupported:
		return sys.EAFNOSUPPORT
	case *tcpip.ErrEndpointBusy:
		return sys.EBUSY
	}
	return fmt.Errorf("netstack: %s: %w", err, sys.EINVAL)
}
