// Package stub holds the stub program and the forkserver that starts stub
// processes from it.
//
// The stub is a small static ELF written in C and assembly without libc
// (stub/c, and the signal handler in sysmsg/c),
// linked at a fixed address high in the address space (c/stub.ld) so that
// every stub process has its code, and the seccomp-relevant syscall
// instructions, at the same place. It is committed as stub.bin and embedded
// here; `go generate ./stub` rebuilds it, and stub_test.go fails when the
// committed blob no longer matches its sources.
//
// The sentry starts one forkserver per platform instance from a memfd holding
// the blob. A stub process is a child of the forkserver, never of the sentry:
// it carries nothing of the sentry's memory or descriptors.
package stub

import (
	"bytes"
	"debug/elf"
	_ "embed"
	"fmt"
	"sync"
)

//go:generate sh c/build.sh

//go:embed stub.bin
var image []byte

// Addresses fixed by c/stub.ld and c/stub.h.
const (
	ImageBase = 0x7ff000000000
	// CtlFD is the control socket's descriptor number in a stub process.
	CtlFD = 3
)

// Symbols are the addresses in the stub image the sentry needs. A *Site is
// the address right after a syscall instruction, which is what seccomp
// reports as the instruction pointer of that syscall.
type Symbols struct {
	SyscallSite  uintptr // syscall thread, thread set-up, the stub's C code
	HandlerSite  uintptr // signal handler: futex, exit, arch_prctl
	RestorerSite uintptr // rt_sigreturn
	// PtraceSite is in ptrace_wait, the loop a ptrace stub thread waits in
	// until it is seized; the ptrace platform runs remote syscalls there.
	PtraceSite uintptr
	DataStart  uintptr // the image's data and bss, read-only in a stub process
	ImageEnd   uintptr // end of the image's memory, page aligned
	// PatchEntry is where a patched syscall site arrives (through its
	// trap) on a host with FSGSBASE, PatchEntryGS on one without (its
	// first instruction is the load through %gs); PatchResumed is where
	// it resumes, PatchEnd its end. PatchSite (futex, exit),
	// PatchResumeSite (arch_prctl, without FSGSBASE) and
	// PatchSigreturnSite are its syscalls.
	PatchEntry, PatchEntryGS, PatchResumed, PatchEnd uintptr
	PatchSite, PatchResumeSite, PatchSigreturnSite   uintptr
}

// SyscallInstructions returns the addresses of the stub's syscall
// instructions themselves (2 bytes before each site).
func (s Symbols) SyscallInstructions() []uintptr {
	return []uintptr{s.SyscallSite - 2, s.HandlerSite - 2, s.RestorerSite - 2, s.PtraceSite - 2,
		s.PatchSite - 2, s.PatchResumeSite - 2, s.PatchSigreturnSite - 2}
}

// LoadSymbols reads the symbols from the embedded image.
var LoadSymbols = sync.OnceValues(func() (Symbols, error) {
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return Symbols{}, fmt.Errorf("parsing embedded stub image: %w", err)
	}
	syms, err := f.Symbols()
	if err != nil {
		return Symbols{}, fmt.Errorf("reading stub symbols: %w", err)
	}
	byName := make(map[string]uintptr, len(syms))
	for _, s := range syms {
		byName[s.Name] = uintptr(s.Value)
	}
	var s Symbols
	for name, dst := range map[string]*uintptr{
		"stub_syscall_site":         &s.SyscallSite,
		"handler_syscall_site":      &s.HandlerSite,
		"restorer_site":             &s.RestorerSite,
		"ptrace_syscall_site":       &s.PtraceSite,
		"stub_data_start":           &s.DataStart,
		"stub_image_end":            &s.ImageEnd,
		"patch_entry":               &s.PatchEntry,
		"patch_entry_gs":            &s.PatchEntryGS,
		"patch_resume_syscall_site": &s.PatchResumeSite,
		"patch_resumed":             &s.PatchResumed,
		"patch_entry_end":           &s.PatchEnd,
		"patch_syscall_site":        &s.PatchSite,
		"patch_sigreturn_site":      &s.PatchSigreturnSite,
	} {
		v, ok := byName[name]
		if !ok {
			return Symbols{}, fmt.Errorf("stub image has no symbol %q; rebuild it with go generate ./stub", name)
		}
		*dst = v
	}
	s.ImageEnd = (s.ImageEnd + 0xfff) &^ 0xfff
	return s, nil
})
