// Package usermem is memory as an I/O syscall sees it: an IOSequence is
// the buffers of one read, write, send or receive (one buffer, or an iovec
// array), in order, in the memory they belong to (an IO: the application's
// address space, or sentry memory). It is checked once, when it is made,
// with Linux's rules (ImportIovecs, AccessOK); after that every path that
// moves data moves it through the sequence:
//
//   - a file fills it or drains it in one call, CopyOutFrom or CopyInTo,
//     giving its Reader or Writer: the sequence hands the file one buffer
//     and copies that buffer to or from the application with one vectored
//     copy (platform.AddressSpace.WriteVec or ReadVec: one
//     process_vm_writev or process_vm_readv for the whole iovec array);
//   - a socket, whose messages are whole, copies one buffer in or out with
//     CopyIn and CopyOut, all or nothing.
//
// Decisions:
//   - Data crosses in one buffer of at most ChunkSize bytes, reused round
//     after round by Copy, the one copy loop of the sentry's data paths
//     (reads, writes, sends, sendfile and splice): a read of 2 GiB does not
//     allocate 2 GiB.
//   - Sentry memory is an IO too (BytesSequence), so that the loader,
//     sendfile and splice read and write files through the same calls; a
//     file reads into it, or writes from it, directly, without the
//     intermediate buffer.
//   - Cutting a sequence to what the application can reach (WritablePrefix,
//     ReadablePrefix) is the caller's choice: the VFS does it before a file
//     is touched, so that a read consumes no more of a file than it can
//     deliver and a write stores what was readable, as Linux's regular
//     files do; sockets copy all or nothing.
package usermem

import (
	"fmt"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/platform"
)

const (
	// ChunkSize bounds the sentry's buffer for one round of a transfer.
	ChunkSize = 1 << 20
	// MaxRW is the most one read or write moves (Linux's MAX_RW_COUNT).
	MaxRW = 0x7ffff000
)

// IO is memory that a sequence copies to and from.
type IO interface {
	// CopyOutVec copies src to the ranges dst, in order, as
	// platform.AddressSpace.WriteVec does.
	CopyOutVec(src []byte, dst []platform.Range) (int, error)
	// CopyInVec copies the ranges src, in order, to dst, as
	// platform.AddressSpace.ReadVec does.
	CopyInVec(dst []byte, src []platform.Range) (int, error)
	// AccessibleLen returns how many bytes of the ranges rs, in order,
	// the application could write (write) or read before the first one
	// it cannot.
	AccessibleLen(rs []platform.Range, write bool) int
}

// IOSequence is the memory of one I/O syscall. The zero value holds no
// bytes.
type IOSequence struct {
	io     IO
	ranges []platform.Range // never changed: DropFirst and TakeFirst copy what they cut
	total  int              // the bytes of ranges
}

// NewIOSequence returns the sequence of the ranges rs of io, which the
// caller has checked (ImportIovecs, AccessOK) and keeps unchanged.
func NewIOSequence(io IO, rs []platform.Range) IOSequence {
	total := 0
	for _, r := range rs {
		total += rangeLen(r)
	}
	return IOSequence{io: io, ranges: rs, total: total}
}

func rangeLen(r platform.Range) int {
	if r.End <= r.Start {
		return 0
	}
	return int(r.End - r.Start)
}

// NumBytes is how many bytes the sequence holds.
func (s IOSequence) NumBytes() int { return s.total }

// DropFirst returns s without its first n bytes.
func (s IOSequence) DropFirst(n int) IOSequence {
	if n <= 0 {
		return s
	}
	if n >= s.total {
		return IOSequence{io: s.io}
	}
	rs, left := s.ranges, n
	for left >= rangeLen(rs[0]) {
		left -= rangeLen(rs[0])
		rs = rs[1:]
	}
	if left > 0 {
		first := rs[0]
		first.Start += uintptr(left)
		rs = append([]platform.Range{first}, rs[1:]...)
	}
	return IOSequence{io: s.io, ranges: rs, total: s.total - n}
}

