package inet

// Packet rings (PACKET_MMAP: PACKET_RX_RING, PACKET_TX_RING,
// PACKET_VERSION TPACKET_V1, V2 and V3), as Linux's net/packet/af_packet.c
// lays them out and fills them.
//
// # The memory
//
// As the AIO ring (sentry/kernel/aio), a socket's rings are a host memfd
// the sentry made and owns: the RX ring's blocks, then the TX ring's, in
// one file, which mmap(2) of the socket maps (offset 0, exactly the
// rings' size, else EINVAL: packet_mmap). The sentry writes and reads it
// through its own descriptor (pwrite/pread), never through the
// application's mapping, so a frame lands wherever the application moved
// or unmapped its mapping, as in Linux's pages. The memfd is charged to
// the sandbox's memory account (ENOMEM past it, as Linux's allocation
// fails).
//
// # What is trusted
//
// Nothing the application writes. Every offset the sentry writes or reads
// at comes from the ring's geometry, checked once by setRing as
// packet_set_ring checks tpacket_req and kept in the socket (pktRing), and
// from its own head and block cursors (blockQueue), never from the ring:
// a status word read back is only compared with TP_STATUS_* values, a V3
// block's counts are the sentry's own copies, and a TX frame's tp_len (and
// tp_mac/tp_net with PACKET_TX_HAS_OFF) is bounded by the frame before any
// byte is read. ringWrite and ringRead refuse any range outside the ring
// they are given, a second fence behind those checks. A send walks at
// most tp_frame_nr frames, however quickly another thread raises
// TP_STATUS_SEND_REQUEST behind it.
//
// # Delivery
//
// netstack's packet endpoint hands every packet it would queue to the
// socket's ringHook first (gVisor's stack.PacketMMapEndpoint), in the
// sender's or the link's goroutine: with an RX ring the packet is written
// into the ring there and then, and never queued, as tpacket_rcv replaces
// packet_rcv. A V3 ring's block is retired when full or after its
// timeout (tp_retire_blk_tov, 8 ms when 0, DEFAULT_PRB_RETIRE_TOV on a
// link without an ethtool speed), by a timer armed while a block holds
// packets or the queue is frozen.
//
// gVisor's runsc has RX rings of TPACKET_V1 and V2 only, filled once
// mapped (pkg/sentry/socket/netstack/packetmmap, on its memory file);
// here the rings are Linux's three versions and both directions, and only
// the hook into netstack's packet endpoint is shared with it.
//
// # Not as Linux
//
// A ring set up again by another thread between the checks of an mmap
// and its mapping leaves that mapping on the old memory (Linux holds
// pg_vec_lock across packet_mmap); otherwise, as in Linux, the rings
// cannot change while mapped (EBUSY), which the address spaces count
// (mm.MapTracker: packet_mm_open and packet_mm_close). Frames carry TP_STATUS_USER (and TP_STATUS_LOSING, TP_STATUS_BLK_TMO)
// but no checksum or timestamp-source bits (netstack has no
// CHECKSUM_PARTIAL or skb timestamps); tp_rxhash is 0; a virtio_net_hdr
// (PACKET_VNET_HDR) is all zeros on receive; PACKET_COPY_THRESH is
// recorded only.

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/waiter"

	"runsc-lite/abi"
	"runsc-lite/sentry/usage"
)

const (
	// v3Align is V3_ALIGNMENT: packets in a V3 block are 8-aligned.
	v3Align = 8
	// defaultRetireTOV is DEFAULT_PRB_RETIRE_TOV in milliseconds.
	defaultRetireTOV = 8
	// ethHeaderLen is an Ethernet device's hard_header_len (lo's too).
	ethHeaderLen = 14
	// vlanHeaderLen is VLAN_HLEN, which packet_snd allows past the MTU.
	vlanHeaderLen = 4
	// minMacLen is the room tpacket_rcv leaves for a link header at
	// least (its "maclen < 16 ? 16 : maclen").
	minMacLen = 16
)

// blockDesc is struct tpacket_block_desc with its one variant,
// tpacket_hdr_v1 (x/sys has the union as bytes).
type blockDesc struct {
	Version      uint32
	OffsetToPriv uint32
	H            sys.TpacketHdrV1
}

// blockCounts is the part of tpacket_hdr_v1 a fill updates: num_pkts,
// offset_to_first_pkt and blk_len.
type blockCounts struct {
	NumPkts, OffsetToFirstPkt, BlkLen uint32
}

// virtioNetHdr is struct virtio_net_hdr (PACKET_VNET_HDR).
type virtioNetHdr struct {
	Flags, GSOType                         uint8
	HdrLen, GSOSize, CsumStart, CsumOffset uint16
}

func tpacketAlign(x uint64) uint64 {
	return (x + sys.TPACKET_ALIGNMENT - 1) &^ (sys.TPACKET_ALIGNMENT - 1)
}
func v3AlignUp(x uint64) uint64 { return (x + v3Align - 1) &^ (v3Align - 1) }

// hdrSize is sizeof(struct tpacket_hdr), tpacket2_hdr or tpacket3_hdr:
// what PACKET_HDRLEN answers.
func hdrSize(version int) uint64 {
	switch version {
	case sys.TPACKET_V2:
		return v2HdrSize
	case sys.TPACKET_V3:
		return v3HdrSize
	}
	return v1HdrSize
}

