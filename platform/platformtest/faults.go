package platformtest

import (
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// si_code values of the synchronous signals the tests provoke
// (include/uapi/asm-generic/siginfo.h).
const (
	illILLOPN = 2 // SIGILL: illegal opcode
	fpeINTDIV = 1 // SIGFPE: integer divide by zero
	busADRERR = 2 // SIGBUS: nonexistent physical address
)

// faultAddr is an address the tests leave unmapped or map themselves.
const faultAddr = 0x40000000

func testFaults(t *testing.T, f Factory, _ Options) {
	p := newPlatform(t, f)

	t.Run("ReadUnmapped", func(t *testing.T) {
		th, prog := newProcess(t, p, `
	movabs $0x40000018, %rbx
load:
	mov (%rbx), %rdi
	mov $39, %eax
	syscall
	ud2
`)
		ev := th.run()
		expectFault(t, th, ev, faultAddr+0x18, platform.AccessRead, codeAddr+prog.off(t, "load"))

		mapAnon(t, th.as, faultAddr, pageSize, unix.PROT_READ|unix.PROT_WRITE)
		writeUint64(t, th.as, faultAddr+0x18, 0x600d600d600d600d)
		th.runToSyscall(unix.SYS_GETPID)
		expectReg(t, "rdi (loaded from the page mapped after the fault)", th.regs.Rdi, 0x600d600d600d600d)
	})

	t.Run("WriteReadOnly", func(t *testing.T) {
		th, prog := newProcess(t, p, `
	movabs $0x40000020, %rbx
	movabs $0x5555aaaa5555aaaa, %rcx
store:
	mov %rcx, (%rbx)
	mov (%rbx), %rdi
	mov $39, %eax
	syscall
	ud2
`)
		mapAnon(t, th.as, faultAddr, pageSize, unix.PROT_READ)
		ev := th.run()
		expectFault(t, th, ev, faultAddr+0x20, platform.AccessWrite, codeAddr+prog.off(t, "store"))

		if err := th.as.Mprotect(faultAddr, pageSize, unix.PROT_READ|unix.PROT_WRITE); err != nil {
			t.Fatalf("Mprotect(%#x, RW): %v", faultAddr, err)
		}
		th.runToSyscall(unix.SYS_GETPID)
		expectReg(t, "rdi (read back after the retried store)", th.regs.Rdi, 0x5555aaaa5555aaaa)
		expectUint64(t, th.as, faultAddr+0x20, 0x5555aaaa5555aaaa, "the retried store")
	})

	t.Run("ExecNoExec", func(t *testing.T) {
		th, _ := newProcess(t, p, `
	movabs $0x40000000, %rcx
	jmp *%rcx
`)
		target := assemble(t, `
	mov $39, %eax
	syscall
after:
	ud2
`)
		mapAnon(t, th.as, faultAddr, pageSize, unix.PROT_READ|unix.PROT_WRITE)
		write(t, th.as, faultAddr, target.code)
		ev := th.run()
		expectFault(t, th, ev, faultAddr, platform.AccessExec, faultAddr)

		if err := th.as.Mprotect(faultAddr, pageSize, unix.PROT_READ|unix.PROT_EXEC); err != nil {
			t.Fatalf("Mprotect(%#x, R|X): %v", faultAddr, err)
		}
		th.runToSyscall(unix.SYS_GETPID)
		expectReg(t, "rip after running the page made executable", th.regs.Rip, faultAddr+target.off(t, "after"))
	})
}

// expectFault fails the test unless ev is a memory fault at addr with the
// given access, stopped at the faulting instruction rip.
func expectFault(t testing.TB, th *thread, ev platform.Event, addr uint64, access platform.Access, rip uint64) {
	t.Helper()
	if ev.Kind != platform.EventFault {
		t.Fatalf("got event %v, want a %v fault at %#x\n%s", ev, access, addr, th.dump())
	}
	if uint64(ev.Fault.Addr) != addr || ev.Fault.Access != access {
		t.Errorf("got fault (%v at %#x), want (%v at %#x)", ev.Fault.Access, ev.Fault.Addr, access, addr)
	}
	expectReg(t, "rip at the fault", th.regs.Rip, rip)
	if t.Failed() {
		t.FailNow()
	}
}

// expectSignal fails the test unless ev is synchronous signal signo with
// si_code code (if code >= 0) and si_addr addr (if addr != 0), stopped at
// rip.
func expectSignal(t testing.TB, th *thread, ev platform.Event, signo unix.Signal, code int32, addr, rip uint64) {
	t.Helper()
	if ev.Kind != platform.EventSignal || ev.Signal.Signo != int32(signo) {
		t.Fatalf("got event %v, want signal %d (%v)\n%s", ev, int(signo), signo, th.dump())
	}
	if code >= 0 && ev.Signal.Code != code {
		t.Errorf("%v: si_code = %d, want %d", signo, ev.Signal.Code, code)
	}
	if addr != 0 && ev.Signal.Addr() != addr {
		t.Errorf("%v: si_addr = %#x, want %#x", signo, ev.Signal.Addr(), addr)
	}
	expectReg(t, "rip at the signal", th.regs.Rip, rip)
	if t.Failed() {
		t.FailNow()
	}
}

func testSignals(t *testing.T, f Factory, _ Options) {
	p := newPlatform(t, f)

	t.Run("SIGILL", func(t *testing.T) {
		th, prog := newProcess(t, p, `
	nop
bad:
	ud2
after:
	mov $39, %eax
	syscall
	ud2
`)
		bad := codeAddr + prog.off(t, "bad")
		expectSignal(t, th, th.run(), unix.SIGILL, illILLOPN, bad, bad)

		// The sentry may move the thread on, as a signal handler would.
		th.regs.Rip = codeAddr + prog.off(t, "after")
		th.runToSyscall(unix.SYS_GETPID)
	})

	t.Run("SIGFPE", func(t *testing.T) {
		th, prog := newProcess(t, p, `
	mov $1, %eax
	xor %edx, %edx
	xor %ecx, %ecx
bad:
	div %rcx
	ud2
`)
		bad := codeAddr + prog.off(t, "bad")
		expectSignal(t, th, th.run(), unix.SIGFPE, fpeINTDIV, bad, bad)
	})

	t.Run("SIGTRAP", func(t *testing.T) {
		th, prog := newProcess(t, p, `
	int3
after:
	mov $39, %eax
	syscall
	ud2
`)
		expectSignal(t, th, th.run(), unix.SIGTRAP, -1, 0, codeAddr+prog.off(t, "after"))
		th.runToSyscall(unix.SYS_GETPID)
	})

	t.Run("SIGBUS", func(t *testing.T) {
		th, prog := newProcess(t, p, `
	movabs $0x40001008, %rbx
load:
	mov (%rbx), %rdi
	mov $39, %eax
	syscall
	ud2
`)
		// Two pages of a one-page file: the second is beyond EOF.
		file := tempFile(t, make([]byte, pageSize))
		if err := file.Truncate(pageSize); err != nil {
			t.Fatal(err)
		}
		got, err := th.as.Mmap(faultAddr, 2*pageSize, unix.PROT_READ, unix.MAP_SHARED|unix.MAP_FIXED, file, 0)
		if err != nil || got != faultAddr {
			t.Fatalf("Mmap(%#x, 2 pages of a 1-page file) = %#x, %v; want %#x, nil", faultAddr, got, err, faultAddr)
		}
		expectSignal(t, th, th.run(), unix.SIGBUS, busADRERR, faultAddr+pageSize+8, codeAddr+prog.off(t, "load"))
	})
}
