package platformtest

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// testPatching checks a platform that rewrites syscall sites (systrap's
// `mov $nr,%eax; syscall` and `syscall; cmp $-4095,%rax` into a jump to its
// own code): a patched site is
// taken and behaves as the syscall did, with threads running it, across
// fork, without changing a file the code was mapped from, and a thread
// that jumps into the platform's code with forged state only makes a
// syscall. Skipped without Options.PatchEntries.
func testPatching(t *testing.T, f Factory, opts Options) {
	if opts.PatchEntries == nil {
		t.Skip("Options.PatchEntries not set: the platform does not patch syscall sites")
	}
	t.Run("Threshold", func(t *testing.T) { testPatchThreshold(t, f, opts) })
	t.Run("Taken", func(t *testing.T) { testPatchTaken(t, f, opts) })
	t.Run("Threads", func(t *testing.T) { testPatchThreads(t, f, opts) })
	t.Run("Fork", func(t *testing.T) { testPatchFork(t, f, opts) })
	t.Run("FileText", func(t *testing.T) { testPatchFileText(t, f, opts) })
	t.Run("OwnBases", func(t *testing.T) { testPatchOwnBases(t, f, opts) })
	t.Run("Interrupt", func(t *testing.T) { testPatchInterrupt(t, f, opts) })
	t.Run("Attacks", func(t *testing.T) { testPatchAttacks(t, f, opts) })
	t.Run("Register", func(t *testing.T) { testPatchRegister(t, f, opts) })
	t.Run("Rex", func(t *testing.T) { testPatchRex(t, f, opts) })
}

// patchLoops is how many times patchSrc makes its syscall.
const patchLoops = 20

// patchedGetpid is the loop both patchSrc and ownBasesSrc start with: a
// getpid from the site with OF, SF and CF set, then the checks that the
// flags, r12 and r15 survived.
const patchedGetpid = `
loop:
	mov $0x7f, %cl
	add $1, %cl
	stc
	mov $39, %eax
site:
	syscall
	jnc bad
	jno bad
	jns bad
	movabs $0x1122334455667788, %rcx
	cmp %rcx, %r12
	jne bad
	cmp $0x5a5a, %r15
	jne bad
`

// patchSrc makes getpid patchLoops times from one `mov $39,%eax; syscall`
// with OF, SF and CF set, and checks after each that the flags, r12 and
// r15 survived; it adds the results in r14 and exits with them in rdi.
// Any mismatch ends in ud2.
const patchSrc = `
	mov $20, %r13
	xor %r14d, %r14d
` + patchedGetpid + sumExit

// sumExit ends the loops of patchSrc and regSrc: the result added to r14,
// and after the last, exit with the sum.
const sumExit = `	add %rax, %r14
	dec %r13
	jnz loop
	mov %r14, %rdi
	mov $60, %eax
	syscall
bad:
	ud2
`

// runPatchLoop answers th's getpids from patchSrc with base+i, from the
// i'th on, and checks the exit's sum; it returns how many getpids it
// answered.
func runPatchLoop(t testing.TB, th *thread, from int, base uint64) {
	t.Helper()
	var sum uint64
	for i := 0; i < from; i++ {
		sum += base + uint64(i)
	}
	for i := from; i < patchLoops; i++ {
		th.runToSyscall(unix.SYS_GETPID)
		if th.regs.Rcx != th.regs.Rip || th.regs.R11 != th.regs.Eflags {
			t.Fatalf("getpid %d: rcx %#x and r11 %#x, want rip %#x and rflags %#x as the syscall instruction leaves them", i, th.regs.Rcx, th.regs.R11, th.regs.Rip, th.regs.Eflags)
		}
		th.regs.Rax = base + uint64(i)
		sum += th.regs.Rax
	}
	th.runToSyscall(unix.SYS_EXIT)
	expectReg(t, "rdi (sum of the getpid results)", th.regs.Rdi, sum)
}

// patchThread returns a thread about to run patchSrc at codeAddr in as.
func patchThread(t testing.TB, p platform.Platform, as platform.AddressSpace, stack uintptr) *thread {
	th := newThread(t, p, as, codeAddr, mapStack(t, as, stack))
	th.regs.R12, th.regs.R15 = 0x1122334455667788, 0x5a5a
	return th
}

