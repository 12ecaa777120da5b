package kernel_test

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
)

// wait4 and waitid (wait(2)): which child a wait takes, WNOHANG, WNOWAIT,
// zombies and reaping, stops and continues.

// child forks parent and starts the child; its loop runs nothing until
// the test ends it.
func child(t *testing.T, parent *kernel.Task) *kernel.Task {
	t.Helper()
	c, err := kernel.NewChild(parent)
	if err != nil {
		t.Fatal(err)
	}
	c.Start()
	return c
}

// exited ends c's process with code and waits until it is a zombie.
func exited(t *testing.T, c *kernel.Task, code int) {
	t.Helper()
	c.ExitGroup(code, 0)
	select {
	case <-done(c.TG):
	case <-time.After(10 * time.Second):
		t.Fatal("the child did not exit")
	}
}

func done(tg *kernel.ThreadGroup) <-chan struct{} {
	c := make(chan struct{})
	go func() { tg.Wait(); close(c) }()
	return c
}

func TestWaitNoChildren(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	if _, err := parent.Wait(kernel.WaitOptions{Pid: -1}); err != unix.ECHILD {
		t.Errorf("no child: %v, want ECHILD", err)
	}
	c := child(t, parent)
	if _, err := parent.Wait(kernel.WaitOptions{Pid: c.TG.PID + 1000, NoHang: true}); err != unix.ECHILD {
		t.Errorf("a pid that is not a child: %v, want ECHILD", err)
	}
	if _, err := c.Wait(kernel.WaitOptions{Pid: parent.TG.PID, NoHang: true}); err != unix.ECHILD {
		t.Errorf("a child waiting for its parent: %v, want ECHILD", err)
	}
}

func TestWaitNoHangAndReap(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	c := child(t, parent)
	if r, err := parent.Wait(kernel.WaitOptions{Pid: -1, NoHang: true}); r.PID != 0 || err != nil {
		t.Errorf("WNOHANG with a running child: pid %d, %v; want 0, nil", r.PID, err)
	}
	exited(t, c, 3)
	r, err := parent.Wait(kernel.WaitOptions{Pid: -1, NoWait: true})
	if err != nil || r.PID != c.TG.PID || r.Status.Code != 3 {
		t.Fatalf("WNOWAIT: %+v, %v", r, err)
	}
	// WNOWAIT left the zombie: the next wait finds it again, and reaps it.
	r, err = parent.Wait(kernel.WaitOptions{Pid: c.TG.PID})
	if err != nil || r.PID != c.TG.PID || r.WaitStatus() != 3<<8 {
		t.Fatalf("wait after WNOWAIT: %+v (status %#x), %v", r, r.WaitStatus(), err)
	}
	if _, err := parent.Wait(kernel.WaitOptions{Pid: -1, NoHang: true}); err != unix.ECHILD {
		t.Errorf("after reaping: %v, want ECHILD", err)
	}
}

