// Package clocks is the sandbox's view of the host's clocks.
//
// CLOCK_MONOTONIC and CLOCK_BOOTTIME (and their _RAW, _COARSE and _ALARM
// forms) read BootDelay when the sandbox starts, as on a machine whose
// first process starts a while after its kernel booted, so that they tell
// nothing of the host's uptime; the realtime clocks are the host's. Stub processes live in a time namespace with the same
// offsets (stub.Confinement), so the vDSO, which the application calls
// without a trap, reads what the sentry answers for the same clock.
package clocks

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// BootDelay is what the sandbox's monotonic and boot-time clocks (and its
// uptime, /proc/uptime and sysinfo) read when it starts. Not 0: a
// machine's clocks never read 0 by the time a program runs, and a time
// namespace's offsets may not make a clock negative (ERANGE), so with 0
// a program in a new sandbox could not move its children's clocks back
// at all (LTP's clock_gettime03, sysinfo03 and timerfd04 move them back
// 10 s).
const BootDelay = 30 * time.Second

// Offsets are added to the host's monotonic and boot-time clocks to make
// the sandbox's. The zero value is the host's clocks.
type Offsets struct {
	Monotonic, Boottime time.Duration
}

// Boot returns the offsets that make the sandbox's monotonic and boot-time
// clocks read BootDelay now.
func Boot() (Offsets, error) {
	var mono, boot unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		return Offsets{}, fmt.Errorf("reading CLOCK_MONOTONIC: %w", err)
	}
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot); err != nil {
		return Offsets{}, fmt.Errorf("reading CLOCK_BOOTTIME: %w", err)
	}
	return Offsets{Monotonic: BootDelay - time.Duration(mono.Nano()), Boottime: BootDelay - time.Duration(boot.Nano())}, nil
}

// Of returns the offset of clock: Monotonic, Boottime or 0.
func (o Offsets) Of(clock int32) time.Duration {
	switch clock {
	case unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_MONOTONIC_COARSE:
		return o.Monotonic
	case unix.CLOCK_BOOTTIME, unix.CLOCK_BOOTTIME_ALARM:
		return o.Boottime
	}
	return 0
}

// Gettime is clock_gettime(2) of the sandbox's clock.
func (o Offsets) Gettime(clock int32, ts *unix.Timespec) error {
	if err := unix.ClockGettime(clock, ts); err != nil {
		return err
	}
	if off := o.Of(clock); off != 0 {
		*ts = unix.NsecToTimespec(ts.Nano() + int64(off))
	}
	return nil
}

// Now is the sandbox's clock as a duration since its epoch.
func (o Offsets) Now(clock int32) (time.Duration, error) {
	var ts unix.Timespec
	if err := o.Gettime(clock, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}
