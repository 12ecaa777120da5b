package inet

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/packet"
	"gvisor.dev/gvisor/pkg/waiter"

	"runsc-lite/abi"
	"runsc-lite/sentry/usage"
	"runsc-lite/sentry/vfs"
)

// Packet sockets (AF_PACKET, packet(7)): SOCK_RAW (frames with their
// link header) and SOCK_DGRAM ("cooked": the network packet, the link
// address in sockaddr_ll) on netstack's packet endpoints, for a caller
// with CAP_NET_RAW (checked by the syscall layer). They see and send
// the frames of their network namespace's NICs only: lo, which is
// Ethernet-framed as Linux's (a zero 14-byte header, ARPHRD_LOOPBACK),
// and, in the sandbox's first namespace, eth0 or a container's links,
// whose frames never reach the host beyond what netstack itself would
// send there (eth0 is cabled to the outside stack, whose forwarders
// take TCP, UDP and ICMP echo only; a container's link is its own
// namespace's). PACKET_VERSION, PACKET_RX_RING, PACKET_TX_RING and
// mmap(2) of the rings are packetring.go's.

// sockaddrLLSize is sizeof(struct sockaddr_ll); llAddrOff is
// offsetof(struct sockaddr_ll, sll_addr), its last field.
var (
	sockaddrLLSize = (*linux.SockAddrLink)(nil).SizeBytes()
	llAddrOff      = sockaddrLLSize - len(linux.SockAddrLink{}.HardwareAddr)
)

// PacketSocket is one AF_PACKET socket.
type PacketSocket struct {
	st       *Stack
	typ      int // SOCK_RAW or SOCK_DGRAM
	ino      uint64
	ep       tcpip.Endpoint
	wq       *waiter.Queue
	relay    waiter.Entry
	queue    vfs.Queue
	protocol uint16 // the protocol bound, host order
	SockTimeouts

	mu      sync.Mutex // guards ifindex
	ifindex int32      // the interface bound, 0 for every one

	mem *usage.Memory // the sandbox's account, charged for the rings

	// txMu serializes the sends from the TX ring and the changes of the
	// rings (Linux's pg_vec_lock); it is taken before ringMu.
	txMu sync.Mutex
	// ringMu guards what follows. netstack's delivery takes it (in
	// ringHook.HandlePacket) under its own locks, so it is never held
	// while calling into netstack.
	ringMu   sync.Mutex
	version  int    // PACKET_VERSION
	reserve  uint32 // PACKET_RESERVE
	hdrlen   uint64 // tp_hdrlen: TPACKET*_HDRLEN of the version the last ring was asked with
	vnetHdr  bool   // PACKET_VNET_HDR
	loss     bool   // PACKET_LOSS
	txHasOff bool   // PACKET_TX_HAS_OFF
	tstamp   int    // PACKET_TIMESTAMP
	copyThr  int    // PACKET_COPY_THRESH
	rx, tx   *pktRing
	ringFile *os.File // both rings' memory: RX at 0, TX after it
	// ringCharged is ringFile's size, charged to mem.
	ringCharged uint64
	mapped      int                    // the address spaces' mappings of the rings (po->mapped)
	ringGen     uint64                 // counts V3 rings, so a stale retire timer does nothing
	nicTypes    map[tcpip.NICID]uint16 // the interfaces' ARPHRD_* when the last ring was set
	// packets, drops and freezes are PACKET_STATISTICS's counts from the
	// ring since it was last read; seenReceived and seenOverflow are
	// netstack's counts of the queue when it was.
	packets, drops, freezes    uint32
	seenReceived, seenOverflow uint64
}

