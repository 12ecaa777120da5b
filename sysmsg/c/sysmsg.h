/*
 * sysmsg.h: the memory shared between the sentry and one stub process.
 *
 * The sentry creates two memfds per stub process and maps both whole. The
 * stub maps them at SYSMSG_REGION:
 *
 *   read-only  [SYSMSG_REGION, +SYSMSG_RO_SIZE)   control page, thread set-up,
 *                                                 trap table
 *   read-write [SYSMSG_RW_BASE, +SYSMSG_RW_SIZE)  response page, thread slots
 *
 * and the trap table of the read-only memfd a second time, read and execute,
 * low in the address space at SYSMSG_PATCH_TABLE (see "Syscall-site
 * patching" below).
 *
 * Everything in the read-write part can be written by application code, so
 * the sentry treats it as untrusted input. The read-only part holds what the
 * stub must be able to trust: syscall-thread requests, thread set-up blocks
 * and seccomp programs. Its memfd is sealed against writable mappings
 * (F_SEAL_FUTURE_WRITE) before a stub sees it, so not even a stub thread
 * that ran attacker code could make it writable.
 *
 * sysmsg/layout_test.go compiles this header and checks that the Go view
 * (sysmsg/sysmsg.go) agrees with every offset and constant here; the
 * _Static_asserts in handler.c check the offsets the assembly uses.
 */
#ifndef SYSMSG_H
#define SYSMSG_H

#define SYSMSG_REGION          0x7ff010000000
#define SYSMSG_RO_SIZE         0x1020000     /* 16 MiB and 128 KiB, sparse */
#define SYSMSG_RW_BASE         (SYSMSG_REGION + SYSMSG_RO_SIZE)
#define SYSMSG_MAX_THREADS     4096
#define SYSMSG_SLOT_SIZE       0x10000       /* 64 KiB, and aligned to it */
#define SYSMSG_THREADS_OFFSET  SYSMSG_SLOT_SIZE /* from SYSMSG_RW_BASE */
#define SYSMSG_RW_SIZE         (SYSMSG_THREADS_OFFSET + SYSMSG_MAX_THREADS * SYSMSG_SLOT_SIZE)
#define SYSMSG_REGION_SIZE     (SYSMSG_RO_SIZE + SYSMSG_RW_SIZE)

/* Thread set-up blocks, one per thread slot, in the read-only part. */
#define SYSMSG_SETUP_OFFSET    0x1000
#define SYSMSG_SETUP_SIZE      0x1000        /* header and 504 BPF instructions */

/* Within a thread slot: the message page, then the signal stack. */
#define SYSMSG_ALTSTACK_OFFSET 0x1000
#define SYSMSG_ALTSTACK_SIZE   (SYSMSG_SLOT_SIZE - SYSMSG_ALTSTACK_OFFSET)

