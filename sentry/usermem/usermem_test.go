package usermem

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/abi"
	"runsc-lite/platform"
)

// flatIO is application memory of one slice at address base, of which the
// application reaches the first reach bytes; it counts the copies made.
type flatIO struct {
	base   uintptr
	mem    []byte
	reach  int
	copies int
}

func (f *flatIO) copyAt(p []byte, addr uintptr, out bool) (int, error) {
	off := int(addr - f.base)
	n := min(len(p), max(f.reach-off, 0))
	if out {
		copy(f.mem[off:], p[:n])
	} else {
		copy(p, f.mem[off:off+n])
	}
	if n < len(p) {
		return n, unix.EFAULT
	}
	return n, nil
}

func (f *flatIO) CopyOutVec(src []byte, dst []platform.Range) (int, error) {
	f.copies++
	return platform.CopyEachRange(src, dst, func(p []byte, a uintptr) (int, error) { return f.copyAt(p, a, true) })
}

func (f *flatIO) CopyInVec(dst []byte, src []platform.Range) (int, error) {
	f.copies++
	return platform.CopyEachRange(dst, src, func(p []byte, a uintptr) (int, error) { return f.copyAt(p, a, false) })
}

func (f *flatIO) AccessibleLen(rs []platform.Range, write bool) int {
	n := 0
	for _, r := range rs {
		l := rangeLen(r)
		ok := min(l, max(f.reach-int(r.Start-f.base), 0))
		n += ok
		if ok < l {
			break
		}
	}
	return n
}

const base = 0x10000

func newFlat(size int) *flatIO {
	return &flatIO{base: base, mem: make([]byte, size), reach: size}
}

// at is the range of n bytes at offset off of the flat memory.
func at(off, n int) platform.Range { return platform.RangeOf(base+uintptr(off), n) }

func TestDropAndTake(t *testing.T) {
	s := NewIOSequence(newFlat(100), []platform.Range{at(0, 10), at(50, 0), at(20, 5), at(40, 10)})
	if s.NumBytes() != 25 {
		t.Fatalf("NumBytes = %d, want 25", s.NumBytes())
	}
	for _, tc := range []struct {
		drop, take int
		want       []platform.Range
	}{
		{0, 25, []platform.Range{at(0, 10), at(50, 0), at(20, 5), at(40, 10)}},
		{3, 9, []platform.Range{at(3, 7), at(50, 0), at(20, 2)}},
		{10, 6, []platform.Range{at(20, 5), at(40, 1)}},
		{12, 100, []platform.Range{at(22, 3), at(40, 10)}},
		{25, 1, nil},
		{30, 1, nil},
	} {
		got := s.DropFirst(tc.drop).TakeFirst(tc.take)
		if len(got.ranges) != len(tc.want) || got.NumBytes() != NewIOSequence(nil, tc.want).NumBytes() {
			t.Errorf("DropFirst(%d).TakeFirst(%d) = %v, want %v", tc.drop, tc.take, got.ranges, tc.want)
			continue
		}
		for i := range tc.want {
			if got.ranges[i] != tc.want[i] {
				t.Errorf("DropFirst(%d).TakeFirst(%d) = %v, want %v", tc.drop, tc.take, got.ranges, tc.want)
				break
			}
		}
	}
	if s.ranges[0] != at(0, 10) {
		t.Errorf("DropFirst changed the sequence it cut: %v", s.ranges)
	}
}

// chunks is a Reader that returns its pieces one per call.
type chunks struct {
	pieces []string
	err    error // after the pieces
	calls  int
}

func (c *chunks) Read(p []byte) (int, error) {
	c.calls++
	if len(c.pieces) == 0 {
		return 0, c.err
	}
	n := copy(p, c.pieces[0])
	c.pieces = c.pieces[1:]
	return n, nil
}

func TestCopyOutFromScattersWithOneCopyPerRead(t *testing.T) {
	f := newFlat(100)
	s := NewIOSequence(f, []platform.Range{at(10, 3), at(0, 0), at(50, 4), at(30, 5)})
	n, err := s.CopyOutFrom(ReaderFunc(func(p []byte) (int, error) { return copy(p, "abcdefghijkl"), nil }))
	if n != 12 || err != nil {
		t.Fatalf("CopyOutFrom = %d, %v; want 12, nil", n, err)
	}
	if got := string(f.mem[10:13]) + string(f.mem[50:54]) + string(f.mem[30:35]); got != "abcdefghijkl" {
		t.Errorf("memory holds %q", got)
	}
	if f.copies != 1 {
		t.Errorf("%d copies, want 1", f.copies)
	}
}

