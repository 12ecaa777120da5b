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
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return fmt.Errorf("parsing the vDSO: %w", err)
	}
	base, ok := vdsoBase(f)
	if !ok {
		return fmt.Errorf("the vDSO has no loadable segment")
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		return fmt.Errorf("the vDSO's symbols: %w", err)
	}
	type patch struct {
		at   uintptr
		code []byte
	}
	var patches []patch
	for _, s := range syms {
		nr, ok := vdsoClockCalls[s.Name]
		code := syscallStub(nr)
		if !ok || elf.ST_TYPE(s.Info) != elf.STT_FUNC || s.Value < base || s.Size < uint64(len(code)) ||
			s.Value-base+uint64(len(code)) > uint64(len(image)) {
			continue
		}
		patches = append(patches, patch{v.Start + uintptr(s.Value-base), code})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.vdsoChanged.Store(true)
	if err := m.as.Mprotect(v.Start, v.End-v.Start, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC); err != nil {
		return fmt.Errorf("making the vDSO writable: %w", err)
	}
	defer m.restoreProtLocked(v)
	for _, p := range patches {
		if _, err := m.as.WriteAt(p.code, p.at); err != nil {
			return fmt.Errorf("writing the vDSO at %#x: %w", p.at, err)
		}
	}
	return nil
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
