// Package clocks is the sandbox's view of the host's clocks.
//
// CLOCK_MONOTONIC and CLOCK_BOOTTIME (and their _RAW, _COARSE and _ALARM
// forms) read BootDelay when the sandbox starts, as on a machine whose
// first process starts a while after its kernel booted, so that they tell
// nothing of the host's uptime; the realtime clocks are the host's.
//
// The sentry reads them from the time-stamp counter, calibrated against
// the host's clocks (counter.go), and publishes the same calibration in
// each sandbox's vDSO parameters page (Page), which the sandbox's own vDSO
// (package vdso) computes them from without a trap: a system call and the
// vDSO give the same time. The sandbox's clocks keep the host's rate
// within a few parts per million, not its exact value; every wait on the
// host for a time on the sandbox's clocks is made with HostWait, so that
// it never ends early by them.
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
// clocks read BootDelay now: the same clock, until the host is suspended
// (counter.boottime). Two readings of the host's clocks would put the
// boot-time clock behind the monotonic one by the time between them.
func Boot() (Offsets, error) {
	startCounter()
	var mono unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono); err != nil {
		return Offsets{}, fmt.Errorf("reading CLOCK_MONOTONIC: %w", err)
	}
	m := BootDelay - time.Duration(mono.Nano())
	return Offsets{Monotonic: m, Boottime: m - time.Duration(counter.boottime.Load())}, nil
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
	ns, ok := counterTime(clock)
	if !ok {
		if err := unix.ClockGettime(clock, ts); err != nil {
			return err
		}
		ns = ts.Nano()
	}
	*ts = unix.NsecToTimespec(ns + int64(o.Of(clock)))
	return nil
}

// counterTime is a clock the counter keeps, without the sandbox's
// offsets: what the vDSO computes for it (vdso/c/vdso.c's clock_kind).
// The alarm clocks are the host's: they exist only where the host has a
// real-time clock device (EINVAL without), and nothing reads them often.
func counterTime(clock int32) (int64, bool) {
	switch clock {
	case unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_MONOTONIC_COARSE:
		return hostEstimate(), true
	case unix.CLOCK_REALTIME, unix.CLOCK_REALTIME_COARSE:
		return hostEstimate() + counter.realtime.Load(), true
	case unix.CLOCK_BOOTTIME:
		return hostEstimate() + counter.boottime.Load(), true
	case unix.CLOCK_TAI:
		return hostEstimate() + counter.realtime.Load() + counter.tai.Load(), true
	}
	return 0, false
}

// Realtime is the sandbox's CLOCK_REALTIME, for the times the sentry
// stamps (files, IPC objects, gettimeofday).
func Realtime() time.Time {
	ns, _ := counterTime(unix.CLOCK_REALTIME)
	return time.Unix(0, ns)
}

// Now is the sandbox's clock as a duration since its epoch.
func (o Offsets) Now(clock int32) (time.Duration, error) {
	var ts unix.Timespec
	if err := o.Gettime(clock, &ts); err != nil {
		return 0, err
	}
	return time.Duration(ts.Nano()), nil
}
