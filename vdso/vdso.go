// Package vdso is the vDSO the sandbox gives every application (c/vdso.c)
// and the layout of the parameters page it reads (Params).
//
// Why our own: the host's vDSO reads the host's clocks, so the sentry
// answered system calls from the host's clocks too, and every timer and
// sleep with them. A vDSO of our own computes the sandbox's clocks from
// the time-stamp counter with parameters the sentry keeps (package
// sentry/clocks), which costs less than the host's kvm-clock read on a
// VM (the second conversion and its page are gone) and is exactly the
// clock the sentry answers with, so no program can see the vDSO and a
// system call disagree.
//
// The image is committed (vdso.so, with vdso.stamp saying what it was
// built from): `go generate ./vdso` rebuilds it with gcc, and
// TestImageIsFresh fails when it is stale.
package vdso

import (
	_ "embed"
)

//go:generate sh c/build.sh

// Image is the vDSO: a shared object linked at 0, with no relocations, one
// PT_LOAD segment from its first byte, that reads Params one page before
// its first byte.
//
//go:embed vdso.so
var Image []byte

// ParamsOffset is where the parameters page is, from the image's start.
const ParamsOffset = -4096

// Params is struct vdso_params (c/params.h): the sandbox's clocks as a
// linear function of the time-stamp counter. CLOCK_MONOTONIC at cycles c
// is BaseMono + (c-BaseCycles)*Mult>>32 nanoseconds; the realtime,
// boot-time and TAI clocks add their offsets to it.
type Params struct {
	// Seq is odd while the fields after it change.
	Seq uint64
	// Ready is 0 until the counter is calibrated: the vDSO makes the
	// system call meanwhile.
	Ready          uint64
	BaseCycles     uint64
	BaseMono       int64
	Mult           uint64
	RealtimeOffset int64
	BoottimeOffset int64
	TAIOffset      int64
}
