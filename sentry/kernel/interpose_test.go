package kernel_test

import (
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/interpose"
	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
)

// The embedding program's hooks around dispatch (package interpose): they
// see the task and the arguments, change them, answer the call themselves
// or change its result, and read and write the task's memory.

func TestHooksDispatch(t *testing.T) {
	var handled []kernel.SyscallArguments
	task := kerneltest.NewTask(t, table(func(t *kernel.Task, a kernel.SyscallArguments) (uintptr, error) {
		handled = append(handled, a)
		return a[2], nil
	}))
	h := &interpose.Hooks{}
	task.K.Hooks = h
	if r := stop(task, unix.SYS_READ, 1, 2, 3); r != 3 || len(handled) != 1 {
		t.Fatalf("an empty Hooks: rax %d, %d handler calls; want 3 and 1", r, len(handled))
	}

	var seen []interpose.Call
	var results []interpose.Result
	h.Before(interpose.All, func(c *interpose.Call) interpose.Action {
		seen = append(seen, *c)
		return interpose.Continue()
	})
	h.Before(unix.SYS_READ, func(c *interpose.Call) interpose.Action {
		switch c.Args[0] {
		case 10:
			c.Args[2] = 99 // the handler sees the change
		case 11:
			return interpose.Deny(unix.EACCES)
		case 12:
			return interpose.Return(1234)
		}
		return interpose.Continue()
	})
	h.After(unix.SYS_READ, func(c *interpose.Call, r *interpose.Result) {
		results = append(results, *r)
		if c.Args[0] == 13 {
			r.Value, r.Errno = 0, unix.EIO
		}
	})
	handled = nil
	if r := stop(task, unix.SYS_READ, 10, 0, 5); r != 99 || len(handled) != 1 || handled[0][2] != 99 {
		t.Errorf("changed argument: rax %d, handler saw %v; want 99", r, handled)
	}
	if r := stop(task, unix.SYS_READ, 11); r != -int64(unix.EACCES) || len(handled) != 1 {
		t.Errorf("denied: rax %d, %d handler calls; want -EACCES and no call", r, len(handled))
	}
	if r := stop(task, unix.SYS_READ, 12); r != 1234 || len(handled) != 1 {
		t.Errorf("answered: rax %d, %d handler calls; want 1234 and no call", r, len(handled))
	}
	if r := stop(task, unix.SYS_READ, 13, 0, 7); r != -int64(unix.EIO) || len(handled) != 2 {
		t.Errorf("result replaced: rax %d, %d handler calls; want -EIO after the call", r, len(handled))
	}
	if r := stop(task, unix.SYS_WRITE, 1, 0, 8); r != 8 {
		t.Errorf("write under an All hook: rax %d, want 8", r)
	}
	if len(seen) != 5 || seen[4].Name != "write" || seen[0].Name != "read" || seen[0].Nr != unix.SYS_READ {
		t.Fatalf("the All hook saw %d calls: %+v", len(seen), seen)
	}
	if c := seen[0]; c.Task.PID != task.PID() || c.Task.TID != task.TID || c.Args != [6]uintptr{10, 0, 5} {
		t.Errorf("the call as a hook saw it: %+v", c)
	}
	want := []interpose.Result{{Value: 99}, {Errno: unix.EACCES, Answered: true}, {Value: 1234, Answered: true}, {Value: 7}}
	for i := range results {
		results[i].Duration = 0
	}
	if len(results) != len(want) {
		t.Fatalf("after-hook results %+v, want %+v", results, want)
	}
	for i := range want {
		if results[i] != want[i] {
			t.Errorf("after-hook result %d: %+v, want %+v", i, results[i], want[i])
		}
	}
}

// TestHooksMemory: a hook emulates a read by writing the buffer itself,
// through the typed accessor.
func TestHooksMemory(t *testing.T) {
	task := kerneltest.NewTask(t, table(func(*kernel.Task, kernel.SyscallArguments) (uintptr, error) {
		return 0, unix.EBADF
	}))
	buf := kerneltest.Map(t, task, 4096)
	h := &interpose.Hooks{}
	task.K.Hooks = h
	type pair struct{ A, B uint32 }
	h.Before(unix.SYS_READ, func(c *interpose.Call) interpose.Action {
		in, err := interpose.Read[pair](c.Mem, c.Args[1])
		if err != nil {
			return interpose.Deny(unix.EFAULT)
		}
		if err := interpose.Write(c.Mem, c.Args[1], pair{in.B, in.A}); err != nil {
			return interpose.Deny(unix.EFAULT)
		}
		return interpose.Return(8)
	})
	if err := task.CopyOut(buf, []byte{1, 0, 0, 0, 2, 0, 0, 0}); err != nil {
		t.Fatal(err)
	}
	if r := stop(task, unix.SYS_READ, 0, uint64(buf), 8); r != 8 {
		t.Fatalf("rax %d, want 8", r)
	}
	got := make([]byte, 8)
	task.CopyIn(buf, got)
	if string(got) != "\x02\x00\x00\x00\x01\x00\x00\x00" {
		t.Errorf("memory after the hook: %v", got)
	}
	if r := stop(task, unix.SYS_READ, 0, 8, 8); r != -int64(unix.EFAULT) {
		t.Errorf("an unmapped buffer: rax %d, want -EFAULT", r)
	}
}

