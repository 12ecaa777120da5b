package inet

import (
	"bytes"
	"encoding/binary"
	"testing"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"runsc-lite/abi"
	"runsc-lite/sentry/usage"
)

func newPacketSock(t *testing.T, mem *usage.Memory) *PacketSocket {
	t.Helper()
	st := NewIsolated()
	t.Cleanup(st.Unhold)
	f, err := st.NewPacket(sys.SOCK_RAW, int(htons(sys.ETH_P_ALL)), 0, mem)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.DecRef)
	s, _ := PacketFromFile(f)
	return s
}

func setInt(t *testing.T, s *PacketSocket, name int, v uint32) error {
	t.Helper()
	return s.SetOption(sys.SOL_PACKET, name, binary.LittleEndian.AppendUint32(nil, v))
}

func req(bs, bn, fs, fn uint32) []byte {
	return abi.Encode(sys.TpacketReq{Block_size: bs, Block_nr: bn, Frame_size: fs, Frame_nr: fn})
}

// TestRingRequests checks packet_set_ring's answers to tpacket_req and
// tpacket_req3 requests, and the options a ring freezes.
func TestRingRequests(t *testing.T) {
	s := newPacketSock(t, usage.NewMemory(1<<20))
	if err := setInt(t, s, sys.PACKET_VERSION, sys.TPACKET_V2); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		v    []byte
		want error
	}{
		{"short", req(4096, 1, 2048, 2)[:15], sys.EINVAL},
		{"block not a page multiple", req(1000, 1, 1000, 1), sys.EINVAL},
		{"negative block", req(0x80000000, 1, 2048, 0x40000), sys.EINVAL},
		{"frame under the header", req(4096, 1, 32, 128), sys.EINVAL},
		{"frame not aligned", req(4096, 1, 2056, 1), sys.EINVAL},
		{"frame over the block", req(4096, 1, 8192, 0), sys.EINVAL},
		{"frame count off", req(4096, 1, 2048, 3), sys.EINVAL},
		{"count overflows", req(4096, 0x7fffffff, 64, 64), sys.EINVAL},
		{"no blocks but frames", req(4096, 0, 2048, 1), sys.EINVAL},
		{"nothing to remove", req(4096, 0, 0, 0), nil},
		{"past the memory account", req(1<<20, 2, 1<<20, 2), sys.ENOMEM},
		{"a ring", req(4096, 2, 2048, 4), nil},
		{"again", req(4096, 2, 2048, 4), sys.EBUSY},
	} {
		if err := s.SetOption(sys.SOL_PACKET, sys.PACKET_RX_RING, c.v); err != c.want {
			t.Errorf("%s: PACKET_RX_RING = %v, want %v", c.name, err, c.want)
		}
	}
	for _, o := range []int{sys.PACKET_VERSION, sys.PACKET_RESERVE, sys.PACKET_VNET_HDR, sys.PACKET_LOSS} {
		if err := setInt(t, s, o, 0); err != sys.EBUSY {
			t.Errorf("option %d with a ring = %v, want EBUSY", o, err)
		}
	}
	if err := s.CheckMap(0, 8192); err != nil {
		t.Errorf("CheckMap of the ring = %v", err)
	}
	if err := s.CheckMap(4096, 4096); err != sys.EINVAL {
		t.Errorf("CheckMap at an offset = %v, want EINVAL", err)
	}
	s.MapOpened()
	if err := s.SetOption(sys.SOL_PACKET, sys.PACKET_RX_RING, req(0, 0, 0, 0)); err != sys.EBUSY {
		t.Errorf("removing a mapped ring = %v, want EBUSY", err)
	}
	s.MapClosed()
	if err := s.SetOption(sys.SOL_PACKET, sys.PACKET_RX_RING, req(0, 0, 0, 0)); err != nil {
		t.Errorf("removing the ring = %v", err)
	}
	if err := setInt(t, s, sys.PACKET_VERSION, sys.TPACKET_V3); err != nil {
		t.Fatal(err)
	}
	r3 := func(bs, bn, fs, fn, tov, priv uint32) []byte {
		return abi.Encode(sys.TpacketReq3{Block_size: bs, Block_nr: bn, Frame_size: fs, Frame_nr: fn, Retire_blk_tov: tov, Sizeof_priv: priv})
	}
	if err := s.SetOption(sys.SOL_PACKET, sys.PACKET_RX_RING, r3(4096, 1, 4096, 1, 10, 3<<30)); err != sys.EINVAL {
		t.Errorf("V3 private area past the block = %v, want EINVAL", err)
	}
	if err := s.SetOption(sys.SOL_PACKET, sys.PACKET_TX_RING, r3(4096, 1, 2048, 2, 10, 0)); err != sys.EINVAL {
		t.Errorf("V3 TX ring with a timeout = %v, want EINVAL", err)
	}
}

