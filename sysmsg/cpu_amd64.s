#include "textflag.h"
#include "go_asm.h"

// func cpu() uint32
//
// LSL loads the limit of the segment the selector names and sets ZF when
// the selector is valid: Linux x86-64 puts a per-CPU entry at
// GDT_ENTRY_CPUNODE whose limit is node<<12 | cpu, for the vDSO's getcpu.
// A host without it (ZF clear) gives CPUNone.
TEXT ·cpu(SB), NOSPLIT, $0-4
	MOVL $const_cpunodeSeg, CX
	LSLL CX, AX
	JNZ none
	ANDL $0xfff, AX
	MOVL AX, ret+0(FP)
	RET
none:
	MOVL $const_CPUNone, ret+0(FP)
	RET
