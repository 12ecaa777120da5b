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
	th.runToSyscall(sysGetppid)

	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		th.regs.Rax = 0
		ev, err := th.ctx.Switch(th.as, &th.regs, th.fp)
		for err == nil && ev.Kind == platform.EventInterrupted {
			ev, err = th.ctx.Switch(th.as, &th.regs, th.fp)
		}
		if err != nil || ev.Kind != platform.EventSyscall || th.regs.OrigRax != sysGetppid {
			b.Fatalf("round trip %d: Switch = %v, %v with orig_rax %d; want a getppid stop", i, ev, err, th.regs.OrigRax)
		}
	}
	elapsed := time.Since(start)
	b.StopTimer()
	th.runToSyscall(sysExit)

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
