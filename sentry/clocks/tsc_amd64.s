#include "textflag.h"

// func rdtscOrdered() uint64
//
// LFENCE, then RDTSC: the counter is read after every load before it, as
// Linux's rdtsc_ordered and the sandbox's vDSO (vdso/c/vdso.c) read it, so
// a time computed from it is never older than what the caller read before.
// The counter is constant-rate and synchronized across CPUs on the hosts
// runsc-lite runs on (constant_tsc, nonstop_tsc).
TEXT ·rdtscOrdered(SB), NOSPLIT, $0-8
	LFENCE
	RDTSC
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, ret+0(FP)
	RET