func TestWaitBlocksUntilAChildExits(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	c := child(t, parent)
	got := make(chan kernel.WaitResult, 1)
	go func() {
		r, _ := parent.Wait(kernel.WaitOptions{Pid: -1})
		got <- r
	}()
	time.Sleep(20 * time.Millisecond)
	select {
	case r := <-got:
		t.Fatalf("wait returned %+v before the child exited", r)
	default:
	}
	c.TG.Kill(int(unix.SIGKILL))
	select {
	case r := <-got:
		if r.PID != c.TG.PID || r.Status.Signal != int(unix.SIGKILL) || r.WaitStatus() != uint32(unix.SIGKILL) {
			t.Errorf("%+v (status %#x): want the child, killed by SIGKILL", r, r.WaitStatus())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the wait did not return")
	}
}

func TestWaitWhichChild(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	a, b := child(t, parent), child(t, parent)
	// b leads a process group of its own.
	if err := parent.Setpgid(b.TG.PID, 0); err != nil {
		t.Fatal(err)
	}
	exited(t, a, 1)
	exited(t, b, 2)
	if r, err := parent.Wait(kernel.WaitOptions{Pid: -b.TG.PID}); err != nil || r.PID != b.TG.PID {
		t.Errorf("wait(-pgid of b): %+v, %v", r, err)
	}
	if _, err := parent.Wait(kernel.WaitOptions{Pid: -b.TG.PID, NoHang: true}); err != unix.ECHILD {
		t.Errorf("the group of b is empty: %v, want ECHILD", err)
	}
	if r, err := parent.Wait(kernel.WaitOptions{Pid: 0}); err != nil || r.PID != a.TG.PID {
		t.Errorf("wait(0), the caller's group: %+v, %v; want a", r, err)
	}
}

func TestWaitIgnoredSIGCHLDReapsAtOnce(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	parent.TG.SetSigAction(int(unix.SIGCHLD), linux.SigAction{Handler: linux.SIG_IGN})
	c := child(t, parent)
	exited(t, c, 0)
	if _, err := parent.Wait(kernel.WaitOptions{Pid: -1, NoHang: true}); err != unix.ECHILD {
		t.Errorf("with SIGCHLD ignored, the child is reaped at once: %v, want ECHILD", err)
	}
}

func TestWaitSIGCHLDBeforeTheWaitReturns(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	parent.SetSigMask(bit(unix.SIGCHLD))
	c := child(t, parent)
	exited(t, c, 0)
	if _, err := parent.Wait(kernel.WaitOptions{Pid: -1}); err != nil {
		t.Fatal(err)
	}
	si, ok := parent.Dequeue(bit(unix.SIGCHLD))
	if !ok || si.Code != linux.CLD_EXITED || si.PID() != int32(c.TG.PID) {
		t.Errorf("SIGCHLD %v: code %d pid %d; want CLD_EXITED from the child", ok, si.Code, si.PID())
	}
}

func TestWaitStopAndContinue(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	c := child(t, parent)
	c.TG.SendSignal(kernel.NewSigInfo(int32(unix.SIGSTOP), linux.SI_USER, parent.TG.PID, 0))
	r, err := parent.Wait(kernel.WaitOptions{Pid: -1, Stopped: true})
	if err != nil || r.Stopped != int(unix.SIGSTOP) || r.WaitStatus() != uint32(unix.SIGSTOP)<<8|0x7f {
		t.Fatalf("WUNTRACED: %+v (status %#x), %v", r, r.WaitStatus(), err)
	}
	if r, err := parent.Wait(kernel.WaitOptions{Pid: -1, Stopped: true, NoHang: true}); r.PID != 0 || err != nil {
		t.Errorf("a stop is reported once: %+v, %v", r, err)
	}
	c.TG.SendSignal(kernel.NewSigInfo(int32(unix.SIGCONT), linux.SI_USER, parent.TG.PID, 0))
	r, err = parent.Wait(kernel.WaitOptions{Pid: -1, Continued: true})
	if err != nil || !r.Continued || r.WaitStatus() != 0xffff {
		t.Fatalf("WCONTINUED: %+v, %v", r, err)
	}
	// Without WUNTRACED or WCONTINUED, neither is reported: the wait
	// sees a running child.
	if r, err := parent.Wait(kernel.WaitOptions{Pid: -1, NoHang: true}); r.PID != 0 || err != nil {
		t.Errorf("a plain WNOHANG wait: %+v, %v", r, err)
	}
}

func TestWaitInterruptedBySignal(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	child(t, parent)
	got := make(chan error, 1)
	go func() {
		_, err := parent.Wait(kernel.WaitOptions{Pid: -1})
		got <- err
	}()
	time.Sleep(20 * time.Millisecond)
	parent.SendSignal(userSignal(unix.SIGUSR1, 0))
	select {
	case err := <-got:
		if err != unix.EINTR {
			t.Errorf("%v, want EINTR", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the signal did not interrupt the wait")
	}
}
