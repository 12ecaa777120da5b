package kernel_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"gvisor.dev/gvisor/pkg/abi/linux"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
)

// userChild forks parent as a uid-1000 process without capabilities.
func userChild(t *testing.T, parent *kernel.Task) *kernel.Task {
	t.Helper()
	c, err := kernel.NewChild(parent)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetRESGID(1000, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if err := c.SetRESUID(1000, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	c.MM().SetDumpable(true)
	return c
}

// Yama's scopes (Documentation/admin-guide/LSM/Yama.rst): 1, the
// default, lets a process attach to its descendants and to who named it
// with PR_SET_PTRACER; 0 to any process of its user; 2 only with
// CAP_SYS_PTRACE; 3 to none, and stays. PTRACE_TRACEME wants the parent
// to hold CAP_SYS_PTRACE at 2, and is refused at 3. The scope's writes
// want CAP_SYS_PTRACE and 0 to 3.
func TestYamaScopes(t *testing.T) {
	root := kerneltest.NewTask(t, nil)
	k := root.K
	a, b, d := userChild(t, root), userChild(t, root), userChild(t, root)
	c := userChild(t, b)
	check := func(what string, tracer, tracee *kernel.Task, want bool) {
		t.Helper()
		if got := tracer.MayAttach(tracee); got != want {
			t.Errorf("scope %d, %s: MayAttach %v, want %v", k.YamaScope(), what, got, want)
		}
	}
	if k.YamaScope() != linux.YAMA_SCOPE_RELATIONAL {
		t.Fatalf("scope %d, want 1", k.YamaScope())
	}
	check("a sibling", b, a, false)
	check("a child", b, c, true)
	check("root", root, a, true)
	if err := a.SetPtracer(int64(root.PID())); err != nil {
		t.Fatal(err)
	}
	check("a sibling, a descendant of who the target named", b, a, true)
	if err := a.SetPtracer(int64(b.PID())); err != nil {
		t.Fatal(err)
	}
	check("a sibling the target named", b, a, true)
	check("a sibling's child", c, a, true)
	if err := a.SetPtracer(0); err != nil {
		t.Fatal(err)
	}
	check("a sibling, the exception taken back", b, a, false)
	if err := a.SetPtracer(1 << 30); err != unix.EINVAL {
		t.Errorf("PR_SET_PTRACER of no process: %v, want EINVAL", err)
	}

	if err := k.SetYamaScope(false, 0); err != unix.EPERM {
		t.Errorf("a write without CAP_SYS_PTRACE: %v, want EPERM", err)
	}
	for _, n := range []int64{-1, 4} {
		if err := k.SetYamaScope(true, n); err != unix.EINVAL {
			t.Errorf("writing %d: %v, want EINVAL", n, err)
		}
	}
	if err := k.SetYamaScope(true, linux.YAMA_SCOPE_DISABLED); err != nil {
		t.Fatal(err)
	}
	check("a sibling", b, a, true)

	if err := k.SetYamaScope(true, kernel.YamaScopeCapability); err != nil {
		t.Fatal(err)
	}
	if err := a.SetPtracer(kernel.PtracerAny); err != nil {
		t.Fatal(err)
	}
	check("a sibling that let anyone", b, a, false)
	check("a child", b, c, false)
	check("root", root, a, true)
	if err := kernel.TraceMe(c); err != unix.EPERM {
		t.Errorf("scope 2, TRACEME of a parent without CAP_SYS_PTRACE: %v, want EPERM", err)
	}
	if err := kernel.TraceMe(a); err != nil {
		t.Errorf("scope 2, TRACEME of a parent with CAP_SYS_PTRACE: %v", err)
	}

	if err := k.SetYamaScope(true, kernel.YamaScopeNoAttach); err != nil {
		t.Fatal(err)
	}
	check("root", root, a, false)
	if err := kernel.TraceMe(d); err != unix.EPERM {
		t.Errorf("scope 3, TRACEME: %v, want EPERM", err)
	}
	if err := k.SetYamaScope(true, linux.YAMA_SCOPE_RELATIONAL); err != unix.EINVAL {
		t.Errorf("scope 3 lowered: %v, want EINVAL", err)
	}
	if err := k.SetYamaScope(true, kernel.YamaScopeNoAttach); err != nil {
		t.Errorf("scope 3 written again: %v", err)
	}
}