// NewPacket implements socket(2) for AF_PACKET: typ SOCK_RAW or
// SOCK_DGRAM (ESOCKTNOSUPPORT otherwise); protocol is the Ethernet
// protocol in network order, as socket(2) takes it (0: none until bind).
//
// mem is the sandbox's memory account, which rings are charged to.
func (st *Stack) NewPacket(typ, protocol, flags int, mem *usage.Memory) (*vfs.File, error) {
	if typ != sys.SOCK_RAW && typ != sys.SOCK_DGRAM {
		return nil, sys.ESOCKTNOSUPPORT
	}
	ns, err := st.netstack()
	if err != nil {
		return nil, err
	}
	proto := ntohs(uint16(protocol))
	wq := new(waiter.Queue)
	ep := packet.NewEndpoint(ns, typ == sys.SOCK_DGRAM, tcpip.NetworkProtocolNumber(proto), wq)
	s := &PacketSocket{st: st, typ: typ, ino: vfs.NewSockIno(), ep: ep, wq: wq, protocol: proto, mem: mem, hdrlen: tpHdrLen(sys.TPACKET_V1)}
	if m, ok := ep.(stack.MappablePacketEndpoint); ok {
		m.SetPacketMMapEndpoint(ringHook{s})
	}
	s.relay.Init(s, waiter.EventMask(0xffff))
	wq.EventRegister(&s.relay)
	st.Hold()
	return vfs.NewFile(nil, nil, s, s, sys.O_RDWR|flags&sys.O_NONBLOCK), nil
}

// PacketFromFile returns the packet socket of f, if it is one.
func PacketFromFile(f *vfs.File) (*PacketSocket, bool) {
	s, ok := f.Impl().(*PacketSocket)
	return s, ok
}

// NotifyEvent implements waiter.EventListener.
func (s *PacketSocket) NotifyEvent(mask waiter.EventMask) { s.queue.Notify(int16(mask)) }

// Stat implements vfs.Inode.
func (s *PacketSocket) Stat(ctx context.Context) (sys.Stat_t, error) {
	return sys.Stat_t{Dev: vfs.SockDev, Ino: s.ino, Nlink: 1, Mode: sys.S_IFSOCK | 0o777, Blksize: 4096}, nil
}

// Open implements vfs.Inode.
func (s *PacketSocket) Open(ctx context.Context, flags int) (vfs.FileImpl, error) {
	return nil, sys.ENXIO
}

// LinkName implements vfs.LinkNamer.
func (s *PacketSocket) LinkName() string { return fmt.Sprintf("socket:[%d]", s.ino) }

// EventQueue implements vfs.Waitable.
func (s *PacketSocket) EventQueue() *vfs.Queue { return &s.queue }

// Readiness implements vfs.Readiness.
func (s *PacketSocket) Readiness(mask int16) int16 {
	ev := int16(s.ep.Readiness(waiter.EventMask(uint16(mask))|waiter.EventErr|waiter.EventHUp)) | s.ringReadiness()
	return ev & (mask | sys.POLLERR | sys.POLLHUP)
}

// ReadAt implements vfs.FileImpl.
func (s *PacketSocket) ReadAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, sys.ESPIPE
}

// WriteAt implements vfs.FileImpl.
func (s *PacketSocket) WriteAt(ctx context.Context, p []byte, off int64) (int, error) {
	return 0, sys.ESPIPE
}

// Read implements vfs.Stream.
func (s *PacketSocket) Read(ctx context.Context, p []byte) (int, error) {
	r, err := s.Recv(p, false, false)
	return r.N, err
}

// Write implements vfs.Stream: a packet socket has no peer, so a write
// goes to the interface it is bound to (ENXIO unbound, as Linux).
func (s *PacketSocket) Write(ctx context.Context, p []byte) (int, error) {
	return s.Send(p, nil, SendOptions{})
}

// Release implements vfs.FileImpl.
func (s *PacketSocket) Release() {
	s.wq.EventUnregister(&s.relay)
	s.ep.Close()
	s.releaseRings()
	s.st.Unhold()
}

// Stack returns the stack (network namespace) the socket belongs to.
func (s *PacketSocket) Stack() *Stack { return s.st }

// Family returns SO_DOMAIN.
func (s *PacketSocket) Family() int { return sys.AF_PACKET }

// Type returns SO_TYPE.
func (s *PacketSocket) Type() int { return s.typ }

// Stream reports false: packets are datagrams.
func (s *PacketSocket) Stream() bool { return false }

// MaxDatagram is the largest packet a send takes.
func (s *PacketSocket) MaxDatagram() int { return 65535 }

