/*
 * A stub process: the main thread becomes the syscall thread, which runs the
 * host syscalls the sentry asks for (mmap, munmap, ..., new application
 * threads, fork). It takes requests only from the read-only control page,
 * and only the one with the next sequence number, so application code, which
 * can write everything else the stub can, can neither forge nor replay one.
 */
#include "socket.h"

#include <asm-generic/errno.h>
#include <asm/signal.h>
#include <linux/capability.h>
#include <linux/futex.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/membarrier.h>
#include <linux/seccomp.h>

void sysmsg_handler(int signo, void *siginfo, void *ucontext);

int stub_forkserver_pid;       /* set by the forkserver before it clones */
static uint64_t stub_clone_flags; /* namespace flags this process was made with */

struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

struct kernel_stack {
	void *sp;
	int flags;
	size_t size;
};

struct filter_slot {
	uint32_t len;
	uint32_t pad;
	struct sock_filter insns[];
};

#define SA_SIGINFO_  0x00000004
#define SA_ONSTACK_  0x08000000
#define SA_RESTORER_ 0x04000000

#define THREAD_CLONE_FLAGS                                               \
	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | \
	 CLONE_SYSVSEM | CLONE_CHILD_CLEARTID)
#define FORK_CLONE_FLAGS (CLONE_PARENT | CLONE_PIDFD | SIGCHLD)

static void serve(void) __attribute__((noreturn));

static uintptr_t thread_slot(long slot)
{
	return SYSMSG_RW_BASE + SYSMSG_THREADS_OFFSET + (uintptr_t)slot * SYSMSG_SLOT_SIZE;
}

/* Dies unless our parent is still the forkserver: PR_SET_PDEATHSIG does not
 * fire for a parent that died before it was set. In a new PID namespace the
 * parent is invisible (getppid is 0) and the check cannot be made. */
static void die_with_forkserver(void)
{
	sys2(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL);
	if (stub_clone_flags & CLONE_NEWPID)
		return;
	if (sys0(__NR_getppid) != stub_forkserver_pid)
		stub_die();
}

/* Maps the memfd shared with the sentry and closes every other descriptor
 * but the control socket. */
static void map_shared_region(int memfd)
{
	long r = sys6(__NR_mmap, SYSMSG_REGION, SYSMSG_RO_SIZE, 1 /* PROT_READ */,
		      0x11 /* MAP_SHARED|MAP_FIXED */, memfd, 0);
	if (r != (long)SYSMSG_REGION)
		stub_die();
	r = sys6(__NR_mmap, SYSMSG_RW_BASE, SYSMSG_RW_SIZE, 3 /* PROT_READ|PROT_WRITE */,
		 0x11, memfd, SYSMSG_RO_SIZE);
	if (r != (long)SYSMSG_RW_BASE)
		stub_die();
	sys3(__NR_close_range, STUB_CTL_FD + 1, ~0U, 0);
}

static void apply_limits(const struct fs_request *req)
{
	for (uint32_t i = 0; i < req->nrlimits; i++) {
		uint64_t lim[2] = {req->rlimits[i].cur, req->rlimits[i].max};
		if (sys4(__NR_prlimit64, 0, req->rlimits[i].resource, lim, 0) < 0)
			stub_die();
	}
	if ((req->clone_flags & CLONE_NEWUTS) && req->hostname[0]) {
		size_t n = 0;
		while (n < sizeof(req->hostname) - 1 && req->hostname[n])
			n++;
		if (sys2(__NR_sethostname, req->hostname, n) < 0)
			stub_die();
	}
	if (req->keep_caps != ~(uint64_t)0) {
		for (int cap = 0; cap < 64; cap++)
			if (!(req->keep_caps & ((uint64_t)1 << cap)))
				sys2(__NR_prctl, PR_CAPBSET_DROP, cap);
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		if (sys2(__NR_capget, &h, d) < 0)
			stub_die();
		for (int i = 0; i < 2; i++) {
			uint32_t keep = (uint32_t)(req->keep_caps >> (32 * i));
			d[i].effective &= keep;
			d[i].permitted &= keep;
			d[i].inheritable &= keep;
		}
		if (sys2(__NR_capset, &h, d) < 0)
			stub_die();
	}
}

