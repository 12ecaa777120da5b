/*
 * The forkserver: the first process the sentry starts from the stub image,
 * never in an application's address space. It owns nothing but its control
 * socket (fd 3). It reads one fs_init, confines itself (below), then answers
 * fs_requests: a new stub process (a clone that becomes a fresh, empty stub,
 * syscall_thread.c), for systrap or for ptrace, or the reaping of one that
 * exited.
 *
 * Confinement (FS_INIT_CONFINE), for itself and so for every stub process:
 * the sentry started it in new user, pid, mount, ipc, uts, net and cgroup
 * namespaces, as root of its user namespace only (mapped to an unprivileged
 * host uid). It pivots into an empty, read-only tmpfs and detaches the old
 * root, sets the hostname, its rlimits, drops every capability, and installs
 * its own seccomp program with no_new_privs. It is the init of its PID
 * namespace: when it dies, the kernel kills every stub process with it.
 *
 * It does not reap on its own: a stub that exited stays a zombie, and its
 * pid is not reused, until the sentry, which may still hold the pid for
 * process_vm_readv or a signal, asks for it with FS_MODE_REAP.
 */
#include "socket.h"

#include <asm-generic/errno.h>
#include <linux/capability.h>
#include <linux/mount.h>

#define MNT_DETACH 2 /* <sys/mount.h>, which needs libc */
#include <linux/prctl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <linux/wait.h>
#include <asm/signal.h>

static struct fs_init init;
static struct fs_request req;

static void reply(int pid, int err, int pidfd)
{
	struct fs_reply r = {pid, err};
	stub_send_fds(STUB_CTL_FD, &r, sizeof(r), &pidfd, pidfd >= 0 ? 1 : 0);
}

/* pivot_root into an empty read-only tmpfs mounted over a directory that
 * every root has, then detach the old root. */
static long empty_root(int *step)
{
	static const char *const dirs[] = {"/proc", "/tmp", "/dev", "/"};
	const unsigned long flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY;
	long r = sys6(__NR_mount, 0, "/", 0, MS_REC | MS_PRIVATE, 0, 0);
	if (r < 0)
		return r;
	*step = 10;
	for (unsigned i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		r = sys6(__NR_mount, "runsc-lite-stub", dirs[i], "tmpfs", flags,
			 "size=4k,nr_inodes=1,mode=0555", 0);
		if (r == 0) {
			r = sys1(__NR_chdir, dirs[i]);
			break;
		}
	}
	if (r < 0)
		return r;
	*step = 11;
	if ((r = sys2(__NR_pivot_root, ".", ".")) < 0)
		return r;
	*step = 12;
	if (
	    (r = sys2(__NR_umount2, ".", MNT_DETACH)) < 0)
		return r;
	return sys1(__NR_chdir, "/");
}

/* put_offset appends "name secs nsecs\n" for an offset of ns nanoseconds,
 * with 0 <= nsecs < 1e9, as /proc/PID/timens_offsets reads it. */
static char *put_offset(char *p, const char *name, int64_t ns)
{
	int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
	if (nsec < 0) {
		sec--;
		nsec += 1000000000;
	}
	while (*name)
		*p++ = *name++;
	*p++ = ' ';
	for (int i = 0; i < 2; i++) {
		int64_t v = i == 0 ? sec : nsec;
		char digits[24];
		int n = 0;
		uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;
		if (v < 0)
			*p++ = '-';
		do
			digits[n++] = (char)('0' + u % 10);
		while ((u /= 10) != 0);
		while (n > 0)
			*p++ = digits[--n];
		*p++ = i == 0 ? ' ' : '\n';
	}
	return p;
}

/* A time namespace for the forkserver's children, the stubs, whose
 * monotonic and boot-time clocks are the sandbox's (init.clock_offsets).
 * The offsets must be written before any process enters it, and there is
 * a /proc to write them to until the pivot. */
static long time_namespace(void)
{
	char buf[128], *p = buf;
	long r = sys1(__NR_unshare, CLONE_NEWTIME);
	if (r < 0)
		return r;
	p = put_offset(p, "monotonic", init.clock_offsets[0]);
	p = put_offset(p, "boottime", init.clock_offsets[1]);
	long fd = sys4(__NR_openat, -100 /* AT_FDCWD */, "/proc/self/timens_offsets", 01 /* O_WRONLY */, 0);
	if (fd < 0)
		return fd;
	r = sys3(__NR_write, fd, buf, p - buf);
	sys1(__NR_close, fd);
	return r < 0 ? r : 0;
}

static long drop_privileges(void)
{
	for (int cap = 0; cap < 64; cap++)
		sys2(__NR_prctl, PR_CAPBSET_DROP, cap); /* EINVAL past the last */
	sys4(__NR_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0);
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2] = {{0, 0, 0}, {0, 0, 0}};
	long r = sys2(__NR_capset, &h, d);
	if (r < 0)
		return r;
	return sys2(__NR_prctl, PR_SET_NO_NEW_PRIVS, 1);
}

/* Steps of confine, reported with its error (fs_reply.pid). */
enum { STEP_ROOT = 1, STEP_HOSTNAME, STEP_PRIVILEGES, STEP_SECCOMP, STEP_TIME };

