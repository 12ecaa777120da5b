package usermem

import (
	"math/bits"
	"sync"
)

// The sentry's transfer buffers are reused, by size class (powers of two
// from minBuffer to ChunkSize bytes): allocating and clearing a fresh
// buffer for every read and write costs more than a small read itself,
// and tens of microseconds for a large one.
//
// A buffer goes back to its pool with the bytes of its last transfer in
// it. None of them can reach another transfer: Copy passes on only the
// bytes a Reader said it wrote (its count) and never reads beyond them.

const (
	// minBuffer is the smallest size class.
	minBuffer = 4 << 10
	// sizeClasses is how many there are: the largest is ChunkSize.
	sizeClasses = 9
)

// buffers are the pools of free buffers, one per size class.
var buffers [sizeClasses]sync.Pool

// sizeClass returns the class of a buffer of at least n bytes (n at most
// ChunkSize) and its size.
func sizeClass(n int) (int, int) {
	c := 0
	if n > minBuffer {
		c = bits.Len(uint(n-1)) - bits.TrailingZeros(minBuffer)
	}
	return c, minBuffer << c
}

// getBuffer returns a buffer of n bytes (at most ChunkSize) whose
// contents are whatever its last user left; putBuffer gives it back.
func getBuffer(n int) *[]byte {
	c, size := sizeClass(n)
	if b, ok := buffers[c].Get().(*[]byte); ok {
		*b = (*b)[:n]
		return b
	}
	b := make([]byte, n, size)
	return &b
}

// putBuffer gives back a buffer of getBuffer.
func putBuffer(b *[]byte) {
	c, _ := sizeClass(cap(*b))
	buffers[c].Put(b)
}
