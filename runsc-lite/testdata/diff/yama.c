/* yama: ptrace's Yama restrictions as the kernel's scope says (needs a
 * root host: the probes are uid 1000 without capabilities). A kernel
 * without Yama (no /proc/sys/kernel/yama) answers PR_SET_PTRACER with
 * EINVAL and attaches by the user checks alone (scope 0); one with Yama
 * takes PR_SET_PTRACER and, at scope 1, lets a process attach (ptrace,
 * process_vm_readv, /proc/PID/mem) only to its descendants and to
 * processes that named it or an ancestor of it, at 2 only with
 * CAP_SYS_PTRACE, at 3 never. The hosts differ, so most lines say whether
 * what happened is what the host's own scope says, never the scope; the
 * scope is only read, never written but with its own value. */
#include "common.h"
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#define SCOPE "/proc/sys/kernel/yama/ptrace_scope"

static int yama, scope; /* whether there is Yama; its scope, 0 without */
static long secret = 0x5ec7e7;

static void says(const char *what, int ok) { printf("%s as the scope says: %s\n", what, ok ? "yes" : "NO"); }

/* allowed is whether a process without capabilities attaches to another
 * of its user, related (a descendant or an exception) or not. */
static int allowed(int related) { return scope == 0 || (scope == 1 && related); }

static void become_user(void) {
	if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
		perror("setresuid");
		_exit(1);
	}
	prctl(PR_SET_DUMPABLE, 1); /* which the change of user cleared */
}

/* reach tries every attaching access to target; 1 if each worked, 0 if
 * each failed with EPERM (EACCES for mem), -1 if they disagree. */
static int reach(pid_t target) {
	long got = 0;
	struct iovec local = {&got, sizeof got}, remote = {&secret, sizeof secret};
	int vm = process_vm_readv(target, &local, 1, &remote, 1, 0) == sizeof got && got == secret;
	int vmerr = errno;
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/mem", target);
	int fd = open(path, O_RDONLY);
	int mem = fd >= 0, memerr = errno;
	if (fd >= 0)
		close(fd);
	int at = ptrace(PTRACE_ATTACH, target, 0, 0) == 0;
	int aterr = errno;
	if (at) {
		int st;
		waitpid(target, &st, 0);
		ptrace(PTRACE_DETACH, target, 0, 0);
	}
	if (vm && mem && at)
		return 1;
	if (!vm && vmerr == EPERM && !mem && memerr == EACCES && !at && aterr == EPERM)
		return 0;
	printf("  disagree: process_vm_readv %d %s, mem %d %s, attach %d %s\n", vm, ename(vmerr), mem, ename(memerr), at,
	       ename(aterr));
	return -1;
}

/* probe reaches target from a new uid-1000 process, a child of the
 * caller, and says whether that is what the scope says. */