// BenchmarkDispatch measures a syscall stop without hooks, with an empty
// Hooks, with hooks on another syscall, and hooked; run with -benchmem:
// only the allocations are asserted to be none without a hook on the call.
func BenchmarkDispatch(b *testing.B) {
	for _, bc := range []struct {
		name  string
		hooks func() *interpose.Hooks
	}{
		{"nil", func() *interpose.Hooks { return nil }},
		{"empty", func() *interpose.Hooks { return &interpose.Hooks{} }},
		{"other-syscall", func() *interpose.Hooks {
			h := &interpose.Hooks{}
			h.Before(unix.SYS_WRITE, func(*interpose.Call) interpose.Action { return interpose.Continue() })
			return h
		}},
		{"attached-then-removed", func() *interpose.Hooks {
			h := &interpose.Hooks{}
			g := h.Group()
			g.Before(unix.SYS_READ, func(*interpose.Call) interpose.Action { return interpose.Continue() })
			g.Remove()
			return h
		}},
		{"hooked", func() *interpose.Hooks {
			h := &interpose.Hooks{}
			h.Before(unix.SYS_READ, func(*interpose.Call) interpose.Action { return interpose.Continue() })
			return h
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			task := kerneltest.NewTask(b, table(func(*kernel.Task, kernel.SyscallArguments) (uintptr, error) { return 0, nil }))
			task.K.Hooks = bc.hooks()
			b.ReportAllocs()
			for b.Loop() {
				stop(task, unix.SYS_READ, 0, 0, 0)
			}
		})
	}
}

// TestHooksNoAllocs: dispatch allocates nothing more for a syscall no hook
// watches than without hooks.
func TestHooksNoAllocs(t *testing.T) {
	task := kerneltest.NewTask(t, table(func(*kernel.Task, kernel.SyscallArguments) (uintptr, error) { return 0, nil }))
	base := testing.AllocsPerRun(100, func() { stop(task, unix.SYS_READ, 0, 0, 0) })
	h := &interpose.Hooks{}
	h.After(unix.SYS_WRITE, func(*interpose.Call, *interpose.Result) {})
	task.K.Hooks = h
	if n := testing.AllocsPerRun(100, func() { stop(task, unix.SYS_READ, 0, 0, 0) }); n != base {
		t.Errorf("a read with a hook on write only: %v allocations, want %v as without hooks", n, base)
	}
	// A control client's hooks, attached and gone (their group removed).
	g := h.Group()
	g.Before(unix.SYS_READ, func(*interpose.Call) interpose.Action { return interpose.Continue() })
	if n := testing.AllocsPerRun(100, func() { stop(task, unix.SYS_READ, 0, 0, 0) }); n <= base {
		t.Errorf("a hooked read: %v allocations, want more than %v (the Call)", n, base)
	}
	g.Remove()
	if n := testing.AllocsPerRun(100, func() { stop(task, unix.SYS_READ, 0, 0, 0) }); n != base {
		t.Errorf("a read after its hooks' group was removed: %v allocations, want %v as without hooks", n, base)
	}
}

// TestDispatchNoAllocs: a syscall stop without hooks allocates nothing,
// whether the handler succeeds or fails with an errno, and neither does
// the check for signals before each return to the application.
func TestDispatchNoAllocs(t *testing.T) {
	for _, err := range []error{nil, unix.EBADF} {
		task := kerneltest.NewTask(t, table(func(*kernel.Task, kernel.SyscallArguments) (uintptr, error) { return 0, err }))
		if n := testing.AllocsPerRun(100, func() { stop(task, unix.SYS_READ, 0, 0, 0) }); n != 0 {
			t.Errorf("a syscall returning %v: %v allocations, want 0", err, n)
		}
		if n := testing.AllocsPerRun(100, func() { kernel.DeliverSignals(task) }); n != 0 {
			t.Errorf("looking for signals with none pending: %v allocations, want 0", n)
		}
	}
}