/*
 * Syscall-site patching. The sentry rewrites an application's
 * `mov $nr,%eax; syscall` (b8 imm32 0f 05) into `jmp *trap` (ff 24 25 abs32),
 * an indirect jump through the first quadword of a trap: 64 bytes of the
 * trap table, which the sentry writes (it is part of the read-only memfd)
 * and every stub maps read+exec at SYSMSG_PATCH_TABLE. That address is
 * below 2 GiB, so a 32-bit absolute operand reaches it, and the third byte
 * of every address in it is 0x06, an invalid opcode, which is what makes a
 * rewrite in three single-byte-safe steps safe for other threads
 * (platform/systrap/patch.go). A trap (offsets from its start):
 *
 *   0   .quad trap+16        the site jumps through this
 *   8   .quad site+7         where the application continues
 *   16  lahf; seto %al        the application's arithmetic flags into %ax
 *   20  lea -27(%rip),%rcx    %rcx = the trap
 *   27  jmp *(table)          the first quadword of the table: patch_entry
 *   34  mov $nr,%eax; syscall the fallback: an ordinary trapped syscall
 *   41  jmp *(trap+8)
 *   48  .long nr
 *
 * A site whose number comes from a register, a syscall followed by one
 * of a few instructions of 5 to 8 bytes that use no %rip (the tail:
 * `cmp $imm,%rax` in Go's Syscall6, glibc's syscall(2) and gcc's inline
 * syscalls; `mov %rax,disp(%rsp)` in Go's rawSyscallNoError), becomes
 * `jmp *trap(,%riz,8)` (ff 24 e5 abs32) over the syscall and the tail's
 * first five bytes. Its trap (the "register trap"):
 *
 *   0   .quad trap+16          the site jumps through this
 *   8   .quad site+2+n         where the application continues
 *   16  mov %eax,%ecx; lahf; seto %al; shl $16,%rcx; mov %ax,%cx;
 *       xchg %rax,%rcx         %rax = nr << 16 | the flags as above
 *   31  lea -38(%rip),%rcx     %rcx = the trap
 *   38  jmp *(table)
 *   45  syscall                the fallback (patch_entry has put the number
 *                              back in %rax and the flags in place)
 *   47  the tail (n bytes)     the site's, where the syscall returns (the
 *                              patch frame's rip)
 *   47+n jmp *(trap+8)
 *   63  .byte n
 *
 * patch_entry tells the two kinds apart by the first byte of the code:
 * SYSMSG_TRAP_LAHF for the mov form. The jump's third byte, 0xe5, is
 * `in $imm8,%eax` on its own, which faults in user mode: a thread that
 * returns to site+2 from a syscall it made before the rewrite (or jumps
 * there) faults before any side effect, and the sentry sends it to the
 * tail.
 *
 * patch_entry (stub_amd64.S) writes the application's registers as a signal
 * frame would into the slot's patch frame, at the bottom of its signal
 * stack, and hands off on the state word as the signal handler does; the
 * sentry cannot tell the two apart except by where the frame is. It returns
 * with rt_sigreturn on that frame.
 */
#define SYSMSG_PATCH_TABLE        0x60000
#define SYSMSG_PATCH_TABLE_SIZE   0x10000
#define SYSMSG_PATCH_TABLE_OFFSET 0x1010000 /* in the read-only memfd */
#define SYSMSG_TRAP_SIZE          64
#define SYSMSG_TRAP_RET           8
#define SYSMSG_TRAP_CODE          16
#define SYSMSG_TRAP_FALLBACK      34
#define SYSMSG_TRAP_NR            48
#define SYSMSG_TRAP_LAHF          0x9f /* the mov form's first code byte */
#define SYSMSG_TRAP_REG_FALLBACK  45   /* the register trap's fallback */
#define SYSMSG_TRAP_REG_TAIL      47   /* the register trap's cmp */
#define SYSMSG_TRAP_TAIL_LEN      63   /* the register trap's tail's length */
/* The patch frame, laid out as the kernel's struct rt_sigframe (pretcode,
 * ucontext), which is what rt_sigreturn reads; then the siginfo, at a cache
 * line of its own (the part the patch entry writes, which the sentry
 * reads, is one line); then the XSAVE area, 64-byte aligned. */
#define SYSMSG_PATCH_FRAME        SYSMSG_ALTSTACK_OFFSET /* in the slot */
#define SYSMSG_PF_UC              8
#define SYSMSG_PF_MC              (SYSMSG_PF_UC + 40)   /* uc_mcontext */
#define SYSMSG_PF_SIGMASK         (SYSMSG_PF_UC + 296)  /* uc_sigmask */
#define SYSMSG_PF_SI              384                   /* siginfo */
#define SYSMSG_PF_FP              512
/* The patch entry's own stack, near the top of the signal stack. */
#define SYSMSG_PATCH_STACK        (SYSMSG_SLOT_SIZE - 64)

/* sysmsg.state values. 0 is written by the kernel when the thread exits
 * (CLONE_CHILD_CLEARTID points at state). */
#define SYSMSG_STATE_DEAD   0
#define SYSMSG_STATE_EVENT  1 /* stub -> sentry: a signal frame is ready */
#define SYSMSG_STATE_RESUME 2 /* sentry -> stub: return into the application */
#define SYSMSG_STATE_EXIT   3 /* sentry -> stub: the thread should exit */

