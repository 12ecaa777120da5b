package clocks

import (
	"sync/atomic"
	"unsafe"

	"runsc-lite/vdso"
)

// write stores v's fields after Seq into the page under its sequence
// count, as the vDSO's reader (vdso/c/vdso.c) expects: Seq odd, the
// fields, Seq even. Atomic stores keep the order on the way to memory.
//
// The page is a page-aligned mapping that lives as long as p (NewPage maps
// it, Close unmaps it after p leaves counter.pages, under counter.mu, as
// every write is made), so a vdso.Params, eight 8-byte fields, fits at its
// start and is aligned.
func (p *Page) write(v vdso.Params) {
	dst := (*vdso.Params)(unsafe.Pointer(&p.mem[0]))
	seq := atomic.LoadUint64(&dst.Seq)
	atomic.StoreUint64(&dst.Seq, seq+1)
	atomic.StoreUint64(&dst.Ready, v.Ready)
	atomic.StoreUint64(&dst.BaseCycles, v.BaseCycles)
	atomic.StoreInt64(&dst.BaseMono, v.BaseMono)
	atomic.StoreUint64(&dst.Mult, v.Mult)
	atomic.StoreInt64(&dst.RealtimeOffset, v.RealtimeOffset)
	atomic.StoreInt64(&dst.BoottimeOffset, v.BoottimeOffset)
	atomic.StoreInt64(&dst.TAIOffset, v.TAIOffset)
	atomic.StoreUint64(&dst.Seq, seq+2)
}
