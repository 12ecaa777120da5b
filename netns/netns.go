// Package netns hands the interfaces of an OCI container's network
// namespace to its sandbox, as gVisor's runsc does: Docker, containerd's
// CNI plugins and the like put a veth (addresses, routes, a MAC) in that
// namespace and expect the container to be reachable there.
//
// The runtime, root at create, enters the namespace on a locked thread
// (Take), lists its Ethernet interfaces that are up and have addresses
// (lo and the rest skipped) with their addresses and main-table routes
// through netlink, and opens for each an AF_PACKET socket bound to it.
// The sentry, in its own empty namespace, gets the sockets and makes a
// netstack NIC of each (package inet, links.go): the socket is all it
// holds of the container's namespace, and it sees frames of that one
// interface only.
//
// Then the addresses are removed from the namespace's interfaces
// (Release), as runsc removes them: the namespace's kernel would
// otherwise answer for the container's address too (a reset for every
// SYN netstack accepts, its own ARP and ICMP), racing netstack on the
// same wire. The interfaces stay up, their MACs and MTUs unchanged.
package netns

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"syscall"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/socket/inet"
)

// Taken is what Take found in a namespace.
type Taken struct {
	Links []inet.Link
	// Files are the packet sockets, Files[i] bound to Links[i].
	Files []*os.File

	path    string
	indexes []int // the interfaces' indexes in the namespace
}

// Close closes the packet sockets (the sentry has its own copies).
func (t *Taken) Close() {
	for _, f := range t.Files {
		f.Close()
	}
	t.Files = nil
}

// packetBuffer is the packet sockets' buffer size each way: Linux's
// default (net.core.rmem_default, ~200 KiB) drops frames under a burst.
const packetBuffer = 4 << 20

// Same reports whether the namespace files a and b are one namespace.
func Same(a, b string) (bool, error) {
	var sa, sb unix.Stat_t
	if err := unix.Stat(a, &sa); err != nil {
		return false, fmt.Errorf("network namespace %s: %w", a, err)
	}
	if err := unix.Stat(b, &sb); err != nil {
		return false, fmt.Errorf("network namespace %s: %w", b, err)
	}
	return sa.Dev == sb.Dev && sa.Ino == sb.Ino, nil
}

// IsHost reports whether the namespace at path is this process's or
// init's: the host's, whose interfaces a sandbox never takes. Init's is
// compared only where this process may see it (not in a container that
// hides it).
func IsHost(path string) (bool, error) {
	if same, err := Same(path, "/proc/self/ns/net"); err != nil || same {
		return same, err
	}
	same, err := Same(path, "/proc/1/ns/net")
	return err == nil && same, nil
}

// Take lists the Ethernet interfaces of the network namespace at path
// and opens a packet socket on each. No interface with an address is no
// error: Links is empty.
func Take(path string) (*Taken, error) {
	if host, err := IsHost(path); err != nil {
		return nil, err
	} else if host {
		return nil, fmt.Errorf("network namespace %s is the host's: a sandbox does not take the host's interfaces", path)
	}
	t := &Taken{path: path}
	err := inNamespace(path, func() error {
		ifs, err := scrape()
		if err != nil {
			return err
		}
		for _, in := range ifs {
			f, err := packetSocket(in.index)
			if err != nil {
				return fmt.Errorf("interface %s: %w", in.link.Name, err)
			}
			t.Links = append(t.Links, in.link)
			t.Files = append(t.Files, f)
			t.indexes = append(t.indexes, in.index)
		}
		return nil
	})
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("network namespace %s: %w", path, err)
	}
	if len(t.Links) > inet.MaxLinks {
		t.Close()
		return nil, fmt.Errorf("network namespace %s: %d interfaces, more than %d", path, len(t.Links), inet.MaxLinks)
	}
	return t, nil
}

