package platformtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// testAttacks runs application code that tries to escape through the
// platform's own code and memory. Each attack needs targets from Options and
// is skipped without them.
func testAttacks(t *testing.T, f Factory, opts Options) {
	p := newPlatform(t, f)
	t.Run("StubSyscall", func(t *testing.T) {
		if len(opts.StubSyscallAddrs) == 0 {
			t.Skip("Options.StubSyscallAddrs not set")
		}
		for _, addr := range opts.StubSyscallAddrs {
			t.Run(fmt.Sprintf("%#x", addr), func(t *testing.T) {
				testStubSyscallOpenat(t, p, addr)
				testStubSyscallGetppid(t, p, addr)
			})
		}
	})
	t.Run("ProtectedWrite", func(t *testing.T) {
		if len(opts.ProtectedAddrs) == 0 {
			t.Skip("Options.ProtectedAddrs not set")
		}
		for _, addr := range opts.ProtectedAddrs {
			t.Run(fmt.Sprintf("%#x", addr), func(t *testing.T) { testProtectedWrite(t, p, addr) })
		}
	})
	t.Run("ForgeSharedMemory", func(t *testing.T) {
		r := opts.ForgeableRange
		if r.End <= r.Start {
			t.Skip("Options.ForgeableRange not set")
		}
		testForgeSharedMemory(t, p, r)
	})
}

// switchHostile runs a thread whose code attacks the platform. Whatever the
// thread does is acceptable, except that the sentry must be able to stop
// it: a Switch that returns neither by itself nor after Interrupt fails the
// test, since the sentry could never kill such a task.
func (th *thread) switchHostile() outcome {
	th.t.Helper()
	o := th.switchOnce()
	if !o.returned {
		th.t.Errorf("hostile code: %v: the sentry cannot stop this task", o)
	}
	return o
}

// stubSyscallOpenatSrc points openat(AT_FDCWD, path at dataAddr, O_CREAT|
// O_WRONLY, 0644) at the platform's own syscall instruction at %d.
const stubSyscallOpenatSrc = `
	mov $257, %%eax
	mov $-100, %%rdi
	movabs $0x30000000, %%rsi
	mov $0x41, %%edx
	mov $0x1a4, %%r10d
	movabs $%d, %%rcx
	jmp *%%rcx
`

func testStubSyscallOpenat(t *testing.T, p platform.Platform, addr uintptr) {
	t.Helper()
	as, releaseAS := newAddressSpace(t, p)
	th, _ := loadProcess(t, p, as, fmt.Sprintf(stubSyscallOpenatSrc, addr))
	path := filepath.Join(t.TempDir(), "created-through-the-stub")
	write(t, th.as, dataAddr, append([]byte(path), 0))

	o := th.switchHostile()
	t.Logf("openat through the stub's syscall at %#x: %v", addr, o)
	expectTrappedAt(t, th, o, addr, unix.SYS_OPENAT)
	// Look again once the stub process is gone, in case the call was
	// still under way.
	th.release()
	releaseAS()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("openat(O_CREAT) through the stub's syscall instruction at %#x ran on the host: %s exists (stat: %v)", addr, path, err)
	}
}

func testStubSyscallGetppid(t *testing.T, p platform.Platform, addr uintptr) {
	t.Helper()
	th, _ := newProcess(t, p, fmt.Sprintf(`
	mov $110, %%eax
	movabs $%d, %%rcx
	jmp *%%rcx
`, addr))
	o := th.switchHostile()
	t.Logf("getppid through the stub's syscall at %#x: %v", addr, o)
	expectTrappedAt(t, th, o, addr, unix.SYS_GETPPID)
}

// expectTrappedAt checks that, if the attack ended in a syscall stop, the
// stop is the application's syscall nr trapped at the stub instruction at
// addr, not a later syscall of stub code that ran on after executing it.
func expectTrappedAt(t testing.TB, th *thread, o outcome, addr uintptr, nr uint64) {
	t.Helper()
	if !o.returned || o.err != nil || o.ev.Kind != platform.EventSyscall {
		return
	}
	if th.regs.OrigRax != nr || th.regs.Rip != uint64(addr)+2 {
		t.Errorf("after jumping to the stub's syscall at %#x with rax=%d: syscall stop for %d at rip %#x, want %d at %#x (the instruction must be trapped, not executed)",
			addr, nr, th.regs.OrigRax, th.regs.Rip, nr, addr+2)
	}
}

