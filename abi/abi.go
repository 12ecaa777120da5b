// Package abi is the part of the Linux x86-64 ABI that neither
// gvisor.dev/gvisor/pkg/abi/linux nor golang.org/x/sys/unix defines, each
// structure once, typed, with a test that checks its layout against the C
// headers (layout_unsafe_test.go, through tools/cabi); and AsBytes (with
// SliceBytes, Encode, Decode and View), the one way a value of such a
// fixed-layout type, or of a library's, is seen as the bytes the kernel,
// a stub or the application reads.
//
// Decisions:
//   - Constants and structures come from the libraries first: pkg/abi/linux
//     (linux.X), then x/sys/unix. Only what both lack is here, and
//     tools/abicheck fails the tests when a library's constant is written
//     again or a structure is taken apart at hand-counted offsets.
//   - A structure crosses into application memory as a typed value through
//     kernel.CopyIn/CopyOut (and into the stub's shared memory through
//     AsBytes), not through encoding/binary: the layout is the type's,
//     checked once, instead of offsets counted at every use.
package abi

// Sysinfo is struct sysinfo (linux/sysinfo.h) whole: pkg/abi/linux's
// Sysinfo ends at mem_unit, without the 4 bytes of tail padding the C
// structure has, and x/sys's Sysinfo_t pads implicitly.
type Sysinfo struct {
	Uptime    int64
	Loads     [3]uint64
	TotalRAM  uint64
	FreeRAM   uint64
	SharedRAM uint64
	BufferRAM uint64
	TotalSwap uint64
	FreeSwap  uint64
	Procs     uint16
	_         [6]byte
	TotalHigh uint64
	FreeHigh  uint64
	Unit      uint32
	_         [4]byte
}
