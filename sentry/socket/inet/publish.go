package inet

import (
	"context"
	"net/netip"
	"os"
	"sync"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"

	"runsc-lite/netfwd"
)

// Published ports (--publish HOSTPORT:PORT[/udp]). runsc-lite's parent
// opens the host's listening (TCP) or bound (UDP) socket with the caller's
// rights; the sentry accepts on it (accept4, on its allow-list for the
// control server) or receives from it (recvmsg), and connects each host
// connection, or each host peer's datagrams, to 127.0.0.1:PORT in the
// sandbox: a listener on 0.0.0.0, :: or 127.0.0.1 takes them. The sandbox
// sees 127.0.0.1 as the peer, not the host's client.

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
		// Not unix.Accept4, which asks getsockopt about the peer's
		// address: the peer is not wanted.
		r, _, e := sys.Syscall6(sys.SYS_ACCEPT4, uintptr(fd), 0, 0, sys.SOCK_CLOEXEC, 0, 0)
		nfd := int(r)
		if e == sys.EINTR || e == sys.ECONNABORTED {
			continue
		}
		if e != 0 {
			err := error(e)
			st.opts.Log.Error("published port: accept", "port", p.Port, "err", err)
			return
		}
		if err := sys.SetNonblock(nfd, true); err != nil {
			sys.Close(nfd)
			continue
		}
		go st.publishConn(os.NewFile(uintptr(nfd), "published"), p.Port)
	}
}

// publishConn connects one host connection to the sandbox's port.
func (st *Stack) publishConn(host *os.File, port uint16) {
	ns, err := st.netstack()
	if err != nil {
		host.Close()
		return
	}
	c, err := gonet.DialContextTCP(context.Background(), ns, sandboxLoopback(port), ipv4.ProtocolNumber)
	if err != nil {
		st.opts.Log.Info("published port: nothing accepts in the sandbox", "port", port, "err", err)
		host.Close()
		return
	}
	relayStream(c, func() { c.Close() }, host)
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
