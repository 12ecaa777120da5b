/* PID namespaces (CLONE_NEWPID, needs a root host): unshare, clone and
 * clone3 into a new namespace, its init and children, orphans adopted by
 * the init, the group and session it inherited, the signals it ignores
 * from inside and takes from outside, si_pid in the receiver's namespace,
 * the init's death, EINVAL for threads, EPERM without CAP_SYS_ADMIN, /proc
 * mounted inside, setns, nesting and NS_GET_PARENT, kill(-1) inside. Each
 * section runs in a child of its own; outer pids show only as relations,
 * inner ones (made in a fixed order) as numbers. */
#include "common.h"
#include "mountns.h"
#include <grp.h>
#include <linux/nsfs.h>
#include <mqueue.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <sys/shm.h>
#include <sys/msg.h>
#include <sys/wait.h>

/* TR is T that also yields the result. */
#define TR(expr)                                                                                      \
	({                                                                                            \
		errno = 0;                                                                            \
		long _r = (long)(expr);                                                               \
		_r == -1 ? printf("%s = -1 %s\n", #expr, ename(errno)) : printf("%s = %ld\n", #expr, _r); \
		_r;                                                                                   \
	})

static unsigned long firstNs; /* the program's own PID namespace */

static const char *yesno(int c) { return c ? "yes" : "no"; }

static unsigned long ino(const char *path) {
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static unsigned long fdIno(int fd) {
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* nsOf is the inode of /proc/PID/ns/KIND (pid 0: self), or 0. */
static unsigned long nsOf(pid_t pid, const char *kind) {
	char p[64], id[16];
	snprintf(id, sizeof id, "%d", pid);
	snprintf(p, sizeof p, "/proc/%s/ns/%s", pid ? id : "self", kind);
	return ino(p);
}

static void done(int code) { fflush(stdout), _exit(code); }

/* give and take pass a byte through a pipe; take is 0 at EOF. */
static void give(int fd) { write(fd, "x", 1); }
static int take(int fd) {
	char c;
	return read(fd, &c, 1);
}
static void pipes(int *a, int *b) { pipe(a), pipe(b); }

static sigset_t only(int sig) {
	sigset_t s;
	sigemptyset(&s), sigaddset(&s, sig);
	return s;
}
static void block(int sig) {
	sigset_t s = only(sig);
	sigprocmask(SIG_BLOCK, &s, NULL);
}
static void waitSig(int sig, siginfo_t *si) {
	sigset_t s = only(sig);
	memset(si, 0, sizeof *si), sigwaitinfo(&s, si);
}
static int pending(int sig) {
	sigset_t s;
	return sigpending(&s), sigismember(&s, sig);
}

/* reap waits for pid (-1: the fork's errno): whether waitpid returned it,
 * and how it ended. */
static void reap(const char *who, pid_t pid) {
	int st = 0;
	pid_t r = pid < 0 ? pid : waitpid(pid, &st, __WALL);
	if (pid < 0)
		printf("%s: not made: %s\n", who, ename(errno));
	else if (r != pid)
		printf("%s: waitpid %s\n", who, r < 0 ? ename(errno) : "returned another pid");
	else if (WIFEXITED(st))
		printf("%s: waitpid = fork's return, exited %d\n", who, WEXITSTATUS(st));
	else
		printf("%s: waitpid = fork's return, killed by SIG%s\n", who, sigabbrev_np(WTERMSIG(st)));
}

static int unsharePid(void) { return TR(unshare(CLONE_NEWPID)) == 0; }

/* forkNsInit unshares the PID namespace and forks its init: 0 in the
 * init, its pid here, -1 if the unshare failed (printed). */
static pid_t forkNsInit(void) { return unsharePid() ? fork() : -1; }

/* forkInit makes pipes back (to us) and go (from us), unshares the PID
 * namespace and forks its init: 0 in the init, its pid here, -1 if the
 * unshare failed (printed). Each side keeps only its ends: the init
 * back[1] and go[0], we back[0] and go[1]. */
static pid_t forkInit(int back[2], int go[2]) {
	pipes(back, go);
	pid_t init = forkNsInit();
	if (init != 0) /* here, or no init at all */
		close(back[1]), close(go[0]);
	if (init <= 0) /* the init, or no init at all */
		close(back[0]), close(go[1]);
	return init;
}

/* nspid reads a status file's NSpid numbers into v[8]: their count. */
static int nspid(const char *file, long *v) {
	char line[512], *p, *end;
	int n = -1;
	FILE *f = fopen(file, "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "NSpid:", 6) == 0)
			for (n = 0, p = line + 6; n < 8 && (v[n] = strtol(p, &end, 10), end != p); n++)
				p = end;
	if (f)
		fclose(f);
	return n;
}

/* pidfdInfo prints the Pid: and NSpid: lines of pidfd fd's
 * /proc/self/fdinfo, their numbers as ns-relative words: "pid" for
 * outer, the number itself when small (a namespace's own). */
static void pidfdInfo(const char *who, int fd, pid_t outer) {
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "Pid:", 4) != 0 && strncmp(line, "NSpid:", 6) != 0)
			continue;
		printf("%s: pidfd %.*s", who, (int)strcspn(line, "\t") + 1, line);
		for (char *p = line + strcspn(line, "\t"), *end; *p && *p != '\n'; p = end) {
			long v = strtol(p, &end, 10);
			if (end == p)
				break;
			if (v == outer)
				printf(" pid");
			else
				printf(" %ld", v);
		}
		printf("\n");
	}
	if (f)
		fclose(f);
}

/* field prints the line of a status file that starts with name. */
static void field(const char *file, const char *name) {
	char line[512];
	FILE *f = fopen(file, "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, name, strlen(name)) == 0)
			printf("%s: %s", file, line);
	if (f)
		fclose(f);
}

static void section(const char *title, void (*fn)(void)) {
	printf("== %s\n", title);
	pid_t pid = fork();
	if (pid == 0)
		fn(), done(0);
	int st = 0;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("section status %#x\n", st);
}

static void forkInto(void) {
	int go[2], back[2];
	pipes(go, back);
	pid_t pid = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0)
		printf("clone child: getpid %d, getppid %d\n", getpid(), getppid()), done(0);
	reap("clone child", pid);
	unsigned long long ca[11] = {CLONE_NEWPID, 0, 0, 0, SIGCHLD};
	pid = syscall(SYS_clone3, ca, sizeof ca);
	if (pid == 0)
		printf("clone3 child: getpid %d, getppid %d\n", getpid(), getppid()), done(0);
	reap("clone3 child", pid);
	pid_t me = getpid();
	printf("before unshare: pid_for_children is pid: %s\n", yesno(nsOf(0, "pid_for_children") == firstNs));
	if (!unsharePid())
		return;
	printf("getpid unchanged: %s, pid unchanged: %s\n", yesno(getpid() == me), yesno(nsOf(0, "pid") == firstNs));
	struct stat st;
	T(stat("/proc/self/ns/pid_for_children", &st)); /* no init yet */
	pid = fork();
	if (pid == 0) {
		printf("child: getpid %d, gettid %ld, getppid %d\n", getpid(), syscall(SYS_gettid), getppid());
		give(back[1]), take(go[0]), done(0);
	}
	take(back[0]);
	printf("pid_for_children: the child's pid: %s, not ours: %s\n",
	       yesno(nsOf(0, "pid_for_children") == nsOf(pid, "pid")), yesno(nsOf(0, "pid_for_children") != firstNs));
	give(go[1]);
	reap("child", pid);
}

/* clone3Tids is clone3 with flags and set_tid tids (n of them). */
static pid_t clone3Tids(unsigned long flags, pid_t *tids, int n) {
	unsigned long long ca[11] = {flags, 0, 0, 0, SIGCHLD};
	ca[8] = (unsigned long)tids, ca[9] = n;
	fflush(stdout);
	return syscall(SYS_clone3, ca, sizeof ca);
}

/* clone3's set_tid chooses the child's IDs, its namespace's first, then
 * up: EEXIST for a taken one, EINVAL for 0, for more IDs than levels and
 * for a first process that is not 1, EPERM for a level whose owner the
 * caller has no CAP_SYS_ADMIN in. */
static void setTid(void) {
	pid_t one[1] = {1}, t42[1] = {42}, zero[1] = {0}, two[1] = {2}, three[3] = {43, 43, 43};
	pid_t init = clone3Tids(CLONE_NEWPID, one, 1);
	if (init == 0) {
		printf("init made by set_tid: getpid %d\n", getpid());
		pid_t c = clone3Tids(0, t42, 1);
		if (c == 0) /* 7: it is 42, and its parent 1 */
			done(getpid() == 42 && getppid() == 1 ? 7 : 1);
		printf("init: clone3 returned %d\n", c);
		TR(clone3Tids(0, t42, 1));
		TR(clone3Tids(0, zero, 1));
		TR(clone3Tids(0, three, 3));
		reap("child 42", c);
		pid_t f = fork();
		if (f == 0)
			printf("fork after it: getpid %d\n", getpid()), done(0);
		reap("fork after it", f);
		if ((c = clone3Tids(0, t42, 1)) == 0)
			done(0);
		printf("init: 42 again once reaped: %d\n", c);
		reap("child 42 again", c);
		done(0);
	}
	reap("init", init);
	TR(clone3Tids(CLONE_NEWPID, two, 1));
	pid_t pid = fork();
	if (pid == 0) {
		TR(setgroups(0, NULL)), TR(setresgid(65534, 65534, 65534)), TR(setresuid(65534, 65534, 65534));
		if (TR(unshare(CLONE_NEWUSER | CLONE_NEWPID)) != 0)
			done(1);
		pid_t above[2] = {1, 12345};
		TR(clone3Tids(0, above, 2));
		pid_t c = clone3Tids(0, one, 1);
		if (c == 0)
			printf("nobody's init made by set_tid: getpid %d\n", getpid()), done(0);
		reap("nobody's init", c);
		done(0);
	}
	reap("nobody", pid);
}

static void insideFork(void) {
	pid_t init = forkNsInit();
	if (init < 0)
		return;
	if (init == 0) {
		pid_t c = fork();
		if (c == 0)
			printf("child: getpid %d, getppid %d\n", getpid(), getppid()), done(0);
		printf("init: fork returned %d, waitpid returned %d\n", c, waitpid(c, NULL, 0));
		/* ns_last_pid is the namespace's own (pid_ns_ctl_handler). */
		char buf[32] = "";
		int fd = open("/proc/sys/kernel/ns_last_pid", O_RDONLY);
		buf[read(fd, buf, sizeof buf - 1) > 0 ? strcspn(buf, "\n") : 0] = 0;
		close(fd);
		printf("init: ns_last_pid %s\n", buf);
		T(put_text("/proc/sys/kernel/ns_last_pid", "40"));
		T(put_text("/proc/sys/kernel/ns_last_pid", "-5"));
		if ((c = fork()) == 0)
			printf("child after ns_last_pid 40: getpid %d\n", getpid()), done(0);
		waitpid(c, NULL, 0);
		done(0);
	}
	reap("init", init);
}

static void orphans(void) {
	pid_t init = forkNsInit();
	if (init < 0)
		return;
	if (init == 0) {
		int up[2], go[2];
		pipes(up, go);
		pid_t a = fork();
		if (a == 0) {
			if (fork() == 0) {
				close(go[1]);
				printf("grandchild: getpid %d, getppid %d\n", getpid(), getppid());
				give(up[1]), take(go[0]);
				printf("grandchild, its parent reaped: getppid %d\n", getppid());
				done(0);
			}
			take(up[0]), done(0);
		}
		reap("init's child 2", a);
		give(go[1]);
		int st = 0;
		pid_t w = wait(&st);
		printf("init: wait returned %d, exited %d\n", w, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		T(wait(NULL));
		done(0);
	}
	reap("init", init);
}

static void sessions(void) {
	int back[2], go[2];
	pid_t init = forkInit(back, go);
	if (init < 0)
		return;
	if (init == 0) {
		TR(getpgid(0)), TR(getsid(0)), TR(getpgrp());
		TR(setsid()), TR(getpgid(0)), TR(getsid(0));
		pid_t c = fork();
		if (c == 0)
			printf("child: getpgid %d, getsid %d\n", getpgid(0), getsid(0)), done(0);
		reap("child", c);
		give(back[1]), take(go[0]), done(0);
	}
	take(back[0]);
	printf("outer: getsid(init) is its pid: %s, getpgid(init) too: %s\n", yesno(getsid(init) == init),
	       yesno(getpgid(init) == init));
	give(go[1]);
	reap("init", init);
}

/* A process group whose leader was reaped keeps its ID in the namespace
 * (its struct pid lives while the group does): getpgid shows it, kill of
 * the group and setpgid into it find it. */
static void leaderlessGroup(void) {
	pid_t init = forkNsInit();
	if (init < 0)
		return;
	if (init == 0) {
		int hold[2];
		pipe(hold);
		pid_t lead2 = fork();
		if (lead2 == 0)
			close(hold[1]), take(hold[0]), done(0);
		setpgid(lead2, lead2);
		pid_t member = fork();
		if (member == 0)
			close(hold[1]), take(hold[0]), done(0);
		T(setpgid(member, lead2));
		kill(lead2, SIGKILL);
		waitpid(lead2, NULL, 0); /* the group's leader reaped, a member left */
		printf("init: the member's group is the reaped leader's ID: %s\n", yesno(getpgid(member) == lead2));
		T(kill(-lead2, 0));
		pid_t joiner = fork();
		if (joiner == 0)
			TR(setpgid(0, lead2)), done(getpgid(0) == lead2 ? 0 : 1);
		reap("joiner", joiner);
		close(hold[1]);
		reap("member", member);
		done(0);
	}
	reap("init", init);
}

static void initSignals(void) {
	int back[2], go[2];
	pid_t init = forkInit(back, go);
	if (init < 0)
		return;
	if (init == 0) {
		if (getpid() != 1) /* never signal the host's init */
			done(1);
		pid_t c = fork();
		if (c == 0)
			TR(kill(1, SIGTERM)), TR(kill(1, SIGKILL)), done(0);
		reap("child", c);
		T(kill(1, SIGTERM));
		printf("init: alive, SIGTERM pending: %s\n", yesno(pending(SIGTERM)));
		give(back[1]), take(go[0]);
		printf("init: alive after the outer SIGTERM, pending: %s\n", yesno(pending(SIGTERM)));
		give(back[1]), take(go[0]); /* until the outer SIGKILL */
		printf("init: not killed\n");
		done(0);
	}
	take(back[0]);
	T(kill(init, SIGTERM));
	give(go[1]), take(back[0]);
	T(kill(init, SIGKILL));
	reap("init", init);
}

/* The init's own signals: raise(SIGTERM) and a SIGUSR1 that was pending
 * while blocked go nowhere (get_signal skips what SIGNAL_UNKILLABLE
 * keeps out); a fault it does not handle kills it. */
static void initOwnSignals(void) {
	pid_t init = forkNsInit();
	if (init < 0)
		return;
	if (init == 0) {
		if (getpid() != 1)
			done(1);
		T(raise(SIGTERM));
		printf("init: alive after raise(SIGTERM)\n");
		block(SIGUSR1);
		T(kill(1, SIGUSR1));
		printf("init: SIGUSR1 pending while blocked: %s\n", yesno(pending(SIGUSR1)));
		sigset_t set;
		sigemptyset(&set);
		sigprocmask(SIG_SETMASK, &set, NULL);
		printf("init: alive after unblocking it, pending: %s\n", yesno(pending(SIGUSR1)));
		fflush(stdout);
		*(volatile int *)8 = 1; /* SIGSEGV, not handled */
		done(0);
	}
	reap("init", init);
}

static void sigPids(void) {
	int back[2];
	pipe(back);
	block(SIGCHLD), block(SIGUSR1);
	if (!unsharePid())
		return;
	siginfo_t si;
	pid_t init = fork();
	if (init == 0) {
		pid_t c = fork();
		if (c == 0)
			done(3);
		waitSig(SIGCHLD, &si);
		printf("init: SIGCHLD si_pid %d, CLD_EXITED: %s, si_status %d\n", si.si_pid, yesno(si.si_code == CLD_EXITED),
		       si.si_status);
		reap("child", c);
		give(back[1]);
		waitSig(SIGUSR1, &si);
		printf("init: SIGUSR1 from outside: si_pid %d, SI_USER: %s\n", si.si_pid, yesno(si.si_code == SI_USER));
		if ((c = fork()) == 0)
			TR(kill(1, SIGUSR1)), done(0);
		reap("child", c);
		waitSig(SIGUSR1, &si);
		printf("init: SIGUSR1 from its child: si_pid %d\n", si.si_pid);
		done(0);
	}
	take(back[0]);
	int r = kill(init, SIGUSR1);
	waitSig(SIGCHLD, &si);
	printf("outer: kill(init, SIGUSR1) = %d, SIGCHLD si_pid is fork's return: %s\n", r, yesno(si.si_pid == init));
	reap("init", init);
}

static void initDeath(void) {
	int hold[2], eof[2], ready[2], go[2];
	pipes(hold, eof), pipes(ready, go);
	pid_t init = forkNsInit();
	if (init < 0)
		return;
	if (init == 0) {
		close(hold[1]), take(go[0]);
		if (fork() == 0) { /* holds eof's write end until killed */
			printf("init's child: getpid %d\n", getpid());
			give(ready[1]), take(hold[0]), done(0);
		}
		close(eof[1]), take(ready[0]), done(0);
	}
	close(eof[1]);
	pid_t c = fork();
	if (c == 0) {
		close(hold[1]);
		printf("second child of the unsharer: getpid %d, getppid %d\n", getpid(), getppid());
		give(ready[1]), take(hold[0]), done(0);
	}
	take(ready[0]), give(go[1]); /* the init exits */
	reap("second child", c); /* the init's exit waits for its reaping */
	reap("init", init);
	T(read(eof[0], &c, 1));
	pid_t f = fork();
	if (f == 0)
		done(0);
	reap("fork after the init's death", f);
}

static int noop(void *arg) { return 0; }
static void *noopThread(void *arg) { return NULL; }

static void threads(const char *who) {
	pthread_t t;
	int e = pthread_create(&t, NULL, noopThread, NULL);
	printf("%spthread_create: %s\n", who, e ? ename(e) : "0");
	if (e == 0)
		pthread_join(t, NULL);
}

static void threadRules(void) {
	static char stack[65536] __attribute__((aligned(16)));
	char *top = stack + sizeof stack;
	T(clone(noop, top, CLONE_NEWPID | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, NULL));
	if (!unsharePid())
		return;
	T(clone(noop, top, CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, NULL));
	threads("");
	T(unshare(CLONE_NEWPID)); /* pid_for_children is not pid */
	pid_t pid = TR(clone(noop, top, CLONE_NEWPID | SIGCHLD, NULL));
	if (pid > 0)
		reap("child", pid);
	pid = fork();
	if (pid == 0)
		TR(clone(noop, top, CLONE_PARENT | SIGCHLD, NULL)), threads("init: "), done(0);
	reap("init", pid);
}

static void unprivileged(void) {
	TR(setgroups(0, NULL)), TR(setresgid(65534, 65534, 65534)), TR(setresuid(65534, 65534, 65534));
	T(unshare(CLONE_NEWPID));
	if (TR(unshare(CLONE_NEWUSER | CLONE_NEWPID)) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0)
		printf("child: getpid %d\n", getpid()), done(0);
	reap("child", pid);
}

static int numeric(const struct dirent *d) { return strspn(d->d_name, "0123456789") == strlen(d->d_name); }

/* listPids prints the numeric names in /proc (one digit each here). */
static void listPids(void) {
	struct dirent **names;
	int n = scandir("/proc", &names, numeric, alphasort);
	printf("/proc pids:");
	for (int i = 0; i < n; i++)
		printf(" %s", names[i]->d_name), free(names[i]);
	printf("\n");
	if (n >= 0)
		free(names);
}

static void procfs(void) {
	int back[2], go[2];
	pid_t init = forkInit(back, go);
	if (init < 0)
		return;
	if (init == 0) {
		give(back[1]), take(go[0]);
		if (privateMounts() != 0)
			done(1);
		T(mount("proc", "/proc", "proc", 0, NULL));
		int hold[2];
		pipe(hold);
		pid_t c = fork();
		if (c == 0)
			close(hold[1]), take(hold[0]), done(0);
		listPids();
		char buf[64] = {0};
		T(readlink("/proc/self", buf, sizeof buf - 1));
		printf("/proc/self -> %s\n", buf);
		long v[8];
		int n = nspid("/proc/1/status", v);
		printf("/proc/1/status NSpid: %d numbers, the last %ld\n", n, n > 0 ? v[n - 1] : -1);
		field("/proc/1/status", "Pid:"), field("/proc/2/status", "PPid:");
		int pfd = syscall(SYS_pidfd_open, c, 0);
		pidfdInfo("init", pfd, 0);
		close(hold[1]);
		reap("child", c);
		pidfdInfo("init, the child reaped", pfd, 0);
		close(pfd);
		listPids();
		T(umount("/proc"));
		done(0);
	}
	take(back[0]);
	char path[64];
	long v[8];
	snprintf(path, sizeof path, "/proc/%d/status", init);
	int n = nspid(path, v);
	printf("outer /proc/INIT/status NSpid: %d numbers, the first fork's return: %s, the last %ld\n", n,
	       yesno(n > 0 && v[0] == init), n > 0 ? v[n - 1] : -1);
	int pfd = syscall(SYS_pidfd_open, init, 0);
	pidfdInfo("outer", pfd, init);
	give(go[1]);
	reap("init", init);
	pidfdInfo("outer, the init reaped", pfd, init);
	close(pfd);
	char buf[64] = {0};
	readlink("/proc/self", buf, sizeof buf - 1);
	printf("outer /proc/self is still getpid: %s\n", yesno(atoi(buf) == getpid()));
}

/* credPid sends one byte on fd with SCM_CREDENTIALS of the caller
 * (send) or receives one with SO_PASSCRED set and returns the pid the
 * credentials carry (receive). */
static int credPid(int fd, int send) {
	char byte = 'x', cbuf[CMSG_SPACE(sizeof(struct ucred))] = {0};
	struct iovec iov = {&byte, 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	if (send) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET, c->cmsg_type = SCM_CREDENTIALS, c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
		struct ucred uc = {getpid(), getuid(), getgid()};
		memcpy(CMSG_DATA(c), &uc, sizeof uc);
		return sendmsg(fd, &m, 0) == 1 ? 0 : -1;
	}
	int on = 1;
	setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	if (recvmsg(fd, &m, 0) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	struct ucred uc;
	if (!c || c->cmsg_type != SCM_CREDENTIALS)
		return -2;
	memcpy(&uc, CMSG_DATA(c), sizeof uc);
	return uc.pid;
}

/* Credentials on Unix sockets show the sender as the receiver's namespace
 * has it: the init as its outer pid outside, the outer process as 0
 * inside; SO_PEERCRED likewise. */
static void socketCreds(void) {
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	int on = 1;
	setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	pid_t init = forkNsInit();
	if (init < 0)
		return;
	if (init == 0) {
		credPid(sv[1], 1);
		printf("init: the outer process's credentials: pid %d\n", credPid(sv[1], 0));
		int in[2];
		socketpair(AF_UNIX, SOCK_STREAM, 0, in);
		struct ucred uc;
		socklen_t l = sizeof uc;
		getsockopt(in[0], SOL_SOCKET, SO_PEERCRED, &uc, &l);
		printf("init: SO_PEERCRED of its own pair: pid %d\n", uc.pid);
		l = sizeof uc;
		getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &uc, &l);
		printf("init: SO_PEERCRED of the outer process's pair: pid %d\n", uc.pid);
		done(0);
	}
	printf("outer: the init's credentials carry its pid: %s\n", yesno(credPid(sv[0], 0) == init));
	credPid(sv[0], 1);
	reap("init", init);
	close(sv[0]), close(sv[1]);
}

/* notifyPid is the NOTIFY_PID of queue q's status line. */
static int notifyPid(mqd_t q) {
	char st[128] = "";
	int n = pread(q, st, sizeof st - 1, 0);
	char *p = n > 0 ? strstr(st, "NOTIFY_PID:") : NULL;
	return p ? atoi(p + 11) : -1;
}

/* The process IDs System V IPC and file locks record show as the
 * reader's namespace has them: shm's cpid and lpid, a queue's lspid, and
 * F_GETLK's l_pid, each read inside and outside. */
static void recordedIds(void) {
	int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	mq_unlink("/pidns-q");
	mqd_t mq = mq_open("/pidns-q", O_RDWR | O_CREAT, 0600, NULL);
	struct sigevent none = {.sigev_notify = SIGEV_NONE};
	mq_notify(mq, &none);
	int msq = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	int fd = open("locked", O_RDWR | O_CREAT | O_TRUNC, 0600);
	int back[2], go[2];
	pid_t init = forkInit(back, go);
	if (init < 0)
		return;
	if (init == 0) {
		struct { long type; char text[1]; } msg = {1, {'x'}};
		msgsnd(msq, &msg, 1, 0);
		struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
		fcntl(fd, F_SETLK, &fl);
		give(back[1]), take(go[0]); /* the outer process reads, attaches, locks */
		struct shmid_ds ds;
		shmctl(shm, IPC_STAT, &ds);
		printf("init: shm cpid %d, lpid %d (the outer process's attach)\n", ds.shm_cpid, ds.shm_lpid);
		struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1};
		fcntl(fd, F_GETLK, &q);
		printf("init: F_GETLK of the outer process's lock: l_pid %d\n", q.l_pid);
		printf("init: the queue's NOTIFY_PID: %d\n", notifyPid(mq));
		done(0);
	}
	take(back[0]);
	struct msqid_ds mds;
	msgctl(msq, IPC_STAT, &mds);
	printf("outer: msg lspid is the init's pid: %s\n", yesno(mds.msg_lspid == init));
	struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1};
	/* Another process asks: a child, made in the namespace (the outer
	 * process unshared it). */
	int probe = open("locked", O_RDWR);
	pid_t c = fork();
	if (c == 0) {
		fcntl(probe, F_GETLK, &q);
		printf("outer's child, in the namespace: F_GETLK of the init's lock: l_pid %d\n", q.l_pid);
		done(0);
	}
	waitpid(c, NULL, 0);
	void *p = shmat(shm, NULL, 0);
	shmdt(p);
	struct flock own = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1};
	fcntl(fd, F_SETLK, &own);
	struct shmid_ds ds;
	shmctl(shm, IPC_STAT, &ds);
	printf("outer: shm cpid is ours: %s\n", yesno(ds.shm_cpid == getpid()));
	printf("outer: the queue's NOTIFY_PID is ours: %s\n", yesno(notifyPid(mq) == getpid()));
	give(go[1]);
	reap("init", init);
	shmctl(shm, IPC_RMID, NULL), msgctl(msq, IPC_RMID, NULL);
	mq_close(mq), mq_unlink("/pidns-q");
	close(fd), close(probe), unlink("locked");
}

