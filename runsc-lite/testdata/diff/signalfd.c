/* signalfd: creation and mask updates, reads of pending signals (the
 * thread's before the process's), records of kill, tgkill, sigqueue and
 * SIGCHLD, blocking reads, poll and epoll readiness. */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>

static void show(const char *what, struct signalfd_siginfo *si) {
	printf("%s: signo %d code %d errno %d pid-ok %d uid-ok %d int %d ptr %llu status %d\n", what,
	       si->ssi_signo, si->ssi_code, si->ssi_errno, si->ssi_pid == (unsigned)getpid(),
	       si->ssi_uid == getuid(), si->ssi_int, (unsigned long long)si->ssi_ptr, si->ssi_status);
}

static sigset_t set(int a, int b) {
	sigset_t s;
	sigemptyset(&s);
	if (a) sigaddset(&s, a);
	if (b) sigaddset(&s, b);
	return s;
}

/* usr1_later forks a child that sends SIGUSR1 to its parent in 30 ms. */
static pid_t usr1_later(void) {
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec ts = {0, 30000000};
		nanosleep(&ts, NULL);
		kill(getppid(), SIGUSR1);
		_exit(0);
	}
	return pid;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	struct signalfd_siginfo si[4];
	sigset_t all = set(SIGUSR1, SIGUSR2);
	sigaddset(&all, SIGCHLD);
	sigaddset(&all, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &all, NULL);

	sigset_t m = set(SIGUSR1, 0);
	T(syscall(SYS_signalfd4, -1, &m, 4, 0));
	T(syscall(SYS_signalfd4, -1, &m, 8, 1 << 3));
	T(syscall(SYS_signalfd4, -1, BAD, 8, 0));
	T(signalfd(99, &m, 0));
	int p[2];
	pipe(p);
	T(signalfd(p[0], &m, 0));

	int sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
	CHECK(sfd >= 0);
	CHECK(fcntl(sfd, F_GETFD) == FD_CLOEXEC);
	CHECK((fcntl(sfd, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR));
	struct stat st;
	T(fstat(sfd, &st));
	printf("type %s perms %o\n", ftype(st.st_mode), st.st_mode & 07777);
	char link[64] = {0}, path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", sfd);
	T(readlink(path, link, sizeof link - 1));
	printf("link %s\n", link);
	T(read(sfd, si, sizeof si));
	T(read(sfd, si, 100));
	T(write(sfd, si, sizeof si[0]));
	T(lseek(sfd, 0, SEEK_SET));

	struct pollfd pfd = {sfd, POLLIN, 0};
	T(poll(&pfd, 1, 0));
	T(kill(getpid(), SIGUSR1));
	T(poll(&pfd, 1, 0));
	printf("revents %#x\n", pfd.revents);
	T(read(sfd, si, sizeof si));
	show("kill", &si[0]);
	T(read(sfd, si, sizeof si));

	/* a signal outside the mask stays pending */
	T(kill(getpid(), SIGUSR2));
	T(read(sfd, si, sizeof si));
	sigset_t pend;
	sigpending(&pend);
	CHECK(sigismember(&pend, SIGUSR2));

	/* widen the mask of the same descriptor */
	m = set(SIGUSR1, SIGUSR2);
	T(signalfd(sfd, &m, 0) == sfd);
	T(read(sfd, si, sizeof si));
	show("after mask change", &si[0]);

	/* tgkill's arguments: no signal is sent */
	T(syscall(SYS_tgkill, -1, gettid(), SIGUSR2));
	T(syscall(SYS_tgkill, 0, gettid(), SIGUSR2));
	T(syscall(SYS_tgkill, getpid(), -1, SIGUSR2));
	T(syscall(SYS_tgkill, getpid(), gettid(), -1));
	T(syscall(SYS_tgkill, getpid() + 1000, gettid(), 0));

	/* several at once: the thread's pending signals come first */
	T(kill(getpid(), SIGUSR1));
	T(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR2));
	T(read(sfd, si, sizeof si));
	show("first", &si[0]);
	show("second", &si[1]);

	/* sigqueue: real-time signals queue, with their values */
	m = set(SIGRTMIN, 0);
	T(signalfd(sfd, &m, 0) == sfd);
	T(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 41}));
	T(sigqueue(getpid(), SIGRTMIN, (union sigval){.sival_int = 42}));
	T(read(sfd, si, sizeof si[0]));
	show("rt 1", &si[0]);
	T(read(sfd, si, sizeof si));
	show("rt 2", &si[0]);

	/* SIGCHLD, default-ignored but blocked: it stays pending for a
	 * blocking read */
	int cfd = signalfd(-1, &(sigset_t){0}, 0);
	m = set(SIGCHLD, 0);
	T(signalfd(cfd, &m, 0) == cfd);
	pid_t pid = fork();
	if (pid == 0)
		_exit(7);
	T(read(cfd, si, sizeof si));
	printf("sigchld: signo %d code %d status %d pid-ok %d\n", si[0].ssi_signo, si[0].ssi_code,
	       si[0].ssi_status, si[0].ssi_pid == (unsigned)pid);
	int wst;
	T(waitpid(pid, &wst, 0) == pid);

	/* a blocking read woken by another process's kill */
	m = set(SIGUSR1, 0);
	T(signalfd(cfd, &m, 0) == cfd);
	pid = usr1_later();
	T(read(cfd, si, sizeof si));
	printf("from child: signo %d code %d pid-ok %d\n", si[0].ssi_signo, si[0].ssi_code,
	       si[0].ssi_pid == (unsigned)pid);
	T(waitpid(pid, &wst, 0) == pid);

	/* epoll */
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7}, out[2];
	T(epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev));
	T(epoll_wait(ep, out, 2, 0));
	pid = usr1_later();
	T(epoll_wait(ep, out, 2, 5000));
	printf("event %#x data %llu\n", out[0].events, (unsigned long long)out[0].data.u64);
	T(read(cfd, si, sizeof si));
	T(epoll_wait(ep, out, 2, 0));
	T(waitpid(pid, &wst, 0) == pid);
	return 0;
}
