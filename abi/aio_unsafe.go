package abi

import "unsafe"

// IOCBKeyOffset is the offset of aio_key in struct iocb, which io_submit
// writes (KIOCB_KEY) and io_cancel reads.
const IOCBKeyOffset = unsafe.Offsetof(IOCB{}.Key)