// expectPatched checks the site's bytes: a jump if want, else the
// original mov and syscall.
func expectPatched(t testing.TB, as platform.AddressSpace, site uintptr, want bool) {
	t.Helper()
	b := read(t, as, site-5, 7)
	orig := []byte{0xb8, 39, 0, 0, 0, 0x0f, 0x05}
	switch {
	case want && bytes.Equal(b, orig):
		t.Errorf("site %#x is still % x after %d syscalls: not patched", site-5, b, patchLoops)
	case !want && !bytes.Equal(b, orig):
		t.Errorf("site %#x is % x, want it unchanged (% x)", site-5, b, orig)
	}
}

// patchProcess returns a platform, and an address space of it with
// patchSrc loaded at codeAddr.
func patchProcess(t testing.TB, f Factory) (platform.Platform, platform.AddressSpace, *program) {
	t.Helper()
	p := newPlatform(t, f)
	as, _ := newAddressSpace(t, p)
	prog := assemble(t, patchSrc)
	loadCode(t, as, codeAddr, prog.code)
	return p, as, prog
}

func testPatchTaken(t *testing.T, f Factory, opts Options) {
	p, as, prog := patchProcess(t, f)
	before := opts.PatchEntries(p)
	runPatchLoop(t, patchThread(t, p, as, stackAddr), 0, 1000)
	if got := opts.PatchEntries(p) - before; got == 0 {
		t.Errorf("none of %d getpids from one site arrived through a patched site", patchLoops)
	}
	expectPatched(t, as, codeAddr+uintptr(prog.off(t, "site")), true)
}

// testPatchThreshold: a site is left alone for its first PatchAfter-1
// traps and patched at the PatchAfter'th.
func testPatchThreshold(t *testing.T, f Factory, opts Options) {
	if opts.PatchAfter < 2 || opts.PatchAfter >= patchLoops {
		t.Fatalf("Options.PatchAfter is %d, want 2 to %d", opts.PatchAfter, patchLoops-1)
	}
	p, as, prog := patchProcess(t, f)
	th := patchThread(t, p, as, stackAddr)
	site := codeAddr + uintptr(prog.off(t, "site"))
	for i := 1; i < opts.PatchAfter; i++ {
		th.runToSyscall(unix.SYS_GETPID)
		th.regs.Rax = 1
	}
	expectPatched(t, as, site, false)
	th.runToSyscall(unix.SYS_GETPID)
	th.regs.Rax = 1
	expectPatched(t, as, site, true)
}

// testPatchThreads runs the site from several threads at once while it
// is patched.
func testPatchThreads(t *testing.T, f Factory, opts Options) {
	p, as, prog := patchProcess(t, f)
	runThreads(t, p, as, func(th *thread, i int) { runPatchLoop(t, th, 0, uint64(i)*1000) })
	expectPatched(t, as, codeAddr+uintptr(prog.off(t, "site")), true)
}

// runThreads runs loop in 4 threads of as at once (each a patchThread
// with its own stack; i is its index), and waits for them.
func runThreads(t testing.TB, p platform.Platform, as platform.AddressSpace, loop func(th *thread, i int)) {
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		th := patchThread(t, p, as, stackAddr+uintptr(i+1)*0x100000)
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(th, i)
		}()
	}
	wg.Wait()
}

// testPatchFork forks after the site is patched: the child runs the
// patched code, and so does the parent after it.
func testPatchFork(t *testing.T, f Factory, opts Options) {
	p, as, prog := patchProcess(t, f)
	runPatchFork(t, p, as, opts, func() { expectPatched(t, as, codeAddr+uintptr(prog.off(t, "site")), true) })
}

// runPatchFork runs half of patchSrc (or a variant of it with another
// site form) in as, checks with patched that the site is patched, forks,
// and finishes the loop in the child and then in the parent.
func runPatchFork(t *testing.T, p platform.Platform, as platform.AddressSpace, opts Options, patched func()) {
	parent := patchThread(t, p, as, stackAddr)
	const half = patchLoops / 2
	for i := 0; i < half; i++ {
		parent.runToSyscall(unix.SYS_GETPID)
		parent.regs.Rax = uint64(i)
	}
	patched()
	child := forkThread(t, p, as, parent)
	before := opts.PatchEntries(p)
	// The pending getpid's answer is in Rax; the loop takes it from there.
	runPatchLoopFrom(t, child, half)
	if opts.PatchEntries(p) == before {
		t.Errorf("the forked child's getpids did not arrive through the patched site")
	}
	runPatchLoopFrom(t, parent, half)
}

