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
		ProtectedAddrs: []uintptr{sysmsg.Region, sysmsg.SetupAddr(1), stub.ImageBase, syms.DataStart, syms.ImageEnd - 8},
		ForgeableRange: platform.Range{Start: sysmsg.RWBase, End: sysmsg.RegionEnd},
		Hijack:         systrap.NewHijacker,
		ReadOnlyShared: []uintptr{sysmsg.Region, sysmsg.SetupAddr(0)},
		// The syscall thread sends a forked child's pidfd.
		ForkReadsPidfdMessage: true,
	}
}

func TestConformance(t *testing.T) {
	platformtest.Run(t, systrap.New, options(t))
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
