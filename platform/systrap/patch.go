package systrap

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/sysmsg"
)

// Syscall-site patching. Every syscall on systrap costs a SIGSYS delivery
// and an rt_sigreturn in the host kernel. A site that keeps trapping and
// is glibc's and musl's fixed-number form,
//
//	b8 imm32   mov $nr, %eax
//	0f 05      syscall
//
// is rewritten into `jmp *trap` (ff 24 25 abs32), a jump through a trap of
// the address space's trap table (c/sysmsg.h has the trap's code): the
// trap jumps to the stub's patch_entry, which saves the registers in the
// slot's patch frame as the kernel would have saved them in a signal frame
// and hands off on the state word like the signal handler. To the sentry
// the entry is the same SIGSYS it would have had, only without the signal;
// the stub returns with rt_sigreturn on the patch frame. gVisor's systrap
// does the same (its usertrap package), which is where the table's low
// address and the three-step rewrite come from.
//
// The REX.W mov form, `mov $nr,%rax; syscall` (48 c7 c0 imm32 0f 05), is
// glibc's __restore_rt, through which every signal handler returns with
// rt_sigreturn, and what Go's assembler makes of `MOVQ $nr, AX; SYSCALL`
// (the runtime's rt_sigreturn, munmap, madvise...). Its mov is as long as the jump: the jump replaces the mov
// through an ordinary mov trap whose return address is the site's end,
// and the syscall instruction after it stays, so a thread between the two,
// one returning from the syscall and a restarted syscall run the site's
// own code. The rt_sigreturn then arrives through patch_entry, and the
// sentry's answer replaces every register, which the resume loads as it
// does for any other syscall.
//
// Register sites. Code that takes the number from a register (Go's
// Syscall6 and rawSyscallNoError, glibc's syscall(2), gcc's inline
// syscalls) has no mov before the syscall; what it has is a known
// instruction after it:
//
//	0f 05              syscall
//	48 3d 01 f0 ff ff  cmp $-4095, %rax   (or -4096; or mov %rax,disp(%rsp))
//
// Such a site is rewritten into `jmp *trap(,%riz,8)` (ff 24 e5 abs32) over
// the syscall and the tail's first five bytes, through a register trap:
// its code keeps %eax (the number) and the flags in %rax for patch_entry,
// and its tail is the site's instruction followed by a jump to the site's
// end; the syscall returns to that tail (the patch frame's rip), not to
// site+2, which is inside the jump now. gVisor's usertrap patches only the
// mov form; the rest of this is ours. What it costs: a syscall made before
// the rewrite returns to site+2, and so does a restart of one, or a jump
// to the tail's address. The jump's third byte, the SIB byte 0xe5 (scale
// 8 of no index: the same address), is there `in $imm8,%eax`, which faults
// in user mode before it changes anything; fixRegReturn sends the thread
// to the trap's tail instead, which makes the same instruction. The
// rewrite is four steps (rewrite).
//
// The rewrite is made safe for threads running the site meanwhile in three
// steps: the syscall's first byte becomes 0x06, an invalid opcode (a thread
// past the mov faults there); then bytes 1-6 are written, of which byte 5
// stays 0x06 (the third byte of every trap address); then byte 0, the
// jump's opcode. A thread that faults on the 0x06 is sent back to the site
// (fixSite), and one that gets there by a restarted syscall with
// restart_syscall's number is answered as that syscall. Only private
// mappings are patched: the page is made writable for the write (its
// host mapping, through the syscall thread) and back, so a file's page
// becomes this process's private copy, as a debugger's breakpoint does; a
// shared mapping is never written. A fork's child inherits the patched
// code, and its trap table is copied from the parent's; an exec starts
// from a new address space with nothing patched.
//
// What the application can see: its patched code (by loading it, or
// reading it back through the sentry: /proc/self/mem, process_vm_readv,
// write from it); the trap table is in the reserved range, so it is
// neither in /proc/self/maps nor readable through syscalls (EFAULT), but
// a jump into it works, and a signal that arrives between the site and
// the stub shows the trap's address as the interrupted instruction
// pointer; so does one that arrives in or just after a syscall from a
// register site (the syscall returns to the trap's tail), and a tracer's
// view of such a syscall stop. %rcx and %r11 after the syscall are what
// the syscall instruction leaves, as for the mov form. rdgsbase reads the slot's address while the application has no
// gs base of its own (patch_entry finds its slot from %gs), and `%gs:`
// loads read the slot.
//
// Hosts without FSGSBASE. There the application cannot change its fs and
// gs bases but by arch_prctl, which traps, so the sentry's copy of them is
// the truth, and the table's first cell names patch_entry_gs instead: it
// loads the slot's self pointer (sysmsg.Msg.Self, written by the sentry)
// through %gs and checks it as patch_entry checks the rdgsbase value; the
// resume sets new bases with arch_prctl from its own syscall instruction
// (the filter allows it the handler's ARCH_SET_FS and ARCH_SET_GS) and
// returns without rt_sigreturn while %gs still names the slot. While the
// application has a gs base of its own, the load reads its memory: a value
// that is not a slot takes the trap's fallback, whose syscall stop the
// sentry reports at the site (fromFallback), and a fault is taken for the
// trap's syscall (gsFault). A value that is another slot's address, which
// only a thread that wrote it there gets, is a hand-off on another slot of
// its own process, which is what wrgsbase gives with FSGSBASE: the futex
// there is refused by the filter and the sentry treats the stop as any
// other forged state. A program whose memory at its gs base plus
// sysmsg.MsgSelf happens to hold a slot's address (inside the reserved
// range, where it maps nothing) would be confused the same way.
//
// Limits, as in gVisor: code that jumps straight to a patched site's
// syscall instruction with another number in %eax gets the site's number;
// patched code moved by mremap still returns to its old address; a thread
// single-stepped (PTRACE_SINGLESTEP inside the sandbox) through a patched
// site stops inside the trap and the stub's entry. Only the mov forms and
// register sites with a tail of regTails are patched: a syscall followed
// by anything else (musl's `mov %rax,%rdi; jmp __syscall_ret`, a 3-byte
// instruction too short for the jump; Go runtime's `MOVL AX, n(SP)`, 4;
// glibc's thread exit loop, `mov %edx,%eax; syscall; jmp`, 2) traps every
// time. Patching needs
// an XSAVE signal frame (the patch frame is written in its format); without
// one, and with --no-patch, every syscall traps as before.

