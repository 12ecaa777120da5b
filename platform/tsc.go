package platform

// InvariantTSC says whether the host CPU's time-stamp counter runs at a
// constant rate in every power state (CPUID 0x80000007, EDX bit 8;
// Linux's nonstop_tsc): only such a counter can keep the sandbox's clocks
// (sentry/clocks).
func InvariantTSC() bool {
	if top, _, _, _ := cpuid(0x80000000, 0); top < 0x80000007 {
		return false
	}
	_, _, _, edx := cpuid(0x80000007, 0)
	return edx&(1<<8) != 0
}
