package ptrace_test

import (
	"testing"

	"runsc-lite/platform"
	"runsc-lite/platform/platformtest"
	"runsc-lite/platform/ptrace"
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
		ProtectedAddrs:   []uintptr{stub.ImageBase, syms.PtraceSite - 2, syms.DataStart, syms.ImageEnd - 8},
		// The scratch page of remote recvmsg calls.
		ForgeableRange: platform.Range{Start: sysmsg.Region, End: sysmsg.Region + 0x1000},
		Hijack:         ptrace.NewHijacker,
	}
}

func TestConformance(t *testing.T) {
	opts := options(t)
	opts.SandboxVDSO = true
	platformtest.Run(t, func() (platform.Platform, error) {
		c, err := platformtest.SandboxConfinement()
		if err != nil {
			return nil, err
		}
		p, err := ptrace.NewConfined(c)
		if err != nil {
			return nil, err
		}
		return p, nil
	}, opts)
}

func BenchmarkSyscallRoundTrip(b *testing.B) {
	platformtest.BenchmarkSyscallRoundTrip(b, ptrace.New)
}

func BenchmarkAddressSpace(b *testing.B) {
	platformtest.BenchmarkAddressSpace(b, ptrace.New)
}