// tpHdrLen is TPACKET_HDRLEN, TPACKET2_HDRLEN or TPACKET3_HDRLEN: the
// aligned header and a sockaddr_ll (po->tp_hdrlen).
func tpHdrLen(version int) uint64 { return tpacketAlign(hdrSize(version)) + uint64(sockaddrLLSize) }

// blkHdrLen is BLK_HDR_LEN; blkPlusPriv is BLK_PLUS_PRIV.
func blkHdrLen() uint64              { return v3AlignUp(uint64(bdSize)) }
func blkPlusPriv(priv uint64) uint64 { return blkHdrLen() + v3AlignUp(priv) }

// pktRing is one ring's geometry (struct packet_ring_buffer), checked by
// setRing and fixed while the ring exists, and its cursor.
type pktRing struct {
	off            int64 // the ring's first byte in the memfd
	blockSize      uint32
	blockNr        uint32
	frameSize      uint32
	frameNr        uint32
	framesPerBlock uint32
	head           uint32      // the next frame (V1, V2, TX); < frameNr
	bq             *blockQueue // a V3 RX ring's blocks
}

func (r *pktRing) size() int64 { return int64(r.blockSize) * int64(r.blockNr) }

// frame is where frame pos (< frameNr) starts in the memfd
// (packet_lookup_frame).
func (r *pktRing) frame(pos uint32) int64 {
	return r.off + int64(pos/r.framesPerBlock)*int64(r.blockSize) + int64(pos%r.framesPerBlock)*int64(r.frameSize)
}

// block is where block b (< blockNr) starts in the memfd.
func (r *pktRing) block(b uint32) int64 { return r.off + int64(b)*int64(r.blockSize) }

// blockQueue is a V3 RX ring's state (struct tpacket_kbdq_core): the
// sentry's own copies of what Linux also keeps in the block descriptor.
type blockQueue struct {
	active, lastActive uint32 // kactive_blk_num, last_kactive_blk_num
	nextSeq            uint64 // knxt_seq_num
	next, prev         uint32 // the next packet's and the last one's offset in the active block
	numPkts, blkLen    uint32 // the active block's num_pkts and blk_len
	lastTS             [2]uint32
	sizeofPriv         uint32
	maxFrameLen        uint32
	feature            uint32
	frozen             bool // reset_pending_on_curr_blk
	tov                time.Duration
	timer              *time.Timer
	armed              bool
	gen                uint64 // which ring a timer belongs to
}

// ringHook receives the socket's packets before netstack queues them
// (stack.PacketMMapEndpoint): with an RX ring they go into the ring.
type ringHook struct{ s *PacketSocket }

// HandlePacket implements stack.PacketMMapEndpoint (tpacket_rcv).
func (h ringHook) HandlePacket(nic tcpip.NICID, proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) bool {
	s := h.s
	s.ringMu.Lock()
	if s.rx == nil {
		s.ringMu.Unlock()
		return false
	}
	notify := s.receive(nic, proto, pkt)
	s.ringMu.Unlock()
	if notify {
		s.queue.Notify(int16(waiter.ReadableEvents))
	}
	return true
}

// Close implements stack.PacketMMapEndpoint: the endpoint is closing.
func (h ringHook) Close() {}

// Readiness implements stack.PacketMMapEndpoint; the socket's own
// Readiness looks at the rings.
func (h ringHook) Readiness(mask waiter.EventMask) waiter.EventMask { return 0 }

// Stats implements stack.PacketMMapEndpoint; PACKET_STATISTICS is the
// socket's.
func (h ringHook) Stats() tcpip.TpacketStats { return tcpip.TpacketStats{} }

// ringWrite writes b at off, which must lie inside r.
func (s *PacketSocket) ringWrite(r *pktRing, off int64, b []byte) {
	if off < r.off || off+int64(len(b)) > r.off+r.size() || s.ringFile == nil {
		s.st.log().Error("packet ring: a write outside the ring refused", "off", off, "len", len(b))
		return
	}
	if _, err := s.ringFile.WriteAt(b, off); err != nil {
		s.st.log().Error("packet ring: writing the ring", "err", err)
	}
}

// ringRead reads len(b) bytes at off, which must lie inside r; what
// cannot be read is zeros.
func (s *PacketSocket) ringRead(r *pktRing, off int64, b []byte) {
	clear(b)
	if off < r.off || off+int64(len(b)) > r.off+r.size() || s.ringFile == nil {
		s.st.log().Error("packet ring: a read outside the ring refused", "off", off, "len", len(b))
		return
	}
	if _, err := s.ringFile.ReadAt(b, off); err != nil {
		s.st.log().Error("packet ring: reading the ring", "err", err)
	}
}

func (s *PacketSocket) writeU32(r *pktRing, off int64, v uint32) {
	s.ringWrite(r, off, binary.LittleEndian.AppendUint32(nil, v))
}