/* The sentry answers the application's membarrier with the host's
 * MEMBARRIER_CMD_GLOBAL_EXPEDITED, which reaches the CPUs running threads of
 * registered processes: every stub registers (forked stubs inherit it). An
 * older host without it just leaves the sentry's QUERY answer empty. */
static void register_membarrier(void)
{
	sys3(__NR_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0);
}

static void install_handlers(void)
{
	static const int signals[] = {SIGSYS, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGCHLD};
	struct kernel_sigaction sa = {
		(void *)sysmsg_handler, SA_SIGINFO_ | SA_ONSTACK_ | SA_RESTORER_,
		(void *)stub_restorer, ~(uint64_t)0,
	};
	for (unsigned i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (sys4(__NR_rt_sigaction, signals[i], &sa, 0, 8) < 0)
			stub_die();
}

void stub_process_main(struct fs_request *req, int ctl, int memfd, const struct fs_init *init)
{
	stub_clone_flags = req->clone_flags;
	die_with_forkserver();
	if (sys3(__NR_dup3, ctl, STUB_CTL_FD, 0) < 0)
		stub_die();
	map_shared_region(memfd);
	apply_limits(req);
	register_membarrier();
	install_handlers();
	uint64_t all = ~(uint64_t)0;
	sys4(__NR_rt_sigprocmask, SIG_SETMASK, &all, 0, 8);
	struct sock_fprog prog = {(unsigned short)init->filter_len, (struct sock_filter *)init->filter};
	if (sys2(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1) < 0 ||
	    sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		stub_die();
	serve();
}

/* A stub process for the ptrace platform: no shared region, no signal
 * handlers, no seccomp filter (PTRACE_SYSEMU stops every application syscall
 * before it runs). It waits in ptrace_wait, with no signal blocked so that
 * the sentry's interrupts stop it, until the sentry seizes it; from then on
 * it runs stub code only for remote syscalls the sentry sets up. */
void stub_ptrace_main(struct fs_request *req, int ctl)
{
	uint64_t none = 0;

	stub_clone_flags = req->clone_flags;
	die_with_forkserver();
	if (sys3(__NR_dup3, ctl, STUB_CTL_FD, 0) < 0)
		stub_die();
	sys3(__NR_close_range, STUB_CTL_FD + 1, ~0U, 0);
	apply_limits(req);
	register_membarrier();
	sys4(__NR_rt_sigprocmask, SIG_SETMASK, &none, 0, 8);
	ptrace_wait();
}

/* First code of a new application thread, on its slot's stack. It ends in a
 * trapped syscall; the sentry answers that first stop by loading the
 * application's registers into the frame, so this never returns. */
static void app_thread_start(long slot)
{
	uintptr_t base = thread_slot(slot);
	const struct filter_slot *f = (const struct filter_slot *)(SYSMSG_REGION +
		SYSMSG_FILTERS_OFFSET + (uintptr_t)slot * SYSMSG_FILTER_SLOT);
	struct kernel_stack ss = {(void *)(base + SYSMSG_ALTSTACK_OFFSET), 0, SYSMSG_ALTSTACK_SIZE};
	struct sock_fprog prog = {(unsigned short)f->len, (struct sock_filter *)f->insns};
	uint64_t none = 0;

	if (sys2(__NR_sigaltstack, &ss, 0) < 0 ||
	    sys4(__NR_rt_sigprocmask, SIG_SETMASK, &none, 0, 8) < 0 ||
	    sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		for (;;)
			sys1(__NR_exit, 1);
	for (;;)
		sys0(__NR_getpid); /* traps */
}

static long new_thread(long slot)
{
	if (slot < 0 || slot >= SYSMSG_MAX_THREADS)
		return -EINVAL;
	const struct filter_slot *f = (const struct filter_slot *)(SYSMSG_REGION +
		SYSMSG_FILTERS_OFFSET + (uintptr_t)slot * SYSMSG_FILTER_SLOT);
	if (f->len == 0 || f->len > (SYSMSG_FILTER_SLOT - 8) / sizeof(struct sock_filter))
		return -EINVAL;
	uintptr_t base = thread_slot(slot);
	struct sysmsg *m = (struct sysmsg *)base;
	memset(m, 0, sizeof(*m));
	m->state = SYSMSG_STATE_RESUME;
	return stub_clone_thread(THREAD_CLONE_FLAGS, (void *)(base + SYSMSG_SLOT_SIZE),
				 &m->state, app_thread_start, slot);
}

/* A copy-on-write copy of this process, made a child of the forkserver
 * (CLONE_PARENT) so that it outlives us. The sentry sends the child's control
 * socket and memfd first; the child maps the memfd over the shared region it
 * inherited, and the parent returns the child's pidfd to the sentry. */
static long fork_process(void)
{
	int fds[2];
	char b;
	long n = stub_recv_fds(STUB_CTL_FD, &b, 1, fds, 2);
	if (n <= 0)
		return n < 0 ? n : -EBADMSG;
	int pidfd = -1;
	long pid = sys6(__NR_clone, FORK_CLONE_FLAGS, 0, &pidfd, 0, 0, 0);
	if (pid == 0) {
		die_with_forkserver();
		if (sys3(__NR_dup3, fds[0], STUB_CTL_FD, 0) < 0)
			stub_die();
		map_shared_region(fds[1]);
		serve();
	}
	sys1(__NR_close, fds[0]);
	sys1(__NR_close, fds[1]);
	if (pid < 0)
		return pid;
	int32_t p = (int32_t)pid;
	n = stub_send_fds(STUB_CTL_FD, &p, sizeof(p), &pidfd, 1);
	sys1(__NR_close, pidfd);
	return n < 0 ? n : pid;
}

static long mmap_fd(const uint64_t *a)
{
	int fd;
	char b;
	long n = stub_recv_fds(STUB_CTL_FD, &b, 1, &fd, 1);
	if (n <= 0)
		return n < 0 ? n : -EBADMSG;
	long r = sys6(__NR_mmap, a[0], a[1], a[2], a[3], fd, a[5]);
	sys1(__NR_close, fd);
	return r;
}

static long dispatch(uint32_t kind, uint64_t sysno, const uint64_t *a)
{
	switch (kind) {
	case STUB_REQ_SYSCALL:
		switch (sysno) {
		case __NR_mmap:
		case __NR_munmap:
		case __NR_mprotect:
		case __NR_mremap:
		case __NR_madvise:
		case __NR_msync:
			return sys6(sysno, a[0], a[1], a[2], a[3], a[4], a[5]);
		}
		return -ENOSYS;
	case STUB_REQ_MMAP_FD:
		return mmap_fd(a);
	case STUB_REQ_NEW_THREAD:
		return new_thread((long)a[0]);
	case STUB_REQ_FORK:
		return fork_process();
	}
	return -EINVAL;
}

static void serve(void)
{
	volatile struct stub_control *c = (volatile struct stub_control *)SYSMSG_REGION;
	volatile struct stub_response *r = (volatile struct stub_response *)SYSMSG_RW_BASE;
	uint32_t last = 0;

	for (;;) {
		uint32_t want = last + 1, seq;
		uint32_t spin = c->spin_limit;
		for (uint32_t i = 0; (seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE)) != want; i++) {
			if (i < spin) {
				__asm__ volatile("pause" ::: "memory");
				continue;
			}
			sys4(__NR_futex, &c->seq, FUTEX_WAIT, seq, 0);
		}
		uint64_t args[6];
		for (int i = 0; i < 6; i++)
			args[i] = c->args[i];
		long ret = dispatch(c->kind, c->sysno, args);
		r->ret = ret;
		__atomic_store_n(&r->seq, want, __ATOMIC_SEQ_CST);
		sys3(__NR_futex, &r->seq, FUTEX_WAKE, 1);
		last = want;
	}
}