/* Offset of sysmsg.self, which patch_entry_gs loads through %gs. */
#define SYSMSG_SELF 80
/* Offset of sysmsg.sleep, which the patch entry's spin polls. */
#define SYSMSG_SLEEP 60
/* Offset of sysmsg.call_ret (for attack tests that forge it). */
#define SYSMSG_CALL_RET 144
/* Offsets of sysmsg.stub_cpu and sysmsg.sentry_cpu, and what sentry_cpu
 * holds until the sentry has taken the event (no CPU's number). */
#define SYSMSG_STUB_CPU   48
#define SYSMSG_SENTRY_CPU 52
#define SYSMSG_CPU_NONE   0xffffffff
/* What stub_cpu holds when the stub cannot tell its CPU: never a
 * sentry_cpu value, so the two never match. */
#define SYSMSG_CPU_UNKNOWN 0xfffffffe
/* The selector of the GDT entry whose segment limit is the CPU's number
 * (and NUMA node above bit 12), which Linux's vDSO getcpu reads with lsl:
 * GDT_ENTRY_CPUNODE (15) * 8, RPL 3. */
#define SYSMSG_CPUNODE_SEG 0x7b

/* sysmsg.set_bases bits. */
#define SYSMSG_SET_FS 1
#define SYSMSG_SET_GS 2
#define SYSMSG_SET_FP 4 /* the sentry wrote the frame's FP state: a patched
			 * syscall's return loads it (rt_sigreturn always does) */

/* Kinds of syscall-thread request. */
#define STUB_REQ_SYSCALL    1 /* run sysno(args) */
#define STUB_REQ_MMAP_FD    2 /* receive an fd, mmap(args with arg4 = fd), close it */
#define STUB_REQ_NEW_THREAD 3 /* start an application thread in slot args[0] */
#define STUB_REQ_FORK       4 /* receive socket+memfds, fork a copy-on-write child */
#define STUB_REQ_BATCH      5 /* receive args[1] fds, run the args[0] mapping calls of the batch */

/* A batch (STUB_REQ_BATCH): up to STUB_MAX_BATCH struct stub_call in the
 * control page at STUB_CONTROL_BATCH, and up to STUB_BATCH_MAX_FDS
 * descriptors the sentry sends first. */
#define STUB_CONTROL_BATCH  0x400
#define STUB_MAX_BATCH      32
#define STUB_BATCH_MAX_FDS  8
#define STUB_CALL_SIZE      64
#define STUB_CALL_SYSNO     0
#define STUB_CALL_ARGS      8
#define STUB_CALL_FD        56

/* A stopped thread (the handler, the patch entry) polls its state word
 * for spin_limit time-stamp counter ticks for the sentry's answer before it
 * sleeps, as the syscall thread polls for its next request. Why that long:
 * handler.c, sysmsg_handler. */

/* Offsets the syscall thread's assembly uses (checked in handler.c). */
#define STUB_CONTROL_SEQ      0
#define STUB_CONTROL_KIND     4
#define STUB_CONTROL_SYSNO    8
#define STUB_CONTROL_ARGS     16
#define STUB_CONTROL_SPIN     64
#define STUB_CONTROL_FSGSBASE 68
#define STUB_CONTROL_FPX_SW   72
#define STUB_RESPONSE_SEQ     0
#define STUB_RESPONSE_DONE    4
#define STUB_RESPONSE_RET     8
#define SYSMSG_SETUP_PROG     0   /* struct sock_fprog */
#define SYSMSG_SETUP_STACK    16  /* stack_t */
#define SYSMSG_SETUP_INSNS    64  /* struct sock_filter[] */

/* The syscall thread's scratch space in the response page: it keeps no
 * stack, so the buffers of its sendmsg/recvmsg/clone live here, where
 * application code can write them too; see stub_amd64.S for why that only
 * ever hurts the application's own process. */
#define STUB_SCRATCH_MSGHDR    0x40  /* struct msghdr, 56 bytes */
#define STUB_SCRATCH_IOV       0x80  /* struct iovec */
#define STUB_SCRATCH_CMSG      0xa0  /* control buffer */
#define STUB_SCRATCH_CMSG_SIZE 0x20  /* CMSG_SPACE(3 * sizeof(int)) */
#define STUB_SCRATCH_DATA      0xc0  /* the message's one data byte */
#define STUB_SCRATCH_PIDFD     0xc8  /* clone(CLONE_PIDFD) stores the pidfd here */
#define STUB_SCRATCH_BATCH_CMSG      0x100 /* a batch's control buffer */
#define STUB_SCRATCH_BATCH_CMSG_SIZE 0x30  /* CMSG_SPACE(STUB_BATCH_MAX_FDS * sizeof(int)) */

