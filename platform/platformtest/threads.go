package platformtest

import (
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// threadLoops is how many syscalls each thread of testThreads makes.
const threadLoops = 1000

// threadsSrc makes threadLoops syscalls with its id (r12) in rdi, checks
// that each returns id+1 and that its stack survived, then exits with the
// count in rdi. Any mismatch ends in ud2.
var threadsSrc = fmt.Sprintf(`
	mov $%d, %%r13
	xor %%r14d, %%r14d
loop:
	push %%r12
	mov %%r12, %%rdi
	mov $39, %%eax
	syscall
	pop %%rcx
	cmp %%rcx, %%r12
	jne bad
	lea 1(%%r12), %%rcx
	cmp %%rcx, %%rax
	jne bad
	inc %%r14
	dec %%r13
	jnz loop
	mov %%r14, %%rdi
	mov $60, %%eax
	syscall
bad:
	ud2
`, threadLoops)

func testThreads(t *testing.T, f Factory, _ Options) {
	const nThreads = 8
	p := newPlatform(t, f)
	prog := assemble(t, threadsSrc)
	as, _ := newAddressSpace(t, p)
	loadCode(t, as, codeAddr, prog.code)

	threads := make([]*thread, nThreads)
	for i := range threads {
		stack := mapStack(t, as, stackAddr+uintptr(i)*0x100000)
		threads[i] = newThread(t, p, as, codeAddr, stack)
		threads[i].regs.R12 = uint64(i+1) << 32
	}

	errs := make(chan error, nThreads)
	var wg sync.WaitGroup
	for i, th := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serveThread(th); err != nil {
				errs <- fmt.Errorf("thread %d: %w", i, err)
			}
		}()
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(6 * switchTimeout):
		for _, th := range threads {
			th.ctx.Interrupt()
		}
		t.Fatalf("%d threads making %d syscalls each did not finish within %v", nThreads, threadLoops, 6*switchTimeout)
	}
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// serveThread plays the sentry for one thread of threadsSrc: it answers
// every getpid with rdi+1 until the thread exits.
func serveThread(th *thread) error {
	id := th.regs.R12
	answered := 0
	for {
		ev, err := th.ctx.Switch(th.as, &th.regs, th.fp)
		if err != nil {
			return fmt.Errorf("Switch after %d syscalls: %w", answered, err)
		}
		switch {
		case ev.Kind == platform.EventInterrupted:
			continue
		case ev.Kind == platform.EventSyscall && th.regs.OrigRax == unix.SYS_GETPID:
			if th.regs.Rdi != id {
				return fmt.Errorf("syscall %d: rdi = %#x, want this thread's id %#x", answered, th.regs.Rdi, id)
			}
			th.regs.Rax = th.regs.Rdi + 1
			answered++
		case ev.Kind == platform.EventSyscall && th.regs.OrigRax == unix.SYS_EXIT:
			if th.regs.Rdi != threadLoops || answered != threadLoops {
				return fmt.Errorf("thread counted %d good answers, sentry gave %d, want %d", th.regs.Rdi, answered, threadLoops)
			}
			return nil
		default:
			return fmt.Errorf("after %d syscalls: unexpected event %v (ud2 means a wrong answer or a corrupted stack)\n%s", answered, ev, th.dump())
		}
	}
}

// forkSrc forks, stores the fork result at data+16, and reports data+0,
// data+8 and data+16 in rdi, rsi, rdx.
const forkSrc = `
	mov $57, %eax
	syscall
	movabs $0x30000000, %rbx
	mov %rax, 16(%rbx)
	mov 0(%rbx), %rdi
	mov 8(%rbx), %rsi
	mov 16(%rbx), %rdx
	mov $39, %eax
	syscall
	ud2
`

