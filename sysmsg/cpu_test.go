package sysmsg

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// pinTo runs the calling goroutine's thread on CPU n only.
func pinTo(t *testing.T, n int) {
	t.Helper()
	var set unix.CPUSet
	set.Set(n)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		t.Skipf("pinning to CPU %d: %v", n, err)
	}
}

// hostCPU is the CPU the calling thread last ran on, as the kernel
// reports it: /proc/thread-self/stat's field 39 (processor).
func hostCPU(t *testing.T) uint32 {
	t.Helper()
	b, err := os.ReadFile("/proc/thread-self/stat")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// The command name (field 2) may hold spaces: count from its ")".
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	n, err := strconv.ParseUint(fields[39-3], 10, 32)
	if err != nil {
		t.Fatalf("/proc/thread-self/stat: %v", err)
	}
	return uint32(n)
}

// lockedCPUs locks the test's goroutine to its thread and returns the
// CPUs the thread may run on, which the test's end gives back to it.
func lockedCPUs(t *testing.T) []int {
	runtime.LockOSThread()
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.SchedSetaffinity(0, &all)
		runtime.UnlockOSThread()
	})
	var cpus []int
	for n := 0; len(cpus) < all.Count(); n++ {
		if all.IsSet(n) {
			cpus = append(cpus, n)
		}
	}
	return cpus
}

// TestCPU checks that cpu, the segment-limit read the stub makes too,
// names the CPU the kernel names, on every CPU the test may use.
func TestCPU(t *testing.T) {
	for _, n := range lockedCPUs(t) {
		pinTo(t, n)
		if got, want := cpu(), hostCPU(t); got != want || got != uint32(n) {
			t.Errorf("pinned to CPU %d: cpu() = %#x, the kernel says %d", n, got, want)
		}
	}
}

// TestWaitsHere checks the sentry's rule: no spin for a thread that last
// ran on the sentry's CPU and did not sleep.
func TestWaitsHere(t *testing.T) {
	here := lockedCPUs(t)[0]
	pinTo(t, here)
	for _, c := range []struct {
		name        string
		stubCPU     uint32
		stubWaiting uint32
		want        bool
	}{
		{"spinning here", uint32(here), 0, true},
		{"asleep here", uint32(here), 1, false},
		{"spinning elsewhere", uint32(here) + 1, 0, false},
		{"unknown", cpuUnknown, 0, false},
	} {
		m := Msg{StubCPU: c.stubCPU, StubWaiting: c.stubWaiting}
		if got := m.WaitsHere(); got != c.want {
			t.Errorf("%s: WaitsHere = %v, want %v", c.name, got, c.want)
		}
	}
	var m Msg
	m.took()
	if m.SentryCPU != uint32(here) {
		t.Errorf("took wrote %#x on CPU %d", m.SentryCPU, here)
	}
}

// TestMoveOff: the thread's affinity is what it was after a move, and a
// thread that may run on one CPU only is not moved.
func TestMoveOff(t *testing.T) {
	cpus := lockedCPUs(t)
	if len(cpus) < 2 {
		t.Skip("needs two CPUs")
	}
	var two unix.CPUSet
	two.Set(cpus[0])
	two.Set(cpus[1])
	if err := unix.SchedSetaffinity(0, &two); err != nil {
		t.Fatal(err)
	}
	if !moveOff(cpu()) {
		t.Fatal("moveOff with two CPUs allowed did not move the thread")
	}
	var after unix.CPUSet
	if err := unix.SchedGetaffinity(0, &after); err != nil {
		t.Fatal(err)
	}
	if after != two {
		t.Errorf("affinity after moveOff: %v, want %v", after, two)
	}
	if moveOff(CPUNone) {
		t.Error("moveOff(CPUNone) moved the thread")
	}
	pinTo(t, cpus[0])
	if moveOff(cpu()) {
		t.Error("moveOff moved a thread that may run on one CPU only")
	}
}

// TestMoveDue: moves are at least moveGap apart.
func TestMoveDue(t *testing.T) {
	const now = int64(10 * moveGap)
	if !moveDue(now, now-moveGap) || moveDue(now, now-moveGap+1) || !moveDue(now, 0) {
		t.Error("moveDue does not keep moves moveGap apart")
	}
}