// frameStatus reads the status word of the frame at off (an unsigned
// long in V1, a __u32 since), the application's to forge: it is only
// compared.
func (s *PacketSocket) frameStatus(r *pktRing, off int64) uint64 {
	switch s.version {
	case sys.TPACKET_V1:
		var b [8]byte
		s.ringRead(r, off+v1StatusOff, b[:])
		return binary.LittleEndian.Uint64(b[:])
	case sys.TPACKET_V2:
		var b [4]byte
		s.ringRead(r, off+v2StatusOff, b[:])
		return uint64(binary.LittleEndian.Uint32(b[:]))
	}
	var b [4]byte
	s.ringRead(r, off+v3StatusOff, b[:])
	return uint64(binary.LittleEndian.Uint32(b[:]))
}

// setFrameStatus writes the status word of the frame at off.
func (s *PacketSocket) setFrameStatus(r *pktRing, off int64, v uint32) {
	switch s.version {
	case sys.TPACKET_V1:
		s.ringWrite(r, off+v1StatusOff, binary.LittleEndian.AppendUint64(nil, uint64(v)))
	case sys.TPACKET_V2:
		s.writeU32(r, off+v2StatusOff, v)
	default:
		s.writeU32(r, off+v3StatusOff, v)
	}
}

func (s *PacketSocket) blockStatus(r *pktRing, b uint32) uint32 {
	var w [4]byte
	s.ringRead(r, r.block(b)+bdStatusOff, w[:])
	return binary.LittleEndian.Uint32(w[:])
}

// parseRingReq decodes a tpacket_req (V1, V2) or tpacket_req3 (V3): EINVAL
// when v is shorter (packet_setsockopt).
func parseRingReq(v []byte, version int) (sys.TpacketReq3, error) {
	var req sys.TpacketReq3
	if version == sys.TPACKET_V3 {
		if len(v) < req3Size || !abi.Decode(v[:req3Size], &req) {
			return req, sys.EINVAL
		}
		return req, nil
	}
	var r1 sys.TpacketReq
	if len(v) < reqSize || !abi.Decode(v[:reqSize], &r1) {
		return req, sys.EINVAL
	}
	req.Block_size, req.Block_nr, req.Frame_size, req.Frame_nr = r1.Block_size, r1.Block_nr, r1.Frame_size, r1.Frame_nr
	return req, nil
}

// checkRingReq checks a request for a ring as packet_set_ring does and
// returns its geometry: EINVAL for a block size that is not a positive
// multiple of the page size, a frame smaller than the header and
// PACKET_RESERVE or not TPACKET_ALIGNMENT-aligned, a V3 block too small
// for its descriptor, private area and one frame, no frame per block, a
// count that overflows or a frame count that does not match. s.ringMu is
// held.
func (s *PacketSocket) checkRingReq(req sys.TpacketReq3) (*pktRing, error) {
	if int32(req.Block_size) <= 0 || req.Block_size%abi.PageSize != 0 {
		return nil, sys.EINVAL
	}
	minFrame := s.hdrlen + uint64(s.reserve)
	if s.version >= sys.TPACKET_V3 && uint64(req.Block_size) < blkPlusPriv(uint64(req.Sizeof_priv))+minFrame {
		return nil, sys.EINVAL
	}
	if uint64(req.Frame_size) < minFrame || req.Frame_size&(sys.TPACKET_ALIGNMENT-1) != 0 {
		return nil, sys.EINVAL
	}
	fpb := req.Block_size / req.Frame_size
	if fpb == 0 || fpb > math.MaxUint32/req.Block_nr || fpb*req.Block_nr != req.Frame_nr {
		return nil, sys.EINVAL
	}
	return &pktRing{blockSize: req.Block_size, blockNr: req.Block_nr, frameSize: req.Frame_size,
		frameNr: req.Frame_nr, framesPerBlock: fpb}, nil
}

// setRing implements PACKET_RX_RING and PACKET_TX_RING (packet_set_ring):
// a request with blocks makes the ring (EBUSY if there is one), one
// without (tp_block_nr and tp_frame_nr 0, else EINVAL) removes it. A
// change of the RX ring drops the packets queued for recv(2)
// (skb_queue_purge of the receive queue).
func (s *PacketSocket) setRing(v []byte, tx bool) error {
	changed, err := s.changeRing(v, tx)
	if changed && !tx {
		for range maxPurge {
			if _, terr := s.ep.Read(&tcpip.LimitedWriter{W: io.Discard}, tcpip.ReadOptions{}); terr != nil {
				break
			}
		}
	}
	return err
}

// maxPurge bounds the packets a purge reads off the queue (more than a
// receive buffer holds).
const maxPurge = 1 << 16

// changeRing checks and applies a ring request; changed reports whether
// a ring was made or removed.
func (s *PacketSocket) changeRing(v []byte, tx bool) (changed bool, _ error) {
	hatypes := s.linkTypes()
	s.txMu.Lock()
	defer s.txMu.Unlock()
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	req, err := parseRingReq(v, s.version)
	if err != nil {
		return false, err
	}
	if s.mapped > 0 {
		return false, sys.EBUSY
	}
	cur := &s.rx
	if tx {
		cur = &s.tx
	}
	var r *pktRing
	if req.Block_nr != 0 {
		if *cur != nil {
			return false, sys.EBUSY
		}
		s.hdrlen = tpHdrLen(s.version)
		if r, err = s.checkRingReq(req); err != nil {
			return false, err
		}
		if s.version == sys.TPACKET_V3 && tx && (req.Retire_blk_tov != 0 || req.Sizeof_priv != 0 || req.Feature_req_word != 0) {
			return false, sys.EINVAL // block transmit is not supported (Linux's words)
		}
	} else if req.Frame_nr != 0 {
		return false, sys.EINVAL
	} else if *cur == nil {
		return true, nil // nothing to remove; the queue is purged all the same
	}
	rx, txr := s.rx, s.tx
	if tx {
		txr = r
	} else {
		rx = r
	}
	if err := s.relayout(rx, txr); err != nil {
		return false, err
	}
	if !tx {
		s.stopRetire()
		if r != nil && s.version == sys.TPACKET_V3 {
			s.initBlocks(r, req)
		}
	}
	*cur = r
	s.nicTypes = hatypes
	return true, nil
}