// DefaultPatchAfter is how many times a site traps before it is patched
// (Platform.SetPatchAfter changes it). A patch is dear: a read of the
// stub's /proc/PID/maps, two mprotects by the syscall thread (each a
// hand-off, and a TLB shoot-down of the stub's CPUs), three
// process_vm_writevs and a private copy of the code page. What it saves
// is the signal of each later trap. Measured on the 2-core VM under load
// (load average 8-12; a program with 1000 distinct getpid sites, each
// made M times, run 5 times): a patch cost about 250us of CPU, a trapped
// getpid 23us and a patched one no less, so with a threshold of 2 every
// site made fewer than 30 times cost more patched than trapped, and the
// short-lived processes of a shell (ld.so's and libc's start-up sites, a
// dozen per exec, each made 2-10 times) paid for patches they never
// used: the bash loop of 100 fork+execs used 12-18 % less CPU with 32
// than with 2, as much as with patching off. Past the threshold a hot
// site is patched as before; waiting costs it at most 30 traps once.
// This is the ski-rental rule: pay for the patch once the traps would
// have cost about as much.
const DefaultPatchAfter = 32

// maxHits bounds an address space's count of sites that trapped but are
// not patched yet (code that makes syscalls from ever new addresses
// would grow it without end); the count starts again when it is full.
const maxHits = 4096

// maxTraps is how many traps the table holds; trap 0 is the entry's cell.
const maxTraps = sysmsg.PatchTableSize / sysmsg.TrapSize

// maxUnpatchable bounds a thread's memory of sites it cannot patch (a
// syscall(2) wrapper is one site, however many numbers it makes).
const maxUnpatchable = 1024

// siteLen is the length of the patched sequence and of the jump.
const siteLen = 7

// Opcodes of the patch.
const (
	movEAX  = 0xb8
	badByte = 0x06 // push %es: invalid in 64-bit mode
	inByte  = 0xe5 // in $imm8, %eax: faults in user mode (IOPL 0)
)

// patcher is one address space's patching state.
type patcher struct {
	mu    sync.Mutex        // guards the fields; held across a rewrite
	traps map[uintptr]int   // trap index by patched site (-1: never patch)
	hits  map[uintptr]uint8 // traps seen by return address, of sites not yet patched
	next  int               // next free trap
	// notSites are the return addresses of syscalls some thread read
	// and found not patchable
	// (glibc's inline syscalls with the number loaded further up, a
	// syscall(2) wrapper), up to maxUnpatchable: a new thread trapping
	// there, which has no memory of its own yet, then does not read the
	// code again (a process_vm_readv per trap: four per pthread_create).
	// A hint only: code rewritten there since is patched by no one, as
	// for a thread's own memory.
	notSites map[uintptr]struct{}
}

// copyFrom makes p a copy of parent's state, for a fork's child.
// Preconditions: parent.mu is held.
func (p *patcher) copyFrom(parent *patcher) {
	p.next = parent.next
	p.traps = make(map[uintptr]int, len(parent.traps))
	for k, v := range parent.traps {
		p.traps[k] = v
	}
}

// tableLen is how much of the patch table is in use: the entry cell and
// the traps written so far. A fork copies only that: each page of the
// table written is a page fault on the memfd, about 15us on the 2-core VM,
// and the full table is 16 pages. Preconditions: p.mu is held.
func (p *patcher) tableLen() int { return max(p.next, 1) * sysmsg.TrapSize }

// trapAddr is the stub address of trap i.
func trapAddr(i int) uintptr { return sysmsg.PatchTable + uintptr(i)*sysmsg.TrapSize }

// initPatchTable writes the table's first cell, through which every trap
// jumps: patch_entry, which finds its slot with rdgsbase, or without
// FSGSBASE patch_entry_gs, which loads the slot's self pointer through %gs.
func (p *Platform) initPatchTable(sh *sysmsg.Shared) {
	entry := p.syms.PatchEntry
	if !p.hasFSGSBase {
		entry = p.syms.PatchEntryGS
	}
	binary.LittleEndian.PutUint64(sh.PatchTable()[0:8], uint64(entry))
}

