package platformtest

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// Where test programs live in an address space. All of them are far below
// the region a platform may reserve for itself near the top of the user
// address space.
const (
	codeAddr  = 0x10000000
	codeSize  = 0x10000
	stackAddr = 0x20000000
	stackSize = 0x10000
	dataAddr  = 0x30000000
	dataSize  = 0x10000
	pageSize  = 0x1000
)

// switchTimeout bounds every Switch: a platform that hangs fails the test
// instead of stalling the whole run.
const switchTimeout = 10 * time.Second

// newPlatform creates a platform with f and closes it when the test ends,
// after everything the test created in it has been released (cleanups run
// last-registered first).
func newPlatform(t testing.TB, f Factory) platform.Platform {
	t.Helper()
	p, err := f()
	if err != nil {
		t.Fatalf("creating the platform: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("%s: Close: %v", p.Name(), err)
		}
	})
	return p
}

// newAddressSpace returns a fresh address space released when the test ends.
// The returned function releases it earlier; calling it more than once is
// harmless.
func newAddressSpace(t testing.TB, p platform.Platform) (platform.AddressSpace, func()) {
	t.Helper()
	as, err := p.NewAddressSpace()
	if err != nil {
		t.Fatalf("NewAddressSpace: %v", err)
	}
	return as, releaseOnce(t, as.Release)
}

// releaseOnce registers release as a cleanup and returns a function that
// runs it early; release runs at most once.
func releaseOnce(t testing.TB, release func()) func() {
	var once sync.Once
	f := func() { once.Do(release) }
	t.Cleanup(f)
	return f
}

// mapAnon maps size bytes of private anonymous memory at addr exactly.
func mapAnon(t testing.TB, as platform.AddressSpace, addr, size uintptr, prot int) {
	t.Helper()
	got, err := as.Mmap(addr, size, prot, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, nil, 0)
	if err != nil {
		t.Fatalf("Mmap(%#x, %#x, prot %#x): %v", addr, size, prot, err)
	}
	if got != addr {
		t.Fatalf("Mmap(%#x, MAP_FIXED) mapped at %#x", addr, got)
	}
}

// loadCode maps code at addr: writable while it is copied in, then
// read+execute, as a loader would.
func loadCode(t testing.TB, as platform.AddressSpace, addr uintptr, code []byte) {
	t.Helper()
	size := roundUp(uintptr(len(code)), pageSize)
	mapAnon(t, as, addr, size, unix.PROT_READ|unix.PROT_WRITE)
	write(t, as, addr, code)
	if err := as.Mprotect(addr, size, unix.PROT_READ|unix.PROT_EXEC); err != nil {
		t.Fatalf("Mprotect(%#x, %#x, R|X): %v", addr, size, err)
	}
}

// mapStack maps a stack at base and returns its 16-byte aligned top.
func mapStack(t testing.TB, as platform.AddressSpace, base uintptr) uintptr {
	t.Helper()
	mapAnon(t, as, base, stackSize, unix.PROT_READ|unix.PROT_WRITE)
	return base + stackSize - 64
}

// newProcess returns a fresh address space set up by loadProcess, and a
// thread about to run the program.
func newProcess(t testing.TB, p platform.Platform, src string) (*thread, *program) {
	t.Helper()
	as, _ := newAddressSpace(t, p)
	return loadProcess(t, p, as, src)
}

// loadProcess puts src at codeAddr in as, with a stack at stackAddr and
// dataSize bytes of zeroed read-write data at dataAddr, and returns a
// thread about to run the program.
func loadProcess(t testing.TB, p platform.Platform, as platform.AddressSpace, src string) (*thread, *program) {
	t.Helper()
	prog := assemble(t, src)
	loadCode(t, as, codeAddr, prog.code)
	mapAnon(t, as, dataAddr, dataSize, unix.PROT_READ|unix.PROT_WRITE)
	return newThread(t, p, as, codeAddr, mapStack(t, as, stackAddr)), prog
}

// thread is one application thread: a context with its register state.
type thread struct {
	t    testing.TB
	ctx  platform.Context
	as   platform.AddressSpace
	regs platform.Registers
	fp   *platform.FPState
	// release releases ctx. For threads made by newThread it runs at most
	// once, and at the latest when the test ends.
	release func()
}

// newThread returns a thread that starts at rip with the stack pointer rsp
// in as. Its context is released when the test ends.
func newThread(t testing.TB, p platform.Platform, as platform.AddressSpace, rip, rsp uintptr) *thread {
	t.Helper()
	th := makeThread(t, p.NewContext(), as, rip, rsp)
	th.release = releaseOnce(t, th.ctx.Release)
	return th
}

// makeThread wraps ctx in a thread that starts at rip with the stack pointer
// rsp in as, the way Linux starts a thread: user segments, interrupts
// enabled, a fresh FP state. Releasing ctx is up to the caller.
func makeThread(t testing.TB, ctx platform.Context, as platform.AddressSpace, rip, rsp uintptr) *thread {
	return &thread{
		t:   t,
		ctx: ctx,
		as:  as,
		regs: platform.Registers{
			Rip:    uint64(rip),
			Rsp:    uint64(rsp),
			Cs:     platform.UserCS,
			Ss:     platform.UserSS,
			Eflags: 0x202,
		},
		fp:      platform.NewFPState(),
		release: ctx.Release,
	}
}

type switchResult struct {
	ev  platform.Event
	err error
}

// outcome is how a Switch ended.
type outcome struct {
	ev  platform.Event
	err error
	// interrupted: the thread ran for the whole switchTimeout without
	// stopping and had to be interrupted.
	interrupted bool
	// returned: Switch returned at all (after the interrupt, if any).
	returned bool
}