// Release removes the taken interfaces' addresses from the namespace,
// once the sandbox has them.
func (t *Taken) Release() error {
	err := inNamespace(t.path, func() error {
		for i, l := range t.Links {
			for _, a := range l.Addrs {
				if err := delAddr(t.indexes[i], a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
					return fmt.Errorf("removing %s from %s: %w", a, l.Name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("network namespace %s: %w", t.path, err)
	}
	return nil
}

// inNamespace runs fn on a thread of its own in the network namespace at
// path. A thread that cannot get back to this process's namespace is
// left locked, so that it ends with its goroutine.
func inNamespace(path string, fn func() error) error {
	target, err := os.Open(path)
	if err != nil {
		return err
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open(fmt.Sprintf("/proc/self/task/%d/ns/net", unix.Gettid()))
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer own.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			if errors.Is(err, unix.EINVAL) {
				err = errors.New("not a network namespace")
			}
			errc <- fmt.Errorf("entering: %w", err)
			return
		}
		err = fn()
		if rerr := unix.Setns(int(own.Fd()), unix.CLONE_NEWNET); rerr != nil {
			errc <- fmt.Errorf("leaving: %w", rerr)
			return // the thread stays locked and ends
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// packetSocket opens an AF_PACKET socket bound to interface index, for
// every protocol.
func packetSocket(index int) (*os.File, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("packet socket: %w", err)
	}
	f := os.NewFile(uintptr(fd), "packet-socket")
	ethPAll := uint16(unix.ETH_P_ALL)
	proto := ethPAll<<8 | ethPAll>>8 // network order
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: proto, Ifindex: index}); err != nil {
		f.Close()
		return nil, fmt.Errorf("binding the packet socket: %w", err)
	}
	for _, opt := range [][2]int{{unix.SO_RCVBUFFORCE, unix.SO_RCVBUF}, {unix.SO_SNDBUFFORCE, unix.SO_SNDBUF}} {
		if unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt[0], packetBuffer) != nil {
			unix.SetsockoptInt(fd, unix.SOL_SOCKET, opt[1], packetBuffer)
		}
	}
	return f, nil
}

// iface is one interface the scrape keeps.
type iface struct {
	index int
	link  inet.Link
}

// scrape lists this namespace's Ethernet interfaces that are up and have
// addresses, with their addresses and routes.
func scrape() ([]iface, error) {
	links, err := dump(unix.RTM_GETLINK)
	if err != nil {
		return nil, err
	}
	var ifs []iface
	byIndex := make(map[int]*iface)
	for _, m := range links {
		var ifi unix.IfInfomsg
		if err := fixed(m.Data, &ifi); err != nil {
			return nil, err
		}
		if ifi.Type != unix.ARPHRD_ETHER || ifi.Flags&unix.IFF_LOOPBACK != 0 || ifi.Flags&unix.IFF_UP == 0 {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return nil, fmt.Errorf("netlink: %w", err)
		}
		in := iface{index: int(ifi.Index)}
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFLA_IFNAME:
				in.link.Name = string(bytes.TrimRight(a.Value, "\x00"))
			case unix.IFLA_MTU:
				if len(a.Value) == 4 {
					in.link.MTU = binary.NativeEndian.Uint32(a.Value)
				}
			case unix.IFLA_ADDRESS:
				in.link.MAC = net.HardwareAddr(a.Value).String()
			}
		}
		ifs = append(ifs, in)
	}
	for i := range ifs {
		byIndex[ifs[i].index] = &ifs[i]
	}
	if err := scrapeAddrs(byIndex); err != nil {
		return nil, err
	}
	if err := scrapeRoutes(byIndex); err != nil {
		return nil, err
	}
	var kept []iface
	for _, in := range ifs {
		if len(in.link.Addrs) > 0 {
			kept = append(kept, in)
		}
	}
	return kept, nil
}

// scrapeAddrs adds their addresses to ifs.
func scrapeAddrs(ifs map[int]*iface) error {
	msgs, err := dump(unix.RTM_GETADDR)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		var ifa unix.IfAddrmsg
		if err := fixed(m.Data, &ifa); err != nil {
			return err
		}
		in := ifs[int(ifa.Index)]
		if in == nil {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return fmt.Errorf("netlink: %w", err)
		}
		var addr, local netip.Addr
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.IFA_ADDRESS:
				addr, _ = netip.AddrFromSlice(a.Value)
			case unix.IFA_LOCAL:
				local, _ = netip.AddrFromSlice(a.Value)
			}
		}
		if local.IsValid() { // IPv4's own address; IFA_ADDRESS is a peer's on a point-to-point link
			addr = local
		}
		if addr.IsValid() {
			in.link.Addrs = append(in.link.Addrs, netip.PrefixFrom(addr, int(ifa.Prefixlen)))
		}
	}
	return nil
}