// TestRingFence checks that the ring's reads and writes refuse ranges
// outside the ring they are given.
func TestRingFence(t *testing.T) {
	s := newPacketSock(t, nil)
	setInt(t, s, sys.PACKET_VERSION, sys.TPACKET_V2)
	if err := s.SetOption(sys.SOL_PACKET, sys.PACKET_TX_RING, req(4096, 1, 2048, 2)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetOption(sys.SOL_PACKET, sys.PACKET_RX_RING, req(4096, 1, 2048, 2)); err != nil {
		t.Fatal(err)
	}
	s.ringMu.Lock()
	defer s.ringMu.Unlock()
	if s.rx.off != 0 || s.tx.off != 4096 {
		t.Fatalf("rings at %d and %d, want RX at 0, TX at 4096", s.rx.off, s.tx.off)
	}
	s.ringWrite(s.rx, 4094, []byte{1, 2, 3, 4}) // past RX, into TX
	s.ringWrite(s.tx, -4, []byte{1, 2, 3, 4})
	s.ringWrite(s.tx, 8192, []byte{1})
	all := make([]byte, 8192)
	s.ringFile.ReadAt(all, 0)
	if !bytes.Equal(all, make([]byte, 8192)) {
		t.Error("a write outside its ring changed the memory")
	}
	b := []byte{9, 9}
	s.ringRead(s.tx, 8191, b)
	if b[0] != 0 || b[1] != 0 {
		t.Error("a read outside the ring returned data")
	}
}

// frame builds a packet as lo delivers it: a zero Ethernet header, then
// payload.
func frame(payload []byte) *stack.PacketBuffer {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{ReserveHeaderBytes: header.EthernetMinimumSize,
		Payload: buffer.MakeWithData(payload)})
	eth := header.Ethernet(pkt.LinkHeader().Push(header.EthernetMinimumSize))
	eth.Encode(&header.EthernetFields{Type: header.IPv4ProtocolNumber, SrcAddr: "\x02\x00\x00\x00\x00\x07"})
	pkt.PktType = tcpip.PacketHost
	return pkt
}

// TestRingReceive fills a V2 ring: the header, sockaddr_ll and bytes of
// each frame, and a frame whose status the application left forged is
// skipped as full (a drop), never overwritten.
func TestRingReceive(t *testing.T) {
	s := newPacketSock(t, nil)
	setInt(t, s, sys.PACKET_VERSION, sys.TPACKET_V2)
	if err := s.SetOption(sys.SOL_PACKET, sys.PACKET_RX_RING, req(4096, 1, 2048, 2)); err != nil {
		t.Fatal(err)
	}
	h := ringHook{s}
	pkt := frame([]byte("hello ring"))
	defer pkt.DecRef()
	if !h.HandlePacket(1, header.IPv4ProtocolNumber, pkt) {
		t.Fatal("a ring did not take the packet")
	}
	raw := make([]byte, 2048)
	s.ringFile.ReadAt(raw, 0)
	var hdr sys.Tpacket2Hdr
	abi.Decode(raw, &hdr)
	// TPACKET_ALIGN(TPACKET2_HDRLEN + 16) = 80 for the network header, the
	// 14-byte link header before it.
	if hdr.Status != sys.TP_STATUS_USER || hdr.Len != 24 || hdr.Snaplen != 24 || hdr.Mac != 66 || hdr.Net != 80 {
		t.Errorf("header %+v", hdr)
	}
	var sll linux.SockAddrLink
	abi.Decode(raw[32:], &sll)
	if sll.Family != sys.AF_PACKET || sll.Protocol != htons(0x800) || sll.InterfaceIndex != 1 || sll.HardwareAddrLen != 6 || sll.HardwareAddr[5] != 7 {
		t.Errorf("sockaddr_ll %+v", sll)
	}
	if got := string(raw[80 : 80+10]); got != "hello ring" {
		t.Errorf("payload %q", got)
	}
	if ev := s.Readiness(sys.POLLIN); ev&sys.POLLIN == 0 {
		t.Error("a filled frame does not make the socket readable")
	}
	// Frame 1 forged as the application's: the next packet is dropped.
	s.ringFile.WriteAt([]byte{1, 0, 0, 0}, 2048)
	pkt2 := frame([]byte("dropped"))
	defer pkt2.DecRef()
	h.HandlePacket(1, header.IPv4ProtocolNumber, pkt2)
	s.ringFile.ReadAt(raw, 2048)
	abi.Decode(raw, &hdr)
	if hdr.Len != 0 {
		t.Errorf("a frame the application holds was written: %+v", hdr)
	}
	st := s.statistics()
	var stats sys.TpacketStats
	abi.Decode(st, &stats)
	if stats.Packets != 2 || stats.Drops != 1 {
		t.Errorf("statistics %+v, want 2 packets, 1 drop", stats)
	}
}
