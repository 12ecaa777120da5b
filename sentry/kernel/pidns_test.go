package kernel_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
)

// PID namespaces (pidns.go): IDs in a nested namespace, their release
// when processes are reaped, and the init's death.

// TestPIDNSIDs: a process made after unshare(CLONE_NEWPID) is 1 there,
// its children 2, 3, ...; each ID goes with its process, so a namespace
// whose processes come and go holds the IDs of the living ones only.
func TestPIDNSIDs(t *testing.T) {
	parent := kerneltest.NewTask(t, nil)
	if err := parent.Unshare(unix.CLONE_NEWPID); err != nil {
		t.Fatal(err)
	}
	ns := parent.PIDNSForChildren()
	if ns == parent.PIDNS() || ns.Level() != 1 {
		t.Fatalf("after unshare: level %d, the caller's own namespace: %v", ns.Level(), ns == parent.PIDNS())
	}
	init := child(t, parent)
	if init.ThreadID() != 1 || init.PID() != 1 || init.PPID() != 0 {
		t.Fatalf("the first process: tid %d, pid %d, ppid %d; want 1, 1, 0", init.ThreadID(), init.PID(), init.PPID())
	}
	if got := parent.PIDOf(init.TG); got != init.TG.PID {
		t.Errorf("the parent sees it as %d, want its kernel ID %d", got, init.TG.PID)
	}
	if got := init.IDOf(parent.TG.PID); got != 0 {
		t.Errorf("the init sees its parent as %d, want 0", got)
	}
	for i := range 200 {
		c := child(t, init)
		if want := i + 2; c.PID() != want || init.PIDOf(c.TG) != want || c.PPID() != 1 {
			t.Fatalf("child %d: pid %d (%d from the init), ppid %d; want %d and 1", i, c.PID(), init.PIDOf(c.TG), c.PPID(), want)
		}
		exited(t, c, 0)
		if r, err := init.Wait(kernel.WaitOptions{Pid: c.PID()}); err != nil || r.PID != c.PID() {
			t.Fatalf("the init's wait: %+v, %v", r, err)
		}
	}
	if n := kernel.PIDNSIDs(ns); n != 1 {
		t.Errorf("after 200 children came and went the namespace holds %d IDs, want 1 (the init's)", n)
	}
	if c := init.LookupTask(2); c != nil {
		t.Errorf("ID 2 names a task after its process was reaped")
	}

	// The init's death ends the namespace: a child still running is
	// killed, and no process can be made there any more.
	left := child(t, init)
	exited(t, init, 0)
	if !left.IsZombie() {
		t.Fatal("the init is a zombie and its namespace's last process still runs")
	}
	if _, err := parent.Wait(kernel.WaitOptions{Pid: init.TG.PID}); err != nil {
		t.Fatal(err)
	}
	if n := kernel.PIDNSIDs(ns); n != 0 {
		t.Errorf("the namespace holds %d IDs once all its processes are reaped, want 0", n)
	}
	if _, err := kernel.NewChild(parent); err != unix.ENOMEM {
		t.Errorf("fork into a namespace whose init died: %v, want ENOMEM", err)
	}
}
