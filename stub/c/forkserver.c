/*
 * The forkserver: the first process the sentry starts from the stub image.
 * It owns nothing but its control socket (fd 3). It reads one fs_init, then
 * answers fs_requests by cloning a child that becomes a fresh, empty stub
 * process (syscall_thread.c), for systrap or for ptrace. It ignores
 * SIGCHLD, so the kernel reaps every child at once: no zombies. It dies with
 * its owner (PR_SET_PDEATHSIG, set by the Go side) and its children die
 * with it.
 */
#include "socket.h"

#include <asm-generic/errno.h>
#include <linux/sched.h>
#include <asm/signal.h>

static struct fs_init init;
static struct fs_request req;

struct kernel_sigaction {
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

#define NAMESPACE_FLAGS \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | \
	 CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP)

static void reply(int pid, int err, int pidfd)
{
	struct fs_reply r = {pid, err};
	stub_send_fds(STUB_CTL_FD, &r, sizeof(r), &pidfd, pidfd >= 0 ? 1 : 0);
}

static int valid(const struct fs_request *r)
{
	return (r->mode == FS_MODE_STUB || r->mode == FS_MODE_PTRACE) && r->nrlimits <= FS_MAX_RLIMITS &&
	       r->nmounts <= FS_MAX_MOUNTS &&
	       (r->clone_flags & ~(uint64_t)NAMESPACE_FLAGS) == 0;
}

void forkserver_main(void)
{
	stub_forkserver_pid = (int)sys0(__NR_getpid);
	long n = stub_recv_fds(STUB_CTL_FD, &init, sizeof(init), 0, 0);
	if (n != sizeof(init) || init.nunmap > FS_MAX_UNMAP ||
	    init.filter_len == 0 || init.filter_len > FS_MAX_FILTER)
		stub_die();
	for (uint32_t i = 0; i < init.nunmap; i++)
		sys2(__NR_munmap, init.unmap[i][0], init.unmap[i][1]);

	struct kernel_sigaction ign = {(void *)1 /* SIG_IGN */, 0, 0, 0};
	sys4(__NR_rt_sigaction, SIGCHLD, &ign, 0, 8);
	reply(0, 0, -1);

	for (;;) {
		int fds[2];
		n = stub_recv_fds(STUB_CTL_FD, &req, sizeof(req), fds, 2);
		if (n == 0)
			sys1(__NR_exit_group, 0);
		if (n < 0) {
			reply(0, (int)-n, -1);
			continue;
		}
		if (n != sizeof(req) || !valid(&req)) {
			sys1(__NR_close, fds[0]);
			sys1(__NR_close, fds[1]);
			reply(0, EINVAL, -1);
			continue;
		}
		int pidfd = -1;
		long pid = sys6(__NR_clone, CLONE_PIDFD | SIGCHLD | req.clone_flags,
				0, &pidfd, 0, 0, 0);
		if (pid == 0 && req.mode == FS_MODE_PTRACE)
			stub_ptrace_main(&req, fds[0]);
		if (pid == 0)
			stub_process_main(&req, fds[0], fds[1], &init);
		sys1(__NR_close, fds[0]);
		sys1(__NR_close, fds[1]);
		if (pid < 0) {
			reply(0, (int)-pid, -1);
			continue;
		}
		reply((int)pid, 0, pidfd);
		sys1(__NR_close, pidfd);
	}
}
