package usermem

import (
	"fmt"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// bytesIO is sentry memory as an IO: a range is offsets into the slice,
// all of which the sentry may read and write.
type bytesIO []byte

// BytesSequence is the sequence of b, sentry memory: for the loader,
// sendfile and splice, which read and write files into and out of the
// sentry's own buffers.
func BytesSequence(b []byte) IOSequence {
	return IOSequence{io: bytesIO(b), ranges: []platform.Range{{Start: 0, End: uintptr(len(b))}}, total: len(b)}
}

// bytes returns the memory of s if it is one piece of sentry memory.
func (s IOSequence) bytes() ([]byte, bool) {
	b, ok := s.io.(bytesIO)
	if !ok || len(s.ranges) != 1 {
		return nil, false
	}
	p, err := b.at(s.ranges[0])
	return p, err == nil
}

// at returns the bytes of r.
func (b bytesIO) at(r platform.Range) ([]byte, error) {
	if r.Start > r.End || r.End > uintptr(len(b)) {
		return nil, fmt.Errorf("range [%#x, %#x) of %d bytes of sentry memory: %w", r.Start, r.End, len(b), unix.EFAULT)
	}
	return b[r.Start:r.End], nil
}

// CopyOutVec implements IO.
func (b bytesIO) CopyOutVec(src []byte, dst []platform.Range) (int, error) {
	return platform.CopyEachRange(src, dst, func(p []byte, off uintptr) (int, error) {
		to, err := b.at(platform.RangeOf(off, len(p)))
		return copy(to, p), err
	})
}

// CopyInVec implements IO.
func (b bytesIO) CopyInVec(dst []byte, src []platform.Range) (int, error) {
	return platform.CopyEachRange(dst, src, func(p []byte, off uintptr) (int, error) {
		from, err := b.at(platform.RangeOf(off, len(p)))
		return copy(p, from), err
	})
}

// AccessibleLen implements IO: the sentry reaches all of its memory.
func (b bytesIO) AccessibleLen(rs []platform.Range, write bool) int {
	n := 0
	for _, r := range rs {
		n += rangeLen(r)
	}
	return n
}
