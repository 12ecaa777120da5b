package platform

import (
	"fmt"

	"runsc-lite/abi"
)

func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// XSAVE state components (XCR0 and XSTATE_BV bits); the area's layout is
// abi.XSave's.
const (
	featureX87 = 1 << 0
	featureSSE = 1 << 1
	featureAVX = 1 << 2
)

// HostFPFeatures is what the host supports: the size of its XSAVE area for
// the user-visible state components, the component mask (XCR0), and where
// the AVX upper halves live.
type HostFPFeatures struct {
	Size      int
	XCR0      uint64
	AVXOffset int
}

// Host is read once from CPUID.
var Host = readHostFPFeatures()

func readHostFPFeatures() HostFPFeatures {
	_, _, ecx1, _ := cpuid(1, 0)
	if ecx1&(1<<27) == 0 { // OSXSAVE: no XSAVE, only the legacy area.
		return HostFPFeatures{Size: abi.FXSaveSize, XCR0: featureX87 | featureSSE}
	}
	lo, size, _, hi := cpuid(0xd, 0)
	f := HostFPFeatures{Size: int(size), XCR0: uint64(hi)<<32 | uint64(lo)}
	if f.XCR0&featureAVX != 0 {
		_, off, _, _ := cpuid(0xd, 2)
		f.AVXOffset = int(off)
	}
	return f
}

// FPState is the floating-point, SSE and AVX state of a thread: an XSAVE area
// in standard format, Host.Size bytes long.
//
// Copying it costs more than the rest of a syscall round trip, and the
// sentry rarely looks at it, so a platform may fill it lazily (SetLazy) and
// skip writing it back when Generation shows it unchanged.
type FPState struct {
	b    []byte
	gen  uint64       // bumped by every change through this type
	fill func([]byte) // pending lazy load into b, if any
}

// NewFPState returns the state of a freshly started Linux thread: x87
// control word 0x37f, MXCSR 0x1f80, every other register zero.
func NewFPState() *FPState {
	f := &FPState{b: make([]byte, Host.Size)}
	f.init()
	return f
}

// init writes the initial state into b, which is zero.
func (f *FPState) init() {
	fx := f.legacy()
	fx.Cwd, fx.Mxcsr, fx.MxcsrMask = 0x37f, 0x1f80, 0xffff
	if h := f.header(); h != nil {
		h.XstateBV = featureX87 | featureSSE
	}
}

// Reset makes f the state of a freshly started thread (NewFPState's) in
// place, without allocating: a signal handler starts with it.
func (f *FPState) Reset() {
	f.fill = nil
	if len(f.b) != Host.Size {
		f.b = make([]byte, Host.Size)
	} else {
		clear(f.b)
	}
	f.init()
	f.gen++
}

// CopyTo copies the state into dst, which must be Host.Size long, and
// returns the count copied. A pending lazy state is filled straight into
// dst and stays pending: a signal frame takes the state once, not twice.
func (f *FPState) CopyTo(dst []byte) int {
	if f.fill != nil && len(dst) >= Host.Size {
		f.fill(dst[:Host.Size])
		return Host.Size
	}
	return copy(dst, f.b)
}

// legacy is the area's legacy region. The area is at least that long
// (Host.Size), and the allocator aligns a buffer that size for it.
func (f *FPState) legacy() *abi.FXSave { return abi.View[abi.FXSave](f.b) }

// header is the area's XSAVE header, nil if the host has only the legacy
// region.
func (f *FPState) header() *abi.XSaveHeader {
	if x := abi.View[abi.XSave](f.b); x != nil {
		return &x.Header
	}
	return nil
}

// Bytes is the raw XSAVE area. It is for reading: change the state only
// through SetBytes and the setters, so that Generation sees it.
func (f *FPState) Bytes() []byte {
	f.load()
	return f.b
}

// SetBytes replaces the state with a copy of b, which must be Host.Size long.
func (f *FPState) SetBytes(b []byte) error {
	if len(b) != Host.Size {
		return fmt.Errorf("fp state is %d bytes, host XSAVE area is %d", len(b), Host.Size)
	}
	f.fill = nil
	if len(f.b) != len(b) {
		f.b = make([]byte, len(b))
	}
	copy(f.b, b)
	f.gen++
	return nil
}

// SetLazy makes fill the source of the state until it is first read; fill
// gets a Host.Size buffer. A platform uses it for state that stays valid
// until it next runs the thread, and calls Load before that.
func (f *FPState) SetLazy(fill func([]byte)) {
	if len(f.b) != Host.Size {
		f.b = make([]byte, Host.Size)
	}
	f.fill = fill
	f.gen++
}

// Load runs a pending lazy fill.
func (f *FPState) Load() { f.load() }

func (f *FPState) load() {
	if f.fill != nil {
		fill := f.fill
		f.fill = nil
		fill(f.b)
	}
}

// Generation changes whenever the state does.
func (f *FPState) Generation() uint64 { return f.gen }

// Clone returns a deep copy.
func (f *FPState) Clone() *FPState {
	f.load()
	return &FPState{b: append([]byte(nil), f.b...)}
}

// Sanitize clears what XRSTOR would reject, so that a state edited by the
// sentry or the application can always be restored: unknown components in
// XSTATE_BV, a compacted-format flag, reserved header bytes, and MXCSR bits
// the CPU does not implement.
func (f *FPState) Sanitize() {
	f.load()
	f.gen++
	fx := f.legacy()
	mask := fx.MxcsrMask
	if mask == 0 {
		mask = 0xffbf
	}
	fx.Mxcsr &= mask
	if h := f.header(); h != nil {
		*h = abi.XSaveHeader{XstateBV: h.XstateBV & Host.XCR0}
	}
}

// XMM returns the low 128 bits of vector register i (0..15).
func (f *FPState) XMM(i int) (v [16]byte) {
	f.load()
	return f.legacy().Xmm[i]
}

// SetXMM sets the low 128 bits of vector register i.
func (f *FPState) SetXMM(i int, v [16]byte) {
	f.load()
	f.gen++
	f.legacy().Xmm[i] = v
	f.markInUse(featureSSE)
}

// YMMHigh returns the upper 128 bits of ymm register i, zero if the host has
// no AVX or the component is in its initial state.
func (f *FPState) YMMHigh(i int) (v [16]byte) {
	f.load()
	if Host.AVXOffset == 0 || f.xstateBV()&featureAVX == 0 {
		return v
	}
	copy(v[:], f.b[Host.AVXOffset+16*i:])
	return v
}

// SetYMMHigh sets the upper 128 bits of ymm register i; it does nothing on a
// host without AVX.
func (f *FPState) SetYMMHigh(i int, v [16]byte) {
	if Host.AVXOffset == 0 {
		return
	}
	f.load()
	f.gen++
	if f.xstateBV()&featureAVX == 0 {
		clear(f.b[Host.AVXOffset : Host.AVXOffset+256])
	}
	copy(f.b[Host.AVXOffset+16*i:], v[:])
	f.markInUse(featureAVX)
}

func (f *FPState) xstateBV() uint64 {
	if h := f.header(); h != nil {
		return h.XstateBV
	}
	return featureX87 | featureSSE
}

// markInUse sets a component's XSTATE_BV bit: XRSTOR loads the initial state
// for a clear bit, whatever the area holds.
func (f *FPState) markInUse(feature uint64) {
	if h := f.header(); h != nil {
		h.XstateBV |= feature
	}
}