// writeTrap writes trap i, for the mov site at site making syscall nr,
// whose code ends at end (site+siteLen, or for the REX.W form site+9).
func writeTrap(sh *sysmsg.Shared, i int, site, end uintptr, nr uint32) {
	t := sh.PatchTable()[i*sysmsg.TrapSize : (i+1)*sysmsg.TrapSize]
	addr := trapAddr(i)
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	le(uint64(addr + sysmsg.TrapCode))      // 0: the site's jump goes through this
	le(uint64(end))                         // 8: where the application continues
	b.Write([]byte{0x9f, 0x0f, 0x90, 0xc0}) // 16: lahf; seto %al
	b.Write([]byte{0x48, 0x8d, 0x0d})       // 20: lea -27(%rip), %rcx
	le(int32(-27))
	b.Write([]byte{0xff, 0x24, 0x25}) // 27: jmp *(table)
	le(uint32(sysmsg.PatchTable))
	b.WriteByte(movEAX) // 34: the fallback: mov $nr, %eax; syscall
	le(nr)
	b.Write([]byte{0x0f, 0x05})
	b.Write([]byte{0xff, 0x24, 0x25}) // 41: jmp *(trap+8)
	le(uint32(addr + sysmsg.TrapRet))
	le(nr) // 48
	copy(t, b.Bytes())
}

// writeRegTrap writes trap i, for the register site at site (a syscall
// and then tail, one of regTails): c/sysmsg.h has its layout. The code
// before the entry's jump keeps the number (%eax) and the arithmetic flags
// (lahf; seto %al) in %rax, as nr<<16 | flags, which patch_entry undoes
// for the fallback's syscall; the tail is the site's own instruction.
func writeRegTrap(sh *sysmsg.Shared, i int, site uintptr, tail []byte) {
	t := sh.PatchTable()[i*sysmsg.TrapSize : (i+1)*sysmsg.TrapSize]
	addr := trapAddr(i)
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	le(uint64(addr + sysmsg.TrapCode))        // 0: the site's jump goes through this
	le(uint64(site + 2 + uintptr(len(tail)))) // 8: where the application continues
	b.Write([]byte{
		0x89, 0xc1, // 16: mov %eax, %ecx
		0x9f,             // lahf
		0x0f, 0x90, 0xc0, // seto %al
		0x48, 0xc1, 0xe1, 0x10, // shl $16, %rcx
		0x66, 0x89, 0xc1, // mov %ax, %cx
		0x48, 0x91, // xchg %rax, %rcx
		0x48, 0x8d, 0x0d, // 31: lea -38(%rip), %rcx
	})
	le(int32(-38))
	b.Write([]byte{0xff, 0x24, 0x25}) // 38: jmp *(table)
	le(uint32(sysmsg.PatchTable))
	b.Write([]byte{0x0f, 0x05})       // 45: the fallback: syscall
	b.Write(tail)                     // 47: the tail
	b.Write([]byte{0xff, 0x24, 0x25}) // jmp *(trap+8)
	le(uint32(addr + sysmsg.TrapRet))
	copy(t, b.Bytes())
	t[sysmsg.TrapTailLen] = byte(len(tail))
}

// movSyscall is a patchable site: mov $Nr, %eax; syscall.
type movSyscall struct {
	Op      uint8 // movEAX
	Nr      uint32
	Syscall [2]byte // 0f 05
}

// jumpInsn is a patched site: jmp *Abs (ff 24 25 abs32).
type jumpInsn struct {
	Op  [3]byte
	Abs uint32
}

// encode returns v's little-endian bytes, packed (a site is 7 bytes).
func encode(v any) [siteLen]byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	var out [siteLen]byte
	copy(out[:], b.Bytes())
	return out
}

// jumpTo is the site's new code: jmp *trap.
func jumpTo(i int) [siteLen]byte {
	return encode(jumpInsn{Op: [3]byte{0xff, 0x24, 0x25}, Abs: uint32(trapAddr(i))})
}

// regJumpTo is a register site's new code: jmp *trap(,%riz,8) (ff 24 e5
// abs32), the same jump with a SIB byte whose scale, with no index, is
// ignored, and which on its own (at site+2, where a syscall made before
// the rewrite returns) is `in $imm8,%eax`, which faults in user mode
// before it does anything (fixRegReturn).
func regJumpTo(i int) [siteLen]byte {
	return encode(jumpInsn{Op: [3]byte{0xff, 0x24, inByte}, Abs: uint32(trapAddr(i))})
}

// isSite reports whether code is `mov $nr,%eax; syscall`.
func isSite(code [siteLen]byte, nr uint64) bool {
	return code == encode(movSyscall{Op: movEAX, Nr: uint32(nr), Syscall: [2]byte{0x0f, 0x05}})
}

// rexSiteLen is the length of the REX.W mov form, `mov $nr,%rax; syscall`
// (48 c7 c0 imm32 0f 05), glibc's __restore_rt: rt_sigreturn after every
// signal handler.
const rexSiteLen = 9

// rexMovSyscall is the REX.W mov form: mov $Nr, %rax; syscall.
type rexMovSyscall struct {
	Op      [3]byte // 48 c7 c0
	Nr      uint32
	Syscall [2]byte // 0f 05
}

