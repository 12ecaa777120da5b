package platformtest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// The REX.W mov form of a syscall site, `mov $nr,%rax; syscall` (48 c7 c0
// imm32 0f 05), is glibc's signal return trampoline __restore_rt (nr 15,
// rt_sigreturn): every signal handler returns through it. A platform that
// patches it covers the mov with its jump, and the syscall instruction
// after it stays: a thread between the two, one returning from the
// syscall and a restarted syscall run the site's own code.

// rexMov is `mov $39, %rax` in the REX.W form (not the shorter mov to
// %eax an assembler might pick).
const rexMov = ".byte 0x48, 0xc7, 0xc0, 39, 0, 0, 0"

// rexForm is src (patchSrc or ownBasesSrc) with its site in the REX.W
// form, the label site at its start.
func rexForm(src string) string {
	return strings.Replace(src, "mov $39, %eax\nsite:\n", "site:\n\t"+rexMov+"\n", 1)
}

// rexSrc is patchSrc in the REX.W form.
var rexSrc = rexForm(patchSrc)

// rexCode is the REX.W site of rexSrc, for getpid.
var rexCode = []byte{0x48, 0xc7, 0xc0, 39, 0, 0, 0, 0x0f, 0x05}

// expectRexPatched checks that the REX.W site at site, whose code was
// code, had its mov rewritten (want) or not; its syscall instruction must
// stay either way.
func expectRexPatched(t testing.TB, as platform.AddressSpace, site uintptr, code []byte, want bool) {
	t.Helper()
	b := read(t, as, site, len(code))
	switch {
	case !bytes.Equal(b[7:], code[7:]):
		t.Errorf("REX.W site %#x is % x: its syscall instruction changed", site, b)
	case want && bytes.Equal(b, code):
		t.Errorf("REX.W site %#x is still % x after %d syscalls: not patched", site, b, patchLoops)
	case !want && !bytes.Equal(b, code):
		t.Errorf("REX.W site %#x is % x, want it unchanged (% x)", site, b, code)
	}
}