// Timeouts returns SO_RCVTIMEO and SO_SNDTIMEO.
func (s *PacketSocket) Timeouts() (rcv, snd time.Duration) { return s.SockTimeouts.Timeouts() }

// parseLL checks a sockaddr_ll as packet_bind and packet_snd do: EINVAL
// when it is short or not AF_PACKET. proto is in host order.
func parseLL(raw []byte) (proto uint16, ifindex int32, addr []byte, err error) {
	var a linux.SockAddrLink
	if len(raw) < sockaddrLLSize || !abi.Decode(raw[:sockaddrLLSize], &a) || a.Family != sys.AF_PACKET {
		return 0, 0, nil, sys.EINVAL
	}
	halen := min(int(a.HardwareAddrLen), len(a.HardwareAddr))
	return ntohs(a.Protocol), a.InterfaceIndex, a.HardwareAddr[:halen], nil
}

// linkOf returns the ARP hardware type and address of NIC id; ok is
// false when the namespace has no such interface.
func (s *PacketSocket) linkOf(id int32) (hatype uint16, mac [6]byte, ok bool) {
	ifs, err := s.st.Interfaces()
	if err != nil {
		return 0, mac, false
	}
	for _, in := range ifs {
		if in.Index == id {
			return in.Type, in.MAC, true
		}
	}
	return 0, mac, false
}