// isRexSite reports whether code is `mov $nr,%rax; syscall`. Its imm32 is
// sign-extended; only numbers below 2^31 are taken, for which %rax is what
// the trap's fallback (`mov $nr,%eax`) and patch_entry leave.
func isRexSite(code [rexSiteLen]byte, nr uint64) bool {
	var want bytes.Buffer
	binary.Write(&want, binary.LittleEndian, rexMovSyscall{Op: [3]byte{0x48, 0xc7, 0xc0}, Nr: uint32(nr), Syscall: [2]byte{0x0f, 0x05}})
	return nr < 1<<31 && bytes.Equal(code[:], want.Bytes())
}

// A register site is a syscall instruction and then one of regTails:
// instructions that do not use %rip, so that the trap can make them, and
// are at least as long as the jump is past the syscall instruction (the
// jump covers the syscall and the tail's first five bytes; the tail's
// bytes after those stay, and are never run: they were inside an
// instruction).
var regTails = []struct {
	prefix []byte // the tail's first bytes
	n      int    // its length
}{
	// Go's Syscall6, glibc's syscall(2): cmp $-4095,%rax.
	{[]byte{0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff}, 6},
	// gcc's inline syscalls: cmp $-4096,%rax, and for an int result
	// cmp $-4096,%eax.
	{[]byte{0x48, 0x3d, 0x00, 0xf0, 0xff, 0xff}, 6},
	{[]byte{0x3d, 0x00, 0xf0, 0xff, 0xff}, 5},
	// Go's rawSyscallNoError (getpid, getppid, getuid...): mov %rax,disp8(%rsp).
	{[]byte{0x48, 0x89, 0x44, 0x24}, 5},
	// mov %rax,disp32(%rsp).
	{[]byte{0x48, 0x89, 0x84, 0x24}, 8},
	// glibc's pthread_create, after the rt_sigprocmask that blocks every
	// signal around the clone (`mov $14,%eax; lea sigall(%rip),%rsi;
	// syscall`, no mov form): mov disp8(%r12),%rax.
	{[]byte{0x49, 0x8b, 0x44, 0x24}, 5},
	// glibc's start_thread, after the one that restores the mask
	// (`mov $14,%eax; lea disp(%rbx),%rsi; syscall`): cmpb $imm8,disp32(%rbx).
	{[]byte{0x80, 0xbb}, 7},
}

// maxTail is the longest of regTails; the trap has room for 8.
const maxTail = 8

// regTail returns the tail of the register site whose code, from its
// syscall instruction on, is code (which may be longer), if it is one.
func regTail(code []byte) ([]byte, bool) {
	if len(code) < 2 || code[0] != 0x0f || code[1] != 0x05 {
		return nil, false
	}
	for _, t := range regTails {
		if len(code) >= 2+t.n && bytes.HasPrefix(code[2:], t.prefix) {
			return code[2 : 2+t.n], true
		}
	}
	return nil, false
}

// patchSite is a site to patch: its address, and for a register site its
// tail (the instruction after the syscall).
type patchSite struct {
	addr uintptr
	reg  bool
	tail []byte
	// rex is the REX.W mov form (isRexSite): its jump covers the mov,
	// and its syscall instruction stays as it is.
	rex bool
}

// size is how many bytes of code the site is.
func (ps patchSite) size() int {
	switch {
	case ps.reg:
		return 2 + len(ps.tail)
	case ps.rex:
		return rexSiteLen
	}
	return siteLen
}

// jump is the site's patched code, through trap i.
func (ps patchSite) jump(i int) [siteLen]byte {
	if ps.reg {
		return regJumpTo(i)
	}
	return jumpTo(i)
}

// siteOf finds the patchable site of the syscall nr that returns to ret:
// `mov $nr,%eax; syscall` before it, or else a register site around it.
func siteOf(as *addressSpace, ret uintptr, nr uint64) (patchSite, bool) {
	var code [siteLen]byte
	if n, err := as.ReadAt(code[:], ret-siteLen); err == nil && n == siteLen && isSite(code, nr) {
		return patchSite{addr: ret - siteLen}, true
	}
	var rex [rexSiteLen]byte
	if ret >= rexSiteLen {
		if n, err := as.ReadAt(rex[:], ret-rexSiteLen); err == nil && n == rexSiteLen && isRexSite(rex, nr) {
			return patchSite{addr: ret - rexSiteLen, rex: true}, true
		}
	}
	// The shortest tail first, so that a site at the end of its mapping
	// is read no further than it goes.
	rc := make([]byte, 2+maxTail)
	for _, n := range []int{siteLen, len(rc)} {
		if got, err := as.ReadAt(rc[:n], ret-2); err != nil || got != n {
			break
		}
		if tail, ok := regTail(rc[:n]); ok {
			return patchSite{addr: ret - 2, reg: true, tail: tail}, true
		}
	}
	return patchSite{}, false
}

