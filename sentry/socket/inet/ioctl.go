package inet

import (
	"context"
	"encoding/binary"
	"slices"
	"sort"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"runsc-lite/abi"
	"runsc-lite/sentry/vfs"
)

// Ioctls: the socket's queues (FIONREAD, SIOCOUTQ) and the interface
// ioctls of netdevice(7), which describe the sandbox's own interfaces
// (netstack's NICs), never the host's.

// Interface is one network interface of the sandbox, as the interface
// ioctls, /proc/net and netlink describe it.
type Interface struct {
	Index int32
	Name  string
	Flags uint32 // IFF_*
	MTU   uint32
	Type  uint16 // ARPHRD_*
	// Addrs are its addresses, IPv4 and IPv6.
	Addrs []tcpip.AddressWithPrefix
	// Gateway and Gateway6 are the IPv4 and IPv6 default routes' next
	// hops through it, if any.
	Gateway, Gateway6 tcpip.Address
	// MAC is its hardware address (zeros for lo; eth0's is made up).
	MAC [6]byte
}

// Interfaces lists the sandbox's interfaces by index.
func (st *Stack) Interfaces() ([]Interface, error) {
	ns, err := st.netstack()
	if err != nil {
		return nil, err
	}
	var out []Interface
	routes := ns.GetRouteTable()
	user := st.UserRoutes()
	for id, info := range ns.NICInfo() {
		in := describe(int32(id), info)
		for _, r := range routes {
			added := slices.ContainsFunc(user, func(u UserRoute) bool { return u.Route == r })
			if r.NIC != id || r.Destination.Prefix() != 0 || added {
				continue
			}
			switch r.Gateway.Len() {
			case header.IPv4AddressSize:
				in.Gateway = r.Gateway
			case header.IPv6AddressSize:
				in.Gateway6 = r.Gateway
			}
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out, nil
}

// describe turns netstack's view of a NIC into an Interface.
func describe(id int32, info stack.NICInfo) Interface {
	in := Interface{Index: id, Name: info.Name, MTU: info.MTU, Type: linux.ARPHRD_ETHER}
	copy(in.MAC[:], info.LinkAddress)
	// Netstack reports every NIC up; an enabled one is running. A NIC
	// is disabled only when brought down (SetUp), so enabled is IFF_UP.
	if info.Flags.Running {
		in.Flags |= sys.IFF_UP | sys.IFF_RUNNING | sys.IFF_LOWER_UP
	}
	if info.Flags.Loopback {
		in.Flags |= sys.IFF_LOOPBACK
		in.Type = linux.ARPHRD_LOOPBACK
	} else {
		in.Flags |= sys.IFF_BROADCAST | sys.IFF_MULTICAST // as an Ethernet device's
	}
	if info.Flags.Promiscuous {
		in.Flags |= sys.IFF_PROMISC
	}
	for _, a := range info.ProtocolAddresses {
		in.Addrs = append(in.Addrs, a.AddressWithPrefix)
	}
	return in
}

// Ioctl implements vfs.Ioctler.
func (s *Socket) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	switch cmd {
	case sys.SIOCINQ, sys.SIOCOUTQ:
		opt := tcpip.ReceiveQueueSizeOption
		if cmd == sys.SIOCOUTQ {
			opt = tcpip.SendQueueSizeOption
		}
		if s.typ == sys.SOCK_STREAM && s.endpoint().SocketOptions().GetAcceptConn() {
			return 0, sys.EINVAL
		}
		if n, ok := s.stashedLen(); ok && cmd == sys.SIOCINQ {
			return 0, mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(n)))
		}
		v, err := s.endpoint().GetSockOptInt(opt)
		if err != nil {
			return 0, errno(err)
		}
		return 0, mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(v)))
	case sys.SIOCATMARK:
		if s.typ == sys.SOCK_STREAM {
			return 0, s.atMark(mem, arg)
		}
	}
	if IsDeviceIoctl(cmd) {
		return s.st.DeviceIoctl(mem, cmd, arg, netAdmin(ctx))
	}
	return 0, sys.ENOTTY
}