/* A zombie keeps its PID and user namespaces; the others went with it
 * (their /proc/PID/ns links are ENOENT until it is reaped). */
static void zombieNamespaces(void) {
	pid_t c = fork();
	if (c == 0)
		done(0);
	siginfo_t si;
	waitid(P_PID, c, &si, WEXITED | WNOWAIT);
	const char *kinds[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"};
	for (unsigned i = 0; i < sizeof kinds / sizeof *kinds; i++) {
		char p[64], b[64];
		snprintf(p, sizeof p, "/proc/%d/ns/%s", c, kinds[i]);
		int n = readlink(p, b, sizeof b - 1);
		printf("zombie's ns/%s: %s\n", kinds[i], n < 0 ? ename(errno) : "a link");
	}
	reap("zombie", c);
}

static void setnsInto(void) {
	int back[2], go[2];
	pipes(back, go);
	pid_t init = syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0, 0);
	if (init == 0)
		close(go[1]), give(back[1]), take(go[0]), done(0);
	if (init < 0) {
		printf("clone = -1 %s\n", ename(errno));
		return;
	}
	close(go[0]), take(back[0]);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/pid", init);
	int fd = open(path, O_RDONLY), orig = open("/proc/self/ns/pid", O_RDONLY);
	T(setns(fd, CLONE_NEWPID));
	printf("pid_for_children is the init's pid: %s, pid unchanged: %s\n",
	       yesno(nsOf(0, "pid_for_children") == ino(path)), yesno(nsOf(0, "pid") == firstNs));
	pid_t c = fork();
	if (c == 0) {
		printf("child: getpid %d, getppid %d\n", getpid(), getppid());
		T(setns(fd, CLONE_NEWPID));   /* its own */
		T(setns(orig, CLONE_NEWPID)); /* an ancestor of its own */
		done(0);
	}
	reap("child", c);
	T(setns(fd, CLONE_NEWPID));
	T(setns(orig, CLONE_NEWPID)); /* the caller's own */
	printf("pid_for_children is ours again: %s\n", yesno(nsOf(0, "pid_for_children") == firstNs));
	close(fd), close(orig), give(go[1]);
	reap("init", init);
}