// maybePatch patches the site of the syscall nr the thread just trapped
// at (its Rip is after the syscall instruction), if it is patchable and
// has trapped often enough. A register site's syscall returns to its
// trap's tail from then on: so does this one (rather than to the `in`
// that fixRegReturn would send it on from).
func (c *context) maybePatch(as *addressSpace, nr uint64, regs *platform.Registers) {
	rip := regs.Rip
	if !c.p.patching || nr > 0xffffffff || rip < siteLen {
		return
	}
	ret := uintptr(rip)
	if resumeCallSyscall(nr) && as.Renewable() {
		// Left to the signal handler, whose resume can make the
		// mapping change (resume_call.go), while the process has one
		// thread: patched, each would be a request to the syscall
		// thread (mprotect-10k-maps 128 us an op against 205,
		// fork+exec 7.5 ms against 8.1).
		return
	}
	if c.unpatchableIn != as || len(c.unpatchable) >= maxUnpatchable {
		c.unpatchable, c.unpatchableIn = make(map[uintptr]struct{}), as
	}
	if _, ok := c.unpatchable[ret]; ok {
		return
	}
	pt := &as.patch
	if pt.notSite(ret) {
		c.unpatchable[ret] = struct{}{}
		return
	}
	// Count first: most sites never trap often enough, and finding out
	// whether one is patchable reads its code (up to three
	// process_vm_readvs).
	if !pt.hit(ret, c.p.patchAfter) {
		return
	}
	ps, ok := siteOf(as, ret, nr)
	if !ok {
		c.unpatchable[ret] = struct{}{}
		pt.addNotSite(ret)
		return
	}
	site := ps.addr
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if i, done := pt.traps[site]; done {
		if i < 0 {
			c.unpatchable[ret] = struct{}{}
		}
		return
	}
	if pt.traps == nil {
		pt.traps = make(map[uintptr]int)
	}
	if pt.next == 0 {
		pt.next = 1
	}
	if pt.next >= maxTraps {
		pt.traps[site] = -1
		return
	}
	if !c.setFpxSw(as) {
		return
	}
	if err := as.rewrite(ps, pt.next, uint32(nr)); err != nil {
		pt.traps[site] = -1
		c.p.patchFailures.Add(1)
		return
	}
	if ps.reg {
		regs.Rip = uint64(trapAddr(pt.next) + sysmsg.TrapRegTail)
		c.p.patchedRegSites.Add(1)
	}
	pt.traps[site] = pt.next
	pt.next++
	c.p.patchedSites.Add(1)
}

// hit counts a trap of the syscall returning to ret and reports whether
// it has trapped after times now, which it then forgets.
func (p *patcher) hit(ret uintptr, after uint8) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hits == nil || len(p.hits) >= maxHits {
		p.hits = make(map[uintptr]uint8)
	}
	if p.hits[ret]++; p.hits[ret] < after {
		return false
	}
	delete(p.hits, ret)
	return true
}

// notSite reports whether a thread found the syscall returning to ret
// not patchable.
func (p *patcher) notSite(ret uintptr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.notSites[ret]
	return ok
}

// addNotSite remembers that the syscall returning to ret is not
// patchable; the memory starts again when it holds maxUnpatchable sites.
func (p *patcher) addNotSite(ret uintptr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.notSites == nil || len(p.notSites) >= maxUnpatchable {
		p.notSites = make(map[uintptr]struct{})
	}
	p.notSites[ret] = struct{}{}
}

// setFpxSw gives the control page the software-reserved bytes of the
// host's signal frames, from the frame the thread just stopped in, which
// the kernel wrote (a stop through a patched site comes only after one).
// Another application thread may have rewritten them since: they are
// taken only if they describe the XSAVE area CPUID does (a forged feature
// mask could only break the forger's own FP state), and false means they
// were not, and nothing is patched.
func (c *context) setFpxSw(as *addressSpace) bool {
	ctl := as.sh.Control()
	if ctl.FpxSw != [48]byte{} {
		return true
	}
	if len(c.frame.fp) < abi.FPXSwBytesOffset+len(ctl.FpxSw) {
		return false
	}
	b := c.frame.fp[abi.FPXSwBytesOffset : abi.FPXSwBytesOffset+len(ctl.FpxSw)]
	sw := abi.View[abi.FPXSwBytes](b)
	if sw == nil || sw.Magic1 != abi.FP_XSTATE_MAGIC1 || sw.XstateSize != uint32(platform.Host.Size) ||
		sw.ExtendedSize != sw.XstateSize+4 {
		return false
	}
	copy(ctl.FpxSw[:], b)
	return true
}