func testFork(t *testing.T, f Factory, _ Options) {
	const (
		preFork     = 0x1111000011110000
		parentValue = 0x2222000022220000
		childValue  = 0x3333000033330000
		childPid    = 4242
	)
	p := newPlatform(t, f)
	parent, _ := newProcess(t, p, forkSrc)
	writeUint64(t, parent.as, dataAddr, preFork)
	parent.runToSyscall(unix.SYS_FORK)

	childAS, err := parent.as.Fork()
	if err != nil {
		t.Fatalf("Fork: %v", err)
	}
	releaseChildAS := releaseOnce(t, childAS.Release)
	// A change to the child's mappings before any thread of it runs, as
	// the memory manager makes for MADV_DONTFORK and MADV_WIPEONFORK: the
	// platform may be starting the child's first thread meanwhile, and
	// neither may take the other's place.
	mapAnon(t, childAS, faultAddr, pageSize, unix.PROT_READ)
	// The child thread resumes from a copy of the parent's state, as after
	// fork(2).
	child := newThread(t, p, childAS, 0, 0)
	child.regs = parent.regs
	child.fp = parent.fp.Clone()
	child.regs.Rax = 0
	parent.regs.Rax = childPid

	writeUint64(t, parent.as, dataAddr+8, parentValue)
	writeUint64(t, childAS, dataAddr+8, childValue)
	expectUint64(t, parent.as, dataAddr, preFork, "parent: the value written before Fork")
	expectUint64(t, childAS, dataAddr, preFork, "child: the value written before Fork")
	expectUint64(t, parent.as, dataAddr+8, parentValue, "parent: its own write after Fork")
	expectUint64(t, childAS, dataAddr+8, childValue, "child: its own write after Fork")

	child.runToSyscall(unix.SYS_GETPID)
	expectReg(t, "child: pre-fork value", child.regs.Rdi, preFork)
	expectReg(t, "child: value written by WriteAt in the child", child.regs.Rsi, childValue)
	expectReg(t, "child: fork result", child.regs.Rdx, 0)

	parent.runToSyscall(unix.SYS_GETPID)
	expectReg(t, "parent: pre-fork value", parent.regs.Rdi, preFork)
	expectReg(t, "parent: value written by WriteAt in the parent", parent.regs.Rsi, parentValue)
	expectReg(t, "parent: fork result", parent.regs.Rdx, childPid)

	expectUint64(t, parent.as, dataAddr+16, childPid, "parent: the program's own store")
	expectUint64(t, childAS, dataAddr+16, 0, "child: the program's own store")

	child.release()
	releaseChildAS()
	expectUint64(t, parent.as, dataAddr+8, parentValue, "parent after releasing the child")
	expectUint64(t, parent.as, dataAddr+16, childPid, "parent after releasing the child")
}

// threadChurnSrc reads the quadword at %fs:0 into rdi and the low quadword
// of xmm0 into rsi, stops at getpid, and exits.
const threadChurnSrc = `
	mov %fs:0, %rdi
	movq %xmm0, %rsi
	mov $39, %eax
	syscall
	mov $60, %eax
	syscall
	ud2
`

// testThreadChurn starts and ends threads one after another in one address
// space, as a program that creates and joins threads does, and checks that
// each starts with its own fs base and FP state, none of the previous
// thread's: a platform may reuse host threads between contexts. A thread
// with fs base 0 after one with another base must fault at 0.
func testThreadChurn(t *testing.T, f Factory, _ Options) {
	p := newPlatform(t, f)
	first, _ := newProcess(t, p, threadChurnSrc)
	as := first.as
	first.release()
	for i := range 12 {
		th := newThread(t, p, as, codeAddr, mapStack(t, as, stackAddr+0x100000))
		marker := uint64(0x5eed0000_00000000) | uint64(i)
		if i%3 == 2 {
			ev := th.run()
			if ev.Kind != platform.EventFault || ev.Fault.Addr != 0 {
				t.Fatalf("thread %d with fs base 0: got %v, want a fault at 0 (the fs base of an earlier thread?)", i, ev)
			}
			th.release()
			continue
		}
		base := dataAddr + uintptr(i)*0x100
		writeUint64(t, as, base, marker)
		th.regs.FsBase = uint64(base)
		var xmm0 [16]byte
		binary.LittleEndian.PutUint64(xmm0[:], marker+1)
		th.fp.SetXMM(0, xmm0)
		th.runToSyscall(unix.SYS_GETPID)
		expectReg(t, fmt.Sprintf("thread %d: %%fs:0", i), th.regs.Rdi, marker)
		expectReg(t, fmt.Sprintf("thread %d: xmm0", i), th.regs.Rsi, marker+1)
		th.regs.Rax = 0
		th.runToSyscall(unix.SYS_EXIT)
		th.release()
	}
}