static void probe(const char *what, pid_t target, int related) {
	pid_t p = fork();
	if (p == 0) {
		become_user();
		says(what, reach(target) == allowed(related));
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* The target is a uid-1000 process that calls prctl(PR_SET_PTRACER)
 * with each long it reads and answers with the errno. */
static int cmd[2], ack[2];

static int set_ptracer(long arg) {
	int e;
	write(cmd[1], &arg, sizeof arg);
	read(ack[0], &e, sizeof e);
	return e;
}

static pid_t start_target(void) {
	pipe(cmd);
	pipe(ack);
	pid_t a = fork();
	if (a == 0) {
		close(cmd[1]);
		close(ack[0]);
		become_user();
		int ready = 0;
		write(ack[1], &ready, sizeof ready);
		long arg;
		while (read(cmd[0], &arg, sizeof arg) == sizeof arg) {
			int e = prctl(PR_SET_PTRACER, arg) ? errno : 0;
			write(ack[1], &e, sizeof e);
		}
		_exit(0);
	}
	int ready;
	read(ack[0], &ready, sizeof ready); /* it is the user now */
	return a;
}

/* own_child: a uid-1000 process reaches its own child (a descendant)
 * and the child asks for PTRACE_TRACEME. */
static void own_child(void) {
	pid_t p = fork();
	if (p == 0) {
		become_user();
		pid_t c = fork();
		if (c == 0) {
			for (;;)
				pause();
		}
		says("a child of one's own", reach(c) == allowed(1));
		kill(c, SIGKILL);
		waitpid(c, NULL, 0);
		c = fork();
		if (c == 0)
			_exit(ptrace(PTRACE_TRACEME, 0, 0, 0) ? 1 : 0);
		int st;
		waitpid(c, &st, 0);
		says("PTRACE_TRACEME", (WEXITSTATUS(st) == 0) == (scope <= 1));
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* scope_file: who may read and write the scope (its own value only). */
static void scope_file(void) {
	char value[16] = {0};
	int fd = open(SCOPE, O_RDONLY);
	if (fd >= 0) {
		read(fd, value, sizeof value - 1);
		close(fd);
	}
	int e;
	errno = 0;
	e = put_text(SCOPE, "4") < 0 ? errno : 0;
	says("writing 4", yama ? e == EINVAL : e == ENOENT);
	e = put_text(SCOPE, "-1") < 0 ? errno : 0;
	says("writing -1", yama ? e == EINVAL : e == ENOENT);
	e = put_text(SCOPE, value) < 0 ? errno : 0;
	says("root writing its value", yama ? e == 0 : e == ENOENT);
	pid_t p = fork();
	if (p == 0) {
		become_user();
		int r = open(SCOPE, O_RDONLY);
		says("another user reading", yama ? r >= 0 : errno == ENOENT);
		int e = put_text(SCOPE, value) < 0 ? errno : 0;
		says("another user writing", yama ? e == EACCES : e == ENOENT);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	/* Root of a new user namespace is the real root, without
	 * CAP_SYS_PTRACE over the first one. */
	p = fork();
	if (p == 0) {
		if (unshare(CLONE_NEWUSER) || put_text("/proc/self/uid_map", "0 0 1") < 0) {
			printf("user namespace: %s\n", ename(errno));
			_exit(1);
		}
		int e = put_text(SCOPE, value) < 0 ? errno : 0;
		says("a user namespace's root writing", yama ? e == EPERM : e == ENOENT);
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	char buf[16] = {0};
	int fd = open(SCOPE, O_RDONLY);
	if (fd >= 0) {
		yama = 1;
		read(fd, buf, sizeof buf - 1);
		close(fd);
		scope = atoi(buf);
	} else if (errno != ENOENT) {
		printf("open %s: %s\n", SCOPE, ename(errno));
	}
	printf("the scope is 0 to 3: %s\n", scope >= 0 && scope <= 3 ? "yes" : "NO");
	errno = 0;
	int r = prctl(PR_SET_PTRACER, 0);
	says("PR_SET_PTRACER 0", yama ? r == 0 : r == -1 && errno == EINVAL);
	r = prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
	says("PR_SET_PTRACER_ANY", yama ? r == 0 : r == -1 && errno == EINVAL);
	prctl(PR_SET_PTRACER, 0);
	T(prctl(PR_SET_PTRACER, 99999999));

	pid_t a = start_target();
	probe("a process of the same user", a, 0);
	int e = set_ptracer(getpid());
	says("PR_SET_PTRACER naming the prober's parent", yama ? e == 0 : e == EINVAL);
	probe("a process that named the prober's parent", a, yama);
	e = set_ptracer(a);
	says("PR_SET_PTRACER naming itself", yama ? e == 0 : e == EINVAL);
	probe("a process that named itself", a, 0);
	e = set_ptracer(PR_SET_PTRACER_ANY);
	says("PR_SET_PTRACER_ANY of the target", yama ? e == 0 : e == EINVAL);
	probe("a process that let anyone", a, yama);
	e = set_ptracer(0);
	probe("a process that took it back", a, 0);
	e = set_ptracer(99999999);
	says("PR_SET_PTRACER naming no process", e == EINVAL);
	/* Root, with CAP_SYS_PTRACE: any scope but 3. */
	int ok = reach(a);
	says("root reaching a process", ok == (scope < 3));
	close(cmd[1]);
	waitpid(a, NULL, 0);

	own_child();
	scope_file();
	return 0;
}
