/* pidfd: clone with CLONE_PIDFD (clone and clone3), pidfd_open,
 * pidfd_send_signal, waitid(P_PIDFD), poll and epoll readiness on exit,
 * pidfd_getfd, and their errors: EBADF, EINVAL, ESRCH after reaping; kcmp. */
#include "common.h"
#include <linux/sched.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return syscall(SYS_pidfd_open, pid, flags); }
static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags) {
	return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}
static int pidfd_getfd(int fd, int target, unsigned flags) { return syscall(SYS_pidfd_getfd, fd, target, flags); }

static short revents(int fd) {
	struct pollfd p = {fd, POLLIN, 0};
	poll(&p, 1, 0);
	return p.revents;
}

static void sleep_ms(int ms) {
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* child forks a process that waits for SIGTERM (or exits after a while). */
static pid_t child(void) {
	pid_t pid = fork();
	if (pid == 0) {
		for (int i = 0; i < 500; i++)
			sleep_ms(10);
		_exit(7);
	}
	return pid;
}

/* kcmpCases: kcmp(2) of what a child shares with its parent, and of a
 * descriptor taken with pidfd_getfd (LTP pidfd_getfd01 checks it so). */
static long kcmp(pid_t a, pid_t b, int type, long i1, long i2) { return syscall(SYS_kcmp, a, b, type, i1, i2); }
static int ordered(long r1, long r2) { return (r1 == 1 && r2 == 2) || (r1 == 2 && r2 == 1); }
static int shareChild(void *arg) { return read(*(int *)arg, &(char){0}, 1) < 0; }
static void kcmpCases(void) {
	static char stack[64 << 10];
	int gate[2];
	pipe(gate);
	int fd = open(".", O_PATH), other = open(".", O_PATH), dup1 = dup(fd);
	pid_t me = getpid();
	pid_t shared = clone(shareChild, stack + sizeof stack, CLONE_VM | CLONE_FS | CLONE_FILES | SIGCHLD, &gate[0]);
	pid_t forked = fork();
	if (forked == 0) {
		char c;
		close(gate[1]);
		read(gate[0], &c, 1);
		_exit(0);
	}
	for (int type = 1; type <= 4; type++) { /* VM, FILES, FS, SIGHAND */
		printf("kcmp type %d: shared %s, forked ordered %d\n", type, kcmp(me, shared, type, 0, 0) ? "differs" : "same",
		       ordered(kcmp(me, forked, type, 0, 0), kcmp(forked, me, type, 0, 0)));
	}
	T(kcmp(me, me, 0, fd, dup1));
	T(kcmp(me, forked, 0, fd, fd)); /* the same open file, inherited */
	CHECK(ordered(kcmp(me, me, 0, fd, other), kcmp(me, me, 0, other, fd)));
	int pfd = syscall(SYS_pidfd_open, forked, 0);
	int got = syscall(SYS_pidfd_getfd, pfd, fd, 0);
	T(kcmp(me, me, 0, fd, got));
	T(kcmp(me, me, 0, fd, 999));
	T(kcmp(me, me, 8, 0, 0));
	T(kcmp(me, me, 9, 0, 0));
	T(kcmp(me, 1 << 22, 0, fd, fd));
	T(kcmp(0, me, 1, 0, 0));
	close(gate[1]);
	waitpid(shared, NULL, 0);
	waitpid(forked, NULL, 0);
	close(gate[0]);
	close(fd);
	close(other);
	close(dup1);
	close(got);
	close(pfd);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	kcmpCases();
	int st;
	siginfo_t si;

	/* pidfd_open: flags, pids, a thread id that is not a process. */
	pid_t pid = child();
	T(pidfd_open(pid, 1));
	T(pidfd_open(0, 0));
	T(pidfd_open(-1, 0));
	T(pidfd_open(4000000, 0));
	int pfd = pidfd_open(pid, 0);
	CHECK(pfd >= 0);
	CHECK((fcntl(pfd, F_GETFD) & FD_CLOEXEC) != 0);
	CHECK((fcntl(pfd, F_GETFL) & O_NONBLOCK) == 0);
	char link[64] = {0}, path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", pfd);
	readlink(path, link, sizeof link - 1);
	printf("link: %s\n", link);
	char buf[8];
	T(read(pfd, buf, sizeof buf));
	T(revents(pfd));

	/* Not yet exited: a non-blocking pidfd's waitid is EAGAIN. */
	int nb = pidfd_open(pid, PIDFD_NONBLOCK);
	CHECK((fcntl(nb, F_GETFL) & O_NONBLOCK) != 0);
	T(waitid(P_PIDFD, nb, &si, WEXITED));
	memset(&si, 0xff, sizeof si);
	T(waitid(P_PIDFD, pfd, &si, WEXITED | WNOHANG));
	T(si.si_pid);

	/* pidfd_send_signal: errors, then SIGTERM. */
	T(pidfd_send_signal(pfd, SIGTERM, NULL, 99));
	T(pidfd_send_signal(99, SIGTERM, NULL, 0));
	T(pidfd_send_signal(0, SIGTERM, NULL, 0));
	T(pidfd_send_signal(pfd, 99, NULL, 0));
	T(pidfd_send_signal(pfd, 0, NULL, 0));
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR1;
	si.si_code = SI_QUEUE;
	T(pidfd_send_signal(pfd, SIGTERM, &si, 0));
	si.si_signo = SIGTERM;
	T(pidfd_send_signal(pfd, SIGTERM, &si, 0));
	T(pidfd_send_signal(pfd, SIGTERM, BAD, 0));
	T(pidfd_send_signal(pfd, SIGTERM, NULL, 0));

	/* A /proc/PID directory stands for a pidfd in pidfd_send_signal
	 * only; other directories and a thread's are EBADF. */
	int procfd = open("/proc/self", O_RDONLY | O_DIRECTORY);
	T(pidfd_send_signal(procfd, 0, NULL, 0));
	signal(SIGUSR2, SIG_IGN);
	T(pidfd_send_signal(procfd, SIGUSR2, NULL, 0));
	T(syscall(SYS_pidfd_getfd, procfd, 0, 0));
	char tpath[64];
	snprintf(tpath, sizeof tpath, "/proc/self/task/%d", gettid());
	int taskfd = open(tpath, O_RDONLY | O_DIRECTORY);
	T(pidfd_send_signal(taskfd, 0, NULL, 0));
	int dotfd = open(".", O_RDONLY | O_DIRECTORY);
	T(pidfd_send_signal(dotfd, 0, NULL, 0));
	close(procfd);
	close(taskfd);
	close(dotfd);

	/* poll and epoll: readable once it exited, before it is reaped. */
	struct pollfd p = {pfd, POLLIN, 0};
	T(poll(&p, 1, 5000));
	T(p.revents);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 42}, out;
	T(epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ev));
	T(epoll_wait(ep, &out, 1, 1000));
	printf("epoll: events %#x data %u\n", out.events, out.data.u32);
	T(pidfd_send_signal(pfd, 0, NULL, 0));
	T(pidfd_getfd(pfd, 0, 0));

	/* waitid(P_PIDFD): errors, then the exit. */
	T(waitid(P_PIDFD, 99, &si, WEXITED));
	T(waitid(P_PIDFD, 0, &si, WEXITED));
	T(waitid(P_PIDFD, -1, &si, WEXITED));
	memset(&si, 0, sizeof si);
	T(waitid(P_PIDFD, pfd, &si, WEXITED));
	printf("waitid: signo %d code %d status %d pid-ok %d\n", si.si_signo, si.si_code, si.si_status, si.si_pid == pid);

	/* After reaping: ESRCH, ECHILD, readable with POLLHUP. */
	T(pidfd_send_signal(pfd, SIGTERM, NULL, 0));
	T(pidfd_send_signal(pfd, 0, NULL, 0));
	T(pidfd_getfd(pfd, 0, 0));
	T(waitid(P_PIDFD, pfd, &si, WEXITED));
	T(revents(pfd));
	T(pidfd_open(pid, 0));
	close(pfd);
	close(nb);
	close(ep);

	/* A pidfd of a process that is not our child: waitid is ECHILD. */
	pfd = pidfd_open(getpid(), 0);
	T(waitid(P_PIDFD, pfd, &si, WEXITED | WNOHANG));
	T(revents(pfd));
	/* pidfd_getfd of our own descriptor, and its errors. */
	int fd = pidfd_getfd(pfd, 1, 0);
	CHECK(fd > 2);
	CHECK((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0);
	T(write(fd, "via getfd\n", 0));
	T(pidfd_getfd(pfd, 1, 1));
	T(pidfd_getfd(pfd, 999, 0));
	T(pidfd_getfd(99, 1, 0));
	T(pidfd_getfd(0, 1, 0));
	close(fd);
	close(pfd);

	/* clone(CLONE_PIDFD): the pidfd in parent_tid. */
	int cfd = -1;
	pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &cfd, 0, 0);
	if (pid == 0)
		_exit(3);
	CHECK(pid > 0);
	CHECK(cfd > 2);
	CHECK((fcntl(cfd, F_GETFD) & FD_CLOEXEC) != 0);
	memset(&si, 0, sizeof si);
	T(waitid(P_PIDFD, cfd, &si, WEXITED));
	printf("clone child: code %d status %d\n", si.si_code, si.si_status);
	close(cfd);
	T(syscall(SYS_clone, CLONE_PIDFD | CLONE_PARENT_SETTID | SIGCHLD, 0, &cfd, 0, 0));
	T(syscall(SYS_clone, CLONE_PIDFD | CLONE_DETACHED | SIGCHLD, 0, &cfd, 0, 0));
	T(syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, BAD, 0, 0));
	/* The failed clone left no child behind. */
	T(waitpid(-1, &st, WNOHANG));

	/* clone3(CLONE_PIDFD): the pidfd in cl_args.pidfd. */
	struct clone_args ca;
	memset(&ca, 0, sizeof ca);
	ca.flags = CLONE_PIDFD;
	ca.pidfd = (unsigned long)&cfd;
	ca.exit_signal = SIGCHLD;
	cfd = -1;
	pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid == 0) {
		sleep_ms(20);
		_exit(5);
	}
	CHECK(pid > 0);
	CHECK(cfd > 2);
	T(revents(cfd));
	p.fd = cfd;
	T(poll(&p, 1, 5000));
	T(waitid(P_PIDFD, cfd, &si, WEXITED | WNOWAIT));
	printf("clone3 child: code %d status %d\n", si.si_code, si.si_status);
	T(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);
	close(cfd);
	return 0;
}
