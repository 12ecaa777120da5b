package inet

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"runsc-lite/netfwd"
)

// Published ports (--publish HOSTPORT:PORT[/udp]). runsc-lite's parent
// opens the host's listening (TCP) or bound (UDP) socket with the caller's
// rights; the sentry accepts on it (accept4, on its allow-list for the
// control server) or receives from it (recvmsg).
//
// A TCP connection reaches the sandbox over eth0, at 10.0.2.15:PORT (or
// [fd00::2:15]:PORT for an IPv6 client), from the client's own address
// and port, as Docker's port mapping shows it: the outside stack, which
// stands for the rest of the network, dials it from there (the address is
// lent to the outside stack while connections use it). A client on the
// host's loopback (or on an address of the sandbox's link) comes from
// the gateway, 10.0.2.2 or fd00::2:2, which is what the sandbox knows the
// host's loopback as (slirp4netns does the same). Should nothing accept
// there (a listener on 127.0.0.1 only), the connection goes to
// 127.0.0.1:PORT over lo instead, from 127.0.0.1. Datagrams go to
// 127.0.0.1:PORT from 127.0.0.1.

// sandboxLoopback is PORT's address in the sandbox.
func sandboxLoopback(port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: LoopbackNIC, Addr: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), Port: port}
}

// servePublished serves one published port until its socket fails.
func (st *Stack) servePublished(p Published) {
	defer p.Host.Close()
	if p.Proto == netfwd.UDP {
		st.serveDatagrams(p)
		return
	}
	fd := int(p.Host.Fd())
	for {
		nfd, peer, err := acceptFrom(fd)
		if err == sys.EINTR || err == sys.ECONNABORTED {
			continue
		}
		if err != nil {
			st.opts.Log.Error("published port: accept", "port", p.Port, "err", err)
			return
		}
		if err := sys.SetNonblock(nfd, true); err != nil {
			sys.Close(nfd)
			continue
		}
		go st.publishConn(os.NewFile(uintptr(nfd), "published"), peer, p.Port)
	}
}

// publishConn connects one host connection, from peer, to the sandbox's
// port.
func (st *Stack) publishConn(host *os.File, peer netip.AddrPort, port uint16) {
	ns, err := st.netstack()
	if err != nil {
		host.Close()
		return
	}
	c, done, err := st.dialFromPeer(peer, port)
	if err != nil {
		done = func() {}
		c, err = gonet.DialContextTCP(context.Background(), ns, sandboxLoopback(port), ipv4.ProtocolNumber)
	}
	defer done()
	if err != nil {
		st.opts.Log.Info("published port: nothing accepts in the sandbox", "port", port, "err", err)
		host.Close()
		return
	}
	relayStream(c, func() { c.Close() }, host)
}

// sandboxPeer is the address the sandbox sees a published connection
// from peer come from: its own, or the gateway for the host's loopback,
// the unspecified address and the sandbox's link.
func sandboxPeer(peer netip.Addr) tcpip.Address {
	a := peer.Unmap()
	own := a.IsLoopback() || a.IsUnspecified() || netfwd.Subnet.Contains(a) || netfwd.Subnet6.Contains(a)
	switch {
	case a.Is4() && own:
		return gateway4
	case a.Is4():
		return tcpip.AddrFrom4(a.As4())
	case own:
		return gateway6
	}
	return tcpip.AddrFrom16(a.As16())
}

// dialFromPeer connects, from the outside stack, the sandbox's eth0 port
// from peer's address (sandboxPeer) and port (another if that one is in
// use). done gives the address back.
func (st *Stack) dialFromPeer(peer netip.AddrPort, port uint16) (c *gonet.TCPConn, done func(), err error) {
	if st.outside == nil {
		return nil, nil, netfwd.ErrGone
	}
	src := sandboxPeer(peer.Addr())
	proto, dst := ipv4.ProtocolNumber, tcpip.AddrFrom4(netfwd.Guest.As4())
	if src.Len() == header.IPv6AddressSize {
		proto, dst = ipv6.ProtocolNumber, tcpip.AddrFrom16(netfwd.Guest6.As16())
	}
	done, err = st.lendAddress(proto, src)
	if err != nil {
		return nil, nil, err
	}
	remote := tcpip.FullAddress{NIC: outsideNIC, Addr: dst, Port: port}
	for _, from := range []uint16{peer.Port(), 0} {
		c, err = gonet.DialTCPWithBind(context.Background(), st.outside, tcpip.FullAddress{NIC: outsideNIC, Addr: src, Port: from}, remote, proto)
		if err == nil {
			return c, done, nil
		}
	}
	done()
	return nil, nil, err
}

// lendAddress makes a an address of the outside stack until done is
// called as often as lendAddress was.
func (st *Stack) lendAddress(proto tcpip.NetworkProtocolNumber, a tcpip.Address) (done func(), err error) {
	st.lentMu.Lock()
	defer st.lentMu.Unlock()
	if st.lent == nil {
		st.lent = make(map[tcpip.Address]int)
	}
	if st.lent[a] == 0 {
		pa := tcpip.ProtocolAddress{Protocol: proto, AddressWithPrefix: a.WithPrefix()}
		if terr := st.outside.AddProtocolAddress(outsideNIC, pa, stack.AddressProperties{}); terr != nil {
			return nil, fmt.Errorf("lending %s to the outside stack: %s", a, terr)
		}
	}
	st.lent[a]++
	return func() {
		st.lentMu.Lock()
		defer st.lentMu.Unlock()
		if st.lent[a]--; st.lent[a] == 0 {
			delete(st.lent, a)
			st.outside.RemoveAddress(outsideNIC, a)
		}
	}, nil
}

// serveDatagrams relays a published UDP port: each host peer gets a UDP
// endpoint of its own in the sandbox, whose replies go back to that peer,
// until it has been idle for udpIdle.
func (st *Stack) serveDatagrams(p Published) {
	ns, err := st.netstack()
	if err != nil {
		return
	}
	fd := int(p.Host.Fd())
	var mu sync.Mutex // guards peers
	peers := make(map[netip.AddrPort]*gonet.UDPConn)
	buf := make([]byte, 65536)
	for {
		n, peer, err := recvFrom(fd, buf)
		if err == sys.EINTR {
			continue
		}
		if err != nil {
			st.opts.Log.Error("published port: recvmsg", "port", p.Port, "err", err)
			return
		}
		if !peer.IsValid() {
			continue
		}
		mu.Lock()
		c, ok := peers[peer]
		mu.Unlock()
		if !ok {
			dst := sandboxLoopback(p.Port)
			if c, err = gonet.DialUDP(ns, nil, &dst, ipv4.ProtocolNumber); err != nil {
				continue
			}
			mu.Lock()
			peers[peer] = c
			mu.Unlock()
			go func() {
				replies := make([]byte, 65536)
				for {
					c.SetReadDeadline(time.Now().Add(udpIdle))
					m, err := c.Read(replies)
					if err != nil {
						break
					}
					sys.Sendmsg(fd, replies[:m], nil, sockaddr(peer), 0)
				}
				mu.Lock()
				delete(peers, peer)
				mu.Unlock()
				c.Close()
			}()
		}
		c.Write(buf[:n])
	}
}

// sockaddr is a host socket address.
func sockaddr(a netip.AddrPort) sys.Sockaddr {
	if a.Addr().Is4() {
		return &sys.SockaddrInet4{Addr: a.Addr().As4(), Port: int(a.Port())}
	}
	return &sys.SockaddrInet6{Addr: a.Addr().As16(), Port: int(a.Port())}
}