func testPatchRex(t *testing.T, f Factory, opts Options) {
	t.Run("Taken", func(t *testing.T) {
		p, as, site := regProcess(t, f, rexSrc, rexCode)
		before := opts.PatchEntries(p)
		runPatchLoop(t, patchThread(t, p, as, stackAddr), 0, 1000)
		if opts.PatchEntries(p) == before {
			t.Errorf("none of %d getpids from one REX.W site arrived through a patched site", patchLoops)
		}
		expectRexPatched(t, as, site, rexCode, true)
	})
	t.Run("Threads", func(t *testing.T) {
		p, as, site := regProcess(t, f, rexSrc, rexCode)
		runThreads(t, p, as, func(th *thread, i int) { runPatchLoop(t, th, 0, uint64(i)*1000) })
		expectRexPatched(t, as, site, rexCode, true)
	})
	t.Run("StaleReturn", func(t *testing.T) {
		// Thread a stops in the site's syscall before it is patched,
		// and thread c is between the mov and the syscall (rip at the
		// syscall instruction, rax the number); thread b makes the site
		// hot and patched. Then a returns after the syscall and c makes
		// it: both go on as before.
		p, as, site := regProcess(t, f, rexSrc, rexCode)
		a := patchThread(t, p, as, stackAddr)
		b := patchThread(t, p, as, stackAddr+0x100000)
		c := patchThread(t, p, as, stackAddr+0x200000)
		a.runToSyscall(unix.SYS_GETPID)
		a.regs.Rax = 500
		if a.regs.Rip != uint64(site+9) {
			t.Fatalf("the first getpid stopped at rip %#x, want %#x (the site not patched yet)", a.regs.Rip, site+9)
		}
		c.regs.Rip, c.regs.Rax = uint64(site+7), unix.SYS_GETPID
		c.regs.R13, c.regs.R14 = patchLoops, 0 // set before the loop
		c.regs.Eflags |= 0x881                 // what the loop sets before its mov
		runPatchLoop(t, b, 0, 2000)
		expectRexPatched(t, as, site, rexCode, true)
		before := opts.PatchEntries(p)
		runPatchLoop(t, a, 1, 500)
		if opts.PatchEntries(p) == before {
			t.Errorf("thread a's getpids after the patch did not arrive through it")
		}
		runPatchLoop(t, c, 0, 700)
	})
	t.Run("Restart", func(t *testing.T) {
		// Every getpid through the patch restarted as the sentry
		// restarts a syscall: rip back over the syscall instruction,
		// rax the number. It must stop again as the same getpid.
		p, as, site := regProcess(t, f, rexSrc, rexCode)
		th := patchThread(t, p, as, stackAddr)
		runRestartLoop(t, p, th, opts, func(i int) {
			th.runToSyscall(unix.SYS_GETPID)
			expectReg(t, fmt.Sprintf("rip of getpid %d", i), th.regs.Rip, uint64(site+9))
		})
	})
	t.Run("Fork", func(t *testing.T) {
		p, as, site := regProcess(t, f, rexSrc, rexCode)
		runPatchFork(t, p, as, opts, func() { expectRexPatched(t, as, site, rexCode, true) })
	})
	t.Run("OwnBases", func(t *testing.T) {
		// As Patching/OwnBases: without FSGSBASE, patch_entry_gs and
		// gsFault with the REX.W site's trap.
		p, as, site := regProcess(t, f, rexForm(ownBasesSrc), rexCode)
		runPatchOwnBases(t, p, as, opts, func() { expectRexPatched(t, as, site, rexCode, true) })
	})
	t.Run("Sigreturn", func(t *testing.T) { testPatchRexSigreturn(t, f, opts) })
	t.Run("MidJump", func(t *testing.T) {
		// A jump into the patched site, at what was the imm32's third
		// byte (natively `add %al,(%rax); syscall`, with the number
		// 102, getuid, in %eax), does not make the site's getpid: it
		// is getuid, or whatever the patched code makes of it (a
		// fault), never the syscall the site's jump stands for.
		p, as, site := regProcess(t, f, rexMidSrc, rexCode)
		th := newThread(t, p, as, codeAddr, mapStack(t, as, stackAddr))
		mapAnon(t, as, dataAddr, dataSize, unix.PROT_READ|unix.PROT_WRITE)
		for i := 0; i < patchAfterTraps; i++ {
			th.runToSyscall(unix.SYS_GETPID)
		}
		expectRexPatched(t, as, site, rexCode, true)
		ev := th.run()
		t.Logf("jump into the patched site's jump: %v (syscall %d at %#x)", ev, th.regs.OrigRax, th.regs.Rip)
		if ev.Kind == platform.EventSyscall && th.regs.OrigRax != unix.SYS_GETUID {
			t.Errorf("the jump into the patched site made syscall %d, want getuid (%d) or no syscall", th.regs.OrigRax, unix.SYS_GETUID)
		}
	})
}

// rexMidSrc makes getpid three times from a REX.W site, which patches it,
// then jumps to the site's sixth byte with 102 (getuid) in %rax, an
// address of writable data (dataAddr) in its upper half.
var rexMidSrc = `
	mov $3, %r13
loop:
site:
	` + rexMov + `
	syscall
	dec %r13
	jnz loop
	movabs $0x30000066, %rax
	jmp site+5
`

// sigreturnSrc returns many times through one REX.W rt_sigreturn site,
// as glibc's __restore_rt does after each signal handler. The answer to
// each rt_sigreturn replaces every register (as the sentry's does, from
// the signal frame) and sends the thread to "restored", which stores
// rax, rcx and r11 at dataAddr, and makes a getpid from a mov site, whose
// stop shows the rest as they were restored; then it jumps back to the
// site.
const sigreturnSrc = `
site:
	.byte 0x48, 0xc7, 0xc0, 15, 0, 0, 0
	syscall
	ud2
restored:
	movabs %rax, 0x30000000
	mov %rcx, %rax
	movabs %rax, 0x30000008
	mov %r11, %rax
	movabs %rax, 0x30000010
	mov $39, %eax
	syscall
	jmp site
`

