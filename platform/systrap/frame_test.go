package systrap

import (
	"encoding/binary"
	"testing"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sysmsg"
)

// FuzzFrame feeds what application code can write in its slot (the sysmsg
// page's frame pointers and signal number, and the signal stack's bytes) to
// what the sentry does with them at a stop: locate the frame, read its
// registers, classify the event, write registers and FP state back. The
// invariants: no panic, and a located frame never reaches outside the
// slot's signal stack.
func FuzzFrame(f *testing.F) {
	sh, err := sysmsg.NewShared()
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(sh.Close)
	const slot = 3
	stack := sysmsg.SlotAddr(slot) + sysmsg.AltstackOffset
	f.Add(uint64(stack+0x8000), uint64(stack+0x7f00), uint32(31), []byte{})
	f.Add(uint64(stack+sysmsg.AltstackSize-100), uint64(stack), uint32(11), []byte{1, 2, 3})
	f.Add(^uint64(0), uint64(0), uint32(17), []byte{0xff})
	f.Add(uint64(stack-8), uint64(stack+sysmsg.AltstackSize), uint32(0), []byte{})
	f.Fuzz(func(t *testing.T, uc, si uint64, signo uint32, data []byte) {
		m := sh.Msg(slot)
		m.Ucontext, m.Siginfo, m.Signo = uc, si, signo
		whole, ok := sh.Bytes(slot, stack, sysmsg.AltstackSize)
		if !ok {
			t.Fatal("the signal stack is not addressable")
		}
		for i := range whole {
			whole[i] = 0
		}
		// Spread the data over the frame's likely places.
		for i := 0; len(data) > 0 && i < len(whole); i += 4096 {
			copy(whole[i:], data)
		}
		if b, ok := sh.Bytes(slot, uintptr(uc), uintptr(abi.UContextSize)); ok && len(data) >= 8 {
			if u := abi.View[abi.UContext](b); u != nil {
				u.MContext.Fpstate = binary.LittleEndian.Uint64(data)
			}
		}
		fr, err := locateFrame(sh, slot, m)
		if err != nil {
			return
		}
		fpAddr := fr.uc.MContext.Fpstate
		for _, part := range []struct{ addr, n uint64 }{
			{uc, abi.UContextSize}, {si, uint64(fr.si.SizeBytes())}, {fpAddr, uint64(len(fr.fp))},
		} {
			end := uint64(stack + sysmsg.AltstackSize)
			if part.n == 0 || part.addr < uint64(stack) || part.addr > end || part.n > end-part.addr {
				t.Fatalf("frame part [%#x, +%d) outside the signal stack", part.addr, part.n)
			}
		}
		c := &context{p: &Platform{}, frame: fr}
		var regs platform.Registers
		fr.loadRegs(&regs)
		c.event(nil, m, &regs)
		prev := regs
		regs.Rip, regs.Rsp, regs.Cs = 1, 2, 0x10
		fr.storeRegs(&regs, &prev)
		fr.clearSigmask()
		fp := platform.NewFPState()
		fr.storeFP(fp)
		fr.checkXSAVE()
	})
}
