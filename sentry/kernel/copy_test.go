package kernel

import (
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/platform"
	"runsc-lite/sentry/mm"
)

// flatMemory is an address space of one byte slice at address 0.
type flatMemory struct {
	platform.AddressSpace
	b []byte
}

func (f *flatMemory) ReadAt(dst []byte, addr uintptr) (int, error) {
	if addr > uintptr(len(f.b)) || uintptr(len(f.b))-addr < uintptr(len(dst)) {
		return 0, unix.EFAULT
	}
	return copy(dst, f.b[addr:]), nil
}

func (f *flatMemory) WriteAt(src []byte, addr uintptr) (int, error) {
	if addr > uintptr(len(f.b)) || uintptr(len(f.b))-addr < uintptr(len(src)) {
		return 0, unix.EFAULT
	}
	return copy(f.b[addr:], src), nil
}

func (f *flatMemory) Reserved() []platform.Range { return nil }
func (f *flatMemory) VDSO() platform.Range       { return platform.Range{} }
func (f *flatMemory) VDSOImage() []byte          { return nil }
func (f *flatMemory) VVAR() platform.Range       { return platform.Range{} }

// taskWithMemory returns a task whose application memory is n bytes at 0.
func taskWithMemory(n int) *Task {
	t := &Task{}
	t.mm.Store(mm.New(&flatMemory{b: make([]byte, n)}, nil))
	return t
}

func TestCopyRoundTrip(t *testing.T) {
	task := taskWithMemory(4096)
	in := linux.Itimerspec{Interval: linux.Timespec{Sec: 1, Nsec: 2}, Value: linux.Timespec{Sec: 3, Nsec: 4}}
	if err := CopyOut(task, 100, &in); err != nil {
		t.Fatal(err)
	}
	var out linux.Itimerspec
	if err := CopyIn(task, 100, &out); err != nil || out != in {
		t.Fatalf("CopyIn = %+v, %v; want %+v", out, err, in)
	}
	if err := CopyIn(task, 4090, &out); err != unix.EFAULT {
		t.Errorf("CopyIn across the end of memory: %v, want EFAULT", err)
	}
	s := []uint32{1, 2, 3}
	if err := CopyOutSlice(task, 8, s); err != nil {
		t.Fatal(err)
	}
	var v uint32
	if err := CopyIn(task, 12, &v); err != nil || v != 2 {
		t.Errorf("second element: %d, %v; want 2", v, err)
	}
}

// TestCopyAllocatesNothing: a structure copied in or out stays on the
// caller's stack, as the hot paths (signal delivery, futex words, poll)
// need.
func TestCopyAllocatesNothing(t *testing.T) {
	task := taskWithMemory(4096)
	n := testing.AllocsPerRun(100, func() {
		var si linux.SignalInfo
		if err := CopyIn(task, 0, &si); err != nil {
			t.Fatal(err)
		}
		si.Signo++
		if err := CopyOut(task, 0, &si); err != nil {
			t.Fatal(err)
		}
		var s [4]linux.PollFD
		if err := CopyInSlice(task, 256, s[:]); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per copy in and out, want 0", n)
	}
}

func BenchmarkCopyInSignalInfo(b *testing.B) {
	task := taskWithMemory(4096)
	b.ReportAllocs()
	for b.Loop() {
		var si linux.SignalInfo
		if err := CopyIn(task, 0, &si); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopyInBytes is the old way, a byte array taken apart afterwards.
func BenchmarkCopyInBytes(b *testing.B) {
	task := taskWithMemory(4096)
	b.ReportAllocs()
	for b.Loop() {
		var si [128]byte
		if err := task.CopyIn(0, si[:]); err != nil {
			b.Fatal(err)
		}
	}
}
