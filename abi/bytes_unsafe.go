package abi

import (
	"runtime"
	"unsafe"

	"gvisor.dev/gvisor/pkg/gohacks"
)

// AsBytes views *v as the bytes it occupies in memory, for copying it to or
// from application memory or a host kernel structure.
//
// Invariant: T has a fixed layout that is the C structure's, and holds no
// Go pointer, string, slice, map, channel, func or interface, so that any
// bytes written through the view are a valid T. tools/abicheck checks every
// instantiation of this package's and kernel's copy helpers.
//
// v does not escape through the result, so that a structure on the
// caller's stack stays there: the caller must keep v alive (runtime.KeepAlive)
// while the view is in use, and no one may keep the view afterwards.
func AsBytes[T any](v *T) []byte {
	return unsafe.Slice((*byte)(gohacks.Noescape(unsafe.Pointer(v))), unsafe.Sizeof(*v))
}

// SliceBytes views the elements of s as bytes, under AsBytes's invariant.
func SliceBytes[T any](s []T) []byte {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(gohacks.Noescape(unsafe.Pointer(&s[0]))), uintptr(len(s))*unsafe.Sizeof(s[0]))
}

// Encode returns a copy of v's bytes, under AsBytes's invariant: for an
// interface that takes a structure as bytes (a socket option's value).
func Encode[T any](v T) []byte {
	b := append([]byte(nil), AsBytes(&v)...)
	runtime.KeepAlive(&v)
	return b
}

// Decode fills *v from the start of b, under AsBytes's invariant; false if
// b is shorter than T.
func Decode[T any](b []byte, v *T) bool {
	dst := AsBytes(v)
	if len(b) < len(dst) {
		return false
	}
	copy(dst, b)
	runtime.KeepAlive(v)
	return true
}

// View returns the memory of b as a *T, or nil if b is shorter than T or
// not aligned for it, under AsBytes's invariant. It is for structures that
// another process writes, as in the memory a platform shares with a stub:
// the caller keeps b's memory alive and mapped while it uses the result.
func View[T any](b []byte) *T {
	var zero T
	if uintptr(len(b)) < unsafe.Sizeof(zero) || len(b) == 0 || uintptr(unsafe.Pointer(&b[0]))%unsafe.Alignof(zero) != 0 {
		return nil
	}
	return (*T)(unsafe.Pointer(&b[0]))
}
