package platform

import (
	"os"
	"strings"
	"testing"
)

// TestInvariantTSC checks InvariantTSC against what the host's kernel
// found (nonstop_tsc in /proc/cpuinfo, set from the same CPUID bit).
func TestInvariantTSC(t *testing.T) {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip(err)
	}
	if want := strings.Contains(string(b), " nonstop_tsc"); InvariantTSC() != want {
		t.Errorf("InvariantTSC() = %t, /proc/cpuinfo's nonstop_tsc %t", InvariantTSC(), want)
	}
}