// TakeFirst returns the first n bytes of s.
func (s IOSequence) TakeFirst(n int) IOSequence {
	if n >= s.total {
		return s
	}
	if n <= 0 {
		return IOSequence{io: s.io}
	}
	rs := make([]platform.Range, 0, len(s.ranges))
	for left := n; left > 0; {
		r := s.ranges[len(rs)]
		if l := rangeLen(r); l > left {
			r.End = r.Start + uintptr(left)
		}
		left -= rangeLen(r)
		rs = append(rs, r)
	}
	return IOSequence{io: s.io, ranges: rs, total: n}
}

// CopyOut copies src to the start of s with one copy: as much of src as
// s holds, or less with an error wrapping EFAULT.
func (s IOSequence) CopyOut(src []byte) (int, error) {
	return s.io.CopyOutVec(src[:min(len(src), s.total)], s.ranges)
}

// CopyIn copies the start of s to dst with one copy: as much of dst as
// s holds, or less with an error wrapping EFAULT.
func (s IOSequence) CopyIn(dst []byte) (int, error) {
	return s.io.CopyInVec(dst[:min(len(dst), s.total)], s.ranges)
}

// WritablePrefix returns the start of s that the application could write,
// up to the first byte it cannot: EFAULT if s holds bytes and none of
// them can be written. It is the destination of a read.
func (s IOSequence) WritablePrefix() (IOSequence, error) { return s.accessiblePrefix(true) }

// ReadablePrefix is WritablePrefix for reading: the source of a write.
func (s IOSequence) ReadablePrefix() (IOSequence, error) { return s.accessiblePrefix(false) }

func (s IOSequence) accessiblePrefix(write bool) (IOSequence, error) {
	if s.total == 0 {
		return s, nil
	}
	n := s.io.AccessibleLen(s.ranges, write)
	if n == 0 {
		return IOSequence{}, unix.EFAULT
	}
	return s.TakeFirst(n), nil
}

// Reader is what CopyOutFrom reads from: a file, a pipe, a terminal. Read
// fills p as read(2) does: a count below len(p) (0 at the end of a file)
// says that no more is ready now.
type Reader interface {
	Read(p []byte) (int, error)
}

// ReaderFunc is a function as a Reader.
type ReaderFunc func(p []byte) (int, error)

// Read implements Reader.
func (f ReaderFunc) Read(p []byte) (int, error) { return f(p) }

// Writer is what CopyInTo writes to. Write stores p as write(2) does: a
// count below len(p) says that no more can be stored now.
type Writer interface {
	Write(p []byte) (int, error)
}

// WriterFunc is a function as a Writer.
type WriterFunc func(p []byte) (int, error)

// Write implements Writer.
func (f WriterFunc) Write(p []byte) (int, error) { return f(p) }

// CopyOutFrom fills s from r (Copy): each buffer r fills is copied out
// with one vectored copy. Sentry memory is given to r directly, in one
// call. It returns how many bytes reached s and the error that stopped it:
// r's, or one wrapping EFAULT for a copy that failed, after which what r
// read beyond the count is lost.
func (s IOSequence) CopyOutFrom(r Reader) (int, error) {
	if b, ok := s.bytes(); ok {
		return r.Read(b)
	}
	return Copy(&sequenceWriter{s}, r, s.total)
}

// CopyInTo drains s into w (Copy): each buffer is copied in with one
// vectored copy, all or nothing (a copy that fails writes none of its
// buffer), and written with one call of w. Sentry memory is given to w
// directly, in one call. An empty s makes one call with no bytes, as
// write(2) of 0 bytes does. It returns how many bytes w wrote and the
// error that stopped it: w's, or one wrapping EFAULT.
func (s IOSequence) CopyInTo(w Writer) (int, error) {
	if b, ok := s.bytes(); ok {
		return w.Write(b)
	}
	if s.total == 0 {
		return w.Write(nil)
	}
	return Copy(w, &sequenceReader{s}, s.total)
}