// scrapeRoutes adds their main-table unicast routes to ifs, but for the
// subnets of their addresses, which the sandbox routes already.
func scrapeRoutes(ifs map[int]*iface) error {
	msgs, err := dump(unix.RTM_GETROUTE)
	if err != nil {
		return err
	}
	for _, m := range msgs {
		var rt unix.RtMsg
		if err := fixed(m.Data, &rt); err != nil {
			return err
		}
		if rt.Type != unix.RTN_UNICAST {
			continue
		}
		attrs, err := syscall.ParseNetlinkRouteAttr(&m)
		if err != nil {
			return fmt.Errorf("netlink: %w", err)
		}
		table := uint32(rt.Table)
		var dst, gw netip.Addr
		oif := -1
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.RTA_TABLE:
				if len(a.Value) == 4 {
					table = binary.NativeEndian.Uint32(a.Value)
				}
			case unix.RTA_DST:
				dst, _ = netip.AddrFromSlice(a.Value)
			case unix.RTA_GATEWAY:
				gw, _ = netip.AddrFromSlice(a.Value)
			case unix.RTA_OIF:
				if len(a.Value) == 4 {
					oif = int(binary.NativeEndian.Uint32(a.Value))
				}
			}
		}
		in := ifs[oif]
		if table != unix.RT_TABLE_MAIN || in == nil {
			continue
		}
		if !dst.IsValid() { // the default route
			dst = netip.IPv4Unspecified()
			if rt.Family == unix.AF_INET6 {
				dst = netip.IPv6Unspecified()
			}
		}
		r := inet.Route{Dst: netip.PrefixFrom(dst, int(rt.Dst_len)).Masked(), Gateway: gw}
		if !gw.IsValid() && onLink(in.link.Addrs, r.Dst) {
			continue
		}
		in.link.Routes = append(in.link.Routes, r)
	}
	return nil
}

// onLink reports whether dst is the subnet of one of addrs, or IPv6's
// link-local prefix, which the sandbox's stack routes by itself.
func onLink(addrs []netip.Prefix, dst netip.Prefix) bool {
	if dst == netip.MustParsePrefix("fe80::/64") {
		return true
	}
	for _, a := range addrs {
		if a.Masked() == dst {
			return true
		}
	}
	return false
}

// fixed decodes the fixed part of a netlink message into v.
func fixed(data []byte, v any) error {
	n := binary.Size(v)
	if len(data) < n {
		return errors.New("netlink: a short message")
	}
	return binary.Read(bytes.NewReader(data[:n]), binary.NativeEndian, v)
}

// dump asks this namespace's kernel for every object of one kind (links,
// addresses, routes), of both families. (x/sys/unix has no netlink dump:
// package syscall's.)
func dump(kind int) ([]syscall.NetlinkMessage, error) {
	rib, err := syscall.NetlinkRIB(kind, unix.AF_UNSPEC)
	if err != nil {
		return nil, fmt.Errorf("netlink dump %d: %w", kind, err)
	}
	msgs, err := syscall.ParseNetlinkMessage(rib)
	if err != nil {
		return nil, fmt.Errorf("netlink dump %d: %w", kind, err)
	}
	var out []syscall.NetlinkMessage
	for _, m := range msgs {
		switch m.Header.Type {
		case unix.RTM_NEWLINK, unix.RTM_NEWADDR, unix.RTM_NEWROUTE:
			out = append(out, m)
		}
	}
	return out, nil
}

// delAddr removes address a from interface index (RTM_DELADDR).
func delAddr(index int, a netip.Prefix) error {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	family := unix.AF_INET
	attr := uint16(unix.IFA_LOCAL)
	if a.Addr().Is6() {
		family, attr = unix.AF_INET6, unix.IFA_ADDRESS
	}
	ip := a.Addr().AsSlice()
	body := new(bytes.Buffer)
	binary.Write(body, binary.NativeEndian, unix.IfAddrmsg{Family: uint8(family), Prefixlen: uint8(a.Bits()), Index: uint32(index)})
	binary.Write(body, binary.NativeEndian, unix.RtAttr{Len: uint16(unix.SizeofRtAttr + len(ip)), Type: attr})
	body.Write(ip) // 4 or 16 bytes: aligned
	hdr := unix.NlMsghdr{Len: uint32(unix.SizeofNlMsghdr + body.Len()), Type: unix.RTM_DELADDR,
		Flags: unix.NLM_F_REQUEST | unix.NLM_F_ACK, Seq: 1}
	msg := new(bytes.Buffer)
	binary.Write(msg, binary.NativeEndian, hdr)
	msg.Write(body.Bytes())
	if err := unix.Sendto(fd, msg.Bytes(), 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	n, _, err := unix.Recvfrom(fd, buf, 0)
	if err != nil {
		return err
	}
	msgs, err := syscall.ParseNetlinkMessage(buf[:n])
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m.Header.Type != unix.NLMSG_ERROR {
			continue
		}
		var e unix.NlMsgerr
		if err := fixed(m.Data, &e); err != nil {
			return err
		}
		if e.Error != 0 {
			return unix.Errno(-e.Error)
		}
		return nil
	}
	return errors.New("netlink: no answer")
}
