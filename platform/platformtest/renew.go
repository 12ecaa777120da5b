package platformtest

import (
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// testRenew checks an execve in place (platform.Renewer): the renewed
// address space is the same process emptied by UnmapAll, the execing
// thread runs there without a new context, nothing of the old program's
// memory is left, and the old address space is dead.
func testRenew(t *testing.T, f Factory, _ Options) {
	_, th, r := renewable(t, f)
	write(t, th.as, dataAddr, []byte("old secret"))
	if !r.Renewable() {
		t.Fatal("a process that has run one thread is not renewable")
	}
	as, err := r.Renew()
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	t.Cleanup(as.Release)
	th.as.Release() // nothing: the process is as's
	if _, err := th.as.ReadAt(make([]byte, 1), dataAddr); err == nil {
		t.Error("the renewed-from address space still reads the process's memory")
	}
	b, ok := as.(platform.Batcher)
	if !ok {
		t.Fatalf("%T renews but makes no batches", as)
	}
	if n, err := b.MapBatch(platform.UnmapAll(as, platform.MaxUserAddress)); err != nil {
		t.Fatalf("MapBatch(UnmapAll): op %d: %v", n, err)
	}
	if _, err := as.ReadAt(make([]byte, 1), dataAddr); err == nil {
		t.Error("the old program's data is still mapped after UnmapAll")
	}
	// The new program: its code elsewhere, and a load of the old data.
	prog := assemble(t, `
	mov $39, %eax
	syscall
load:
	mov (%rbx), %rax
	ud2
`)
	const newCode = codeAddr + 0x100000
	loadCode(t, as, newCode, prog.code)
	th.as = as
	th.regs.Rip, th.regs.Rbx = newCode, dataAddr
	th.regs.Rsp = uint64(mapStack(t, as, stackAddr))
	th.runToSyscall(unix.SYS_GETPID)
	ev := th.run()
	expectFault(t, th, ev, dataAddr, platform.AccessRead, newCode+prog.off(t, "load"))
}

// testRenewThreaded: a process that has run two threads is not renewed.
func testRenewThreaded(t *testing.T, f Factory, _ Options) {
	p, th, r := renewable(t, f)
	other := newThread(t, p, th.as, codeAddr, mapStack(t, th.as, stackAddr+0x100000))
	other.runToSyscall(unix.SYS_GETPID)
	other.release()
	if r.Renewable() {
		t.Error("a process that has run two threads is renewable")
	}
	if _, err := r.Renew(); err == nil {
		t.Error("Renew of a process that has run two threads succeeded")
	}
	th.regs.Rip = codeAddr // the old program runs on
	th.runToSyscall(unix.SYS_GETPID)
}

// renewable returns a platform, a thread of a fresh process stopped at its first
// syscall (getpid), and the process's address space as a Renewer; it
// skips the test for a platform that does not renew.
func renewable(t *testing.T, f Factory) (platform.Platform, *thread, platform.Renewer) {
	p := newPlatform(t, f)
	th, _ := newProcess(t, p, `
	mov $39, %eax
	syscall
	ud2
`)
	r, ok := th.as.(platform.Renewer)
	if !ok {
		t.Skipf("%T does not renew", th.as)
	}
	th.runToSyscall(unix.SYS_GETPID)
	return p, th, r
}
