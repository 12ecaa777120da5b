package proc

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/kernel"
)

// TestParseTimensOffsets checks timens_offsets_write's parsing: names or
// numbers, at most two lines taken (the bytes written say how far),
// EINVAL for garbage, a missing or too large nanosecond field, or another
// clock.
func TestParseTimensOffsets(t *testing.T) {
	for _, c := range []struct {
		in   string
		offs []kernel.TimeOffset
		n    int
		err  error
	}{
		{"monotonic 10 0", []kernel.TimeOffset{{Clock: unix.CLOCK_MONOTONIC, Offset: 10 * time.Second}}, 14, nil},
		{"7 -2 500000000\n", []kernel.TimeOffset{{Clock: unix.CLOCK_BOOTTIME, Offset: -1500 * time.Millisecond}}, 15, nil},
		{"1 1 0\n7 2 0\n1 3 0\n", []kernel.TimeOffset{{Clock: unix.CLOCK_MONOTONIC, Offset: time.Second}, {Clock: unix.CLOCK_BOOTTIME, Offset: 2 * time.Second}}, 12, nil},
		{"1 1 0 trailing", []kernel.TimeOffset{{Clock: unix.CLOCK_MONOTONIC, Offset: time.Second}}, 14, nil},
		{"1 10", nil, 0, unix.EINVAL},
		{"1 10 1000000000", nil, 0, unix.EINVAL},
		{"1 10 -1", nil, 0, unix.EINVAL},
		{"0 10 0", nil, 0, unix.EINVAL},
		{"realtime 1 0", nil, 0, unix.EINVAL},
		{"1 1 0\n\n1 2 0", nil, 0, unix.EINVAL},
	} {
		offs, n, err := parseTimensOffsets(c.in)
		if err != c.err || n != c.n || len(offs) != len(c.offs) {
			t.Errorf("%q: %v, %d, %v; want %v, %d, %v", c.in, offs, n, err, c.offs, c.n, c.err)
			continue
		}
		for i := range offs {
			if offs[i] != c.offs[i] {
				t.Errorf("%q: offset %d is %+v, want %+v", c.in, i, offs[i], c.offs[i])
			}
		}
	}
}
