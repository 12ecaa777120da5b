package kernel

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/sentry/clocks"
)

// TestTimeNSOffsets checks proc_timens_set_offset's rules: EPERM without
// CAP_SYS_TIME in the owner, EINVAL for a clock without an offset,
// ERANGE for a clock that would read below 0, EACCES once entered and
// always for the initial namespace; and ToHost, which moves absolute
// times of MONOTONIC and BOOTTIME only, a time before the offset
// becoming the past.
func TestTimeNSOffsets(t *testing.T) {
	now := func(int32) (time.Duration, error) { return 100 * time.Second, nil }
	root, nobody := userOf(0), userOf(65534)
	var initial TimeNamespace
	if err := initial.SetOffsets(root, []TimeOffset{{unix.CLOCK_MONOTONIC, time.Second}}, now); err != unix.EACCES {
		t.Errorf("initial namespace: %v, want EACCES", err)
	}
	ns := &TimeNamespace{ino: NewNSInode()}
	for _, c := range []struct {
		creds Credentials
		offs  []TimeOffset
		want  error
	}{
		{nobody, []TimeOffset{{unix.CLOCK_MONOTONIC, time.Second}}, unix.EPERM},
		{root, []TimeOffset{{unix.CLOCK_REALTIME, time.Second}}, unix.EINVAL},
		{root, []TimeOffset{{unix.CLOCK_MONOTONIC_RAW, time.Second}}, unix.EINVAL},
		{root, []TimeOffset{{unix.CLOCK_BOOTTIME, -101 * time.Second}}, unix.ERANGE},
		{root, []TimeOffset{{unix.CLOCK_MONOTONIC, 5 * time.Second}, {unix.CLOCK_BOOTTIME, -100 * time.Second}}, nil},
	} {
		if err := ns.SetOffsets(c.creds, c.offs, now); err != c.want {
			t.Errorf("SetOffsets(%v): %v, want %v", c.offs, err, c.want)
		}
	}
	if got, want := ns.Offsets(), (clocks.Offsets{Monotonic: 5 * time.Second, Boottime: -100 * time.Second}); got != want {
		t.Errorf("offsets %+v, want %+v", got, want)
	}
	for _, c := range []struct {
		clock   int32
		in, out time.Duration
	}{
		{unix.CLOCK_MONOTONIC, 10 * time.Second, 5 * time.Second},
		{unix.CLOCK_MONOTONIC, 3 * time.Second, time.Nanosecond}, // before the offset: past
		{unix.CLOCK_BOOTTIME, time.Second, 101 * time.Second},
		{unix.CLOCK_BOOTTIME_ALARM, time.Second, 101 * time.Second},
		{unix.CLOCK_REALTIME, time.Second, time.Second},
	} {
		if got := ns.ToHost(c.clock, c.in); got != c.out {
			t.Errorf("ToHost(%d, %v) = %v, want %v", c.clock, c.in, got, c.out)
		}
	}
	if ns.Of(unix.CLOCK_MONOTONIC_COARSE) != 5*time.Second || ns.Of(unix.CLOCK_REALTIME) != 0 {
		t.Errorf("Of: coarse %v, realtime %v", ns.Of(unix.CLOCK_MONOTONIC_COARSE), ns.Of(unix.CLOCK_REALTIME))
	}
	ns.freeze()
	if err := ns.SetOffsets(root, []TimeOffset{{unix.CLOCK_MONOTONIC, time.Second}}, now); err != unix.EACCES {
		t.Errorf("after entering: %v, want EACCES", err)
	}
	if initial.Inode() != InitTimeNSInode || ns.Inode() == InitTimeNSInode {
		t.Errorf("inodes %#x, %#x", initial.Inode(), ns.Inode())
	}
}
