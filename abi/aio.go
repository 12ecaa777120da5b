package abi

// IOCB is struct iocb of <linux/aio_abi.h>, an io_submit request, with
// aio_rw_flags where gVisor's linux.IOCallback has padding.
type IOCB struct {
	Data      uint64
	Key       uint32
	RWFlags   int32
	Opcode    uint16
	ReqPrio   int16
	FD        uint32
	Buf       uint64
	NBytes    uint64
	Offset    int64
	Reserved2 uint64
	Flags     uint32
	ResFD     uint32
}