func TestCopyOutFromStops(t *testing.T) {
	f := newFlat(100)
	s := NewIOSequence(f, []platform.Range{at(0, 10), at(20, 10)})
	// A short read ends it, though the sequence has room.
	c := &chunks{pieces: []string{"abc", "def"}}
	if n, err := s.CopyOutFrom(c); n != 3 || err != nil || c.calls != 1 {
		t.Errorf("CopyOutFrom of a short read = %d, %v after %d reads; want 3, nil after 1", n, err, c.calls)
	}
	// A copy that fails stops it with EFAULT and what reached memory.
	f.reach = 25
	n, err := s.CopyOutFrom(ReaderFunc(func(p []byte) (int, error) { return copy(p, strings.Repeat("x", 20)), nil }))
	if n != 15 || !errors.Is(err, unix.EFAULT) {
		t.Errorf("CopyOutFrom into memory that ends = %d, %v; want 15, EFAULT", n, err)
	}
	// An empty sequence reads nothing.
	c = &chunks{}
	if n, err := (IOSequence{}).CopyOutFrom(c); n != 0 || err != nil || c.calls != 0 {
		t.Errorf("CopyOutFrom into nothing = %d, %v after %d reads", n, err, c.calls)
	}
}

func TestCopyRounds(t *testing.T) {
	size := 2*ChunkSize + 100
	f := newFlat(size)
	s := NewIOSequence(f, []platform.Range{at(0, size)})
	reads := 0
	n, err := s.CopyOutFrom(ReaderFunc(func(p []byte) (int, error) {
		reads++
		for i := range p {
			p[i] = byte(reads)
		}
		return len(p), nil
	}))
	if n != size || err != nil || reads != 3 || f.copies != 3 {
		t.Fatalf("CopyOutFrom of %d bytes = %d, %v in %d reads and %d copies; want all, nil, 3, 3", size, n, err, reads, f.copies)
	}
	if f.mem[ChunkSize-1] != 1 || f.mem[ChunkSize] != 2 || f.mem[size-1] != 3 {
		t.Errorf("the rounds landed at the wrong places")
	}
	var out bytes.Buffer
	if n, err := s.CopyInTo(WriterFunc(out.Write)); n != size || err != nil || !bytes.Equal(out.Bytes(), f.mem) {
		t.Errorf("CopyInTo of %d bytes = %d, %v", size, n, err)
	}
}

func TestCopyInTo(t *testing.T) {
	f := newFlat(100)
	copy(f.mem, "0123456789abcdefghij")
	s := NewIOSequence(f, []platform.Range{at(10, 5), at(2, 3)})
	var got []byte
	collect := WriterFunc(func(p []byte) (int, error) { got = append(got, p...); return len(p), nil })
	if n, err := s.CopyInTo(collect); n != 8 || err != nil || string(got) != "abcde234" || f.copies != 1 {
		t.Errorf("CopyInTo = %d, %v, %q with %d copies; want 8, nil, \"abcde234\", 1", n, err, got, f.copies)
	}
	// A short write ends it.
	half := WriterFunc(func(p []byte) (int, error) { return len(p) / 2, nil })
	if n, err := s.CopyInTo(half); n != 4 || err != nil {
		t.Errorf("CopyInTo a short writer = %d, %v; want 4, nil", n, err)
	}
	// A copy that fails writes nothing of its buffer.
	f.reach = 12
	got = nil
	if n, err := s.CopyInTo(collect); n != 0 || !errors.Is(err, unix.EFAULT) || got != nil {
		t.Errorf("CopyInTo from memory that ends = %d, %v, wrote %q; want 0, EFAULT, nothing", n, err, got)
	}
	// An empty sequence writes once, nothing.
	calls := 0
	if n, err := (IOSequence{}).CopyInTo(WriterFunc(func(p []byte) (int, error) { calls++; return len(p), nil })); n != 0 || err != nil || calls != 1 {
		t.Errorf("CopyInTo from nothing = %d, %v after %d writes; want 0, nil after 1", n, err, calls)
	}
}

func TestAccessiblePrefix(t *testing.T) {
	f := newFlat(100)
	f.reach = 22
	s := NewIOSequence(f, []platform.Range{at(0, 10), at(20, 10), at(30, 10)})
	p, err := s.WritablePrefix()
	if err != nil || p.NumBytes() != 12 {
		t.Errorf("WritablePrefix = %d bytes, %v; want 12, nil", p.NumBytes(), err)
	}
	f.reach = 0
	if _, err := s.ReadablePrefix(); err != unix.EFAULT {
		t.Errorf("ReadablePrefix of nothing reachable: %v, want EFAULT", err)
	}
	if p, err := s.TakeFirst(0).ReadablePrefix(); err != nil || p.NumBytes() != 0 {
		t.Errorf("ReadablePrefix of an empty sequence = %d, %v; want 0, nil", p.NumBytes(), err)
	}
}

