package clocks

import (
	"sync/atomic"
	"unsafe"

	"runsc-lite/vdso"
)

// readPage reads a page as the vDSO does: CLOCK_MONOTONIC now. The page
// is mapped while p lives, as write relies on.
func readPage(p *Page) (int64, bool) {
	v := (*vdso.Params)(unsafe.Pointer(&p.mem[0]))
	for {
		seq := atomic.LoadUint64(&v.Seq)
		if seq&1 != 0 {
			continue
		}
		ready := atomic.LoadUint64(&v.Ready)
		l := linear{baseCycles: atomic.LoadUint64(&v.BaseCycles), baseNs: atomic.LoadInt64(&v.BaseMono), mult: atomic.LoadUint64(&v.Mult)}
		now := l.at(rdtscOrdered())
		if atomic.LoadUint64(&v.Seq) == seq {
			return now, ready != 0
		}
	}
}
