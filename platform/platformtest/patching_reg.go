package platformtest

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// The register form of a syscall site: the number comes from a register,
// and the syscall is followed by an instruction systrap knows, such as the
// error check of Go's Syscall6 and glibc's syscall(2), `cmp $-4095,%rax`
// (0f 05 48 3d 01 f0 ff ff), or Go's rawSyscallNoError's store of the
// result, `mov %rax,disp8(%rsp)` (0f 05 48 89 44 24 disp8). Its syscall
// returns into what the patch overwrote, so these tests also return there
// from syscalls made before the patch, restart syscalls made through it,
// and jump straight to the cmp.

// regForm is a register site: the instructions after its syscall, which
// check the result (ending in bad on a mismatch), and its code.
type regForm struct {
	name string
	tail string
	code []byte
}

var regForms = []regForm{
	{"Cmp", `
	cmp $-4095, %rax
	jae bad
`, []byte{0x0f, 0x05, 0x48, 0x3d, 0x01, 0xf0, 0xff, 0xff}},
	{"Cmp32", `
	cmp $-4096, %eax
	jae bad
`, []byte{0x0f, 0x05, 0x3d, 0x00, 0xf0, 0xff, 0xff}},
	// mov changes no flags: the ones set before the syscall must still be
	// there.
	{"MovStack", `
	mov %rax, 8(%rsp)
	jnc bad
	jno bad
	jns bad
	cmp 8(%rsp), %rax
	jne bad
`, []byte{0x0f, 0x05, 0x48, 0x89, 0x44, 0x24, 0x08}},
}

// regFlags are the arithmetic flags regGetpid sets before its syscall:
// 0x7f+1 sets OF, SF and AF, stc CF.
const regFlags = 0x891

// regGetpid is the loop both regSrc and regOwnBasesSrc start with: a
// getpid whose number comes from %rbx (39), from the site with OF, SF,
// AF and CF set, then the form's checks and those the code after a
// syscall can make: rcx is the address after the syscall instruction, r11
// holds the flags it saw, r12 and r15 survived.
func regGetpid(f regForm) string {
	return `
loop:
	mov $0x7f, %cl
	add $1, %cl
	stc
	mov %rbx, %rax
site:
	syscall
cmpsite:` + f.tail + `
	lea cmpsite(%rip), %rdx
	cmp %rdx, %rcx
	jne bad
	and $0x8d5, %r11
	cmp $0x891, %r11
	jne bad
	movabs $0x1122334455667788, %rcx
	cmp %rcx, %r12
	jne bad
	cmp $0x5a5a, %r15
	jne bad
`
}

// regSrc makes getpid patchLoops times from one register site, adds the
// results in r14 and exits with them in rdi. Any mismatch ends in ud2.
func regSrc(f regForm) string {
	return `
	mov $20, %r13
	xor %r14d, %r14d
	mov $39, %ebx
` + regGetpid(f) + sumExit
}

// regProcess returns a platform, and an address space of it with src
// loaded at codeAddr, and the address of its site (the label site: a
// register site, or the REX.W form), whose code must be code.
func regProcess(t testing.TB, f Factory, src string, code []byte) (platform.Platform, platform.AddressSpace, uintptr) {
	t.Helper()
	p := newPlatform(t, f)
	as, _ := newAddressSpace(t, p)
	prog := assemble(t, src)
	loadCode(t, as, codeAddr, prog.code)
	site := codeAddr + uintptr(prog.off(t, "site"))
	if b := read(t, as, site, len(code)); !bytes.Equal(b, code) {
		t.Fatalf("the site assembled to % x, want % x", b, code)
	}
	return p, as, site
}

// runToRegSyscall runs th to its next getpid from the register site at
// site, and checks the registers the syscall instruction leaves: rcx the
// address after it (the site's cmp), r11 the flags, with regFlags set.
// The stop's rip may be elsewhere (where the platform returns to).
func runToRegSyscall(th *thread, site uintptr, i int) {
	th.t.Helper()
	th.expectSyscall(th.run(), unix.SYS_GETPID)
	if th.regs.Rcx != uint64(site+2) || th.regs.R11 != th.regs.Eflags || th.regs.Eflags&0x8d5 != regFlags {
		th.t.Fatalf("getpid %d: rcx %#x, r11 %#x, rflags %#x; want rcx %#x (after the syscall instruction), r11 = rflags with %#x set",
			i, th.regs.Rcx, th.regs.R11, th.regs.Eflags, site+2, regFlags)
	}
}

// runRegLoop answers th's getpids from regSrc with base+i, from the i'th
// on, and checks the exit's sum.
func runRegLoop(t testing.TB, th *thread, site uintptr, from int, base uint64) {
	t.Helper()
	var sum uint64
	for i := 0; i < from; i++ {
		sum += base + uint64(i)
	}
	for i := from; i < patchLoops; i++ {
		runToRegSyscall(th, site, i)
		th.regs.Rax = base + uint64(i)
		sum += th.regs.Rax
	}
	th.runToSyscall(unix.SYS_EXIT)
	expectReg(t, "rdi (sum of the getpid results)", th.regs.Rdi, sum)
}

