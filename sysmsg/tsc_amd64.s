#include "textflag.h"

// func rdtsc() uint64
//
// RDTSC reads the time-stamp counter, which on the hosts runsc-lite runs
// on is constant-rate and synchronized across CPUs (constant_tsc,
// nonstop_tsc); the stub's spins read the same counter.
TEXT ·rdtsc(SB), NOSPLIT, $0-8
	RDTSC
	SHLQ $32, DX
	ORQ DX, AX
	MOVQ AX, ret+0(FP)
	RET