// relayout makes the memfd hold rx then tx (either may be nil), keeping
// what the rings that stay hold: RX at 0, TX after it, as packet_mmap
// maps them. s.ringMu and s.txMu are held.
func (s *PacketSocket) relayout(rx, tx *pktRing) error {
	var oldRX, oldTX int64 = -1, -1
	if s.rx != nil && s.rx == rx {
		oldRX = s.rx.off
	}
	if s.tx != nil && s.tx == tx {
		oldTX = s.tx.off
	}
	var rxSize, txSize int64
	if rx != nil {
		rxSize = rx.size()
	}
	if tx != nil {
		txSize = tx.size()
	}
	size := rxSize + txSize
	if size == 0 {
		s.freeRings()
		return nil
	}
	if !s.mem.Charge(usage.Shmem, uint64(size)) {
		return sys.ENOMEM
	}
	fd, err := sys.MemfdCreate("packet_mmap", sys.MFD_CLOEXEC)
	if err != nil {
		s.mem.Uncharge(usage.Shmem, uint64(size))
		return fmt.Errorf("packet ring: memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "packet_mmap")
	if err := f.Truncate(size); err != nil {
		f.Close()
		s.mem.Uncharge(usage.Shmem, uint64(size))
		return sys.ENOMEM
	}
	// The ring that stays moves its bytes along (staged TX frames, RX
	// frames the application has not released).
	if oldRX >= 0 {
		s.moveRing(f, oldRX, 0, rxSize)
	}
	if oldTX >= 0 {
		s.moveRing(f, oldTX, rxSize, txSize)
	}
	if rx != nil {
		rx.off = 0
	}
	if tx != nil {
		tx.off = rxSize
	}
	s.freeRings()
	s.ringFile, s.ringCharged = f, uint64(size)
	return nil
}

// moveRing copies n bytes at from in the old memfd to to in f.
func (s *PacketSocket) moveRing(f *os.File, from, to, n int64) {
	buf := make([]byte, min(n, 1<<20))
	for done := int64(0); done < n; {
		c := min(int64(len(buf)), n-done)
		if _, err := s.ringFile.ReadAt(buf[:c], from+done); err != nil {
			s.st.log().Error("packet ring: copying a ring", "err", err)
			return
		}
		if _, err := f.WriteAt(buf[:c], to+done); err != nil {
			s.st.log().Error("packet ring: copying a ring", "err", err)
			return
		}
		done += c
	}
}

// freeRings closes the memfd and gives its charge back.
func (s *PacketSocket) freeRings() {
	if s.ringFile != nil {
		s.ringFile.Close()
		s.mem.Uncharge(usage.Shmem, s.ringCharged)
		s.ringFile, s.ringCharged = nil, 0
	}
}

// linkTypes returns the ARP hardware type of each of the namespace's
// interfaces, for the sockaddr_ll of a frame (read before any lock of the
// socket: netstack's delivery holds its own while it fills the ring).
func (s *PacketSocket) linkTypes() map[tcpip.NICID]uint16 {
	m := make(map[tcpip.NICID]uint16)
	if ifs, err := s.st.Interfaces(); err == nil {
		for _, in := range ifs {
			m[tcpip.NICID(in.Index)] = in.Type
		}
	}
	return m
}

// CheckMap implements vfs.MapChecker (packet_mmap): offset 0 and exactly
// the rings' size, else EINVAL (no ring: EINVAL too).
func (s *PacketSocket) CheckMap(offset int64, length uintptr) error {
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	if offset != 0 || s.ringFile == nil || uint64(length) != s.ringCharged {
		return sys.EINVAL
	}
	return nil
}

// MapOpened implements mm.MapTracker (packet_mm_open): the rings are
// mapped once more.
func (s *PacketSocket) MapOpened() {
	s.ringMu.Lock()
	s.mapped++
	s.ringMu.Unlock()
}

// MapClosed implements mm.MapTracker (packet_mm_close).
func (s *PacketSocket) MapClosed() {
	s.ringMu.Lock()
	s.mapped--
	s.ringMu.Unlock()
}

// MappableFile implements vfs.Mappable: a descriptor of the rings' memfd
// for the caller to own; ENODEV without rings (CheckMap refuses first).
func (s *PacketSocket) MappableFile() (*os.File, error) {
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	if s.ringFile == nil {
		return nil, sys.EINVAL
	}
	fd, err := sys.FcntlInt(s.ringFile.Fd(), sys.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("packet ring: duplicating the memfd: %w", err)
	}
	return os.NewFile(uintptr(fd), "packet_mmap"), nil
}

// ringReadiness adds what the rings make ready (packet_poll): readable
// when the RX frame (V3: block) before the cursor is the application's,
// writable when the TX frame at the cursor is free.
func (s *PacketSocket) ringReadiness() int16 {
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	var ev int16
	if r := s.rx; r != nil {
		if r.bq != nil {
			prev := r.bq.active
			if prev == 0 {
				prev = r.blockNr
			}
			if s.blockStatus(r, prev-1) != sys.TP_STATUS_KERNEL {
				ev |= sys.POLLIN | linux.POLLRDNORM
			}
		} else {
			prev := r.head
			if prev == 0 {
				prev = r.frameNr
			}
			if s.frameStatus(r, r.frame(prev-1)) != sys.TP_STATUS_KERNEL {
				ev |= sys.POLLIN | linux.POLLRDNORM
			}
		}
	}
	if r := s.tx; r != nil && s.frameStatus(r, r.frame(r.head)) == sys.TP_STATUS_AVAILABLE {
		ev |= sys.POLLOUT | linux.POLLWRNORM
	}
	return ev
}

// receive writes a packet into the RX ring (tpacket_rcv) and reports
// whether readers should be woken. s.ringMu is held.
func (s *PacketSocket) receive(nic tcpip.NICID, proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) bool {
	r := s.rx
	if !s.hasRoom(r) {
		s.drops++
		return false
	}
	buf := pkt.ToBuffer()
	defer buf.Release()
	link := pkt.LinkHeader().Slice()
	if s.typ == sys.SOCK_DGRAM {
		buf.TrimFront(int64(len(link)))
	}
	l, ok := s.frameLayout(r, uint64(len(link)), uint64(buf.Size()))
	if !ok {
		s.drops++
		return false
	}
	status := uint32(sys.TP_STATUS_USER)
	var frame int64
	retired := false // a full V3 block was handed over
	if r.bq == nil {
		frame = r.frame(r.head)
		if s.frameStatus(r, frame) != sys.TP_STATUS_KERNEL {
			s.drops++
			return false
		}
		r.head = (r.head + 1) % r.frameNr
		if s.drops != 0 {
			status |= sys.TP_STATUS_LOSING
		}
	} else {
		was := r.bq.active
		frame, ok = s.frameInBlock(r, uint32(l.macoff+l.snaplen))
		retired = r.bq.active != was
		if !ok {
			s.drops++
			return retired
		}
	}
	s.packets++
	buf.Truncate(int64(l.snaplen))
	s.writeFrame(r, frame, l, buf.Flatten(), status, s.linkAddr(nic, proto, pkt.PktType, link))
	return s.version != sys.TPACKET_V3 || retired // a V3 block wakes readers when retired
}

// layout is where a packet goes in its frame and how much of it.
type layout struct {
	macoff, netoff uint64 // tp_mac, tp_net
	tpLen, snaplen uint64 // tp_len, tp_snaplen
	vnet           bool   // a virtio_net_hdr precedes the link header
}

// frameLayout places a packet of n bytes with a link header of maclen
// (tpacket_rcv): the network header at TPACKET_ALIGN(tp_hdrlen + at
// least 16 for the link header) plus PACKET_RESERVE (and a
// virtio_net_hdr), SOCK_DGRAM's packet there too; the packet cut to what
// the frame (V3: a block) holds. false: netoff does not fit tp_net's 16
// bits, a drop.
func (s *PacketSocket) frameLayout(r *pktRing, maclen, n uint64) (layout, bool) {
	l := layout{tpLen: n, snaplen: n}
	if s.typ == sys.SOCK_DGRAM {
		l.macoff = tpacketAlign(s.hdrlen) + minMacLen + uint64(s.reserve)
		l.netoff = l.macoff
	} else {
		l.netoff = tpacketAlign(s.hdrlen+max(maclen, minMacLen)) + uint64(s.reserve)
		if s.vnetHdr {
			l.netoff += uint64(vnetHdrSize)
			l.vnet = true
		}
		l.macoff = l.netoff - maclen
	}
	if l.netoff > math.MaxUint16 {
		return l, false
	}
	room := uint64(r.frameSize)
	if r.bq != nil {
		room = uint64(r.bq.maxFrameLen)
	}
	if l.macoff+l.snaplen > room {
		l.snaplen = 0
		if room > l.macoff {
			l.snaplen = room - l.macoff
		} else {
			l.vnet = false
			if r.bq != nil {
				l.macoff = room
			}
		}
	}
	return l, true
}

// linkAddr is a received packet's sockaddr_ll: its interface, protocol
// and type, and the sender's link address from the Ethernet header
// (eth_header_parse).
func (s *PacketSocket) linkAddr(nic tcpip.NICID, proto tcpip.NetworkProtocolNumber, typ tcpip.PacketType, link []byte) linux.SockAddrLink {
	sll := linux.SockAddrLink{Family: sys.AF_PACKET, Protocol: htons(uint16(proto)), InterfaceIndex: int32(nic),
		ARPHardwareType: s.nicTypes[nic], PacketType: linuxPktType[typ]}
	if len(link) >= ethHeaderLen {
		sll.HardwareAddrLen = 6
		copy(sll.HardwareAddr[:], link[6:12])
	}
	return sll
}

// writeFrame writes a frame: the virtio_net_hdr if any, the packet, the
// sockaddr_ll after the header, the header, and for V1 and V2 the status
// last, which hands the frame over (a V3 frame's status is in its header;
// its block's hands it over).
func (s *PacketSocket) writeFrame(r *pktRing, frame int64, l layout, data []byte, status uint32, sll linux.SockAddrLink) {
	if l.vnet {
		s.ringWrite(r, frame+int64(l.macoff)-int64(vnetHdrSize), abi.Encode(virtioNetHdr{}))
	}
	if len(data) > 0 {
		s.ringWrite(r, frame+int64(l.macoff), data)
	}
	s.ringWrite(r, frame+int64(tpacketAlign(hdrSize(s.version))), abi.Encode(sll))
	now := time.Now()
	sec, nsec := uint32(now.Unix()), uint32(now.Nanosecond())
	switch s.version {
	case sys.TPACKET_V1:
		hdr := abi.Encode(linux.TpacketHdr{TpLen: uint32(l.tpLen), TpSnaplen: uint32(l.snaplen), TpMac: uint16(l.macoff),
			TpNet: uint16(l.netoff), TpSec: sec, TpUsec: nsec / 1000})
		s.ringWrite(r, frame+v1StatusEnd, hdr[v1StatusEnd:]) // all but tp_status, first
	case sys.TPACKET_V2:
		hdr := abi.Encode(sys.Tpacket2Hdr{Len: uint32(l.tpLen), Snaplen: uint32(l.snaplen), Mac: uint16(l.macoff),
			Net: uint16(l.netoff), Sec: sec, Nsec: nsec})
		s.ringWrite(r, frame+v2StatusEnd, hdr[v2StatusEnd:])
	default:
		r.bq.lastTS = [2]uint32{sec, nsec}
		s.ringWrite(r, frame, abi.Encode(sys.Tpacket3Hdr{Next_offset: uint32(v3AlignUp(l.macoff + l.snaplen)), Sec: sec,
			Nsec: nsec, Snaplen: uint32(l.snaplen), Len: uint32(l.tpLen), Status: status, Mac: uint16(l.macoff),
			Net: uint16(l.netoff)}))
		return
	}
	s.setFrameStatus(r, frame, status)
}

// hasRoom is __packet_rcv_has_room's ring test: the frame at the head
// (V3: the active block) is the kernel's.
func (s *PacketSocket) hasRoom(r *pktRing) bool {
	if r.bq != nil {
		return s.blockStatus(r, r.bq.active) == sys.TP_STATUS_KERNEL
	}
	return s.frameStatus(r, r.frame(r.head)) == sys.TP_STATUS_KERNEL
}

// initBlocks starts a V3 RX ring (init_prb_bdqc). s.ringMu is held.
func (s *PacketSocket) initBlocks(r *pktRing, req sys.TpacketReq3) {
	tov := req.Retire_blk_tov
	if tov == 0 {
		tov = defaultRetireTOV
	}
	s.ringGen++
	r.bq = &blockQueue{nextSeq: 1, sizeofPriv: req.Sizeof_priv, feature: req.Feature_req_word,
		maxFrameLen: req.Block_size - uint32(blkPlusPriv(uint64(req.Sizeof_priv))),
		tov:         time.Duration(tov) * time.Millisecond, gen: s.ringGen}
	s.freezes = 0
	s.openBlock(r, 0)
}

// openBlock opens block b for packets (prb_open_block): its descriptor
// but not its status, which is the application's to have released.
func (s *PacketSocket) openBlock(r *pktRing, b uint32) {
	q := r.bq
	now := time.Now()
	first := uint32(blkPlusPriv(uint64(q.sizeofPriv)))
	d := blockDesc{Version: sys.TPACKET_V3, OffsetToPriv: uint32(blkHdrLen())}
	d.H.Num_pkts, d.H.Offset_to_first_pkt, d.H.Blk_len, d.H.Seq_num = 0, first, first, q.nextSeq
	d.H.Ts_first_pkt = sys.TpacketBDTS{Sec: uint32(now.Unix()), Usec: uint32(now.Nanosecond())}
	q.nextSeq++
	raw := abi.Encode(d)
	s.ringWrite(r, r.block(b), raw[:bdStatusOff])
	s.ringWrite(r, r.block(b)+bdNumPktsOff, raw[bdNumPktsOff:bdTSFirstOff+bdTSSize])
	q.active, q.lastActive = b, b
	q.numPkts, q.blkLen, q.next, q.prev = 0, first, first, first
	q.frozen = false
	if q.armed {
		q.timer.Reset(q.tov)
	}
}

// frameInBlock finds room for a packet of length bytes
// (__packet_lookup_frame_in_block): in the active block, else in the
// next one once the active one is retired; false when the next block is
// still the application's (the queue freezes). s.ringMu is held.
func (s *PacketSocket) frameInBlock(r *pktRing, length uint32) (int64, bool) {
	q := r.bq
	if q.frozen {
		if s.blockStatus(r, q.active)&sys.TP_STATUS_USER != 0 {
			return 0, false
		}
		s.openBlock(r, q.active)
	}
	if uint64(q.next)+v3AlignUp(uint64(length)) < uint64(r.blockSize) {
		return s.fillBlock(r, length), true
	}
	s.retireBlock(r, 0)
	if !s.dispatchBlock(r) {
		return 0, false
	}
	return s.fillBlock(r, length), true
}

// fillBlock takes length bytes of the active block for a packet
// (prb_fill_curr_block) and returns where its header goes.
func (s *PacketSocket) fillBlock(r *pktRing, length uint32) int64 {
	q := r.bq
	curr := q.next
	step := uint32(v3AlignUp(uint64(length)))
	q.prev = curr
	q.next += step
	q.blkLen += step
	q.numPkts++
	s.ringWrite(r, r.block(q.active)+bdNumPktsOff, abi.Encode(blockCounts{NumPkts: q.numPkts,
		OffsetToFirstPkt: uint32(blkPlusPriv(uint64(q.sizeofPriv))), BlkLen: q.blkLen}))
	if !q.armed {
		q.armed = true
		q.lastActive = q.active
		gen := q.gen
		if q.timer == nil {
			q.timer = time.AfterFunc(q.tov, func() { s.retireExpired(gen) })
		} else {
			q.timer.Reset(q.tov)
		}
	}
	return r.block(q.active) + int64(curr)
}

// retireBlock closes the active block if it is the kernel's
// (prb_retire_current_block, prb_close_block): its last packet ends the
// chain, its last timestamp and status (TP_STATUS_USER, with stat and
// TP_STATUS_LOSING after drops) are written, and the next block becomes
// active.
func (s *PacketSocket) retireBlock(r *pktRing, stat uint32) {
	q := r.bq
	if s.blockStatus(r, q.active) != sys.TP_STATUS_KERNEL {
		return
	}
	status := sys.TP_STATUS_USER | stat
	if s.drops != 0 {
		status |= sys.TP_STATUS_LOSING
	}
	base := r.block(q.active)
	s.writeU32(r, base+int64(q.prev)+v3NextOff, 0)
	ts := sys.TpacketBDTS{Sec: q.lastTS[0], Usec: q.lastTS[1]}
	if q.numPkts == 0 {
		now := time.Now()
		ts = sys.TpacketBDTS{Sec: uint32(now.Unix()), Usec: uint32(now.Nanosecond())}
	}
	s.ringWrite(r, base+bdTSLastOff, abi.Encode(ts))
	s.writeU32(r, base+bdStatusOff, status)
	q.active = (q.active + 1) % r.blockNr
}

// dispatchBlock opens the (new) active block unless the application
// still holds it, which freezes the queue (prb_dispatch_next_block).
func (s *PacketSocket) dispatchBlock(r *pktRing) bool {
	q := r.bq
	if s.blockStatus(r, q.active)&sys.TP_STATUS_USER != 0 {
		q.frozen = true
		s.freezes++
		return false
	}
	s.openBlock(r, q.active)
	return true
}

// retireExpired is the retire timer (prb_retire_rx_blk_timer_expired):
// a block that has held packets for a whole timeout is retired with
// TP_STATUS_BLK_TMO; a frozen queue whose block came back is thawed. The
// timer stays armed while a block holds packets or the queue is frozen.
func (s *PacketSocket) retireExpired(gen uint64) {
	s.ringMu.Lock()
	r := s.rx
	if r == nil || r.bq == nil || r.bq.gen != gen {
		s.ringMu.Unlock()
		return
	}
	q := r.bq
	notify := false
	if q.lastActive == q.active {
		switch {
		case !q.frozen && q.numPkts != 0:
			s.retireBlock(r, sys.TP_STATUS_BLK_TMO)
			notify = true
			s.dispatchBlock(r)
		case q.frozen && s.blockStatus(r, q.active)&sys.TP_STATUS_USER == 0:
			s.openBlock(r, q.active)
		}
	}
	q.lastActive = q.active
	q.armed = q.frozen || q.numPkts != 0
	if q.armed {
		q.timer.Reset(q.tov)
	}
	s.ringMu.Unlock()
	if notify {
		s.queue.Notify(int16(waiter.ReadableEvents))
	}
}

// stopRetire stops a V3 RX ring's timer. s.ringMu is held.
func (s *PacketSocket) stopRetire() {
	if s.rx != nil && s.rx.bq != nil && s.rx.bq.timer != nil {
		s.rx.bq.timer.Stop()
		s.rx.bq.armed = false
	}
	s.ringGen++
}

// releaseRings frees the rings when the socket closes.
func (s *PacketSocket) releaseRings() {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	s.stopRetire()
	s.rx, s.tx = nil, nil
	s.freeRings()
}

// statistics implements PACKET_STATISTICS (cleared by reading): packets
// seen (drops included) and dropped, as tpacket_stats, or for a V3
// socket tpacket_stats_v3 with the queue's freezes.
func (s *PacketSocket) statistics() []byte {
	st, _ := s.ep.Stats().(*tcpip.TransportEndpointStats)
	var recv, over uint64
	if st != nil {
		recv, over = st.PacketsReceived.Value(), st.ReceiveErrors.ReceiveBufferOverflow.Value()
	}
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	drops := s.drops + uint32(over-s.seenOverflow)
	packets := s.packets + uint32(recv-s.seenReceived) + drops
	freezes := s.freezes
	s.seenReceived, s.seenOverflow = recv, over
	s.packets, s.drops, s.freezes = 0, 0, 0
	if s.version == sys.TPACKET_V3 {
		return abi.Encode(sys.TpacketStatsV3{Packets: packets, Drops: drops, Freeze_q_cnt: freezes})
	}
	return abi.Encode(sys.TpacketStats{Packets: packets, Drops: drops})
}

// SendsFromRing reports whether a send takes the TX ring's frames (and
// never reads its buffer).
func (s *PacketSocket) SendsFromRing() bool {
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	return s.tx != nil
}

// sendRing sends the TX ring's frames marked TP_STATUS_SEND_REQUEST, from
// the head on (tpacket_snd), to the interface of to or the one bound:
// the bytes sent, or the error of the first frame that cannot go
// (EMSGSIZE past the frame or the MTU, EINVAL for a bad offset or a link
// header cut short), whose status becomes TP_STATUS_WRONG_FORMAT unless
// PACKET_LOSS skips it. Each frame is read once: its length and offset
// are bounded by the frame before its data is.
func (s *PacketSocket) sendRing(to []byte) (int, error) {
	s.txMu.Lock()
	defer s.txMu.Unlock()
	opts, ifindex, err := s.target(to)
	if err != nil {
		return 0, err
	}
	in, ok := s.iface(ifindex)
	if !ok {
		return 0, sys.ENXIO
	}
	if in.Flags&sys.IFF_UP == 0 {
		return 0, sys.ENETDOWN
	}
	s.ringMu.Lock()
	r := s.tx
	s.ringMu.Unlock()
	if r == nil {
		return 0, sys.EBUSY
	}
	reserve := int64(0)
	if s.typ == sys.SOCK_RAW {
		reserve = ethHeaderLen
	}
	dataOff := int64(s.hdrlen) - int64(sockaddrLLSize)
	sizeMax := int64(r.frameSize) - dataOff
	if lim := int64(in.MTU) + reserve + vlanHeaderLen; sizeMax > lim && !s.vnetHdr {
		sizeMax = lim
	}
	total := 0
	for range r.frameNr {
		frame := r.frame(r.head)
		s.ringMu.Lock()
		pending := s.frameStatus(r, frame) == sys.TP_STATUS_SEND_REQUEST
		s.ringMu.Unlock()
		if !pending {
			break
		}
		data, err := s.txFrame(r, frame, dataOff, sizeMax, int64(in.MTU)+reserve)
		if err == nil {
			var p bytesReader
			p.b = data
			if _, terr := s.ep.Write(&p, opts); terr != nil {
				err = errno(terr)
			}
		}
		s.ringMu.Lock()
		if err != nil && !s.loss {
			s.setFrameStatus(r, frame, sys.TP_STATUS_WRONG_FORMAT)
			s.ringMu.Unlock()
			return 0, err
		}
		s.setFrameStatus(r, frame, sys.TP_STATUS_AVAILABLE)
		s.ringMu.Unlock()
		r.head = (r.head + 1) % r.frameNr
		if err == nil {
			total += len(data)
		}
	}
	return total, nil
}

// txFrame reads a TX frame's header and returns its packet
// (tpacket_parse_header): tp_len no more than sizeMax, the data at
// tp_mac (SOCK_RAW) or tp_net (SOCK_DGRAM) with PACKET_TX_HAS_OFF, within
// the frame, else right after the header.
func (s *PacketSocket) txFrame(r *pktRing, frame, dataOff, sizeMax, mtu int64) ([]byte, error) {
	hb := make([]byte, hdrSize(s.version))
	s.ringRead(r, frame, hb)
	var tpLen int64
	var mac, net uint16
	switch s.version {
	case sys.TPACKET_V1:
		var h linux.TpacketHdr
		abi.Decode(hb, &h)
		tpLen, mac, net = int64(int32(h.TpLen)), h.TpMac, h.TpNet
	case sys.TPACKET_V2:
		var h sys.Tpacket2Hdr
		abi.Decode(hb, &h)
		tpLen, mac, net = int64(int32(h.Len)), h.Mac, h.Net
	default:
		var h sys.Tpacket3Hdr
		abi.Decode(hb, &h)
		if h.Next_offset != 0 {
			return nil, sys.EINVAL // variable sized slot not supported
		}
		tpLen, mac, net = int64(int32(h.Len)), h.Mac, h.Net
	}
	if tpLen > sizeMax {
		return nil, sys.EMSGSIZE
	}
	off := dataOff
	if s.txHasOff {
		off = int64(mac)
		if s.typ == sys.SOCK_DGRAM {
			off = int64(net)
		}
		if off < dataOff || off > int64(r.frameSize)-tpLen {
			return nil, sys.EINVAL
		}
	}
	if s.vnetHdr {
		off += int64(vnetHdrSize)
		tpLen -= int64(vnetHdrSize)
	}
	if tpLen < 0 || (s.typ == sys.SOCK_RAW && tpLen < ethHeaderLen) {
		return nil, sys.EINVAL
	}
	if tpLen > mtu {
		return nil, sys.EMSGSIZE
	}
	if off+tpLen > int64(r.frameSize) {
		return nil, sys.EINVAL
	}
	data := make([]byte, tpLen)
	s.ringRead(r, frame+off, data)
	return data, nil
}