// expectRegPatched checks that the register site at site, whose code was
// code, was rewritten (want) or not.
func expectRegPatched(t testing.TB, as platform.AddressSpace, site uintptr, code []byte, want bool) {
	t.Helper()
	b := read(t, as, site, len(code))
	switch {
	case want && bytes.Equal(b, code):
		t.Errorf("register site %#x is still % x after %d syscalls: not patched", site, b, patchLoops)
	case !want && !bytes.Equal(b, code):
		t.Errorf("register site %#x is % x, want it unchanged (% x)", site, b, code)
	}
}

func testPatchRegister(t *testing.T, f Factory, opts Options) {
	for _, form := range regForms {
		t.Run(form.name, func(t *testing.T) { testPatchRegForm(t, f, opts, form) })
	}
	t.Run("JumpToCmp", func(t *testing.T) {
		// A jump straight to the patched site's cmp gets the cmp.
		p, as, _ := regProcess(t, f, regJumpSrc, regForms[0].code)
		th := newThread(t, p, as, codeAddr, mapStack(t, as, stackAddr))
		for i := 0; i < patchAfterTraps; i++ {
			th.expectSyscall(th.run(), unix.SYS_GETPID) // rip may be in the platform's code
			th.regs.Rax = 1
		}
		th.runToSyscall(unix.SYS_EXIT)
		expectReg(t, "rdi (42: the cmp after the jump saw -2 as an error)", th.regs.Rdi, 42)
	})
}

// testPatchRegForm checks the register site form.
func testPatchRegForm(t *testing.T, f Factory, opts Options, form regForm) {
	src := regSrc(form)
	t.Run("Taken", func(t *testing.T) {
		p, as, site := regProcess(t, f, src, form.code)
		before := opts.PatchEntries(p)
		runRegLoop(t, patchThread(t, p, as, stackAddr), site, 0, 1000)
		if opts.PatchEntries(p) == before {
			t.Errorf("none of %d getpids from one register site arrived through a patched site", patchLoops)
		}
		expectRegPatched(t, as, site, form.code, true)
	})
	t.Run("Threads", func(t *testing.T) {
		p, as, site := regProcess(t, f, src, form.code)
		runThreads(t, p, as, func(th *thread, i int) { runRegLoop(t, th, site, 0, uint64(i)*1000) })
		expectRegPatched(t, as, site, form.code, true)
	})
	t.Run("StaleReturn", func(t *testing.T) {
		// Thread a stops in the site's syscall before it is patched;
		// thread b makes it hot and patched; then a returns to the
		// address after its syscall instruction, which the jump now
		// covers, and must go on as the cmp there would have.
		p, as, site := regProcess(t, f, src, form.code)
		a := patchThread(t, p, as, stackAddr)
		b := patchThread(t, p, as, stackAddr+0x100000)
		runToRegSyscall(a, site, 0)
		a.regs.Rax = 500
		if a.regs.Rip != uint64(site+2) {
			t.Fatalf("the first getpid stopped at rip %#x, want %#x (the site not patched yet)", a.regs.Rip, site+2)
		}
		runRegLoop(t, b, site, 0, 2000)
		expectRegPatched(t, as, site, form.code, true)
		before := opts.PatchEntries(p)
		runRegLoop(t, a, site, 1, 500)
		if opts.PatchEntries(p) == before {
			t.Errorf("thread a's getpids after the patch did not arrive through it")
		}
	})
	t.Run("Restart", func(t *testing.T) {
		// Every getpid through the patch restarted as the sentry
		// restarts a syscall: rip back over the syscall instruction,
		// rax the number. It must stop again as the same getpid.
		p, as, site := regProcess(t, f, src, form.code)
		th := patchThread(t, p, as, stackAddr)
		runRestartLoop(t, p, th, opts, func(i int) { runToRegSyscall(th, site, i) })
	})
	t.Run("OwnBases", func(t *testing.T) { testPatchRegOwnBases(t, f, opts, form) })
	t.Run("Fork", func(t *testing.T) {
		// A fork while the thread is stopped in a syscall that came
		// through the patched site (it returns into the platform's code
		// for the site): the child returns there too, and goes on through
		// the patched site, and so does the parent.
		p, as, site := regProcess(t, f, src, form.code)
		parent := patchThread(t, p, as, stackAddr)
		const half = patchLoops / 2
		for i := 0; i < half; i++ {
			runToRegSyscall(parent, site, i)
			parent.regs.Rax = uint64(i)
		}
		expectRegPatched(t, as, site, form.code, true)
		child := forkThread(t, p, as, parent)
		before := opts.PatchEntries(p)
		runRegLoop(t, child, site, half, 0)
		if opts.PatchEntries(p) == before {
			t.Errorf("the forked child's getpids did not arrive through the patched site")
		}
		runRegLoop(t, parent, site, half, 0)
	})
}