func (o outcome) String() string {
	switch {
	case !o.returned:
		return fmt.Sprintf("Switch did not return within %v, nor within %v of Interrupt", switchTimeout, switchTimeout)
	case o.err != nil:
		return fmt.Sprintf("Switch error: %v", o.err)
	case o.interrupted:
		return fmt.Sprintf("still running after %v, then %v", switchTimeout, o.ev)
	}
	return o.ev.String()
}

// switchOnce runs the thread until it stops for a reason other than a
// spurious EventInterrupted. If it runs longer than switchTimeout it is
// interrupted; a Switch that then still does not return is abandoned
// (returned == false) and may go on running.
func (th *thread) switchOnce() outcome {
	var interrupted atomic.Bool
	done := make(chan outcome, 1)
	go func() {
		for {
			ev, err := th.ctx.Switch(th.as, &th.regs, th.fp)
			if err == nil && ev.Kind == platform.EventInterrupted && !interrupted.Load() {
				continue // Spurious.
			}
			done <- outcome{ev: ev, err: err, interrupted: interrupted.Load(), returned: true}
			return
		}
	}()
	select {
	case o := <-done:
		return o
	case <-time.After(switchTimeout):
	}
	interrupted.Store(true)
	th.ctx.Interrupt()
	select {
	case o := <-done:
		return o
	case <-time.After(switchTimeout):
		return outcome{interrupted: true}
	}
}

// run switches into the thread and returns the event that stopped it,
// failing the test if Switch fails or the thread does not stop by itself.
func (th *thread) run() platform.Event {
	th.t.Helper()
	o := th.switchOnce()
	if !o.returned || o.err != nil || o.interrupted {
		th.t.Fatalf("running the thread: %v", o)
	}
	return o.ev
}

// runToSyscall runs the thread and fails the test unless it stops at
// syscall nr with Rip just after a syscall instruction, or after a
// `mov $nr,%eax; syscall` the platform patched into an indirect jump
// (ff 24 25 abs32, systrap), or inside a `syscall; cmp $imm,%rax` the
// platform patched since the syscall trapped (ff 24 e5 abs32).
func (th *thread) runToSyscall(nr uint64) {
	th.t.Helper()
	ev := th.run()
	th.expectSyscall(ev, nr)
	if insn := read(th.t, th.as, uintptr(th.regs.Rip)-2, 2); (insn[0] != 0x0f || insn[1] != 0x05) && (insn[0] != 0xff || insn[1] != 0x24) {
		if site := read(th.t, th.as, uintptr(th.regs.Rip)-7, 7); !bytes.Equal(site[:3], []byte{0xff, 0x24, 0x25}) {
			th.t.Fatalf("syscall stop at rip %#x, but the bytes before it are % x, not a syscall instruction (0f 05) or a patched site", th.regs.Rip, site)
		}
	}
}

// expectSyscall fails the test unless ev is a stop at syscall nr.
func (th *thread) expectSyscall(ev platform.Event, nr uint64) {
	th.t.Helper()
	if ev.Kind != platform.EventSyscall {
		th.t.Fatalf("got event %v, want a syscall stop (syscall %d)\n%s", ev, nr, th.dump())
	}
	if th.regs.OrigRax != nr {
		th.t.Fatalf("syscall stop with OrigRax %d, want %d\n%s", th.regs.OrigRax, nr, th.dump())
	}
}

// dump describes the thread's registers for failure messages.
func (th *thread) dump() string {
	r := &th.regs
	return fmt.Sprintf("rip=%#x rsp=%#x rax=%#x orig_rax=%#x rdi=%#x rsi=%#x rdx=%#x r10=%#x eflags=%#x",
		r.Rip, r.Rsp, r.Rax, r.OrigRax, r.Rdi, r.Rsi, r.Rdx, r.R10, r.Eflags)
}

// write copies b to addr in as, failing the test on a short copy.
func write(t testing.TB, as platform.AddressSpace, addr uintptr, b []byte) {
	t.Helper()
	if n, err := as.WriteAt(b, addr); err != nil || n != len(b) {
		t.Fatalf("WriteAt(%d bytes at %#x) = %d, %v; want %d, nil", len(b), addr, n, err, len(b))
	}
}

// read copies n bytes from addr in as, failing the test on a short copy.
func read(t testing.TB, as platform.AddressSpace, addr uintptr, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if got, err := as.ReadAt(b, addr); err != nil || got != n {
		t.Fatalf("ReadAt(%d bytes at %#x) = %d, %v; want %d, nil", n, addr, got, err, n)
	}
	return b
}

func writeUint64(t testing.TB, as platform.AddressSpace, addr uintptr, v uint64) {
	t.Helper()
	write(t, as, addr, binary.LittleEndian.AppendUint64(nil, v))
}

func readUint64(t testing.TB, as platform.AddressSpace, addr uintptr) uint64 {
	t.Helper()
	return binary.LittleEndian.Uint64(read(t, as, addr, 8))
}

// expectUint64 fails the test unless the qword at addr is want.
func expectUint64(t testing.TB, as platform.AddressSpace, addr uintptr, want uint64, what string) {
	t.Helper()
	if got := readUint64(t, as, addr); got != want {
		t.Errorf("%s: memory at %#x holds %#x, want %#x", what, addr, got, want)
	}
}

// expectReg fails the test unless a register holds want.
func expectReg(t testing.TB, name string, got, want uint64) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %#x, want %#x", name, got, want)
	}
}

func roundUp(n, align uintptr) uintptr {
	return (n + align - 1) &^ (align - 1)
}

// tempFile returns an open temporary file holding content, closed when the
// test ends.
func tempFile(t testing.TB, content []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "platformtest")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}
	return f
}