static void nesting(void) {
	int back[2], go[2];
	pid_t init = forkInit(back, go);
	if (init < 0)
		return;
	if (init == 0) {
		if (unshare(CLONE_NEWPID) != 0)
			done(1);
		pid_t c = fork();
		if (c == 0) {
			long v[8];
			int n = nspid("/proc/self/status", v); /* the first namespace's /proc */
			printf("inner init: getpid %d, NSpid %d numbers, the last two %ld %ld\n", getpid(), n,
			       n > 1 ? v[n - 2] : -1, n > 1 ? v[n - 1] : -1);
			int own = open("/proc/self/ns/pid", O_RDONLY);
			T(ioctl(own, NS_GET_PARENT)); /* not below its own */
			unsigned long me = fdIno(own);
			write(back[1], &me, sizeof me);
			take(go[0]), done(0);
		}
		reap("inner init", c);
		done(0);
	}
	unsigned long inner = 0;
	read(back[0], &inner, sizeof inner);
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/pid_for_children", init);
	int fd = open(path, O_RDONLY);
	printf("init's pid_for_children is the inner init's pid: %s, NS_GET_NSTYPE CLONE_NEWPID: %s\n",
	       yesno(fdIno(fd) == inner), yesno(ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWPID));
	int parent = ioctl(fd, NS_GET_PARENT), grand = ioctl(parent, NS_GET_PARENT);
	printf("its NS_GET_PARENT is the init's pid: %s, and that one's ours: %s\n",
	       yesno(parent >= 0 && fdIno(parent) == nsOf(init, "pid")), yesno(grand >= 0 && fdIno(grand) == firstNs));
	T(ioctl(grand, NS_GET_PARENT));
	close(fd), close(parent), close(grand), give(go[1]);
	reap("init", init);
}