// runRestartLoop runs th through the getpid loop of patchSrc or regSrc
// (each stop made and checked by stop), restarting every getpid as the
// sentry restarts a syscall: rip back over the syscall instruction, rax
// the number. It must stop again as the same getpid; the exit's sum and
// the patch entries are checked.
func runRestartLoop(t *testing.T, p platform.Platform, th *thread, opts Options, stop func(i int)) {
	t.Helper()
	before := opts.PatchEntries(p)
	var sum uint64
	for i := 0; i < patchLoops; i++ {
		stop(i)
		th.regs.Rip -= 2
		th.regs.Rax = th.regs.OrigRax
		stop(i)
		th.regs.Rax = uint64(i)
		sum += uint64(i)
	}
	th.runToSyscall(unix.SYS_EXIT)
	expectReg(t, "rdi (sum of the getpid results)", th.regs.Rdi, sum)
	if opts.PatchEntries(p) == before {
		t.Errorf("none of the getpids arrived through the patched site")
	}
}

// regHot makes getpid three times from a register site, which patches
// it, going to err on an error.
const regHot = `
	mov $3, %r13
	mov $39, %ebx
loop:
	mov %rbx, %rax
site:
	syscall
cmpsite:
	cmp $-4095, %rax
	jae err
	dec %r13
	jnz loop
`

// regJumpSrc is regHot, then a jump straight to the site's cmp with -2 in
// rax: the cmp sees an error and the code exits with 42.
const regJumpSrc = regHot + `
	mov $-2, %rax
	jmp cmpsite
err:
	mov $42, %edi
	mov $60, %eax
	syscall
	ud2
`

// regOwnBasesSrc is regSrc for testPatchRegOwnBases: after each getpid it
// also checks that %fs:0 holds the result and, unless r8 is 0, that
// %gs:0x10 holds r8.
func regOwnBasesSrc(f regForm) string {
	return `
	mov $20, %r13
	mov $39, %ebx
` + regGetpid(f) + ownBasesChecks
}

// testPatchRegOwnBases is testPatchOwnBases for a register site: with
// fs and gs bases of the thread's own that change at every stop (at
// unmapped memory, zeroed memory, memory of all ones, none), every getpid
// still stops as getpid with the registers the syscall instruction
// leaves, whichever way the platform takes it.
func testPatchRegOwnBases(t *testing.T, f Factory, opts Options, form regForm) {
	p, as, site := regProcess(t, f, regOwnBasesSrc(form), form.code)
	th := patchThread(t, p, as, stackAddr)
	before := opts.PatchEntries(p)
	runOwnBases(t, as, th, func(i int) { runToRegSyscall(th, site, i) })
	expectRegPatched(t, as, site, form.code, true)
	if opts.PatchEntries(p) == before {
		t.Errorf("none of the getpids arrived through the patched site")
	}
}

// regTrapJumpSrc is regHot, then a jump to the address at dataAddr with
// openat(AT_FDCWD, the path at dataAddr+0x100, O_CREAT|O_WRONLY) in the
// argument registers and its number in rax, both plain and shifted as the
// trap keeps it.
const regTrapJumpSrc = regHot + `
	movabs $0x30000000, %r11
	mov (%r11), %r11
	mov $-100, %rdi
	movabs $0x30000100, %rsi
	mov $0x41, %edx
	mov $0x1a4, %r10d
	movabs $((257 << 16) | 257), %rax
	jmp *%r11
err:
	ud2
`

// testPatchRegTrapOffsets jumps into a live register trap at every offset
// of its code with openat's arguments: whatever the bytes there decode to,
// the most the thread gets is syscalls that stop in the sentry (answered
// here with EPERM), never one the host runs, and every Switch returns.
func testPatchRegTrapOffsets(t *testing.T, f Factory) {
	p := newPlatform(t, f)
	path := filepath.Join(t.TempDir(), "created-through-a-register-trap")
	for off := 16; off < 64; off++ {
		as, _ := newAddressSpace(t, p)
		th, prog := loadProcess(t, p, as, regTrapJumpSrc)
		for i := 0; i < patchAfterTraps; i++ {
			th.expectSyscall(th.run(), unix.SYS_GETPID)
			th.regs.Rax = 1
		}
		jump := read(t, as, codeAddr+uintptr(prog.off(t, "site")), 7)
		if jump[0] != 0xff || jump[1] != 0x24 {
			t.Fatalf("the register site is % x after %d getpids, not a jump", jump, patchAfterTraps)
		}
		trap := uint64(jump[3]) | uint64(jump[4])<<8 | uint64(jump[5])<<16 | uint64(jump[6])<<24
		writeUint64(t, as, dataAddr, trap+uint64(off))
		write(t, as, dataAddr+0x100, append([]byte(path), 0))
		for i := 0; i < 8; i++ {
			o := th.switchHostile()
			if !o.returned || o.err != nil || o.ev.Kind != platform.EventSyscall {
				break
			}
			th.regs.Rax = ^uint64(unix.EPERM) + 1
		}
		th.release()
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("openat(O_CREAT) through a register trap ran on the host: %s exists (stat: %v)", path, err)
	}
}
