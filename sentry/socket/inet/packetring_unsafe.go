package inet

import (
	"unsafe"

	sys "golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
)

// The offsets of the words of a ring the sentry writes or reads alone:
// a frame's status (which the application writes concurrently), a V3
// frame's tp_next_offset, and the parts of a block descriptor
// (struct tpacket_block_desc with its tpacket_hdr_v1) that are written
// apart from the block's status, as Linux writes them field by field.
const (
	v1StatusOff   = int64(unsafe.Offsetof(linux.TpacketHdr{}.TpStatus))
	v2StatusOff   = int64(unsafe.Offsetof(sys.Tpacket2Hdr{}.Status))
	v1StatusEnd   = v1StatusOff + int64(unsafe.Sizeof(linux.TpacketHdr{}.TpStatus))
	v2StatusEnd   = v2StatusOff + int64(unsafe.Sizeof(sys.Tpacket2Hdr{}.Status))
	v3StatusOff   = int64(unsafe.Offsetof(sys.Tpacket3Hdr{}.Status))
	v3NextOff     = int64(unsafe.Offsetof(sys.Tpacket3Hdr{}.Next_offset))
	bdHdrOff      = int64(unsafe.Offsetof(blockDesc{}.H))
	bdStatusOff   = bdHdrOff + int64(unsafe.Offsetof(sys.TpacketHdrV1{}.Block_status))
	bdNumPktsOff  = bdHdrOff + int64(unsafe.Offsetof(sys.TpacketHdrV1{}.Num_pkts))
	bdSeqEnd      = bdHdrOff + int64(unsafe.Offsetof(sys.TpacketHdrV1{}.Ts_first_pkt))
	bdTSFirstOff  = bdSeqEnd
	bdTSLastOff   = bdHdrOff + int64(unsafe.Offsetof(sys.TpacketHdrV1{}.Ts_last_pkt))
	bdSize        = int64(unsafe.Sizeof(blockDesc{}))
	bdTSSize      = int64(unsafe.Sizeof(sys.TpacketBDTS{}))
	v1HdrSize     = uint64(unsafe.Sizeof(linux.TpacketHdr{}))
	v2HdrSize     = uint64(unsafe.Sizeof(sys.Tpacket2Hdr{}))
	v3HdrSize     = uint64(unsafe.Sizeof(sys.Tpacket3Hdr{}))
	reqSize       = int(unsafe.Sizeof(sys.TpacketReq{}))
	req3Size      = int(unsafe.Sizeof(sys.TpacketReq3{}))
	vnetHdrSize   = int(unsafe.Sizeof(virtioNetHdr{}))
	blkCountsSize = int64(unsafe.Sizeof(blockCounts{}))
)