#ifndef __ASSEMBLER__
#include <stdint.h>

/* One per application thread, at the start of its slot. */
struct sysmsg {
	uint32_t state;          /* futex word */
	uint32_t sentry_waiting; /* the sentry sleeps on state */
	uint32_t stub_waiting;   /* the stub sleeps on state */
	uint32_t signo;          /* signal that caused the event */
	uint64_t siginfo;        /* stub address of the frame's siginfo */
	uint64_t ucontext;       /* stub address of the frame's ucontext */
	uint64_t fs_base;        /* at the event, when the CPU has FSGSBASE */
	uint64_t gs_base;
	/* The words every hand-off reads or writes share the state's cache
	 * line: each line the two sides both write crosses between their
	 * CPUs at every round trip. */
	uint32_t stub_cpu;       /* the CPU the thread published its event on
				  * (SYSMSG_CPU_UNKNOWN: cannot tell) */
	uint32_t sentry_cpu;     /* the CPU the sentry took the event on;
				  * SYSMSG_CPU_NONE until it has (or when it
				  * cannot tell) */
	uint32_t set_bases;
	uint32_t sleep;          /* nonzero: the sentry's answer will be long
				  * (the task waits in the sentry), so the
				  * stopped thread sleeps rather than spins */
	uint64_t new_fs_base;    /* applied before resuming, see set_bases */
	uint64_t new_gs_base;
	uint64_t self;           /* the slot's own address, written by the
				  * sentry: without FSGSBASE, patch_entry_gs
				  * finds its slot with a load through %gs */
	uint64_t call_nr;        /* a mapping change to make before returning
				  * into the application, or 0 (written by
				  * the sentry, cleared by the handler) */
	uint64_t call_args[6];
	int64_t call_ret;        /* its result, written by the handler */
	uint32_t call_fd;        /* nonzero: the call maps a file, whose
				  * descriptor the sentry sent ahead on the
				  * control socket and the handler receives
				  * as arg4 (cleared by the handler) */
	uint32_t pad;
};

/* At offset 0 of the read-only part. Written only by the sentry: a request
 * is published by storing its seq last, and seq is 0 while the sentry writes
 * one, so the syscall thread can tell a request from a torn one. */
struct stub_control {
	uint32_t seq;            /* futex word; request n has seq n, never 0 */
	uint32_t kind;
	uint64_t sysno;
	uint64_t args[6];
	uint32_t spin_limit;     /* how long either side spins before sleeping, in TSC ticks */
	uint32_t has_fsgsbase;   /* rdfsbase/wrfsbase are usable */
	uint8_t fpx_sw[48];      /* struct _fpx_sw_bytes of the host's signal
				  * frames, for the patch frame's XSAVE area */
};

/* One call of a batch: a mapping call as STUB_REQ_SYSCALL runs it, whose
 * arg4 is the batch's fd-th descriptor unless fd is -1. */
struct stub_call {
	uint64_t sysno;
	uint64_t args[6];
	int32_t fd;
	uint32_t pad;
};

/* At offset 0 of the read-write part. Written by the syscall thread. */
struct stub_response {
	uint32_t seq;            /* futex word; equals the request seq when done */
	uint32_t done;           /* a batch's calls that succeeded */
	int64_t ret;             /* result or -errno */
};

/* What a new application thread passes to sigaltstack and seccomp before it
 * runs any application code; written by the sentry. */
struct thread_setup {
	uint16_t prog_len;       /* struct sock_fprog: length, */
	uint16_t pad0[3];
	uint64_t prog_filter;    /* and the address of insns */
	uint64_t ss_sp;          /* stack_t: the slot's signal stack */
	int32_t ss_flags;
	uint32_t pad1;
	uint64_t ss_size;
	uint64_t pad2[3];
	uint64_t insns[];        /* struct sock_filter */
};
#endif

#endif
