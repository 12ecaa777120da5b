// Package platformtest is the conformance suite that every platform
// (systrap, ptrace, ...) must pass, and the benchmark that compares them.
//
// The sentry only ever sees the platform interface, so every platform has to
// behave the same way: deliver syscall stops with the right registers and FP
// state, report faults and synchronous signals precisely, stop on Interrupt,
// keep address spaces apart across Fork, map host files, copy memory with
// EFAULT semantics, clean up its host processes and file descriptors, and
// survive an application that attacks the platform's own code and shared
// memory. A platform opts in with one test and one benchmark:
//
//	func TestPlatform(t *testing.T) {
//		platformtest.Run(t, systrap.New, platformtest.Options{...})
//	}
//
//	func BenchmarkSyscallRoundTrip(b *testing.B) {
//		platformtest.BenchmarkSyscallRoundTrip(b, systrap.New)
//	}
//
// and then, for instance,
//
//	go test ./platform/systrap/ -run X -bench SyscallRoundTrip -benchtime 20000x
//
// Application code is real x86-64 machine code, assembled when the tests run
// (gcc and objcopy must be installed) from small AT&T-syntax sources kept
// next to the test that runs them. Programs are position-independent and are
// loaded at fixed low addresses (code at 0x10000000, stack at 0x20000000,
// data at 0x30000000), far from anything a platform reserves.
package platformtest

import (
	"sync"
	"testing"

	"runsc-lite/platform"
	"runsc-lite/sentry/clocks"
	"runsc-lite/stub"
)

// Factory creates a fresh platform instance.
type Factory func() (platform.Platform, error)

// Options describes attack targets specific to a platform. Attacks whose
// targets are not given are skipped.
type Options struct {
	// StubSyscallAddrs: addresses of host `syscall` instructions (the 0f 05
	// bytes) inside the platform's own code, mapped in every address space.
	StubSyscallAddrs []uintptr
	// ProtectedAddrs: addresses mapped in every address space that
	// application code must NOT be able to write (e.g. the syscall thread's
	// request page). A write must produce a fault event (EventFault,
	// AccessWrite) or otherwise not change the page.
	ProtectedAddrs []uintptr
	// ForgeableRange: shared memory that application code CAN write
	// (per-thread message pages of the address space). Forging it may break
	// only the attacker's own address space.
	ForgeableRange platform.Range
	// Hijack takes over the most privileged thread of as's stub process
	// for the Hijack attacks (hijack.go), which are skipped without it.
	Hijack func(t testing.TB, as platform.AddressSpace) Hijacker
	// ReadOnlyShared: pages the sentry shares with every stub read-only
	// (systrap's control page and thread set-up blocks), which not even a
	// hijacked stub may make writable.
	ReadOnlyShared []uintptr
	// SandboxVDSO: the platform's stubs map the sandbox's vDSO and its
	// parameters page (stub.Confinement.VDSOParams) at VVAR, which the
	// sentry writes and every stub shares.
	SandboxVDSO bool
	// ForkReadsPidfdMessage: Fork takes the child's pidfd from a message
	// the stub sends on its control socket, which a hijacked stub can
	// forge.
	ForkReadsPidfdMessage bool
	// ThreadReadsPidfdMessage: starting a stub thread takes the thread's
	// pidfd from a message the stub sends, which a hijacked stub can forge.
	ThreadReadsPidfdMessage bool
	// PatchEntries, for a platform that patches syscall sites (systrap),
	// counts the syscalls that arrived through a patched site so far; the
	// Patching tests are skipped without it.
	PatchEntries func(platform.Platform) uint64
	// PatchEntry and PatchResumed: where the platform's code behind a
	// patched site starts and resumes the application, for attacks that
	// jump there with forged registers. PatchEntryAlt is another entry
	// (systrap's for hosts without FSGSBASE), attacked the same way.
	PatchEntry, PatchEntryAlt, PatchResumed uintptr
	// PatchSelf, for a platform whose patch entry finds a thread's state
	// through a pointer the application can write (systrap without
	// FSGSBASE: a word in the thread's slot, read through %gs), returns
	// where ctx's pointer is and the value it holds, for attacks that
	// forge it. ctx must have run.
	PatchSelf func(ctx platform.Context) (at uintptr, self uint64)
	// PatchAfter is how many times a site traps before the factory's
	// platforms patch it: the Patching tests run a site 20 times and
	// count on it being patched by then, so it must be 2 to 19.
	PatchAfter int
}

// Run runs every conformance subtest against platforms made by f. Each
// subtest creates its own platform instance and releases everything it
// creates.
func Run(t *testing.T, f Factory, opts Options) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Factory, Options)
	}{
		{"SyscallArgs", testSyscallArgs},
		{"FPState", testFPState},
		{"Faults", testFaults},
		{"Signals", testSignals},
		{"Interrupt", testInterrupt},
		{"Threads", testThreads},
		{"ThreadChurn", testThreadChurn},
		{"Fork", testFork},
		{"MmapFile", testMmapFile},
		{"MmapMemfd", testMmapMemfd},
		{"Mremap", testMremap},
		{"PeakResident", testPeakResident},
		{"ReadWriteUnmapped", testReadWriteUnmapped},
		{"ReadWriteVec", testReadWriteVec},
		{"ManyAddressSpaces", testManyAddressSpaces},
		{"Renew", testRenew},
		{"RenewThreaded", testRenewThreaded},
		{"Attacks", testAttacks},
		{"Hijack", testHijack},
		{"Patching", testPatching},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, f, opts) })
	}
}

// sandboxVDSO is the vDSO parameters page of the platforms
// SandboxConfinement confines: one for the test binary, as for a sandbox.
var sandboxVDSO = sync.OnceValues(func() (*clocks.Page, error) { return clocks.NewPage(clocks.Offsets{}) })

// SandboxConfinement is stub.DefaultConfinement with the sandbox's vDSO
// (Options.SandboxVDSO), as a sandbox's platform has it.
func SandboxConfinement() (stub.Confinement, error) {
	c := stub.DefaultConfinement()
	page, err := sandboxVDSO()
	if err != nil {
		return c, err
	}
	c.VDSOParams = page.File()
	return c, nil
}