func testProtectedWrite(t *testing.T, p platform.Platform, addr uintptr) {
	th, prog := newProcess(t, p, fmt.Sprintf(`
	movabs $%d, %%rbx
	movabs $0x4141414141414141, %%rcx
store:
	mov %%rcx, (%%rbx)
	mov $39, %%eax
	syscall
	ud2
`, addr))
	// The platform may refuse to copy its own memory; then only the event
	// tells.
	before := make([]byte, 8)
	if n, err := th.as.ReadAt(before, addr); err != nil || n != len(before) {
		before = nil
	}

	o := th.switchHostile()
	switch {
	case o.returned && o.err == nil && o.ev.Kind == platform.EventFault:
		expectFault(t, th, o.ev, uint64(addr), platform.AccessWrite, codeAddr+prog.off(t, "store"))
	case o.returned && o.err == nil && o.ev.Kind == platform.EventSyscall:
		t.Errorf("the program wrote to protected address %#x without a fault", addr)
	default:
		t.Logf("write to protected address %#x: %v", addr, o)
	}
	if before != nil {
		after := make([]byte, 8)
		if n, err := th.as.ReadAt(after, addr); err == nil && n == len(after) && !bytes.Equal(before, after) {
			t.Errorf("protected memory at %#x changed from % x to % x", addr, before, after)
		}
	}

	// The platform still serves this address space.
	mapAnon(t, th.as, 0x50000000, pageSize, unix.PROT_READ|unix.PROT_WRITE)
	writeUint64(t, th.as, 0x50000000, 0x1234)
	expectUint64(t, th.as, 0x50000000, 0x1234, "memory mapped after the attack")
}

// forgeSrc overwrites the first %[3]d qwords of each of %[2]d 64 KiB slots
// from %[1]d with garbage (small integers, all ones, pointers into and out
// of the range), then makes getpid calls forever.
const forgeSrc = `
	movabs $%[1]d, %%rbx
	mov $%[2]d, %%r12d
slot:
	xor %%ecx, %%ecx
fill:
	mov %%ecx, %%eax
	and $7, %%eax
	lea patterns(%%rip), %%rdx
	mov (%%rdx,%%rax,8), %%rax
	mov %%rax, (%%rbx,%%rcx,8)
	inc %%ecx
	cmp $%[3]d, %%ecx
	jb fill
	add $0x10000, %%rbx
	dec %%r12d
	jnz slot
again:
	mov $39, %%eax
	syscall
	jmp again
	.balign 8
patterns:
	.quad 0x1, 0x2, 0x3, 0xffffffffffffffff, 0x7ffffffff000, 0x4141414141414141, %[1]d, 0x8000000000000000
`

// victimSrc makes getpid calls forever with a counter in rdi, checking that
// each returns rdi+1.
const victimSrc = `
	xor %r12d, %r12d
loop:
	mov %r12, %rdi
	mov $39, %eax
	syscall
	lea 1(%r12), %rcx
	cmp %rcx, %rax
	jne bad
	inc %r12
	jmp loop
bad:
	ud2
`