// forkThread forks as, whose thread parent is stopped, and returns the
// child's copy of the thread.
func forkThread(t testing.TB, p platform.Platform, as platform.AddressSpace, parent *thread) *thread {
	t.Helper()
	childAS, err := as.Fork()
	if err != nil {
		t.Fatalf("Fork: %v", err)
	}
	t.Cleanup(childAS.Release)
	child := newThread(t, p, childAS, 0, 0)
	child.regs = parent.regs
	child.fp = parent.fp.Clone()
	return child
}

// runPatchLoopFrom finishes patchSrc in a thread stopped at getpid half
// (answered with half-1 in Rax), answering each with its index.
func runPatchLoopFrom(t testing.TB, th *thread, half int) {
	t.Helper()
	th.regs.Rax = uint64(half - 1)
	runPatchLoop(t, th, half, 0)
}

// testPatchFileText runs the site from a private, read-only mapping of a
// file, which the patch must not change, and from a shared one, which
// must not be patched at all.
func testPatchFileText(t *testing.T, f Factory, opts Options) {
	p := newPlatform(t, f)
	prog := assemble(t, patchSrc)
	content := make([]byte, roundUp(uintptr(len(prog.code)), pageSize))
	copy(content, prog.code)
	for _, shared := range []bool{false, true} {
		as, _ := newAddressSpace(t, p)
		file := tempFile(t, content)
		flags := unix.MAP_PRIVATE | unix.MAP_FIXED
		if shared {
			flags = unix.MAP_SHARED | unix.MAP_FIXED
		}
		if _, err := as.Mmap(codeAddr, uintptr(len(content)), unix.PROT_READ|unix.PROT_EXEC, flags, file, 0); err != nil {
			t.Fatalf("Mmap of the code's file: %v", err)
		}
		sum := sha256.Sum256(content)
		runPatchLoop(t, patchThread(t, p, as, stackAddr), 0, 7)
		expectPatched(t, as, codeAddr+uintptr(prog.off(t, "site")), !shared)
		onDisk, err := os.ReadFile(file.Name())
		if err != nil {
			t.Fatal(err)
		}
		if sha256.Sum256(onDisk) != sum {
			t.Errorf("shared %t: the file the code is mapped from changed on disk", shared)
		}
	}
}

// ownBasesSrc is patchSrc for testPatchOwnBases: after each getpid it
// also checks that %fs:0 holds the result (the harness points fs at it),
// and, unless r8 is 0, that %gs:0x10 holds r8.
const ownBasesSrc = `
	mov $20, %r13
` + patchedGetpid + ownBasesChecks

// ownBasesChecks ends the loops of ownBasesSrc and regOwnBasesSrc: the
// checks of %fs:0 and %gs:0x10 after each getpid, and the exit.
const ownBasesChecks = `	mov %fs:0, %rcx
	cmp %rcx, %rax
	jne bad
	test %r8, %r8
	jz 1f
	cmp %gs:0x10, %r8
	jne bad
1:
	dec %r13
	jnz loop
	mov $60, %eax
	syscall
bad:
	ud2
`

// testPatchOwnBases runs a patched site in a thread that sets fs and gs
// bases of its own (arch_prctl, which the harness answers by changing
// FsBase and GsBase) and changes them at every stop: a gs base at memory
// that is not mapped, at zeroed memory, at memory of all ones, and none.
// A platform that finds its state through %gs (systrap without FSGSBASE)
// then reads the application's memory there; every getpid must still
// stop as getpid, with the registers and flags the syscall instruction
// leaves and the bases the thread set, and the code after it must see
// those bases.
func testPatchOwnBases(t *testing.T, f Factory, opts Options) {
	p := newPlatform(t, f)
	as, _ := newAddressSpace(t, p)
	prog := assemble(t, ownBasesSrc)
	loadCode(t, as, codeAddr, prog.code)
	runPatchOwnBases(t, p, as, opts, func() { expectPatched(t, as, codeAddr+uintptr(prog.off(t, "site")), true) })
}