// IsDeviceIoctl reports whether cmd is one of netdevice(7)'s interface
// ioctls, which every socket answers, whatever its family (sock_ioctl
// passes them to dev_ioctl).
func IsDeviceIoctl(cmd uint32) bool {
	switch cmd {
	case sys.SIOCGIFCONF, sys.SIOCGIFNAME, sys.SIOCGIFINDEX, sys.SIOCGIFFLAGS, sys.SIOCGIFADDR, sys.SIOCGIFNETMASK,
		sys.SIOCGIFMTU, sys.SIOCGIFHWADDR, sys.SIOCGIFMETRIC, sys.SIOCGIFTXQLEN,
		sys.SIOCSIFFLAGS, sys.SIOCSIFADDR, sys.SIOCSIFNETMASK, sys.SIOCSIFMTU, sys.SIOCSIFHWADDR,
		sys.SIOCSIFNAME, sys.SIOCSIFMETRIC, sys.SIOCSIFTXQLEN, sys.SIOCSIFBRDADDR, sys.SIOCSIFDSTADDR:
		return true
	}
	return false
}

// DeviceIoctl answers an interface ioctl (IsDeviceIoctl) about the
// sandbox's interfaces; admin is the caller's CAP_NET_ADMIN, which
// SIOCSIFFLAGS needs.
func (st *Stack) DeviceIoctl(mem vfs.Memory, cmd uint32, arg uintptr, admin bool) (uintptr, error) {
	switch cmd {
	case sys.SIOCGIFCONF:
		return 0, st.ifconf(mem, arg)
	case sys.SIOCGIFNAME, sys.SIOCGIFINDEX, sys.SIOCGIFFLAGS, sys.SIOCGIFADDR, sys.SIOCGIFNETMASK,
		sys.SIOCGIFMTU, sys.SIOCGIFHWADDR, sys.SIOCGIFMETRIC, sys.SIOCGIFTXQLEN:
		var ifr linux.IFReq
		b := abi.AsBytes(&ifr)
		if err := mem.CopyIn(arg, b); err != nil {
			return 0, err
		}
		if err := st.interfaceIoctl(cmd, &ifr); err != nil {
			return 0, err
		}
		return 0, mem.CopyOut(arg, b)
	}
	// SIOCSIF*: the request is read (EFAULT) as dev_ioctl reads it;
	// then CAP_NET_ADMIN is needed (EPERM). Of the changes, the sandbox
	// makes IFF_UP's (SetUp); its interfaces' other settings are fixed
	// (EPERM, as for a caller without the capability).
	var ifr linux.IFReq
	if err := mem.CopyIn(arg, abi.AsBytes(&ifr)); err != nil {
		return 0, err
	}
	switch {
	case !admin:
		return 0, sys.EPERM
	case cmd == sys.SIOCSIFFLAGS:
		return 0, st.setFlags(&ifr)
	case cmd == sys.SIOCSIFMTU:
		return 0, st.setMTU(&ifr)
	}
	return 0, sys.EPERM
}

// setMTU is SIOCSIFMTU (dev_set_mtu) for lo: EINVAL out of 68 (IPv4's
// least) to 65536 (lo's most). The other interfaces' MTUs are fixed:
// eth0's is the cable's, a container link's its namespace's (EPERM).
func (st *Stack) setMTU(ifr *linux.IFReq) error {
	in, err := st.named(ifr.Name())
	if err != nil {
		return err
	}
	if in.Index != LoopbackNIC {
		return sys.EPERM
	}
	mtu := int32(binary.LittleEndian.Uint32(ifr.Data[:4]))
	if mtu < 68 || mtu > loopbackMTU {
		return sys.EINVAL
	}
	ns, err := st.netstack()
	if err != nil {
		return err
	}
	// lo is Ethernet-framed: its link endpoint's MTU counts the header.
	return errno(ns.SetNICMTU(LoopbackNIC, uint32(mtu)+header.EthernetMinimumSize))
}