static void killAll(void) {
	int check[2], rel[2];
	pipe(check);
	block(SIGUSR1);
	pid_t sib = fork();
	if (sib == 0) {
		close(check[1]), take(check[0]);
		printf("outer sibling: SIGUSR1 pending: %s\n", yesno(pending(SIGUSR1)));
		done(0);
	}
	close(check[0]);
	if (unsharePid()) {
		pid_t init = fork();
		if (init == 0) {
			close(check[1]);
			if (getpid() != 1) /* never kill(-1) outside a new namespace */
				done(1);
			T(kill(-1, SIGUSR1)); /* nobody else yet */
			pipe(rel);
			pid_t a = fork();
			if (a == 0) {
				close(rel[1]), take(rel[0]);
				printf("child 2: SIGUSR1 pending: %s\n", yesno(pending(SIGUSR1)));
				done(0);
			}
			pid_t b = fork();
			if (b == 0) {
				close(rel[1]);
				T(kill(-1, SIGUSR1));
				printf("child 3 (the sender): SIGUSR1 pending: %s\n", yesno(pending(SIGUSR1)));
				done(0);
			}
			reap("child 3", b);
			printf("init: SIGUSR1 pending: %s\n", yesno(pending(SIGUSR1)));
			close(rel[1]);
			reap("child 2", a);
			done(0);
		}
		reap("init", init);
		printf("outer: SIGUSR1 pending: %s\n", yesno(pending(SIGUSR1)));
	}
	give(check[1]);
	reap("outer sibling", sib);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	firstNs = nsOf(0, "pid");
	section("unshare(CLONE_NEWPID), fork, clone, clone3", forkInto);
	section("clone3's set_tid", setTid);
	section("the init's child", insideFork);
	section("orphans adopted by the init", orphans);
	section("the init's group and session", sessions);
	section("a group whose leader is gone", leaderlessGroup);
	section("signals to the init", initSignals);
	section("the init's own signals", initOwnSignals);
	section("si_pid in the receiver's namespace", sigPids);
	section("the init's death", initDeath);
	section("EINVAL: threads, a second unshare, the init's CLONE_PARENT", threadRules);
	section("without CAP_SYS_ADMIN", unprivileged);
	section("/proc of the namespace", procfs);
	section("credentials on Unix sockets", socketCreds);
	section("IDs IPC and locks record", recordedIds);
	section("a zombie's namespaces", zombieNamespaces);
	section("setns", setnsInto);
	section("nesting", nesting);
	section("kill(-1) inside", killAll);
	return 0;
}