// rewrite writes trap i and then the jump over the site, in steps that
// keep the code valid for a thread running it meanwhile.
//
// A mov site, in three: the syscall's first byte (site+5) becomes 0x06,
// then bytes 1-6 are written (byte 5 stays 0x06), then byte 0.
//
// A REX.W mov site (`mov $nr,%rax; syscall`), in three: its first byte
// becomes 0x06 (a thread about to run the mov faults, and goes back to
// the site: fixSite), then bytes 1-6, then byte 0. Its syscall instruction
// (bytes 7-8) is not written: the jump covers the mov exactly, so a thread
// between the mov and the syscall, one returning from the syscall, and a
// restart (moved back onto the syscall) all run the site's own code.
//
// A register site, in four: the tail's first byte (site+2) becomes 0xe5,
// the jump's third byte, which on its own faults (a thread returning from
// the site's syscall goes to the trap's tail: fixRegReturn); then the
// syscall's first byte (site+0) becomes 0x06 (a thread about to make the
// syscall faults, and goes back to the site: fixSite); then bytes 1-6;
// then byte 0. A thread between the syscall and the tail sees either the
// whole tail or the 0xe5; one at the syscall, the syscall or the 0x06 or
// the whole jump.
//
// Preconditions: as.patch.mu is held.
func (as *addressSpace) rewrite(ps patchSite, i int, nr uint32) error {
	as.layout.Lock()
	defer as.layout.Unlock()
	site := ps.addr
	m, err := as.mappingOf(site, ps.size())
	if err != nil {
		return err
	}
	if m.shared {
		return fmt.Errorf("site %#x is in a shared mapping", site)
	}
	if ps.reg {
		writeRegTrap(as.sh, i, site, ps.tail)
	} else {
		writeTrap(as.sh, i, site, site+uintptr(ps.size()), nr)
	}
	start := site &^ (pageSize - 1)
	end := (site + siteLen + pageSize - 1) &^ (pageSize - 1)
	if m.prot&unix.PROT_WRITE == 0 {
		if _, err := as.syscall(unix.SYS_MPROTECT, uint64(start), uint64(end-start), uint64(m.prot|unix.PROT_WRITE)); err != nil {
			return fmt.Errorf("making %#x writable: %w", site, err)
		}
		defer as.syscall(unix.SYS_MPROTECT, uint64(start), uint64(end-start), uint64(m.prot))
	}
	j := ps.jump(i)
	type step struct {
		at uintptr
		b  []byte
	}
	steps := []step{{site + 5, []byte{badByte}}, {site + 1, j[1:]}, {site, j[:1]}}
	switch {
	case ps.reg:
		steps = []step{{site + 2, []byte{inByte}}, {site, []byte{badByte}}, {site + 1, j[1:]}, {site, j[:1]}}
	case ps.rex:
		steps = []step{{site, []byte{badByte}}, {site + 1, j[1:]}, {site, j[:1]}}
	}
	for _, step := range steps {
		if _, err := as.WriteAt(step.b, step.at); err != nil {
			return fmt.Errorf("writing the patch at %#x: %w", step.at, err)
		}
	}
	return nil
}

// hostMapping is a line of the stub's /proc/pid/maps.
type hostMapping struct {
	prot   int
	shared bool
}