// named returns the interface called name: ENODEV if there is none.
func (st *Stack) named(name string) (Interface, error) {
	ifs, err := st.Interfaces()
	if err != nil {
		return Interface{}, err
	}
	for _, in := range ifs {
		if in.Name == name {
			return in, nil
		}
	}
	return Interface{}, sys.ENODEV
}

// setFlags is SIOCSIFFLAGS: IFF_UP brings the interface up or down;
// the other flags are the interface's own (a change is EPERM).
func (st *Stack) setFlags(ifr *linux.IFReq) error {
	in, err := st.named(ifr.Name())
	if err != nil {
		return err
	}
	want := uint32(binary.LittleEndian.Uint16(ifr.Data[:]))
	// Only the flags a caller may change count (dev_change_flags keeps
	// the others: IFF_LOOPBACK, IFF_BROADCAST, IFF_RUNNING..., so
	// ifr_flags = IFF_UP is a request for lo too); of those the sandbox
	// makes IFF_UP's.
	const changeable = sys.IFF_DEBUG | sys.IFF_NOTRAILERS | sys.IFF_NOARP | sys.IFF_DYNAMIC |
		sys.IFF_MULTICAST | sys.IFF_PORTSEL | sys.IFF_AUTOMEDIA | sys.IFF_UP | sys.IFF_PROMISC | sys.IFF_ALLMULTI
	if (want^in.Flags)&changeable&^sys.IFF_UP != 0 {
		return sys.EPERM
	}
	if (want^in.Flags)&sys.IFF_UP == 0 {
		return nil
	}
	return st.SetUp(in.Index, want&sys.IFF_UP != 0)
}

// netAdmin reports whether the task in ctx has CAP_NET_ADMIN.
func netAdmin(ctx context.Context) bool {
	t, ok := vfs.TaskOf(ctx).(interface{ HasCapability(linux.Capability) bool })
	return ok && t.HasCapability(linux.CAP_NET_ADMIN)
}

// IsInterfaceChange reports whether cmd is one of netdevice(7)'s requests
// that change an interface.
func IsInterfaceChange(cmd uint32) bool {
	switch cmd {
	case sys.SIOCSIFFLAGS, sys.SIOCSIFADDR, sys.SIOCSIFNETMASK, sys.SIOCSIFMTU, sys.SIOCSIFHWADDR,
		sys.SIOCSIFNAME, sys.SIOCSIFMETRIC, sys.SIOCSIFTXQLEN, sys.SIOCSIFBRDADDR, sys.SIOCSIFDSTADDR:
		return true
	}
	return false
}

// RefuseInterfaceChange answers a request that changes an interface (the
// struct ifreq at arg): the request is read (EFAULT) as dev_ioctl reads
// it, then refused as Linux refuses a caller without CAP_NET_ADMIN.
func RefuseInterfaceChange(mem vfs.Memory, arg uintptr) error {
	var ifr linux.IFReq
	if err := mem.CopyIn(arg, abi.AsBytes(&ifr)); err != nil {
		return err
	}
	return sys.EPERM
}

// atMark answers SIOCATMARK on a TCP socket (tcp_ioctl): 1 when the
// next read starts at the urgent mark (urgent.go).
func (s *Socket) atMark(mem vfs.Memory, arg uintptr) error {
	return mem.CopyOut(arg, binary.LittleEndian.AppendUint32(nil, uint32(boolInt(s.AtMark()))))
}

