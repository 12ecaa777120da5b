/*
 * stub.h: declarations shared by the stub program's C files.
 *
 * The stub runs without libc: every system call goes through one of the
 * assembly entry points in stub_amd64.S, each of which has a single syscall
 * instruction at a known address, so that seccomp filters can tell the
 * stub's roles apart by instruction pointer (see platform/systrap/filters.go).
 */
#ifndef STUB_H
#define STUB_H

#include <stdint.h>
#include <stddef.h>
#include <asm/unistd.h>
#include <linux/filter.h>

#include "../../sysmsg/c/sysmsg.h"

/* The stub image is linked here (stub.ld); see also SYSMSG_REGION. */
#define STUB_IMAGE_BASE 0x7ff000000000UL

/* File descriptors of a stub process. */
#define STUB_CTL_FD 3 /* SOCK_SEQPACKET to the sentry (forkserver: to its owner) */

/* Forkserver protocol. */
#define FS_MODE_STUB    1   /* start an empty stub process */
#define FS_MODE_PTRACE  2   /* start a stub process that waits to be traced */
#define FS_MODE_REAP    3   /* reap the exited child whose pidfd comes along */
#define FS_MAX_RLIMITS  16
#define FS_MAX_UNMAP    32
#define FS_MAX_FILTER   512
#define FS_MAX_VDSO     8192

/* fs_init.flags */
#define FS_INIT_CONFINE 1   /* empty root, hostname, no privileges, own filter */
#define FS_INIT_VDSO    2   /* the sandbox's vDSO replaces the host's; its
                             * parameters page's memfd comes along */

struct fs_rlimit {
	uint32_t resource;
	uint32_t pad;
	uint64_t cur;
	uint64_t max;
};

/* Sent once, first thing, by the forkserver's owner. */
struct fs_init {
	uint64_t unmap[FS_MAX_UNMAP][2]; /* start, length */
	uint32_t nunmap;
	uint32_t flags;
	char hostname[72];               /* with FS_INIT_CONFINE, when not empty */
	uint32_t nrlimits;               /* for the forkserver, and so every stub */
	uint32_t own_filter_len;         /* with FS_INIT_CONFINE: the forkserver's program */
	struct fs_rlimit rlimits[FS_MAX_RLIMITS];
	uint32_t filter_len;             /* what every stub process installs */
	uint32_t pad;
	struct sock_filter own_filter[FS_MAX_FILTER];
	struct sock_filter filter[FS_MAX_FILTER];
	/* With FS_INIT_CONFINE, nanoseconds added to CLOCK_MONOTONIC and
	 * CLOCK_BOOTTIME in a time namespace of the stubs' own; none if both
	 * are 0. */
	int64_t clock_offsets[2];
	/* With FS_INIT_VDSO: the parameters page is mapped read-only (and
	 * shared, so the sentry's writes show) at vdso_params, and vdso_len
	 * bytes of vdso at vdso_addr, read and execute only, after the
	 * unmapping. */
	uint64_t vdso_params;
	uint64_t vdso_addr;
	uint32_t vdso_len;
	uint32_t pad2;
	uint8_t vdso[FS_MAX_VDSO];
};

/* One per request. FS_MODE_STUB carries the control socket and the two
 * memfds of the shared region as SCM_RIGHTS, FS_MODE_PTRACE the control
 * socket, FS_MODE_REAP a pidfd. */
struct fs_request {
	uint32_t mode;
	uint32_t nrlimits;
	struct fs_rlimit rlimits[FS_MAX_RLIMITS];
};

/* The answer, with the child's pidfd as SCM_RIGHTS for a new stub. */
struct fs_reply {
	int32_t pid; /* in the forkserver's PID namespace: informative only */
	int32_t err; /* positive errno */
};

/* stub_amd64.S */
long stub_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
long handler_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
void stub_restorer(void);
void stub_serve(void) __attribute__((noreturn));
void ptrace_wait(void) __attribute__((noreturn));
void stub_enter(const struct sock_fprog *prog, void (*loop)(void)) __attribute__((noreturn));

/* syscall_thread.c */
extern int stub_forkserver_pid;
void stub_process_main(const struct fs_request *req, const int fds[3],
		       const struct fs_init *init) __attribute__((noreturn));
void stub_ptrace_main(const struct fs_request *req, int ctl,
		      const struct fs_init *init) __attribute__((noreturn));
void stub_apply_rlimits(const struct fs_rlimit *r, uint32_t n);

/* freestanding.c */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);

#define sys0(nr) stub_syscall(nr, 0, 0, 0, 0, 0, 0)
#define sys1(nr, a) stub_syscall(nr, (long)(a), 0, 0, 0, 0, 0)
#define sys2(nr, a, b) stub_syscall(nr, (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(nr, a, b, c) stub_syscall(nr, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(nr, a, b, c, d) stub_syscall(nr, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sys6(nr, a, b, c, d, e, f) \
	stub_syscall(nr, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), (long)(f))

static inline void stub_die(void)
{
	for (;;)
		sys1(__NR_exit_group, 127);
}

#endif