// testPatchRexSigreturn answers every rt_sigreturn from a REX.W site with
// a new set of registers, different each time, and checks that the thread
// runs with exactly those: a syscall that came through a patched site and
// replaces all registers returns to where they say, with them.
func testPatchRexSigreturn(t *testing.T, f Factory, opts Options) {
	code := []byte{0x48, 0xc7, 0xc0, 15, 0, 0, 0, 0x0f, 0x05}
	p, as, site := regProcess(t, f, sigreturnSrc, code)
	mapAnon(t, as, dataAddr, dataSize, unix.PROT_READ|unix.PROT_WRITE)
	prog := assemble(t, sigreturnSrc)
	restored := codeAddr + uint64(prog.off(t, "restored"))
	th := newThread(t, p, as, codeAddr, mapStack(t, as, stackAddr))
	before := opts.PatchEntries(p)
	const rounds = 50
	for i := uint64(0); i < rounds; i++ {
		th.runToSyscall(unix.SYS_RT_SIGRETURN)
		if th.regs.Rip != uint64(site+9) {
			t.Fatalf("rt_sigreturn %d stopped at rip %#x, want %#x", i, th.regs.Rip, site+9)
		}
		// The restored registers: each a different value, every round.
		v := func(r uint64) uint64 { return 0x0101010101010101*(r+1) ^ i<<40 }
		want := th.regs
		want.Rax, want.Rbx, want.Rcx, want.Rdx = v(0), v(1), v(2), v(3)
		want.Rsi, want.Rdi, want.Rbp, want.Rsp = v(4), v(5), v(6), stackAddr+0x800+i*16
		want.R8, want.R9, want.R10, want.R11 = v(8), v(9), v(10), v(11)
		want.R12, want.R13, want.R14, want.R15 = v(12), v(13), v(14), v(15)
		want.Rip = restored
		want.Eflags = 0x202
		if i%2 == 1 {
			want.Eflags |= 0x8d5 // CF PF AF ZF SF OF
		}
		th.regs = want
		th.runToSyscall(unix.SYS_GETPID)
		expectUint64(t, as, dataAddr, want.Rax, "rax after rt_sigreturn")
		expectUint64(t, as, dataAddr+8, want.Rcx, "rcx after rt_sigreturn")
		expectUint64(t, as, dataAddr+16, want.R11, "r11 after rt_sigreturn")
		got := th.regs
		for _, r := range []struct {
			name      string
			got, want uint64
		}{
			{"rbx", got.Rbx, want.Rbx}, {"rdx", got.Rdx, want.Rdx}, {"rsi", got.Rsi, want.Rsi},
			{"rdi", got.Rdi, want.Rdi}, {"rbp", got.Rbp, want.Rbp}, {"rsp", got.Rsp, want.Rsp},
			{"r8", got.R8, want.R8}, {"r9", got.R9, want.R9}, {"r10", got.R10, want.R10},
			{"r12", got.R12, want.R12}, {"r13", got.R13, want.R13}, {"r14", got.R14, want.R14},
			{"r15", got.R15, want.R15}, {"rflags (arithmetic)", got.Eflags & 0x8d5, want.Eflags & 0x8d5},
		} {
			if r.got != r.want {
				t.Fatalf("after rt_sigreturn %d: %s = %#x, want %#x", i, r.name, r.got, r.want)
			}
		}
		th.regs.Rax = 1
	}
	if got := opts.PatchEntries(p) - before; got < rounds {
		t.Errorf("%d syscalls arrived through patched sites for %d rt_sigreturns and getpids: the REX.W site was not patched", got, 2*rounds)
	}
	expectRexPatched(t, as, site, code, true)
	th.release()
}
