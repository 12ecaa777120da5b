package ptrace

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
	"runsc-lite/stub"
)

// TestKilledDuringRemoteSyscall: a stub process killed while its control
// thread runs a remote syscall, and while an application thread sits in a
// syscall the sentry serves (its tracer idle), as when the sandbox ends
// under a task in fork. The kernel reports the control thread's exit (it
// is the group leader) only once the application thread is reaped; the
// remote syscall must still return, saying the process is gone.
func TestKilledDuringRemoteSyscall(t *testing.T) {
	p, err := NewConfined(stub.DefaultConfinement())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if !t.Failed() { // else a stub may be stuck, and Close with it
			p.Close()
		}
	}()
	for i := 0; i < 3; i++ {
		pas, err := p.NewAddressSpace()
		if err != nil {
			t.Fatal(err)
		}
		as := pas.(*addressSpace)
		if _, err := as.newThread(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			// getpid is not a remote syscall: the stub's filter kills the
			// process on the way back from it, while the control tracer
			// waits for the exit stop (or for the next call's).
			_, err := as.syscall(unix.SYS_GETPID)
			if err == nil {
				_, err = as.syscall(unix.SYS_GETPPID)
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, platform.ErrContextDead) {
				t.Errorf("remote syscall in a killed stub: got %v, want an error wrapping ErrContextDead", err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("a remote syscall in a stub killed under it did not return within 20s")
		}
		released := make(chan struct{})
		go func() { as.Release(); close(released) }()
		select {
		case <-released:
		case <-time.After(20 * time.Second):
			t.Fatal("Release of a killed stub did not return within 20s")
		}
	}
}
