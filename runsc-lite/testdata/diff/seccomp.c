/* seccomp(2) and prctl(PR_SET_SECCOMP) for the application's own filters:
 * the modes, each filter answer (ERRNO with its data, TRAP's SIGSYS and its
 * siginfo, KILL_PROCESS, KILL_THREAD of one thread of two, TRACE and
 * USER_NOTIF without a tracer or listener, LOG, ALLOW), which answer wins
 * among filters, inheritance by fork, threads and execve, TSYNC, strict
 * mode's kill, the filter checks' errnos, GET_ACTION_AVAIL,
 * GET_NOTIF_SIZES, /proc/self/status, the privilege rule (needs a root
 * host). Each case runs in a child. */
#include "common.h"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define NR offsetof(struct seccomp_data, nr)
#define ARCH offsetof(struct seccomp_data, arch)

static long sc(unsigned op, unsigned flags, void *args) { return syscall(SYS_seccomp, op, flags, args); }

/* on_nr returns action for syscall nr, ALLOW for the rest. */
static struct sock_fprog on_nr(struct sock_filter *f, int nr, unsigned action) {
	struct sock_filter p[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, action),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	memcpy(f, p, sizeof p);
	return (struct sock_fprog){.len = 4, .filter = f};
}

static long install(int nr, unsigned action, unsigned flags) {
	struct sock_filter f[4];
	struct sock_fprog p = on_nr(f, nr, action);
	return sc(SECCOMP_SET_MODE_FILTER, flags, &p);
}

static void status(void) {
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "Seccomp", 7))
			printf("  status %s", line);
	fclose(f);
}

static void report(const char *name, pid_t pid) {
	int st;
	waitpid(pid, &st, 0);
	fflush(stdout);
	if (WIFSIGNALED(st))
		printf("%s: killed by %s\n", name, sigabbrev_np(WTERMSIG(st)));
	else
		printf("%s: exit %d\n", name, WEXITSTATUS(st));
	fflush(stdout);
}

/* CASE(name) { body } runs body in a child, which then exits 0, and reports
 * how the child ended. */
#define CASE(name)                                                            \
	for (pid_t _p = (fflush(stdout), fork()), _once = 1; _once;             \
	     _once = 0, _p == 0 ? (fflush(stdout), _exit(0)) : report(name, _p)) \
		if (_p == 0)

static volatile int trapped_code, trapped_nr, trapped_errno, trapped_arch;
static void on_sys(int sig, siginfo_t *si, void *uc) {
	(void)sig;
	trapped_code = si->si_code;
	trapped_nr = si->si_syscall;
	trapped_errno = si->si_errno;
	trapped_arch = si->si_arch == AUDIT_ARCH_X86_64;
	((ucontext_t *)uc)->uc_mcontext.gregs[REG_RAX] = -EILSEQ;
}

static void *getpid_thread(void *arg) {
	(void)arg;
	errno = 0;
	long r = syscall(SYS_getpid);
	printf("  thread getpid: %s\n", r < 0 ? ename(errno) : "ok");
	return NULL;
}

static int installed[2];

/* getpid_after_install waits for the main thread's TSYNC, then calls
 * getpid. */
static void *getpid_after_install(void *arg) {
	char c;
	read(installed[0], &c, 1);
	return getpid_thread(arg);
}

static int own_filter_tid;
static int ready[2], go_on[2];

/* own_filter installs a filter on its thread alone, then waits. */
static void *own_filter(void *arg) {
	(void)arg;
	struct sock_filter f[4];
	struct sock_fprog p = on_nr(f, SYS_getppid, SECCOMP_RET_ERRNO | 1);
	sc(SECCOMP_SET_MODE_FILTER, 0, &p);
	own_filter_tid = syscall(SYS_gettid);
	char c;
	write(ready[1], "x", 1);
	read(go_on[0], &c, 1);
	return NULL;
}

static void *killed_thread(void *arg) {
	(void)arg;
	syscall(SYS_getppid);
	printf("  thread survived\n");
	return NULL;
}

