package systrap_test

import (
	"testing"

	"runsc-lite/platform"
	"runsc-lite/platform/platformtest"
	"runsc-lite/platform/systrap"
	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

func options(t testing.TB) platformtest.Options {
	syms, err := stub.LoadSymbols()
	if err != nil {
		t.Fatal(err)
	}
	return platformtest.Options{
		StubSyscallAddrs: syms.SyscallInstructions(),
		// The control page, a thread set-up block, the stub's code, and its
		// data and bss (where the forkserver's stack was).
		ProtectedAddrs: []uintptr{sysmsg.Region, sysmsg.SetupAddr(1), stub.ImageBase, syms.DataStart, syms.ImageEnd - 8,
			sysmsg.PatchTable},
		ForgeableRange: platform.Range{Start: sysmsg.RWBase, End: sysmsg.RegionEnd},
		Hijack:         systrap.NewHijacker,
		ReadOnlyShared: []uintptr{sysmsg.Region, sysmsg.SetupAddr(0)},
		// The syscall thread sends a forked child's pidfd.
		ForkReadsPidfdMessage:   true,
		ThreadReadsPidfdMessage: true,
		SandboxVDSO:             true,
		PatchEntries:            func(p platform.Platform) uint64 { return p.(*systrap.Platform).PatchStats().Entries },
		PatchEntry:              syms.PatchEntry,
		PatchEntryAlt:           syms.PatchEntryGS,
		PatchSelf:               systrap.PatchSelf,
		PatchResumed:            syms.PatchResumed,
		PatchAfter:              suitePatchAfter,
	}
}

// suitePatchAfter is the patch threshold of the conformance suite's
// platforms: its patching tests run a site 20 times, fewer than
// DefaultPatchAfter.
const suitePatchAfter = 2

// newForSuite makes a platform for the conformance suite.
func newForSuite() (platform.Platform, error) {
	c, err := platformtest.SandboxConfinement()
	if err != nil {
		return nil, err
	}
	p, err := systrap.NewConfined(c)
	if err != nil {
		return nil, err
	}
	p.SetPatchAfter(suitePatchAfter)
	return p, nil
}

func TestConformance(t *testing.T) {
	opts := options(t)
	if p, err := systrap.New(); err == nil {
		on := p.(*systrap.Platform).Patching()
		p.Close()
		if !on {
			t.Log("this host cannot patch syscall sites (no FSGSBASE or XSAVE): the Patching tests are skipped")
			opts.PatchEntries = nil
		}
	}
	platformtest.Run(t, newForSuite, opts)
}

// TestConformanceNoPatch runs the suite with syscall-site patching off
// (--no-patch): every syscall traps with a signal.
func TestConformanceNoPatch(t *testing.T) {
	opts := options(t)
	opts.PatchEntries = nil
	platformtest.Run(t, func() (platform.Platform, error) {
		p, err := newForSuite()
		if err == nil {
			p.(*systrap.Platform).SetPatching(false)
		}
		return p, err
	}, opts)
}

func BenchmarkSyscallRoundTrip(b *testing.B) {
	platformtest.BenchmarkSyscallRoundTrip(b, systrap.New)
}

func BenchmarkFork(b *testing.B) {
	platformtest.BenchmarkFork(b, systrap.New)
}

func BenchmarkAddressSpace(b *testing.B) {
	platformtest.BenchmarkAddressSpace(b, systrap.New)
}