func testForgeSharedMemory(t *testing.T, p platform.Platform, r platform.Range) {
	const slot = 0x10000
	nslots, length := (r.End-r.Start)/slot, uintptr(256)
	if nslots == 0 {
		nslots, length = 1, min(length, r.End-r.Start)
	}
	nslots = min(nslots, 16)
	attackSrc := fmt.Sprintf(forgeSrc, r.Start, nslots, length/8)

	// Another address space of the same platform keeps working throughout.
	victim := startVictim(t, p)
	victim.waitProgress(t, 10, "before the attack")

	attacker, _ := newProcess(t, p, attackSrc)
	releaseAttackerAS := releaseOnce(t, attacker.as.Release)
	attackDone := make(chan string, 1)
	go func() {
		deadline := time.Now().Add(switchTimeout)
		syscalls := 0
		for time.Now().Before(deadline) && syscalls < 2000 {
			ev, err := attacker.ctx.Switch(attacker.as, &attacker.regs, attacker.fp)
			if err != nil {
				attackDone <- fmt.Sprintf("Switch error after %d syscalls: %v", syscalls, err)
				return
			}
			switch ev.Kind {
			case platform.EventInterrupted:
			case platform.EventSyscall:
				attacker.regs.Rax = 0
				syscalls++
			default:
				attackDone <- fmt.Sprintf("%v after %d syscalls", ev, syscalls)
				return
			}
		}
		attackDone <- fmt.Sprintf("still running after %d syscalls", syscalls)
	}()

	// Whatever happens to the attacker is fine, as long as the sentry can
	// stop it: interrupt it, and failing that, destroy its address space.
	select {
	case how := <-attackDone:
		t.Logf("attacker: %s", how)
	case <-time.After(2 * switchTimeout):
		attacker.ctx.Interrupt()
		select {
		case how := <-attackDone:
			t.Logf("attacker, interrupted: %s", how)
		case <-time.After(switchTimeout):
			releaseAttackerAS()
			select {
			case how := <-attackDone:
				t.Logf("attacker, after releasing its address space: %s", how)
			case <-time.After(switchTimeout):
				t.Errorf("the attacker's Switch returned neither after Interrupt nor after releasing its address space: the sentry cannot kill a hostile task")
			}
		}
	}
	victim.waitProgress(t, 100, "after the attack")

	attacker.release()
	releaseAttackerAS()
	victim.waitProgress(t, 100, "after releasing the attacker")
	victim.stop(t)

	fresh, _ := newProcess(t, p, victimSrc)
	fresh.runToSyscall(unix.SYS_GETPID)
}

// victim is a thread in its own address space whose syscalls are answered
// by a goroutine until stop.
type victim struct {
	th       *thread
	answered atomic.Int64
	stopping atomic.Bool
	done     chan error
}

func startVictim(t testing.TB, p platform.Platform) *victim {
	t.Helper()
	th, _ := newProcess(t, p, victimSrc)
	v := &victim{th: th, done: make(chan error, 1)}
	go func() { v.done <- v.serve() }()
	t.Cleanup(func() { v.stopping.Store(true); th.ctx.Interrupt() })
	return v
}

func (v *victim) serve() error {
	th := v.th
	for !v.stopping.Load() {
		ev, err := th.ctx.Switch(th.as, &th.regs, th.fp)
		if err != nil {
			return fmt.Errorf("victim: Switch after %d syscalls: %w", v.answered.Load(), err)
		}
		switch {
		case ev.Kind == platform.EventInterrupted:
		case ev.Kind == platform.EventSyscall && th.regs.OrigRax == unix.SYS_GETPID:
			if n := uint64(v.answered.Load()); th.regs.Rdi != n {
				return fmt.Errorf("victim: syscall %d has rdi %#x", n, th.regs.Rdi)
			}
			th.regs.Rax = th.regs.Rdi + 1
			v.answered.Add(1)
		default:
			return fmt.Errorf("victim: unexpected event %v after %d syscalls (ud2 means a wrong answer)\n%s", ev, v.answered.Load(), th.dump())
		}
	}
	return nil
}

// waitProgress fails the test unless the victim answers n more syscalls
// within switchTimeout.
func (v *victim) waitProgress(t testing.TB, n int64, when string) {
	t.Helper()
	target := v.answered.Load() + n
	for deadline := time.Now().Add(switchTimeout); v.answered.Load() < target; {
		select {
		case err := <-v.done:
			t.Fatalf("%s: the victim address space stopped: %v", when, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the victim address space made %d syscalls in %v, want %d", when, v.answered.Load()-(target-n), switchTimeout, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func (v *victim) stop(t testing.TB) {
	t.Helper()
	v.stopping.Store(true)
	v.th.ctx.Interrupt()
	select {
	case err := <-v.done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(switchTimeout):
		t.Errorf("the victim thread did not stop within %v", switchTimeout)
	}
}