// mappingOf finds the host mapping that holds [addr, addr+n) whole.
func (as *addressSpace) mappingOf(addr uintptr, n int) (hostMapping, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/maps", as.pid))
	if err != nil {
		return hostMapping{}, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 || len(fields[1]) != 4 {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || uint64(addr) < start || uint64(addr) >= end {
			continue
		}
		if uint64(addr)+uint64(n) > end {
			return hostMapping{}, fmt.Errorf("%#x crosses the end of its mapping", addr)
		}
		var m hostMapping
		perms := fields[1]
		if perms[0] == 'r' {
			m.prot |= unix.PROT_READ
		}
		if perms[1] == 'w' {
			m.prot |= unix.PROT_WRITE
		}
		if perms[2] == 'x' {
			m.prot |= unix.PROT_EXEC
		}
		m.shared = perms[3] == 's'
		return m, nil
	}
	return hostMapping{}, fmt.Errorf("%#x is not mapped", addr)
}

// fixSite handles a SIGILL at rip: if rip is the 0x06 a patch left in a
// site's syscall instruction (a thread that ran the site's mov before the
// patch, or a syscall restarted by moving back over the instruction), the
// thread goes back to the site, or for restart_syscall, whose number a
// trap would replace with its own, makes that syscall here. A register
// site's 0x06 is at the site itself, only while it is rewritten: the
// thread runs the site again. ok is false for any other SIGILL.
func (c *context) fixSite(as *addressSpace, regs *platform.Registers) (platform.Event, bool) {
	if !c.p.patching || regs.Rip < 5 {
		return platform.Event{}, false
	}
	if _, ok := as.regSiteAt(uintptr(regs.Rip)); ok {
		// A register site's 0x06 at its syscall: a thread that got there
		// during the rewrite (the jump is whole now; it runs it), or by a
		// restart, for which the trap takes the number from %rax.
		return platform.Event{Kind: platform.EventInterrupted}, true
	}
	if _, ok := as.movSiteAt(uintptr(regs.Rip), rexSiteLen); ok {
		// A REX.W mov site's 0x06 at its first byte, only while it is
		// rewritten (its syscall instruction is never written, so a
		// restart does not get here): the jump is whole now; the thread
		// runs it.
		return platform.Event{Kind: platform.EventInterrupted}, true
	}
	site := uintptr(regs.Rip) - 5
	if _, ok := as.movSiteAt(site, siteLen); !ok {
		return platform.Event{}, false
	}
	if regs.Rax == unix.SYS_RESTART_SYSCALL {
		regs.OrigRax = regs.Rax
		regs.Rip += 2
		return platform.Event{Kind: platform.EventSyscall}, true
	}
	regs.Rip = uint64(site)
	return platform.Event{Kind: platform.EventInterrupted}, true
}

// movSiteAt returns the trap of the patched mov site of n bytes at site
// (siteLen, or rexSiteLen for the REX.W form), if there is one and its
// code is the patched jump (under the patch lock, so a rewrite in
// progress finishes first). The trap's return address tells the forms
// apart: a jump into the middle of a REX.W site's jump is not taken for a
// mov site's syscall.
func (as *addressSpace) movSiteAt(site uintptr, n int) (int, bool) {
	pt := &as.patch
	pt.mu.Lock()
	i, ok := pt.traps[site]
	pt.mu.Unlock()
	if !ok || i <= 0 || as.isRegTrap(i) {
		return 0, false
	}
	if tr, ok := as.trapOf(trapAddr(i)); !ok || tr.ret != uint64(site)+uint64(n) {
		return 0, false
	}
	var code [siteLen]byte
	if got, err := as.ReadAt(code[:], site); err != nil || got != siteLen || code != jumpTo(i) {
		return 0, false
	}
	return i, true
}

// regSiteAt returns the trap of the patched register site at site, if
// there is one and its code is the patched jump (under the patch lock, so a
// rewrite in progress finishes first).
func (as *addressSpace) regSiteAt(site uintptr) (int, bool) {
	pt := &as.patch
	pt.mu.Lock()
	i, ok := pt.traps[site]
	pt.mu.Unlock()
	if !ok || i <= 0 || !as.isRegTrap(i) {
		return 0, false
	}
	var code [siteLen]byte
	if n, err := as.ReadAt(code[:], site); err != nil || n != siteLen || code != regJumpTo(i) {
		return 0, false
	}
	return i, true
}

// isRegTrap reports whether trap i is a register trap (writeRegTrap).
func (as *addressSpace) isRegTrap(i int) bool {
	return as.sh.PatchTable()[i*sysmsg.TrapSize+sysmsg.TrapCode] != sysmsg.TrapLahf
}

// fixRegReturn handles a SIGSEGV at rip, a general protection fault of the
// `in` that a patched register site's jump holds at site+2: a thread that
// made the site's syscall before the rewrite and returns there now, or
// that jumps to the site's tail. It goes on at the trap's tail, which makes the same instruction
// and jumps to the site's end, with its registers as they were (the `in`
// faults before it does anything). ok is false for any other SIGSEGV.
func (c *context) fixRegReturn(as *addressSpace, regs *platform.Registers) (platform.Event, bool) {
	// The `in` is a general protection fault; page faults, the common
	// SIGSEGV, are not looked up.
	if !c.p.patching || regs.Rip < 2 || c.frame.uc.MContext.Trapno == pageFaultTrap {
		return platform.Event{}, false
	}
	i, ok := as.regSiteAt(uintptr(regs.Rip) - 2)
	if !ok {
		return platform.Event{}, false
	}
	regs.Rip = uint64(trapAddr(i) + sysmsg.TrapRegTail)
	c.p.patchRegReturns.Add(1)
	return platform.Event{Kind: platform.EventInterrupted}, true
}

// trapInfo is what trapOf tells of a trap in use.
type trapInfo struct {
	i   int     // its index
	off uintptr // the offset of the address in it
	ret uint64  // where the application continues (SYSMSG_TRAP_RET)
	nr  uint32  // a mov trap's number
	reg bool    // a register trap: the number is in %rax
	// tailLen is a register trap's tail's length (SYSMSG_TRAP_TAIL_LEN).
	tailLen uint64
}

// trapOf returns the trap of an address inside the trap table, and whether
// the trap is in use (its words were written by writeTrap or writeRegTrap;
// the table is in the read-only memfd).
func (as *addressSpace) trapOf(addr uintptr) (trapInfo, bool) {
	if addr < trapAddr(1) || addr >= trapAddr(maxTraps) {
		return trapInfo{}, false
	}
	i, off := int((addr-sysmsg.PatchTable)/sysmsg.TrapSize), (addr-sysmsg.PatchTable)%sysmsg.TrapSize
	pt := &as.patch
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if i >= pt.next {
		return trapInfo{}, false
	}
	var tr trapData
	if !abi.Decode(as.sh.PatchTable()[i*sysmsg.TrapSize:(i+1)*sysmsg.TrapSize], &tr) {
		return trapInfo{}, false
	}
	if as.isRegTrap(i) {
		n := uint64(as.sh.PatchTable()[i*sysmsg.TrapSize+sysmsg.TrapTailLen])
		return trapInfo{i: i, off: off, ret: tr.Ret, reg: true, tailLen: n}, true
	}
	return trapInfo{i: i, off: off, ret: tr.Ret, nr: tr.Nr}, true
}

// trapData is a trap's data words as writeTrap lays them out (c/sysmsg.h:
// SYSMSG_TRAP_RET and SYSMSG_TRAP_NR around the trap's code; a register
// trap has code where Nr is).
type trapData struct {
	Jump uint64                                // the site jumps through this
	Ret  uint64                                // SYSMSG_TRAP_RET
	_    [sysmsg.TrapNr - sysmsg.TrapCode]byte // the code
	Nr   uint32                                // SYSMSG_TRAP_NR
	_    uint32
}

// fromFallback makes a syscall stop at a trap's fallback (the thread's gs
// did not name its slot) look like one at the site: Rip, and Rcx as the
// syscall instruction leaves it, become the site's return address, where
// the fallback's next jump goes anyway. So the application never sees the
// trap table in a syscall's registers, and a restarted syscall moves back
// into the site's patched jump like one that came through the entry
// (fixSite). A register trap's fallback returns to its tail, as the entry
// does (the site's own return address is inside the jump now): only Rcx
// becomes what the site's syscall instruction would have left, the
// address of the site's cmp. The same holds for a syscall restarted from
// the tail, which moves back onto the fallback's syscall instruction.
func (c *context) fromFallback(as *addressSpace, regs *platform.Registers) bool {
	tr, ok := as.trapOf(uintptr(regs.Rip))
	switch {
	case !ok:
		return false
	case tr.reg && tr.off == sysmsg.TrapRegTail:
		regs.Rcx = tr.ret - tr.tailLen
		return true
	case !tr.reg && tr.off == sysmsg.TrapFallback+siteLen:
		regs.Rip, regs.Rcx = tr.ret, tr.ret
		return true
	}
	return false
}

// rflagsRF is the resume flag, which a fault's frame may carry and a
// syscall instruction never leaves in %r11.
const rflagsRF = 1 << 16

// gsFault handles a fault at patch_entry_gs's first instruction, the load
// of the slot's self pointer through %gs (hosts without FSGSBASE): the
// application has a gs base of its own and a thread of it ran a patched
// site, and the load read its memory there, which is not mapped (SIGSEGV)
// or not backed (SIGBUS). The thread did not ask for that load; it asked
// for the syscall the trap in %rcx stands for, so that is the stop it
// makes, with the registers the syscall instruction and seccomp's trap
// would have left (the trap's code before the load changes no flags).
// ok is false, and the fault is the application's, unless %rcx is a trap
// in use: a thread that jumps here with a forged %rcx and a gs base of its
// own gets no more than it would by jumping to the trap's fallback.
func (c *context) gsFault(as *addressSpace, regs *platform.Registers) (platform.Event, bool) {
	if !c.p.patching || c.p.hasFSGSBase || uintptr(regs.Rip) != c.p.syms.PatchEntryGS {
		return platform.Event{}, false
	}
	tr, ok := as.trapOf(uintptr(regs.Rcx))
	if !ok || tr.off != 0 {
		return platform.Event{}, false
	}
	regs.Eflags &^= rflagsRF
	if tr.reg {
		// The register trap's code changed the flags after it kept them
		// in %ax (lahf; seto %al), with the number above them, as the
		// entry reads them.
		regs.Eflags &^= arithFlags
		regs.Eflags |= regs.Rax >> 8 & (arithFlags & 0xff)
		if regs.Rax&0xff != 0 {
			regs.Eflags |= flagOF
		}
		regs.OrigRax = uint64(uint32(regs.Rax >> 16))
		regs.Rip, regs.Rcx = uint64(trapAddr(tr.i)+sysmsg.TrapRegTail), tr.ret-tr.tailLen
	} else {
		regs.OrigRax = uint64(tr.nr)
		regs.Rip, regs.Rcx = tr.ret, tr.ret
	}
	regs.R11 = regs.Eflags
	regs.Rax = ^uint64(unix.ENOSYS) + 1
	c.p.patchGSFaults.Add(1)
	return platform.Event{Kind: platform.EventSyscall}, true
}

// The arithmetic flags (CF PF AF ZF SF OF), which lahf and seto keep, and OF.
const (
	arithFlags = 0x8d5
	flagOF     = 0x800
)

// hostGS is the gs base the thread runs with for the application's
// gsBase: its slot's address while the application has none, so that
// patch_entry can find the slot.
func (c *context) hostGS(gsBase uint64) uint64 {
	if gsBase == 0 && c.p.patching {
		return uint64(sysmsg.SlotAddr(c.slot))
	}
	return gsBase
}

// appGS is the application's gs base for the thread's host one.
func (c *context) appGS(host uint64) uint64 {
	if c.p.patching && host == uint64(sysmsg.SlotAddr(c.slot)) {
		return 0
	}
	return host
}

// PatchStats are counts of the platform's syscall-site patching.
type PatchStats struct {
	Sites    uint64 // sites patched
	Failures uint64 // sites that could not be patched
	Entries  uint64 // syscalls that arrived through a patched site
	// GSFaults are syscalls from a patched site whose thread had a gs
	// base of its own that faulted in patch_entry_gs (gsFault).
	GSFaults uint64
	// RegSites are the sites patched of the register form (`syscall;
	// cmp $imm,%rax`), counted in Sites too.
	RegSites uint64
	// RegReturns are threads sent from a register site's cmp, where the
	// rewrite left a faulting `in`, to its trap's tail (fixRegReturn).
	RegReturns uint64
}

// PatchStats returns the counts so far.
func (p *Platform) PatchStats() PatchStats {
	return PatchStats{Sites: p.patchedSites.Load(), Failures: p.patchFailures.Load(), Entries: p.patchEntries.Load(),
		GSFaults: p.patchGSFaults.Load(), RegSites: p.patchedRegSites.Load(), RegReturns: p.patchRegReturns.Load()}
}

// SetPatching turns syscall-site patching on or off for address spaces
// made from now on. It is on by default where the host allows it: signal
// frames hold an XSAVE area (the patch frame is written in their format).
func (p *Platform) SetPatching(on bool) {
	p.patching = on && platform.Host.Size > 512
}

// Patching reports whether syscall-site patching is on.
func (p *Platform) Patching() bool { return p.patching }

// SetPatchAfter sets how many times a site traps before it is patched
// (DefaultPatchAfter), from 1 to 255, for sites that trap from now on;
// set it before use.
func (p *Platform) SetPatchAfter(n int) {
	p.patchAfter = uint8(min(max(n, 1), 255))
}