func TestBytesSequenceIsGivenDirectly(t *testing.T) {
	b := make([]byte, 3*ChunkSize)
	var seen []byte
	n, err := BytesSequence(b).CopyOutFrom(ReaderFunc(func(p []byte) (int, error) { seen = p; return len(p), nil }))
	if n != len(b) || err != nil || len(seen) != len(b) || &seen[0] != &b[0] {
		t.Errorf("CopyOutFrom into sentry memory = %d, %v; the reader got %d bytes, not the memory itself", n, err, len(seen))
	}
	s := BytesSequence([]byte("0123456789"))
	got := make([]byte, 4)
	if n, err := s.DropFirst(3).CopyIn(got); n != 4 || err != nil || string(got) != "3456" {
		t.Errorf("CopyIn = %d, %v, %q", n, err, got)
	}
	if n, err := s.DropFirst(8).CopyOut([]byte("xyz")); n != 2 || err != nil {
		t.Errorf("CopyOut past the end = %d, %v; want 2, nil", n, err)
	}
}

func TestImportIovecs(t *testing.T) {
	top := uint64(platform.MaxUserAddress)
	iov := func(base, n uint64) abi.Iovec { return abi.Iovec{Base: base, Len: n} }
	for _, tc := range []struct {
		what string
		iovs []abi.Iovec
		want error
		lens []uint64
	}{
		{"ordinary", []abi.Iovec{iov(0x1000, 5), iov(0x2000, 0), iov(0x3000, 7)}, nil, []uint64{5, 0, 7}},
		{"to the top", []abi.Iovec{iov(top-2, 2)}, nil, []uint64{2}},
		{"past the top", []abi.Iovec{iov(top-1, 2)}, unix.EFAULT, nil},
		{"empty past the top", []abi.Iovec{iov(top+1, 0)}, unix.EFAULT, nil},
		{"wrapping", []abi.Iovec{iov(^uint64(0), 2)}, unix.EFAULT, nil},
		{"negative after one past the top", []abi.Iovec{iov(top, 2), iov(0x1000, 1<<63)}, unix.EINVAL, nil},
		{"beyond MAX_RW_COUNT", []abi.Iovec{iov(0x1000, MaxRW-5), iov(0x1000, 10), iov(0x1000, 10)}, nil, []uint64{MaxRW - 5, 5, 0}},
	} {
		rs, err := ImportIovecs(tc.iovs)
		if !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("%s: ImportIovecs = %v, want %v", tc.what, err, tc.want)
			continue
		}
		for i, l := range tc.lens {
			if uint64(rs[i].End-rs[i].Start) != l || uint64(rs[i].Start) != tc.iovs[i].Base {
				t.Errorf("%s: range %d = %v, want %d bytes at %#x", tc.what, i, rs[i], l, tc.iovs[i].Base)
			}
		}
	}
}

func TestSizeClasses(t *testing.T) {
	if minBuffer<<(sizeClasses-1) != ChunkSize {
		t.Fatalf("the largest size class is %d bytes, ChunkSize %d", minBuffer<<(sizeClasses-1), ChunkSize)
	}
	for _, tc := range []struct{ n, class, size int }{
		{1, 0, minBuffer}, {minBuffer, 0, minBuffer}, {minBuffer + 1, 1, 2 * minBuffer},
		{64 << 10, 4, 64 << 10}, {ChunkSize - 1, sizeClasses - 1, ChunkSize}, {ChunkSize, sizeClasses - 1, ChunkSize},
	} {
		if c, size := sizeClass(tc.n); c != tc.class || size != tc.size {
			t.Errorf("sizeClass(%d) = %d, %d; want %d, %d", tc.n, c, size, tc.class, tc.size)
		}
	}
	b := getBuffer(5000)
	if len(*b) != 5000 || cap(*b) != 2*minBuffer {
		t.Errorf("getBuffer(5000) has length %d, capacity %d", len(*b), cap(*b))
	}
	putBuffer(b)
}

func TestZeroFill(t *testing.T) {
	size := 2*ChunkSize + 100
	f := newFlat(size)
	for i := range f.mem {
		f.mem[i] = 'x'
	}
	s := NewIOSequence(f, []platform.Range{at(10, 5), at(100, 2*ChunkSize)})
	if n, err := s.ZeroFill(); n != 2*ChunkSize+5 || err != nil {
		t.Fatalf("ZeroFill = %d, %v; want %d, nil", n, err, 2*ChunkSize+5)
	}
	if f.copies != 3 {
		t.Errorf("%d copies for two chunks and 5 bytes, want 3", f.copies)
	}
	if bytes.Count(f.mem, []byte{0}) != 2*ChunkSize+5 || f.mem[9] != 'x' || f.mem[15] != 'x' || f.mem[99] != 'x' || f.mem[10] != 0 {
		t.Error("ZeroFill cleared other bytes than the sequence's, or not all of them")
	}
	// Memory that ends stops it with EFAULT and what was filled.
	f.reach = 1000
	if n, err := s.ZeroFill(); n != 5+900 || !errors.Is(err, unix.EFAULT) {
		t.Errorf("ZeroFill into memory that ends = %d, %v; want 905, EFAULT", n, err)
	}
	for _, b := range zeros {
		if b != 0 {
			t.Fatal("the zero source was written")
		}
	}
}