// runPatchOwnBases runs ownBasesSrc (or a variant of it with another site
// form), loaded in as, through runOwnBases, and checks with patched that
// its site was patched.
func runPatchOwnBases(t *testing.T, p platform.Platform, as platform.AddressSpace, opts Options, patched func()) {
	th := patchThread(t, p, as, stackAddr)
	before := opts.PatchEntries(p)
	runOwnBases(t, as, th, func(i int) {
		th.runToSyscall(unix.SYS_GETPID)
		if th.regs.Rcx != th.regs.Rip || th.regs.R11 != th.regs.Eflags {
			t.Fatalf("getpid %d: rcx %#x and r11 %#x, want rip %#x and rflags %#x as the syscall instruction leaves them", i, th.regs.Rcx, th.regs.R11, th.regs.Rip, th.regs.Eflags)
		}
	})
	patched()
	if opts.PatchEntries(p) == before {
		t.Errorf("none of the getpids arrived through the patched site")
	}
}

// runOwnBases maps the data of testPatchOwnBases and runs th through its
// patchLoops getpids (each stop made and checked by stop) and its exit,
// changing the thread's fs and gs bases at every stop.
func runOwnBases(t *testing.T, as platform.AddressSpace, th *thread, stop func(i int)) {
	t.Helper()
	mapAnon(t, as, dataAddr, dataSize, unix.PROT_READ|unix.PROT_WRITE)
	const (
		zeroes   = dataAddr + 0x2000
		ones     = dataAddr + 0x4000
		unmapped = 0x500000000000
	)
	write(t, as, ones, bytes.Repeat([]byte{0xff}, 0x1000))
	gsBases := []uint64{0, unmapped, zeroes, 0, ones, unmapped, 0}
	for i := 0; i < patchLoops; i++ {
		stop(i)
		if i > 0 {
			expectReg(t, fmt.Sprintf("fs base at getpid %d", i), th.regs.FsBase, dataAddr+8*uint64(i-1))
			expectReg(t, fmt.Sprintf("gs base at getpid %d", i), th.regs.GsBase, gsBases[(i-1)/3])
		}
		th.regs.Rax = 1000 + uint64(i)
		th.regs.FsBase = dataAddr + 8*uint64(i)
		writeUint64(t, as, uintptr(th.regs.FsBase), th.regs.Rax)
		th.regs.GsBase = gsBases[i/3]
		th.regs.R8 = 0
		if gs := th.regs.GsBase; gs == zeroes || gs == ones {
			th.regs.R8 = 0x600d0000 + uint64(i)
			writeUint64(t, as, uintptr(gs)+0x10, th.regs.R8)
		}
	}
	th.runToSyscall(unix.SYS_EXIT)
}

// testPatchEntryAttacks jumps into the patch entry at addr with a forged
// trap of either kind, and with a trap pointer to nowhere.
func testPatchEntryAttacks(t *testing.T, p platform.Platform, name string, addr uintptr) {
	for _, reg := range []bool{false, true} {
		kind := "ForgedTrap"
		if reg {
			kind = "ForgedRegTrap"
		}
		t.Run(name+kind, func(t *testing.T) {
			th, _ := newProcess(t, p, forgedTrapSrc(addr, reg))
			path := filepath.Join(t.TempDir(), "created-through-the-patch-entry")
			write(t, th.as, dataAddr+0x100, append([]byte(path), 0))
			o := th.switchHostile()
			t.Logf("patch entry with a forged trap (register trap: %t): %v", reg, o)
			if o.returned && o.err == nil && o.ev.Kind == platform.EventSyscall {
				if th.regs.OrigRax != unix.SYS_OPENAT {
					t.Errorf("syscall stop for %d, want the forged trap's openat (257)", th.regs.OrigRax)
				}
				if !reg { // a register trap returns to its tail, in the data
					th.regs.Rax = ^uint64(unix.EPERM) + 1
					th.runToSyscall(unix.SYS_EXIT)
				}
			}
			th.release()
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("openat(O_CREAT) through the patch entry ran on the host: %s exists (stat: %v)", path, err)
			}
		})
	}
	t.Run(name+"BadTrap", func(t *testing.T) {
		th, _ := newProcess(t, p, fmt.Sprintf(`
	movabs $0x1234, %%rcx
	xor %%eax, %%eax
	movabs $%d, %%r11
	jmp *%%r11
`, addr))
		o := th.switchHostile()
		t.Logf("patch entry with a trap pointer to nowhere: %v", o)
		if o.returned && o.err == nil && o.ev.Kind == platform.EventSyscall {
			t.Errorf("a trap pointer to nowhere made a syscall stop (%d)", th.regs.OrigRax)
		}
		th.release()
	})
}

