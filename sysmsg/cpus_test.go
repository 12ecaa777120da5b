package sysmsg

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestReadRunning reads the host's runnable count as SpinLimit does: the
// reader itself is running, so it is at least 1.
func TestReadRunning(t *testing.T) {
	fd, err := unix.Open("/proc/loadavg", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no /proc/loadavg: %v", err)
	}
	defer unix.Close(fd)
	for i := 0; i < 3; i++ { // pread at 0 reads the file again each time
		n, ok := readRunning(fd)
		if !ok || n < 1 {
			t.Fatalf("readRunning = %d, %v; want at least 1 (this thread)", n, ok)
		}
	}
}

// TestReadRunningMalformed refuses what is not "a b c R/T last".
func TestReadRunningMalformed(t *testing.T) {
	for _, s := range []string{"", "0.00 0.00 0.00", "0.00 0.00 0.00 x/3 1", "0.00 0.00 0.00 -1/3 1", "0.00 0.00 0.00 12 1"} {
		f, err := os.CreateTemp(t.TempDir(), "loadavg")
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		if n, ok := readRunning(int(f.Fd())); ok {
			t.Errorf("readRunning(%q) = %d, true; want false", s, n)
		}
		f.Close()
	}
	f, err := os.CreateTemp(t.TempDir(), "loadavg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("0.10 0.20 0.30 7/250 1234\n")
	if n, ok := readRunning(int(f.Fd())); !ok || n != 7 {
		t.Errorf("readRunning = %d, %v; want 7, true", n, ok)
	}
}
