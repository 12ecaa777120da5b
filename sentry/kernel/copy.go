package kernel

import (
	"runtime"

	"runsc-lite/abi"
)

// Structures cross into and out of application memory as typed values:
// CopyIn(t, addr, &ts) with a type of pkg/abi/linux, x/sys/unix or package
// abi (or an integer), never as bytes taken apart at hand-counted offsets.
// A bad address is EFAULT. They allocate nothing: v stays where the caller
// put it (abi.AsBytes).

// CopyIn reads *v from application memory at addr.
func CopyIn[T any](t *Task, addr uintptr, v *T) error {
	err := t.CopyIn(addr, abi.AsBytes(v))
	runtime.KeepAlive(v)
	return err
}

// CopyOut writes *v to application memory at addr.
func CopyOut[T any](t *Task, addr uintptr, v *T) error {
	err := t.CopyOut(addr, abi.AsBytes(v))
	runtime.KeepAlive(v)
	return err
}

// CopyInSlice reads len(s) consecutive values from application memory at
// addr.
func CopyInSlice[T any](t *Task, addr uintptr, s []T) error {
	err := t.CopyIn(addr, abi.SliceBytes(s))
	runtime.KeepAlive(s)
	return err
}

// CopyOutSlice writes the values of s consecutively to application memory
// at addr.
func CopyOutSlice[T any](t *Task, addr uintptr, s []T) error {
	err := t.CopyOut(addr, abi.SliceBytes(s))
	runtime.KeepAlive(s)
	return err
}