int main(int argc, char **argv) {
	if (argc > 2 && !strcmp(argv[2], "after-exec")) {
		errno = 0;
		printf("  after execve: getpid %s\n", syscall(SYS_getpid) < 0 ? ename(errno) : "ok");
		status();
		return 0;
	}
	struct rlimit nocore = {0, 0};
	setrlimit(RLIMIT_CORE, &nocore);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("PR_GET_SECCOMP %d\n", prctl(PR_GET_SECCOMP));
	status();

	struct sock_filter f[4];
	struct sock_fprog bad = {.len = 0, .filter = f};
	T(sc(SECCOMP_SET_MODE_FILTER, 0, &bad));
	on_nr(f, SYS_getpid, SECCOMP_RET_ALLOW);
	f[0].k = 64;
	bad.len = 4;
	T(sc(SECCOMP_SET_MODE_FILTER, 0, &bad));
	f[0].k = 2;
	T(sc(SECCOMP_SET_MODE_FILTER, 0, &bad));
	f[0].k = 0;
	f[0].code = BPF_LD | BPF_B | BPF_ABS;
	T(sc(SECCOMP_SET_MODE_FILTER, 0, &bad));
	on_nr(f, SYS_getpid, SECCOMP_RET_ALLOW);
	f[1].jt = 9;
	T(sc(SECCOMP_SET_MODE_FILTER, 0, &bad));
	f[1].jt = 0;
	f[3].code = BPF_LD | BPF_W | BPF_ABS;
	T(sc(SECCOMP_SET_MODE_FILTER, 0, &bad));
	T(sc(SECCOMP_SET_MODE_FILTER, 1 << 10, &bad));
	T(sc(SECCOMP_SET_MODE_FILTER, 0, NULL));
	T(sc(SECCOMP_SET_MODE_STRICT, 1, NULL));
	T(sc(9, 0, NULL));
	T(prctl(PR_SET_SECCOMP, 7, 0, 0, 0));
	unsigned actions[] = {SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD, SECCOMP_RET_TRAP, SECCOMP_RET_ERRNO,
			      SECCOMP_RET_USER_NOTIF, SECCOMP_RET_TRACE, SECCOMP_RET_LOG, SECCOMP_RET_ALLOW, 0x7ffe0000};
	for (unsigned i = 0; i < sizeof actions / sizeof *actions; i++) {
		printf("action %#x: ", actions[i]);
		T(sc(SECCOMP_GET_ACTION_AVAIL, 0, &actions[i]));
	}
	struct seccomp_notif_sizes sizes;
	T(sc(SECCOMP_GET_NOTIF_SIZES, 0, &sizes));
	printf("sizes %u %u %u\n", sizes.seccomp_notif, sizes.seccomp_notif_resp, sizes.seccomp_data);

	CASE("errno, fork, execve") {
		T(install(SYS_getpid, SECCOMP_RET_ERRNO | 42, 0));
		printf("PR_GET_SECCOMP %d\n", prctl(PR_GET_SECCOMP));
		status();
		T(syscall(SYS_getpid));
		T(install(SYS_getpid, SECCOMP_RET_ERRNO | 5000, 0));
		T(syscall(SYS_getpid)); /* the newest of equal answers */
		T(sc(SECCOMP_SET_MODE_STRICT, 0, NULL));
		CASE("  forked child") T(syscall(SYS_getpid));
		pthread_t th;
		pthread_create(&th, NULL, getpid_thread, NULL);
		pthread_join(th, NULL);
		char *args[] = {"/proc/self/exe", argv[1], "after-exec", NULL};
		execv("/proc/self/exe", args);
		printf("execv: %s\n", ename(errno));
	}
	CASE("trap") {
		struct sigaction sa = {.sa_sigaction = on_sys, .sa_flags = SA_SIGINFO};
		sigaction(SIGSYS, &sa, NULL);
		T(install(SYS_getppid, SECCOMP_RET_TRAP | 7, 0));
		T(install(SYS_getppid, SECCOMP_RET_ERRNO | 9, 0)); /* TRAP wins */
		T(syscall(SYS_getppid));
		printf("  trapped code %d nr %d errno %d arch %d\n", trapped_code, trapped_nr, trapped_errno, trapped_arch);
		T(install(SYS_getuid, SECCOMP_RET_TRACE | 3, 0));
		T(syscall(SYS_getuid));
		T(install(SYS_getgid, SECCOMP_RET_USER_NOTIF, 0));
		T(syscall(SYS_getgid));
		T(install(SYS_gettid, SECCOMP_RET_LOG, SECCOMP_FILTER_FLAG_LOG));
		printf("  gettid ok: %d\n", syscall(SYS_gettid) > 0);
	}
	CASE("instruction pointer") {
		/* ERRNO with the low 12 bits of the address after the
		 * syscall instruction: the same libc or binary natively and
		 * in the sandbox, so the same value, and from call to call,
		 * even once the sandbox patched the site. */
		struct sock_filter ipf[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 4),
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
			BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0xfff),
			BPF_STMT(BPF_ALU | BPF_OR | BPF_K, SECCOMP_RET_ERRNO),
			BPF_STMT(BPF_RET | BPF_A, 0),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog p = {.len = 7, .filter = ipf};
		T(sc(SECCOMP_SET_MODE_FILTER, 0, &p));
		int first = 0, same = 1;
		for (int i = 0; i < 20; i++) {
			errno = 0;
			syscall(SYS_getppid);
			if (i == 0)
				first = errno;
			same = same && errno == first;
		}
		printf("  errno from the address %#x, the same 20 times: %d\n", first, same);
	}
	CASE("kill process") {
		T(install(SYS_getppid, SECCOMP_RET_KILL_PROCESS, 0));
		syscall(SYS_getppid);
		printf("  survived\n");
	}
	CASE("kill thread, one of two") {
		T(install(SYS_getppid, SECCOMP_RET_KILL_THREAD, 0));
		pthread_t th;
		pthread_create(&th, NULL, killed_thread, NULL);
		sleep(1);
		printf("  main goes on\n");
		exit(3);
	}
	CASE("kill thread, the only one") {
		T(install(SYS_getppid, SECCOMP_RET_KILL_THREAD, 0));
		syscall(SYS_getppid);
		printf("  survived\n");
	}
	CASE("tsync") {
		pthread_t th;
		pipe(installed);
		pthread_create(&th, NULL, getpid_after_install, NULL);
		T(install(SYS_getpid, SECCOMP_RET_ERRNO | 13, SECCOMP_FILTER_FLAG_TSYNC));
		write(installed[1], "x", 1);
		pthread_join(th, NULL);
	}
	CASE("tsync refused") {
		pthread_t th;
		char c;
		pipe(ready);
		pipe(go_on);
		pthread_create(&th, NULL, own_filter, NULL);
		read(ready[0], &c, 1);
		long r = install(SYS_getpid, SECCOMP_RET_ERRNO | 13, SECCOMP_FILTER_FLAG_TSYNC);
		printf("  tsync over a thread with its own filter: %s\n", r == own_filter_tid ? "its tid" : "?");
		T(install(SYS_getpid, SECCOMP_RET_ERRNO | 13, SECCOMP_FILTER_FLAG_TSYNC | SECCOMP_FILTER_FLAG_TSYNC_ESRCH));
		printf("  getpid ok: %d\n", syscall(SYS_getpid) > 0); /* nothing was installed */
		write(go_on[1], "x", 1);
		pthread_join(th, NULL);
	}
	CASE("strict") {
		T(prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT, 0, 0, 0));
		write(1, "  strict write ok\n", 18);
		syscall(SYS_getpid);
		write(1, "  survived\n", 11);
	}
	CASE("unprivileged") {
		if (setresuid(65534, 65534, 65534) != 0)
			printf("setresuid: %s\n", ename(errno));
		T(install(SYS_getpid, SECCOMP_RET_ERRNO | 1, 0));
		T(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
		T(install(SYS_getpid, SECCOMP_RET_ERRNO | 1, 0));
		T(sc(SECCOMP_SET_MODE_STRICT, 0, NULL)); /* filter mode already */
	}
	return 0;
}