static long confine(int *step)
{
	long r;
	*step = STEP_TIME;
	if ((init.clock_offsets[0] || init.clock_offsets[1]) && (r = time_namespace()) < 0)
		return r;
	*step = STEP_ROOT;
	if ((r = empty_root(step)) < 0)
		return r;
	*step = STEP_HOSTNAME;
	if (init.hostname[0]) {
		size_t n = 0;
		while (n < sizeof(init.hostname) - 1 && init.hostname[n])
			n++;
		if ((r = sys2(__NR_sethostname, init.hostname, n)) < 0)
			return r;
	}
	stub_apply_rlimits(init.rlimits, init.nrlimits);
	*step = STEP_PRIVILEGES;
	if ((r = drop_privileges()) < 0)
		return r;
	*step = STEP_SECCOMP;
	struct sock_fprog prog = {(unsigned short)init.own_filter_len, init.own_filter};
	return sys3(__NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static int valid_init(long n)
{
	return n == sizeof(init) && init.nunmap <= FS_MAX_UNMAP && init.nrlimits <= FS_MAX_RLIMITS &&
	       init.filter_len > 0 && init.filter_len <= FS_MAX_FILTER &&
	       init.own_filter_len <= FS_MAX_FILTER &&
	       (!(init.flags & FS_INIT_CONFINE) || init.own_filter_len > 0) &&
	       (!(init.flags & FS_INIT_VDSO) || (init.vdso_len > 0 && init.vdso_len <= FS_MAX_VDSO));
}

/* map_vdso maps the sandbox's vDSO (init.vdso) and its parameters page
 * (fd) where the host's vvar pages were, and closes fd. The page is a sealed memfd
 * (F_SEAL_FUTURE_WRITE): no stub can map it writable, nor make this
 * mapping so. */
static long map_vdso(int fd)
{
	long r = sys6(__NR_mmap, init.vdso_params, 4096, 1 /* PROT_READ */,
		      0x01 | 0x100000 /* MAP_SHARED | MAP_FIXED_NOREPLACE */, fd, 0);
	sys1(__NR_close, fd);
	if (r < 0)
		return r;
	if ((uint64_t)r != init.vdso_params)
		return -EEXIST;
	uint64_t len = (init.vdso_len + 4095) & ~4095ULL;
	r = sys6(__NR_mmap, init.vdso_addr, len, 3 /* PROT_READ | PROT_WRITE */,
		 0x02 | 0x20 | 0x100000 /* MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE */, -1, 0);
	if (r < 0)
		return r;
	if ((uint64_t)r != init.vdso_addr)
		return -EEXIST;
	memcpy((void *)init.vdso_addr, init.vdso, init.vdso_len);
	return sys3(__NR_mprotect, init.vdso_addr, len, 5 /* PROT_READ | PROT_EXEC */);
}

static void close_fds(const int *fds, long n)
{
	for (long i = 0; i < n; i++)
		sys1(__NR_close, fds[i]);
}

static void start_stub(const int *fds, long nfds)
{
	if (nfds != (req.mode == FS_MODE_STUB ? 3 : 1)) {
		close_fds(fds, nfds);
		reply(0, EINVAL, -1);
		return;
	}
	int pidfd = -1;
	long pid = sys6(__NR_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0, 0);
	if (pid == 0 && req.mode == FS_MODE_PTRACE)
		stub_ptrace_main(&req, fds[0], &init);
	if (pid == 0)
		stub_process_main(&req, fds, &init);
	close_fds(fds, nfds);
	if (pid < 0) {
		reply(0, (int)-pid, -1);
		return;
	}
	reply((int)pid, 0, pidfd);
	sys1(__NR_close, pidfd);
}

static void reap(const int *fds, long nfds)
{
	long r = -EINVAL;
	if (nfds == 1)
		r = sys6(__NR_waitid, P_PIDFD, fds[0], 0, WEXITED | WNOHANG, 0, 0);
	close_fds(fds, nfds);
	reply(0, r < 0 ? (int)-r : 0, -1);
}

void forkserver_main(void)
{
	stub_forkserver_pid = (int)sys0(__NR_getpid);
	/* 0, 1 and 2 are whatever the sentry gave the exec; stubs get none. */
	sys3(__NR_close_range, 0, STUB_CTL_FD - 1, 0);
	int params = -1;
	long nfds;
	long n = stub_recv_msg(STUB_CTL_FD, &init, sizeof(init), &params, 1, &nfds);
	if (!valid_init(n) || nfds != ((init.flags & FS_INIT_VDSO) ? 1 : 0))
		stub_die();
	for (uint32_t i = 0; i < init.nunmap; i++)
		sys2(__NR_munmap, init.unmap[i][0], init.unmap[i][1]);
	if (init.flags & FS_INIT_VDSO) {
		long r = map_vdso(params);
		if (r < 0) {
			reply(6, (int)-r, -1);
			stub_die();
		}
	}
	if (init.flags & FS_INIT_CONFINE) {
		int step;
		long r = confine(&step);
		if (r < 0) {
			reply(step, (int)-r, -1);
			stub_die();
		}
	}
	reply(0, 0, -1);

	for (;;) {
		int fds[3];
		long nfds = 0;
		n = stub_recv_msg(STUB_CTL_FD, &req, sizeof(req), fds, 3, &nfds);
		if (n == 0)
			sys1(__NR_exit_group, 0);
		if (n < 0) {
			reply(0, (int)-n, -1);
			continue;
		}
		if (n != sizeof(req) || req.nrlimits > FS_MAX_RLIMITS) {
			close_fds(fds, nfds);
			reply(0, EINVAL, -1);
			continue;
		}
		switch (req.mode) {
		case FS_MODE_STUB:
		case FS_MODE_PTRACE:
			start_stub(fds, nfds);
			break;
		case FS_MODE_REAP:
			reap(fds, nfds);
			break;
		default:
			close_fds(fds, nfds);
			reply(0, EINVAL, -1);
		}
	}
}
