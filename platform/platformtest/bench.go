package platformtest

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// benchSrc calls getppid r12 times, then exit.
const benchSrc = `
loop:
	mov $110, %eax
	syscall
	dec %r12
	jnz loop
	mov $60, %eax
	syscall
	ud2
`

// nativeCalls is how many getppid calls measure the native baseline.
const nativeCalls = 200000

// BenchmarkSyscallRoundTrip measures the cost of one application syscall
// that the sentry answers at once: trap, Switch returns, Switch resumes. It
// reports it as ns/roundtrip next to the cost of a native getppid measured in
// the same run (ns/native-getppid) and their ratio (x-native), so numbers from
// different machines and platforms can be compared. A platform wires it up
// with
//
//	func BenchmarkSyscallRoundTrip(b *testing.B) {
//		platformtest.BenchmarkSyscallRoundTrip(b, systrap.New)
//	}
func BenchmarkSyscallRoundTrip(b *testing.B, f Factory) {
	native := nativeGetppid()

	p := newPlatform(b, f)
	th, _ := newProcess(b, p, benchSrc)
	th.regs.R12 = uint64(b.N) + 1
	// The first stop starts the host thread; it is not timed.
	th.runToSyscall(unix.SYS_GETPPID)

	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		th.regs.Rax = 0
		ev, err := th.ctx.Switch(th.as, &th.regs, th.fp)
		for err == nil && ev.Kind == platform.EventInterrupted {
			ev, err = th.ctx.Switch(th.as, &th.regs, th.fp)
		}
		if err != nil || ev.Kind != platform.EventSyscall || th.regs.OrigRax != unix.SYS_GETPPID {
			b.Fatalf("round trip %d: Switch = %v, %v with orig_rax %d; want a getppid stop", i, ev, err, th.regs.OrigRax)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	th.runToSyscall(unix.SYS_EXIT)

	perRoundTrip := float64(elapsed.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perRoundTrip, "ns/roundtrip")
	b.ReportMetric(native, "ns/native-getppid")
	b.ReportMetric(perRoundTrip/native, "x-native")
}

// nativeGetppid returns the cost of a host getppid in nanoseconds.
func nativeGetppid() float64 {
	start := time.Now()
	for range nativeCalls {
		unix.Getppid()
	}
	return float64(time.Since(start).Nanoseconds()) / nativeCalls
}

// BenchmarkFork measures Fork (not the child's release) of an address space
// with 1 MiB and with 256 MiB of touched private memory, in the same run.
// Fork is copy-on-write: no page is copied, only page tables, as a native
// fork does. It reports both and their ratio (x-small).
func BenchmarkFork(b *testing.B, f Factory) {
	p := newPlatform(b, f)
	cost := func(resident uintptr) float64 {
		as, release := newAddressSpace(b, p)
		defer release()
		const base = 0x40000000
		mapAnon(b, as, base, resident, unix.PROT_READ|unix.PROT_WRITE)
		page := make([]byte, 4096)
		for off := uintptr(0); off < resident; off += 4096 {
			page[0] = byte(off >> 12)
			write(b, as, base+off, page[:1])
		}
		var spent time.Duration
		for range b.N {
			start := time.Now()
			child, err := as.Fork()
			spent += time.Since(start)
			if err != nil {
				b.Fatalf("Fork: %v", err)
			}
			child.Release()
		}
		return float64(spent.Nanoseconds()) / float64(b.N)
	}
	small := cost(1 << 20)
	large := cost(256 << 20)
	b.ReportMetric(small, "ns/fork-1MiB")
	b.ReportMetric(large, "ns/fork-256MiB")
	b.ReportMetric(large/small, "x-small")
}

// BenchmarkAddressSpace measures what an execve costs the platform: a new
// address space with code and a stack mapped, one thread run to its first
// syscall, then both released. It reports ns/address-space.
func BenchmarkAddressSpace(b *testing.B, f Factory) {
	p := newPlatform(b, f)
	prog := assemble(b, benchSrc)
	start := time.Now()
	for range b.N {
		as, err := p.NewAddressSpace()
		if err != nil {
			b.Fatalf("NewAddressSpace: %v", err)
		}
		loadCode(b, as, codeAddr, prog.code)
		th := makeThread(b, p.NewContext(), as, codeAddr, mapStack(b, as, stackAddr))
		th.regs.R12 = 1
		th.runToSyscall(unix.SYS_GETPPID)
		th.ctx.Release()
		as.Release()
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(b.N), "ns/address-space")
}