// Bind implements bind(2) (packet_bind): the interface (0 for every
// one) and protocol (0 keeps the socket's) it receives from; ENODEV for
// an interface the namespace lacks.
func (s *PacketSocket) Bind(raw []byte) error {
	proto, ifindex, _, err := parseLL(raw)
	if err != nil {
		return err
	}
	if ifindex != 0 {
		if _, _, ok := s.linkOf(ifindex); !ok {
			return sys.ENODEV
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if proto == 0 {
		proto = s.protocol
	}
	if terr := s.ep.Bind(tcpip.FullAddress{NIC: tcpip.NICID(ifindex), Port: proto}); terr != nil {
		return errno(terr)
	}
	s.ifindex = ifindex
	return nil
}

// BindPort implements the syscall layer's privileged-port check: none.
func (s *PacketSocket) BindPort(raw []byte) uint16 { return 0 }

// Listen implements listen(2): EOPNOTSUPP.
func (s *PacketSocket) Listen(backlog int32) error { return sys.EOPNOTSUPP }

// Accept implements accept(2): EOPNOTSUPP.
func (s *PacketSocket) Accept(flags int) (*vfs.File, []byte, error) {
	return nil, nil, sys.EOPNOTSUPP
}

// Connect implements connect(2): EOPNOTSUPP (sock_no_connect).
func (s *PacketSocket) Connect(raw []byte) error { return sys.EOPNOTSUPP }

// ConnectResult implements the syscall layer's wait for a connect.
func (s *PacketSocket) ConnectResult(raw []byte) error { return sys.EOPNOTSUPP }

// Shutdown implements shutdown(2): EOPNOTSUPP (sock_no_shutdown).
func (s *PacketSocket) Shutdown(how int32) error { return sys.EOPNOTSUPP }

// Name implements getsockname(2) (packet_getname): the family, the
// interface and protocol bound, and that interface's type and address.
func (s *PacketSocket) Name() []byte {
	s.mu.Lock()
	ifindex, proto := s.ifindex, s.protocol
	s.mu.Unlock()
	if a, err := s.ep.GetLocalAddress(); err == nil {
		proto = a.Port
	}
	a := linux.SockAddrLink{Family: sys.AF_PACKET, Protocol: htons(proto), InterfaceIndex: ifindex}
	if hatype, mac, ok := s.linkOf(ifindex); ok && ifindex != 0 {
		a.ARPHardwareType, a.HardwareAddrLen = hatype, 6
		copy(a.HardwareAddr[:], mac[:])
	}
	return abi.Encode(a)[:llAddrOff+int(a.HardwareAddrLen)]
}

// PeerName implements getpeername(2): EOPNOTSUPP (sock_no_getname).
func (s *PacketSocket) PeerName() ([]byte, error) { return nil, sys.EOPNOTSUPP }

// Send implements sendto(2) and sendmsg(2) (packet_sendmsg): the TX
// ring's frames when there is one (packetring.go), else data
// (packet_snd), to the interface and protocol of to, else the ones bound
// (ENXIO without an interface, as Linux's packet_snd finds no device); a
// SOCK_DGRAM socket's link header is made for it to the link address in
// to. With PACKET_VNET_HDR data starts with a virtio_net_hdr (EINVAL
// when shorter), which is taken off.
func (s *PacketSocket) Send(data, to []byte, o SendOptions) (int, error) {
	s.ringMu.Lock()
	ring, vnet := s.tx != nil, s.vnetHdr
	s.ringMu.Unlock()
	if ring {
		return s.sendRing(to)
	}
	opts, _, err := s.target(to)
	if err != nil {
		return 0, err
	}
	n := 0
	if vnet {
		var h virtioNetHdr
		if len(data) < vnetHdrSize || !abi.Decode(data, &h) || int(h.HdrLen) > len(data)-vnetHdrSize || h.GSOType != 0 {
			return 0, sys.EINVAL
		}
		data, n = data[vnetHdrSize:], vnetHdrSize
	}
	var r bytesReader
	r.b = data
	m, terr := s.ep.Write(&r, opts)
	if terr != nil {
		return 0, errno(terr)
	}
	return n + int(m), nil
}

// target returns the write options and interface of a send to to (nil:
// the interface bound): EINVAL for a bad sockaddr_ll, ENXIO without an
// interface or for one the namespace lacks.
func (s *PacketSocket) target(to []byte) (tcpip.WriteOptions, int32, error) {
	var opts tcpip.WriteOptions
	if to == nil {
		s.mu.Lock()
		bound := s.ifindex
		s.mu.Unlock()
		if bound == 0 {
			return opts, 0, sys.ENXIO
		}
		return opts, bound, nil
	}
	proto, ifindex, addr, err := parseLL(to)
	if err != nil {
		return opts, 0, err
	}
	opts.To = &tcpip.FullAddress{NIC: tcpip.NICID(ifindex), Port: proto, LinkAddr: tcpip.LinkAddress(addr)}
	if ifindex == 0 {
		return opts, 0, sys.ENXIO
	}
	if _, _, ok := s.linkOf(ifindex); !ok {
		return opts, 0, sys.ENXIO
	}
	return opts, ifindex, nil
}

// iface describes interface id of the socket's namespace.
func (s *PacketSocket) iface(id int32) (Interface, bool) {
	ifs, err := s.st.Interfaces()
	if err != nil {
		return Interface{}, false
	}
	for _, in := range ifs {
		if in.Index == id {
			return in, true
		}
	}
	return Interface{}, false
}

// bytesReader is a tcpip.Payloader over a byte slice.
type bytesReader struct {
	b   []byte
	off int
}

// Read implements io.Reader.
func (r *bytesReader) Read(p []byte) (int, error) {
	n := copy(p, r.b[r.off:])
	r.off += n
	return n, nil
}

// Len implements tcpip.Payloader.
func (r *bytesReader) Len() int { return len(r.b) - r.off }

// Recv implements recvmsg(2) (packet_recvmsg): one packet, cut to dst;
// From is its sockaddr_ll: interface, protocol, the interface's type,
// the packet's type and the sender's link address (at least
// sizeof(struct sockaddr_ll) long, as Linux reports it). With
// PACKET_VNET_HDR a virtio_net_hdr (all zeros: no offload) comes first
// (packet_rcv_vnet: EINVAL for a buffer shorter than it).
func (s *PacketSocket) Recv(dst []byte, peek, discard bool) (Received, error) {
	s.ringMu.Lock()
	vnet := s.vnetHdr
	s.ringMu.Unlock()
	if vnet {
		if len(dst) < vnetHdrSize {
			return Received{}, sys.EINVAL
		}
		clear(dst[:vnetHdrSize])
		r, err := s.recv(dst[vnetHdrSize:], peek)
		r.N += vnetHdrSize
		r.Len += vnetHdrSize
		return r, err
	}
	return s.recv(dst, peek)
}

func (s *PacketSocket) recv(dst []byte, peek bool) (Received, error) {
	res, terr := s.ep.Read(&tcpip.LimitedWriter{W: sliceWriter{&dst}, N: int64(len(dst))}, tcpip.ReadOptions{Peek: peek, NeedRemoteAddr: true, NeedLinkPacketInfo: true})
	if terr != nil {
		if _, closed := terr.(*tcpip.ErrClosedForReceive); closed {
			return Received{}, sys.EAGAIN
		}
		return Received{}, errno(terr)
	}
	from := linux.SockAddrLink{Family: sys.AF_PACKET, Protocol: htons(uint16(res.LinkPacketInfo.Protocol)),
		InterfaceIndex: int32(res.RemoteAddr.NIC), PacketType: linuxPktType[res.LinkPacketInfo.PktType], HardwareAddrLen: 6}
	if hatype, _, ok := s.linkOf(int32(res.RemoteAddr.NIC)); ok {
		from.ARPHardwareType = hatype
	}
	copy(from.HardwareAddr[:], res.RemoteAddr.LinkAddr)
	return Received{N: res.Count, Len: res.Total, From: abi.Encode(from)}, nil
}

// linuxPktType maps netstack's packet types, numbered apart, to
// sll_pkttype's PACKET_* values.
var linuxPktType = map[tcpip.PacketType]uint8{
	tcpip.PacketHost: sys.PACKET_HOST, tcpip.PacketBroadcast: sys.PACKET_BROADCAST,
	tcpip.PacketMulticast: sys.PACKET_MULTICAST, tcpip.PacketOtherHost: sys.PACKET_OTHERHOST,
	tcpip.PacketOutgoing: sys.PACKET_OUTGOING,
}

// GetOption implements getsockopt(2): the socket-level options
// netstack keeps, and SOL_PACKET's (packet_getsockopt; PACKET_HDRLEN,
// which reads its value first, is GetOptionIn).
func (s *PacketSocket) GetOption(level, name, n int) ([]byte, error) {
	if level == sys.SOL_PACKET {
		return s.packetOption(name)
	}
	if level == sys.SOL_SOCKET {
		switch name {
		case sys.SO_TYPE:
			return intBytes(s.typ), nil
		case sys.SO_DOMAIN:
			return intBytes(sys.AF_PACKET), nil
		case sys.SO_PROTOCOL:
			return intBytes(int(htons(s.protocol))), nil
		case sys.SO_ERROR:
			return intBytes(0), nil
		case sys.SO_RCVBUF:
			return intBytes(int(s.ep.SocketOptions().GetReceiveBufferSize())), nil
		case sys.SO_SNDBUF:
			return intBytes(int(s.ep.SocketOptions().GetSendBufferSize())), nil
		}
	}
	return nil, sys.ENOPROTOOPT
}

// packetOption answers a SOL_PACKET getsockopt.
func (s *PacketSocket) packetOption(name int) ([]byte, error) {
	if name == sys.PACKET_STATISTICS {
		return s.statistics(), nil
	}
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	switch name {
	case sys.PACKET_VERSION:
		return intBytes(s.version), nil
	case sys.PACKET_RESERVE:
		return intBytes(int(s.reserve)), nil
	case sys.PACKET_VNET_HDR:
		return boolBytes(s.vnetHdr), nil
	case sys.PACKET_LOSS:
		return boolBytes(s.loss), nil
	case sys.PACKET_TX_HAS_OFF:
		return boolBytes(s.txHasOff), nil
	case sys.PACKET_TIMESTAMP:
		return intBytes(s.tstamp), nil
	case sys.PACKET_HDRLEN:
		return nil, sys.EINVAL // GetOptionIn answers it
	}
	return nil, sys.ENOPROTOOPT
}

func boolBytes(b bool) []byte {
	if b {
		return intBytes(1)
	}
	return intBytes(0)
}

// TakesInput reports the options whose getsockopt reads optval first:
// SOL_PACKET's PACKET_HDRLEN.
func (s *PacketSocket) TakesInput(level, name int) bool {
	return level == sys.SOL_PACKET && name == sys.PACKET_HDRLEN
}

// GetOptionIn implements PACKET_HDRLEN: the size of the frame header of
// the version in in (an int), EINVAL for another.
func (s *PacketSocket) GetOptionIn(level, name int, in []byte) ([]byte, error) {
	if len(in) < 4 {
		return nil, sys.EINVAL
	}
	switch v := int32(binary.LittleEndian.Uint32(in)); v {
	case sys.TPACKET_V1, sys.TPACKET_V2, sys.TPACKET_V3:
		return intBytes(int(hdrSize(int(v)))), nil
	}
	return nil, sys.EINVAL
}

// SetOption implements setsockopt(2): SO_RCVBUF, SO_SNDBUF, and
// SOL_PACKET's ring options (packet_setsockopt).
func (s *PacketSocket) SetOption(level, name int, v []byte) error {
	switch {
	case level == sys.SOL_PACKET:
		return s.setPacketOption(name, v)
	case level == sys.SOL_SOCKET && (name == sys.SO_RCVBUF || name == sys.SO_SNDBUF):
		if len(v) < 4 {
			return sys.EINVAL
		}
		n := int64(int32(binary.LittleEndian.Uint32(v))) * 2
		if name == sys.SO_RCVBUF {
			s.ep.SocketOptions().SetReceiveBufferSize(n, true)
		} else {
			s.ep.SocketOptions().SetSendBufferSize(n, true)
		}
		return nil
	}
	return Unknown{Level: level, Name: name}
}

// setPacketOption sets a SOL_PACKET option as packet_setsockopt does:
// the length checks (exactly an int for most, at least one for
// PACKET_VNET_HDR), and EBUSY for what shapes a ring once one is set.
func (s *PacketSocket) setPacketOption(name int, v []byte) error {
	switch name {
	case sys.PACKET_RX_RING, sys.PACKET_TX_RING:
		return s.setRing(v, name == sys.PACKET_TX_RING)
	case sys.PACKET_VERSION, sys.PACKET_RESERVE, sys.PACKET_LOSS, sys.PACKET_TIMESTAMP,
		sys.PACKET_TX_HAS_OFF, sys.PACKET_COPY_THRESH:
		if len(v) != 4 {
			return sys.EINVAL
		}
	case sys.PACKET_VNET_HDR:
		if s.typ != sys.SOCK_RAW || len(v) < 4 {
			return sys.EINVAL
		}
	default:
		return Unknown{Level: sys.SOL_PACKET, Name: name}
	}
	val := binary.LittleEndian.Uint32(v)
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	rings := s.rx != nil || s.tx != nil
	switch name {
	case sys.PACKET_VERSION:
		if val != sys.TPACKET_V1 && val != sys.TPACKET_V2 && val != sys.TPACKET_V3 {
			return sys.EINVAL
		}
		if rings {
			return sys.EBUSY
		}
		s.version = int(val)
	case sys.PACKET_RESERVE:
		if val > math.MaxInt32 {
			return sys.EINVAL
		}
		if rings {
			return sys.EBUSY
		}
		s.reserve = val
	case sys.PACKET_LOSS:
		if rings {
			return sys.EBUSY
		}
		s.loss = val != 0
	case sys.PACKET_VNET_HDR:
		if rings {
			return sys.EBUSY
		}
		s.vnetHdr = val != 0
	case sys.PACKET_TX_HAS_OFF:
		if !rings {
			s.txHasOff = val != 0
		}
	case sys.PACKET_TIMESTAMP:
		s.tstamp = int(int32(val))
	case sys.PACKET_COPY_THRESH:
		s.copyThr = int(int32(val))
	}
	return nil
}

// Ioctl implements vfs.Ioctler: the interface ioctls of the socket's
// namespace.
func (s *PacketSocket) Ioctl(ctx context.Context, mem vfs.Memory, cmd uint32, arg uintptr) (uintptr, error) {
	if IsDeviceIoctl(cmd) {
		return s.st.DeviceIoctl(mem, cmd, arg, netAdmin(ctx))
	}
	return 0, sys.ENOTTY
}
