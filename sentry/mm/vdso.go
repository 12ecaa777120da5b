package mm

import (
	"bytes"
	"debug/elf"
	"fmt"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// Every stub maps the sandbox's vDSO (package vdso), so the application
// reads the clocks without a trap, from a parameters page shared by the
// whole sandbox. Only the sandbox's own clocks can be read that way: a
// process in a time namespace made inside the sandbox (kernel/timens.go)
// must see its namespace's offsets, which the page does not have.
// TrapVDSOClocks turns the vDSO's clock functions of one address space
// into plain system calls, which trap like any other and which the sentry
// answers with the offsets.

// vdsoClockCalls are the vDSO functions that read a clock the time
// namespace moves, with the system call each becomes. Each name has two
// symbols at one address (__vdso_clock_gettime and its alias
// clock_gettime); either is enough.
var vdsoClockCalls = map[string]uint32{
	"__vdso_clock_gettime": unix.SYS_CLOCK_GETTIME,
	"__vdso_gettimeofday":  unix.SYS_GETTIMEOFDAY,
	"__vdso_time":          unix.SYS_TIME,
}

// syscallStub is `mov $nr, %eax; syscall; ret`: the function's arguments
// are already where the system call takes them (rdi, rsi), and rcx and
// r11, which the syscall instruction clobbers, are the caller's to save.
func syscallStub(nr uint32) []byte {
	return []byte{0xb8, byte(nr), byte(nr >> 8), byte(nr >> 16), byte(nr >> 24), 0x0f, 0x05, 0xc3}
}

// TrapVDSOClocks rewrites, in this address space's copy-on-write copy of
// the vDSO's pages, the entry of each vDSO clock function
// (vdsoClockCalls) into its system call. Other functions (getcpu,
// clock_getres) stay as they are. The caller makes sure no
// thread runs in the address space's vDSO meanwhile: a process with one
// thread, stopped in the sentry (clone's new child, execve, setns).
func (m *MemoryManager) TrapVDSOClocks() error {
	v := m.as.VDSO()
	if v.End <= v.Start {
		return nil // no vDSO: libc makes the system calls already
	}
	// The platform's image, not the address space's copy, which the
	// application may have replaced (debug/elf is not made for hostile
	// input).
	image := m.as.VDSOImage()
	if len(image) != int(v.End-v.Start) {
		return fmt.Errorf("the platform has no image of its %d-byte vDSO", v.End-v.Start)
	}
	offs, err := vdsoClockPatches(image)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	// Where the vDSO is now: the application may have moved it, or
	// unmapped it (then nothing calls it, and its old place may be
	// other memory).
	cur, ok := m.vdsoLocked()
	if !ok {
		return nil
	}
	if cur.End-cur.Start != v.End-v.Start {
		return fmt.Errorf("the vDSO at %#x is %d bytes, its image %d", cur.Start, cur.End-cur.Start, v.End-v.Start)
	}
	m.vdsoChanged.Store(true)
	if err := m.as.Mprotect(cur.Start, cur.End-cur.Start, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC); err != nil {
		return fmt.Errorf("making the vDSO writable: %w", err)
	}
	defer m.restoreProtLocked(cur)
	for _, p := range offs {
		if _, err := m.as.WriteAt(p.code, cur.Start+p.off); err != nil {
			return fmt.Errorf("writing the vDSO at %#x: %w", cur.Start+p.off, err)
		}
	}
	return nil
}

// vdsoPatch is code to write at an offset of the vDSO.
type vdsoPatch struct {
	off  uintptr
	code []byte
}

// vdsoClockPatches returns, for the vDSO image, the system call stub to
// write at the entry of each of its clock functions (vdsoClockCalls).
func vdsoClockPatches(image []byte) ([]vdsoPatch, error) {
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return nil, fmt.Errorf("parsing the vDSO: %w", err)
	}
	base, ok := vdsoBase(f)
	if !ok {
		return nil, fmt.Errorf("the vDSO has no loadable segment")
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return nil, fmt.Errorf("the vDSO's symbols: %w", err)
	}
	var patches []vdsoPatch
	for _, s := range syms {
		nr, ok := vdsoClockCalls[s.Name]
		code := syscallStub(nr)
		if !ok || elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value < base || s.Size < uint64(len(code)) ||
			s.Value-base+uint64(len(code)) > uint64(len(image)) {
			continue
		}
		patches = append(patches, vdsoPatch{uintptr(s.Value - base), code})
	}
	return patches, nil
}

// VDSO is where the process's vDSO is now (empty if it has none): the
// platform maps it at AddressSpace.VDSO, and the application may move it
// (mremap) or unmap it, as Linux's mm->context.vdso follows it. The
// loader gives it to a new program (AT_SYSINFO_EHDR).
func (m *MemoryManager) VDSO() platform.Range {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, _ := m.vdsoLocked()
	return r
}

// vdsoLocked finds the vDSO's VMA; m.mu is held.
func (m *MemoryManager) vdsoLocked() (platform.Range, bool) {
	for v := range m.vmas.all() {
		if v.special && v.Name == "[vdso]" {
			return platform.Range{Start: v.Start, End: v.End}, true
		}
	}
	return platform.Range{}, false
}

// restoreProtLocked gives the host's pages of r the protection the
// mirror has for them, which the application may have changed (mprotect
// of the vDSO); m.mu is held.
func (m *MemoryManager) restoreProtLocked(r platform.Range) {
	for v := range m.vmas.in(r.Start, r.End) {
		m.as.Mprotect(max(v.Start, r.Start), min(v.End, r.End)-max(v.Start, r.Start), v.Prot)
	}
}

// vdsoBase is the address the vDSO image was linked at: its first
// loadable segment's, less that segment's offset in the file.
func vdsoBase(f *elf.File) (uint64, bool) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			return p.Vaddr - p.Off, true
		}
	}
	return 0, false
}