// forgedSelfSrc makes getpid four times from one site, then stores the
// quadword at dataAddr+8 at the address at dataAddr, makes getpid from the
// site once more and exits.
const forgedSelfSrc = `
	mov $4, %r13
1:	call getpid
	dec %r13
	jnz 1b
	movabs $0x30000000, %rcx
	mov (%rcx), %rdx
	mov 8(%rcx), %rax
	mov %rax, (%rdx)
	call getpid
	mov $60, %eax
	syscall
	ud2
getpid:
	mov $39, %eax
	syscall
	ret
`

// testPatchForgedSelf forges the pointer through which the patch entry
// finds a thread's state (Options.PatchSelf), after the thread's site was
// patched: pointed at the thread's own data, the patched getpid is an
// ordinary one; pointed at another thread's state, the thread makes its
// syscall as that other thread, which is the application confusing its
// own threads: the sentry must only stay in control (every Switch
// returns, the platform goes on).
func testPatchForgedSelf(t *testing.T, p platform.Platform, opts Options) {
	for _, other := range []bool{false, true} {
		as, _ := newAddressSpace(t, p)
		th, _ := loadProcess(t, p, as, forgedSelfSrc)
		th.runToSyscall(unix.SYS_GETPID)
		at, self := opts.PatchSelf(th.ctx)
		forged := uint64(dataAddr + 0x100)
		if other {
			b := newThread(t, p, as, codeAddr, mapStack(t, as, stackAddr+0x100000))
			b.runToSyscall(unix.SYS_GETPID)
			_, forged = opts.PatchSelf(b.ctx)
			if forged == self {
				t.Fatalf("two threads share the self pointer %#x", self)
			}
		}
		writeUint64(t, as, dataAddr, uint64(at))
		writeUint64(t, as, dataAddr+8, forged)
		for i := 0; i < 3; i++ {
			th.runToSyscall(unix.SYS_GETPID)
		}
		if !other {
			// Not a state: the entry falls back to the trapped syscall.
			th.runToSyscall(unix.SYS_GETPID)
			th.runToSyscall(unix.SYS_EXIT)
			continue
		}
		o := th.switchHostile()
		t.Logf("patched getpid with the self pointer of another thread: %v (syscall %d at %#x)", o, th.regs.OrigRax, th.regs.Rip)
		th.release()
	}
	stillRuns(t, p)
}

// patchInterruptSrc makes getpid from one site until the result is 0,
// then spins for good.
const patchInterruptSrc = `
loop:
	mov $39, %eax
site:
	syscall
	test %rax, %rax
	jnz loop
spin:
	jmp spin
`

// testPatchInterrupt interrupts a thread, at delays from none to 100us, as
// it resumes from a patched getpid into a loop without syscalls, whose
// only way out is the interrupt: one that reaches the thread while it is
// still in the platform's code between the stop and the application must
// not be lost.
func testPatchInterrupt(t *testing.T, f Factory, opts Options) {
	p := newPlatform(t, f)
	th, _ := newProcess(t, p, patchInterruptSrc)
	for i := 0; i < patchAfterTraps; i++ {
		th.runToSyscall(unix.SYS_GETPID)
		th.regs.Rax = 1
	}
	before := opts.PatchEntries(p)
	for i := 0; i < 1000; i++ {
		th.runToSyscall(unix.SYS_GETPID)
		th.regs.Rax = 0
		var requested atomic.Bool
		done := switchUntilRequested(th, &requested)
		for start, d := time.Now(), time.Duration(i%21)*5*time.Microsecond; time.Since(start) < d; {
		}
		requested.Store(true)
		th.ctx.Interrupt()
		select {
		case r := <-done:
			if r.err != nil || r.ev.Kind != platform.EventInterrupted {
				t.Fatalf("resume %d: Switch = %v, %v; want %v, nil", i, r.ev, r.err, platform.EventInterrupted)
			}
		case <-time.After(switchTimeout):
			t.Fatalf("resume %d: Switch did not return within %v of Interrupt", i, switchTimeout)
		}
		th.regs.Rip = codeAddr
	}
	if opts.PatchEntries(p) == before {
		t.Errorf("none of the getpids arrived through the patched site")
	}
}

// patchAfterTraps is more than the traps a site takes before it is patched.
const patchAfterTraps = 3

