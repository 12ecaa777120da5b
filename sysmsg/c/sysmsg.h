/*
 * sysmsg.h: the memory shared between the sentry and one stub process.
 *
 * The sentry creates one memfd per stub process and maps it whole. The stub
 * maps the same memfd at SYSMSG_REGION in two parts:
 *
 *   read-only  [SYSMSG_REGION, +SYSMSG_RO_SIZE)   control page, thread filters
 *   read-write [SYSMSG_RW_BASE, +SYSMSG_RW_SIZE)  response page, thread slots
 *
 * Everything in the read-write part can be written by application code, so
 * the sentry treats it as untrusted input. The read-only part holds what the
 * stub must be able to trust: syscall-thread requests and seccomp programs.
 *
 * platform/systrap/layout_test.go compiles this header and checks that the
 * Go view (sysmsg/sysmsg.go) agrees with every offset and constant here.
 */
#ifndef SYSMSG_H
#define SYSMSG_H

#include <stdint.h>

#define SYSMSG_REGION          0x7ff010000000UL
#define SYSMSG_RO_SIZE         0x1000000UL   /* 16 MiB, sparse */
#define SYSMSG_RW_BASE         (SYSMSG_REGION + SYSMSG_RO_SIZE)
#define SYSMSG_MAX_THREADS     4096
#define SYSMSG_SLOT_SIZE       0x10000UL     /* 64 KiB, and aligned to it */
#define SYSMSG_THREADS_OFFSET  SYSMSG_SLOT_SIZE /* from SYSMSG_RW_BASE */
#define SYSMSG_RW_SIZE         (SYSMSG_THREADS_OFFSET + SYSMSG_MAX_THREADS * SYSMSG_SLOT_SIZE)
#define SYSMSG_REGION_SIZE     (SYSMSG_RO_SIZE + SYSMSG_RW_SIZE)

/* Seccomp program slots, one per thread, in the read-only part. */
#define SYSMSG_FILTERS_OFFSET  0x1000UL
#define SYSMSG_FILTER_SLOT     0x1000UL      /* 512 BPF instructions */

/* Within a thread slot: the message page, then the signal stack. */
#define SYSMSG_ALTSTACK_OFFSET 0x1000UL
#define SYSMSG_ALTSTACK_SIZE   (SYSMSG_SLOT_SIZE - SYSMSG_ALTSTACK_OFFSET)

/* sysmsg.state values. 0 is written by the kernel when the thread exits
 * (CLONE_CHILD_CLEARTID points at state). */
#define SYSMSG_STATE_DEAD   0
#define SYSMSG_STATE_EVENT  1 /* stub -> sentry: a signal frame is ready */
#define SYSMSG_STATE_RESUME 2 /* sentry -> stub: return into the application */
#define SYSMSG_STATE_EXIT   3 /* sentry -> stub: the thread should exit */

/* sysmsg.set_bases bits. */
#define SYSMSG_SET_FS 1
#define SYSMSG_SET_GS 2

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
	uint64_t new_fs_base;    /* applied before resuming, see set_bases */
	uint64_t new_gs_base;
	uint32_t set_bases;
	uint32_t pad;
};

/* Kinds of syscall-thread request. */
#define STUB_REQ_SYSCALL    1 /* run sysno(args) */
#define STUB_REQ_MMAP_FD    2 /* receive an fd, mmap(args with arg4 = fd), close it */
#define STUB_REQ_NEW_THREAD 3 /* start an application thread in slot args[0] */
#define STUB_REQ_FORK       4 /* receive memfd+socket, fork a copy-on-write child */

/* At offset 0 of the read-only part. Written only by the sentry. */
struct stub_control {
	uint32_t seq;            /* futex word; request n has seq n, starting at 1 */
	uint32_t kind;
	uint64_t sysno;
	uint64_t args[6];
	uint32_t spin_limit;     /* how long either side spins before sleeping */
	uint32_t has_fsgsbase;   /* rdfsbase/wrfsbase are usable */
};

/* At offset 0 of the read-write part. Written by the syscall thread. */
struct stub_response {
	uint32_t seq;            /* futex word; equals the request seq when done */
	uint32_t pad;
	int64_t ret;             /* result or -errno */
};

#endif
