package interpose_test

import (
	"slices"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/interpose"
)

// mem is a task's memory for tests: b at base.
type mem struct {
	base uintptr
	b    []byte
}

func (m *mem) CopyIn(addr uintptr, dst []byte) error {
	if addr < m.base || addr+uintptr(len(dst)) > m.base+uintptr(len(m.b)) {
		return unix.EFAULT
	}
	copy(dst, m.b[addr-m.base:])
	return nil
}

func (m *mem) CopyOut(addr uintptr, src []byte) error {
	if addr < m.base || addr+uintptr(len(src)) > m.base+uintptr(len(m.b)) {
		return unix.EFAULT
	}
	copy(m.b[addr-m.base:], src)
	return nil
}

// TestOrder: hooks for All run before those for the number, each in the
// order registered; the first answer stops the before-hooks; every
// after-hook runs.
func TestOrder(t *testing.T) {
	h := &interpose.Hooks{}
	var ran []string
	before := func(name string, a interpose.Action) interpose.BeforeFunc {
		return func(*interpose.Call) interpose.Action { ran = append(ran, name); return a }
	}
	h.Before(unix.SYS_READ, before("read1", interpose.Continue()))
	h.Before(interpose.All, before("all", interpose.Continue()))
	h.Before(unix.SYS_READ, before("read2", interpose.Deny(unix.EPERM)))
	h.Before(unix.SYS_READ, before("read3", interpose.Continue()))
	h.After(unix.SYS_READ, func(*interpose.Call, *interpose.Result) { ran = append(ran, "after-read") })
	h.After(interpose.All, func(*interpose.Call, *interpose.Result) { ran = append(ran, "after-all") })
	ranKernel := false
	r := h.Invoke(&interpose.Call{Nr: unix.SYS_READ}, func([6]uintptr) (uintptr, unix.Errno) { ranKernel = true; return 0, 0 })
	want := []string{"all", "read1", "read2", "after-all", "after-read"}
	if !slices.Equal(ran, want) || ranKernel || r.Errno != unix.EPERM || !r.Answered {
		t.Errorf("ran %v, kernel %v, result %+v; want %v, no kernel, EPERM answered", ran, ranKernel, r, want)
	}
	if !h.Watches(unix.SYS_WRITE) || (*interpose.Hooks)(nil).Watches(unix.SYS_READ) || (&interpose.Hooks{}).Watches(unix.SYS_READ) {
		t.Errorf("Watches: an All hook watches write; nil and empty Hooks watch nothing")
	}
	nrs, all := h.Numbers()
	if !all || !slices.Equal(nrs, []uintptr{unix.SYS_READ}) {
		t.Errorf("Numbers: %v %v", nrs, all)
	}
}

// TestConcurrent: hooks added while calls run (go test -race).
func TestConcurrent(t *testing.T) {
	h := &interpose.Hooks{}
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			h.After(unix.SYS_GETPID, func(*interpose.Call, *interpose.Result) {})
		}()
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				h.Invoke(&interpose.Call{Nr: unix.SYS_GETPID}, func([6]uintptr) (uintptr, unix.Errno) { return 1, 0 })
			}
		}()
	}
	wg.Wait()
}

// TestMemory: typed reads and writes of pkg/abi/linux structures, strings,
// and EFAULT outside the memory.
func TestMemory(t *testing.T) {
	m := &mem{base: 0x1000, b: make([]byte, 4096)}
	ts := linux.Timespec{Sec: 3, Nsec: 4}
	if err := interpose.Write(m, 0x1010, ts); err != nil {
		t.Fatal(err)
	}
	if m.b[0x10] != 3 || m.b[0x18] != 4 {
		t.Errorf("timespec bytes: %v", m.b[0x10:0x20])
	}
	got, err := interpose.Read[linux.Timespec](m, 0x1010)
	if err != nil || got.Sec != 3 || got.Nsec != 4 {
		t.Errorf("Read: %+v %v", got, err)
	}
	if _, err := interpose.Read[linux.Stat](m, 0x1000+4096-8); err != unix.EFAULT {
		t.Errorf("a read past the end: %v, want EFAULT", err)
	}
	if _, err := interpose.Read[[]byte](m, 0x1000); err == nil {
		t.Errorf("a type without a fixed size: no error")
	}
	copy(m.b[0x100:], "hello\x00")
	if s, err := interpose.ReadString(m, 0x1100, 64); s != "hello" || err != nil {
		t.Errorf("ReadString: %q %v", s, err)
	}
	if _, err := interpose.ReadString(m, 0x1100, 3); err != unix.ENAMETOOLONG {
		t.Errorf("ReadString past max: %v, want ENAMETOOLONG", err)
	}
	copy(m.b[4096-3:], "abc")
	if _, err := interpose.ReadString(m, 0x1000+4096-3, 64); err != unix.EFAULT {
		t.Errorf("a string running off the memory: %v, want EFAULT", err)
	}
}

// TestGroupRemove: a group's hooks go together and leave the others; a
// Hooks left with none watches nothing.
func TestGroupRemove(t *testing.T) {
	h := &interpose.Hooks{}
	g := h.Group()
	g.Before(unix.SYS_READ, func(*interpose.Call) interpose.Action { return interpose.Deny(unix.EPERM) })
	g.After(interpose.All, func(_ *interpose.Call, r *interpose.Result) { r.Value = 7 })
	h.After(unix.SYS_WRITE, func(_ *interpose.Call, r *interpose.Result) { r.Value = 9 })
	if got := h.Registered(); !slices.Equal(got.Before, []uintptr{unix.SYS_READ}) || !got.AfterAll || got.BeforeAll ||
		!slices.Equal(got.After, []uintptr{unix.SYS_WRITE}) {
		t.Errorf("Registered: %+v", got)
	}
	g.Remove()
	run := func([6]uintptr) (uintptr, unix.Errno) { return 1, 0 }
	if r := h.Invoke(&interpose.Call{Nr: unix.SYS_READ}, run); r.Errno != 0 || r.Value != 1 || h.Watches(unix.SYS_READ) {
		t.Errorf("after Remove read gives %+v, watched %v; want 1, unwatched", r, h.Watches(unix.SYS_READ))
	}
	if r := h.Invoke(&interpose.Call{Nr: unix.SYS_WRITE}, run); r.Value != 9 {
		t.Errorf("write's own after-hook gave %+v, want 9", r)
	}
	h2 := &interpose.Hooks{}
	g2 := h2.Group()
	g2.Before(unix.SYS_READ, func(*interpose.Call) interpose.Action { return interpose.Continue() })
	g2.Remove()
	if nrs, all := h2.Numbers(); len(nrs) != 0 || all || h2.Watches(unix.SYS_READ) {
		t.Errorf("a Hooks whose only group left has %v %v", nrs, all)
	}
}