// forgedTrapSrc jumps to the platform's patch entry at entry with a
// forged trap at dataAddr in rcx (return to "after"; openat(AT_FDCWD, the
// path at dataAddr+0x100, O_CREAT|O_WRONLY)): a mov trap's code starts with
// lahf and its number word says 257, and rax holds flags; a register
// trap's code starts with another byte, and 257 is in rax's bits 16-47.
func forgedTrapSrc(entry uintptr, reg bool) string {
	kind, rax := "movb $0x9f, (%rcx)\n\tmovabs $0x30000030, %rcx\n\tmovl $257, (%rcx)", "xor %eax, %eax"
	if reg {
		kind, rax = "movb $0x90, (%rcx)", "mov $(257 << 16), %eax"
	}
	return fmt.Sprintf(`
	lea after(%%rip), %%rax
	movabs $0x30000008, %%rcx
	mov %%rax, (%%rcx)
	movabs $0x30000010, %%rcx
	%s
	mov $-100, %%rdi
	movabs $0x30000100, %%rsi
	mov $0x41, %%edx
	mov $0x1a4, %%r10d
	movabs $0x30000000, %%rcx
	%s
	movabs $%d, %%r11
	jmp *%%r11
after:
	mov $60, %%eax
	syscall
`, kind, rax, entry)
}

// testPatchAttacks jumps into the patch entry with forged state: with a
// forged trap it is the syscall the trap names, made by this thread and
// answered by the sentry, never run by the host; with a trap pointer
// that points nowhere it is a fault. Either way the platform goes on.
func testPatchAttacks(t *testing.T, f Factory, opts Options) {
	if opts.PatchEntry == 0 {
		t.Skip("Options.PatchEntry not set")
	}
	p := newPlatform(t, f)
	for _, entry := range []struct {
		name string
		addr uintptr
	}{{"", opts.PatchEntry}, {"Alt", opts.PatchEntryAlt}} {
		if entry.addr != 0 {
			testPatchEntryAttacks(t, p, entry.name, entry.addr)
		}
	}
	if opts.PatchEntryAlt != 0 {
		t.Run("OwnGSBadTrap", func(t *testing.T) {
			// The alternative entry, with a gs base of the thread's own
			// at unmapped memory and a trap pointer to nowhere: the
			// application's own fault, not a syscall.
			th, _ := newProcess(t, p, fmt.Sprintf(`
	mov $158, %%eax
	mov $0x1001, %%edi
	movabs $0x500000000000, %%rsi
	syscall
	movabs $0x1234, %%rcx
	xor %%eax, %%eax
	movabs $%d, %%r11
	jmp *%%r11
`, opts.PatchEntryAlt))
			th.runToSyscall(unix.SYS_ARCH_PRCTL)
			th.regs.GsBase, th.regs.Rax = 0x500000000000, 0
			o := th.switchHostile()
			t.Logf("patch entry with its own gs base and a trap pointer to nowhere: %v", o)
			if o.returned && o.err == nil && o.ev.Kind == platform.EventSyscall {
				t.Errorf("a trap pointer to nowhere made a syscall stop (%d)", th.regs.OrigRax)
			}
			th.release()
		})
	}
	if opts.PatchSelf != nil {
		t.Run("ForgedSelf", func(t *testing.T) { testPatchForgedSelf(t, p, opts) })
	}
	t.Run("RegTrapOffsets", func(t *testing.T) { testPatchRegTrapOffsets(t, f) })
	if opts.PatchResumed != 0 {
		t.Run("ForgedResume", func(t *testing.T) {
			// The resume with r15 at zeroed application memory: an
			// rt_sigreturn of a frame the application wrote, which it
			// could get by jumping to the stub's restorer too.
			th, _ := newProcess(t, p, fmt.Sprintf(`
	movabs $0x30000000, %%r15
	movabs $%d, %%r11
	jmp *%%r11
`, opts.PatchResumed))
			o := th.switchHostile()
			t.Logf("patch resume with a forged slot: %v", o)
			th.release()
		})
	}
	stillRuns(t, p)
}

// stillRuns checks that the platform still runs a new thread (its
// getpid stops in the sentry) after an attack on another.
func stillRuns(t *testing.T, p platform.Platform) {
	t.Helper()
	th, _ := newProcess(t, p, `
	mov $39, %eax
	syscall
	ud2
`)
	th.runToSyscall(unix.SYS_GETPID)
}
