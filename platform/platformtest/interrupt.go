package platformtest

import (
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// spinSrc sets the qword at dataAddr+8 to 1 (it has reached the loop),
// spins until the qword at dataAddr becomes non-zero, then traps.
const spinSrc = `
	movabs $0x30000000, %rbx
	movq $1, 8(%rbx)
spin:
	cmpq $0, (%rbx)
	je spin
after:
	mov $39, %eax
	syscall
	ud2
`

func testInterrupt(t *testing.T, f Factory, _ Options) {
	p := newPlatform(t, f)

	t.Run("WhileRunning", func(t *testing.T) {
		th, prog := newProcess(t, p, spinSrc)
		var requested atomic.Bool
		done := switchUntilRequested(th, &requested)
		// Interrupt once the thread spins: a time to wait would be too
		// short on a loaded machine, which may not have run it yet.
		for deadline := time.Now().Add(switchTimeout); readUint64(t, th.as, dataAddr+8) != 1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the thread did not reach its spin loop within %v", switchTimeout)
			}
		}
		requested.Store(true)
		th.ctx.Interrupt()
		select {
		case r := <-done:
			if r.err != nil || r.ev.Kind != platform.EventInterrupted {
				t.Fatalf("Switch interrupted while spinning = %v, %v; want %v, nil", r.ev, r.err, platform.EventInterrupted)
			}
		case <-time.After(switchTimeout):
			t.Fatalf("Switch did not return within %v of Interrupt", switchTimeout)
		}
		if spin, after := codeAddr+prog.off(t, "spin"), codeAddr+prog.off(t, "after"); th.regs.Rip < spin || th.regs.Rip >= after {
			t.Errorf("interrupted at rip %#x, want within the spin loop [%#x, %#x)", th.regs.Rip, spin, after)
		}

		// The interrupted thread carries on where it was.
		writeUint64(t, th.as, dataAddr, 1)
		th.runToSyscall(unix.SYS_GETPID)
	})

	t.Run("BeforeSwitch", func(t *testing.T) {
		th, _ := newProcess(t, p, spinSrc)
		// Before the first Switch of a fresh context.
		th.ctx.Interrupt()
		expectInterrupted(t, th, "the first Switch after Interrupt")

		writeUint64(t, th.as, dataAddr, 1)
		th.runToSyscall(unix.SYS_GETPID)

		// At a syscall stop: the program would continue into ud2.
		th.ctx.Interrupt()
		expectInterrupted(t, th, "the Switch after Interrupt at a syscall stop")
	})
}

// expectInterrupted runs one Switch and fails the test unless it returns
// EventInterrupted within switchTimeout.
func expectInterrupted(t testing.TB, th *thread, what string) {
	t.Helper()
	done := make(chan switchResult, 1)
	go func() {
		ev, err := th.ctx.Switch(th.as, &th.regs, th.fp)
		done <- switchResult{ev, err}
	}()
	select {
	case r := <-done:
		if r.err != nil || r.ev.Kind != platform.EventInterrupted {
			t.Fatalf("%s = %v, %v; want %v, nil\n%s", what, r.ev, r.err, platform.EventInterrupted, th.dump())
		}
	case <-time.After(switchTimeout):
		th.ctx.Interrupt()
		t.Fatalf("%s did not return within %v", what, switchTimeout)
	}
}

// switchUntilRequested runs th in the background until an event other than
// an interrupt that came before requested was set (a spurious one), and
// sends that event on the channel it returns.
func switchUntilRequested(th *thread, requested *atomic.Bool) <-chan switchResult {
	done := make(chan switchResult, 1)
	go func() {
		for {
			ev, err := th.ctx.Switch(th.as, &th.regs, th.fp)
			if err == nil && ev.Kind == platform.EventInterrupted && !requested.Load() {
				continue // Spurious.
			}
			done <- switchResult{ev, err}
			return
		}
	}()
	return done
}