// interfaceIoctl answers one of netdevice(7)'s SIOCGIF* requests about
// the interface ifr names (by index for SIOCGIFNAME), as dev_ifsioc_locked:
// ENODEV for an interface the sandbox lacks, EADDRNOTAVAIL for an
// address it lacks.
func (st *Stack) interfaceIoctl(cmd uint32, ifr *linux.IFReq) error {
	ifs, err := st.Interfaces()
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	var in *Interface
	for i := range ifs {
		if cmd == sys.SIOCGIFNAME && ifs[i].Index == int32(le.Uint32(ifr.Data[:4])) ||
			cmd != sys.SIOCGIFNAME && ifs[i].Name == ifr.Name() {
			in = &ifs[i]
		}
	}
	if in == nil {
		return sys.ENODEV
	}
	clear(ifr.Data[:])
	switch cmd {
	case sys.SIOCGIFNAME:
		ifr.SetName(in.Name)
		le.PutUint32(ifr.Data[:], uint32(in.Index))
	case sys.SIOCGIFINDEX:
		le.PutUint32(ifr.Data[:], uint32(in.Index))
	case sys.SIOCGIFFLAGS:
		le.PutUint16(ifr.Data[:], uint16(in.Flags))
	case sys.SIOCGIFMTU:
		le.PutUint32(ifr.Data[:], in.MTU)
	case sys.SIOCGIFMETRIC:
	case sys.SIOCGIFTXQLEN:
		le.PutUint32(ifr.Data[:], 1000)
	case sys.SIOCGIFHWADDR:
		le.PutUint16(ifr.Data[:], in.Type) // struct sockaddr: sa_family, then the address
		copy(ifr.Data[2:], in.MAC[:])
	case sys.SIOCGIFADDR, sys.SIOCGIFNETMASK:
		a, ok := firstIPv4(in)
		if !ok {
			return sys.EADDRNOTAVAIL
		}
		sa := linux.SockAddrInet{Family: sys.AF_INET, Addr: linux.InetAddr(a.Address.As4())}
		if cmd == sys.SIOCGIFNETMASK {
			binary.BigEndian.PutUint32(sa.Addr[:], ^uint32(0)<<(32-a.PrefixLen))
		}
		copy(ifr.Data[:], abi.AsBytes(&sa))
	}
	return nil
}

// firstIPv4 returns an interface's first IPv4 address.
func firstIPv4(in *Interface) (tcpip.AddressWithPrefix, bool) {
	for _, a := range in.Addrs {
		if a.Address.Len() == header.IPv4AddressSize {
			return a, true
		}
	}
	return tcpip.AddressWithPrefix{}, false
}

// ifconf implements SIOCGIFCONF: one struct ifreq per IPv4 address of an
// interface, as many as fit in ifc_len; without a buffer, the length all
// of them need.
func (st *Stack) ifconf(mem vfs.Memory, arg uintptr) error {
	var ifc linux.IFConf
	b := abi.AsBytes(&ifc)
	if err := mem.CopyIn(arg, b); err != nil {
		return err
	}
	ifs, err := st.Interfaces()
	if err != nil {
		return err
	}
	var reqs []linux.IFReq
	for _, in := range ifs {
		for _, a := range in.Addrs {
			if a.Address.Len() != header.IPv4AddressSize {
				continue
			}
			var r linux.IFReq
			r.SetName(in.Name)
			sa := linux.SockAddrInet{Family: sys.AF_INET, Addr: linux.InetAddr(a.Address.As4())}
			copy(r.Data[:], abi.AsBytes(&sa))
			reqs = append(reqs, r)
		}
	}
	size := int32(len(abi.AsBytes(&linux.IFReq{})))
	if ifc.Ptr == 0 {
		ifc.Len = int32(len(reqs)) * size
		return mem.CopyOut(arg, b)
	}
	n := int32(0)
	for i := range reqs {
		if n+size > ifc.Len {
			break
		}
		if err := mem.CopyOut(uintptr(ifc.Ptr)+uintptr(n), abi.AsBytes(&reqs[i])); err != nil {
			return err
		}
		n += size
	}
	ifc.Len = n
	return mem.CopyOut(arg, b)
}