// Copy moves up to n bytes from r to w through one buffer of at most
// ChunkSize bytes (reused, buffers.go), round after round: it stops when n bytes have
// moved, when r reads less than asked or w writes less than given, or at
// an error, and returns the bytes w wrote and the error that stopped it.
// Bytes r read and w did not take are lost: a caller that can put them
// back (a positional read) does so from the count.
func Copy(w Writer, r Reader, n int) (int, error) {
	if n <= 0 {
		return 0, nil
	}
	b := getBuffer(min(n, ChunkSize))
	defer putBuffer(b)
	buf := *b
	done := 0
	for done < n {
		p := buf[:min(n-done, len(buf))]
		got, rerr := r.Read(p)
		if got > 0 {
			put, werr := w.Write(p[:got])
			done += put
			if werr != nil || put < got {
				return done, werr
			}
		}
		if rerr != nil || got < len(p) {
			return done, rerr
		}
	}
	return done, nil
}

// zeros is memory never written, that ZeroFill copies out of: its pages
// are the host's zero page, so it costs no memory and no clearing.
var zeros [ChunkSize]byte

// ZeroFill fills s with zero bytes, one copy per ChunkSize bytes, without
// a buffer to clear: it returns how many bytes reached s and, if fewer
// than all, the error that stopped them (wrapping EFAULT).
func (s IOSequence) ZeroFill() (int, error) {
	w := &sequenceWriter{s}
	done := 0
	for done < s.total {
		n, err := w.Write(zeros[:min(s.total-done, ChunkSize)])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Writer returns a Writer that fills s from its start on, one copy per
// Write.
func (s IOSequence) Writer() Writer { return &sequenceWriter{s} }

// Reader returns a Reader that drains s from its start on, one copy per
// Read; a copy that fails reads nothing.
func (s IOSequence) Reader() Reader { return &sequenceReader{s} }

// sequenceWriter writes a sequence from its start on, one copy per Write.
type sequenceWriter struct {
	s IOSequence
}

func (w *sequenceWriter) Write(p []byte) (int, error) {
	n, err := w.s.CopyOut(p)
	w.s = w.s.DropFirst(n)
	if err != nil {
		return n, fmt.Errorf("copying %d bytes out: %w", len(p), err)
	}
	return n, nil
}

// sequenceReader reads a sequence from its start on, one copy per Read:
// a copy that fails reads nothing.
type sequenceReader struct {
	s IOSequence
}

func (r *sequenceReader) Read(p []byte) (int, error) {
	n, err := r.s.CopyIn(p)
	if err != nil {
		return 0, fmt.Errorf("copying %d bytes in: %w", len(p), err)
	}
	r.s = r.s.DropFirst(n)
	return n, nil
}

// AccessOK reports whether the n bytes at addr lie in the user address
// space (Linux's access_ok).
func AccessOK(addr uintptr, n uint64) bool {
	return uint64(addr) <= platform.MaxUserAddress && n <= platform.MaxUserAddress-uint64(addr)
}

// ImportIovecs checks iovecs as Linux's import_iovec does and returns
// their ranges: EINVAL if any length is negative as a ssize_t, then EFAULT
// if any buffer reaches past the user address space (access_ok, before
// anything is copied, so that no earlier buffer is transferred); lengths
// are then cut so that the total stays within MAX_RW_COUNT. How many
// iovecs there may be (UIO_MAXIOV) is the caller's check.
func ImportIovecs(iovs []abi.Iovec) ([]platform.Range, error) {
	for i, v := range iovs {
		if int64(v.Len) < 0 {
			return nil, fmt.Errorf("iovec %d of %d bytes: %w", i, int64(v.Len), unix.EINVAL)
		}
	}
	rs := make([]platform.Range, len(iovs))
	total := uint64(0)
	for i, v := range iovs {
		if !AccessOK(uintptr(v.Base), v.Len) {
			return nil, fmt.Errorf("iovec %d at %#x of %d bytes: %w", i, v.Base, v.Len, unix.EFAULT)
		}
		n := min(v.Len, MaxRW-total)
		rs[i] = platform.Range{Start: uintptr(v.Base), End: uintptr(v.Base + n)}
		total += n
	}
	return rs, nil
}
