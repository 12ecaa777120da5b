/*
 * A new stub process, set up by C code while it is still only a copy of the
 * forkserver: nothing in it is the application's yet, so it may use a stack
 * and globals. Its last step, stub_serve (stub_amd64.S), is the syscall
 * thread, which uses neither: from then on application threads can write
 * every writable byte of the process.
 */
#include "socket.h"

#include <asm-generic/errno.h>
#include <asm/signal.h>
#include <linux/futex.h>
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/membarrier.h>
#include <linux/mman.h>
#include <linux/seccomp.h>

void sysmsg_handler(int signo, void *siginfo, void *ucontext);

int stub_forkserver_pid; /* set by the forkserver before it clones */

struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

#define SA_SIGINFO_  0x00000004
#define SA_ONSTACK_  0x08000000
#define SA_RESTORER_ 0x04000000

_Static_assert(SYSMSG_SETUP_SIZE == 1 << 12, "stub_amd64.S multiplies by shifting");
_Static_assert(SYSMSG_SLOT_SIZE == 1 << 16, "stub_amd64.S multiplies by shifting");

/* Dies unless our parent is still the forkserver: PR_SET_PDEATHSIG does not
 * fire for a parent that died before it was set. */
static void die_with_forkserver(void)
{
	sys2(__NR_prctl, PR_SET_PDEATHSIG, SIGKILL);
	if (sys0(__NR_getppid) != stub_forkserver_pid)
		stub_die();
}

/* Maps the two memfds of the shared region (read-only, then read-write),
 * the trap table of the read-only one low (sysmsg.h), and closes every descriptor but the control socket. */
static void map_shared_region(int rofd, int rwfd)
{
	long r = sys6(__NR_mmap, SYSMSG_REGION, SYSMSG_RO_SIZE, PROT_READ,
		      MAP_SHARED | MAP_FIXED, rofd, 0);
	if (r != (long)SYSMSG_REGION)
		stub_die();
	r = sys6(__NR_mmap, SYSMSG_RW_BASE, SYSMSG_RW_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, rwfd, 0);
	if (r != (long)SYSMSG_RW_BASE)
		stub_die();
	r = sys6(__NR_mmap, SYSMSG_PATCH_TABLE, SYSMSG_PATCH_TABLE_SIZE, PROT_READ | PROT_EXEC,
		 MAP_SHARED | MAP_FIXED, rofd, SYSMSG_PATCH_TABLE_OFFSET);
	if (r != (long)SYSMSG_PATCH_TABLE)
		stub_die();
	sys3(__NR_close_range, STUB_CTL_FD + 1, ~0U, 0);
}

void stub_apply_rlimits(const struct fs_rlimit *r, uint32_t n)
{
	for (uint32_t i = 0; i < n && i < FS_MAX_RLIMITS; i++) {
		uint64_t lim[2] = {r[i].cur, r[i].max};
		if (sys4(__NR_prlimit64, 0, r[i].resource, lim, 0) < 0)
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

void stub_process_main(const struct fs_request *req, const int fds[3], const struct fs_init *init)
{
	uint64_t all = ~(uint64_t)0;

	die_with_forkserver();
	if (sys3(__NR_dup3, fds[0], STUB_CTL_FD, 0) < 0)
		stub_die();
	map_shared_region(fds[1], fds[2]);
	stub_apply_rlimits(req->rlimits, req->nrlimits);
	register_membarrier();
	install_handlers();
	sys4(__NR_rt_sigprocmask, SIG_SETMASK, &all, 0, 8);
	struct sock_fprog prog = {(unsigned short)init->filter_len, (struct sock_filter *)init->filter};
	stub_enter(&prog, stub_serve);
}

/* A stub process for the ptrace platform: no shared region and no signal
 * handlers; its seccomp filter (PTRACE_SYSEMU stops application syscalls
 * before seccomp sees them) allows only the remote syscalls the sentry runs
 * at ptrace_wait's instruction and traps vsyscall emulation. It waits in
 * ptrace_wait, with no signal blocked so that the sentry's interrupts stop
 * it, until the sentry seizes it. */
void stub_ptrace_main(const struct fs_request *req, int ctl, const struct fs_init *init)
{
	uint64_t none = 0;

	die_with_forkserver();
	if (sys3(__NR_dup3, ctl, STUB_CTL_FD, 0) < 0)
		stub_die();
	sys3(__NR_close_range, STUB_CTL_FD + 1, ~0U, 0);
	stub_apply_rlimits(req->rlimits, req->nrlimits);
	register_membarrier();
	sys4(__NR_rt_sigprocmask, SIG_SETMASK, &none, 0, 8);
	struct sock_fprog prog = {(unsigned short)init->filter_len, (struct sock_filter *)init->filter};
	stub_enter(&prog, ptrace_wait);
}
