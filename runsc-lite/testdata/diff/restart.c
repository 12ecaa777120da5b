/* Syscalls interrupted by signals (signal(7)): with an SA_RESTART handler
 * read, wait4 and futex wait restart, while poll, select, epoll_wait,
 * sigsuspend, nanosleep and timed futex waits fail with EINTR; without
 * SA_RESTART they all fail with EINTR; a blocked signal interrupts nothing.
 * Signals come from a child process or a timer, after delays long enough
 * for the parent to be blocked. */
#include "common.h"
#include <linux/futex.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

static volatile int handled;
static void handler(int sig) { handled++; }

static void on(int sig, int flags) {
	struct sigaction sa = {0};
	sa.sa_handler = handler;
	sa.sa_flags = flags;
	sigaction(sig, &sa, NULL);
	handled = 0;
}

static void msleep(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* parent_blocked waits (up to 5 s) until the parent sleeps, as
 * /proc/PPID/stat's state says: a signal sent 50 ms after the fork could
 * otherwise come before the parent's call when the machine is busy, and the
 * call would then run to its timeout. (The sandbox shows S for any task in a
 * syscall, Linux for an interruptible sleep: the 50 ms after it remain.) */
static void parent_blocked(void) {
	char path[64], buf[256];
	snprintf(path, sizeof(path), "/proc/%d/stat", getppid());
	for (int i = 0; i < 5000; i++) {
		int fd = open(path, O_RDONLY);
		ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = 0;
			char *state = strrchr(buf, ')');
			if (state && state[1] == ' ' && state[2] == 'S')
				return;
		}
		msleep(1);
	}
}

/* child forks a process that sends sig to its parent 50 ms after the
 * parent sleeps and, if fd >= 0, writes a byte to fd 50 ms later; it then
 * exits. */
static pid_t child(int sig, int fd) {
	pid_t pid = fork();
	if (pid == 0) {
		parent_blocked();
		msleep(50);
		kill(getppid(), sig);
		if (fd >= 0) {
			msleep(50);
			write(fd, "x", 1);
		}
		_exit(0);
	}
	return pid;
}

static long elapsed_ms(struct timespec a) {
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
}

static void reap(pid_t pid) {
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

static volatile int oneshot;
static void onOneshot(int sig, siginfo_t *si, void *uc) { oneshot += si != NULL; }

/* resetHand: SA_RESETHAND puts the handler back to SIG_DFL when the
 * signal is delivered, and only the handler: the flags stay. */
static void resetHand(void) {
	struct sigaction sa = {0}, old;
	sa.sa_sigaction = onOneshot;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	T(sigaction(SIGUSR2, &sa, NULL));
	T(raise(SIGUSR2));
	T(sigaction(SIGUSR2, NULL, &old));
	printf("handled %d, handler is SIG_DFL %d, SA_SIGINFO %d, SA_RESETHAND %d\n", oneshot,
	       old.sa_handler == SIG_DFL, !!(old.sa_flags & SA_SIGINFO), !!(old.sa_flags & SA_RESETHAND));
	signal(SIGUSR2, SIG_DFL);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	resetHand();
	int p[2];
	char c;
	pid_t pid;

	/* read on a pipe */
	pipe(p);
	on(SIGUSR1, SA_RESTART);
	pid = child(SIGUSR1, p[1]);
	T(read(p[0], &c, 1));
	printf("SA_RESTART read: handled %d\n", handled);
	reap(pid);

	on(SIGUSR1, 0);
	pid = child(SIGUSR1, p[1]);
	T(read(p[0], &c, 1));
	printf("plain read: handled %d\n", handled);
	T(read(p[0], &c, 1));
	reap(pid);

	/* wait4 */
	on(SIGUSR1, SA_RESTART);
	pid = child(SIGUSR1, p[1]);
	int st;
	T(waitpid(pid, &st, 0) == pid);
	printf("SA_RESTART wait: handled %d\n", handled);
	T(read(p[0], &c, 1));

	on(SIGUSR1, 0);
	pid = child(SIGUSR1, p[1]);
	T(waitpid(pid, &st, 0));
	printf("plain wait: handled %d\n", handled);
	reap(pid);
	T(read(p[0], &c, 1));

	/* calls that never restart after a handler */
	on(SIGUSR1, SA_RESTART);
	pid = child(SIGUSR1, -1);
	struct pollfd pfd = {p[0], POLLIN, 0};
	T(poll(&pfd, 1, 5000));
	reap(pid);
	pid = child(SIGUSR1, -1);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	struct timeval tv = {5, 0};
	T(select(p[0] + 1, &rd, NULL, NULL, &tv));
	reap(pid);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	pid = child(SIGUSR1, -1);
	T(epoll_wait(ep, &out, 1, 5000));
	reap(pid);
	pid = child(SIGUSR1, -1);
	sigset_t none;
	sigemptyset(&none);
	T(sigsuspend(&none));
	reap(pid);
	pid = child(SIGUSR1, -1);
	struct timespec ts = {5, 0}, rem = {0, 0}, slept;
	clock_gettime(CLOCK_MONOTONIC, &slept);
	T(nanosleep(&ts, &rem));
	/* what is left is at most the request, and at least the request less
	 * the time the call took, however long the signal took to come */
	long took = elapsed_ms(slept) + 1;
	long left = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
	CHECK(left <= 5000 && left >= 5000 - took);
	reap(pid);
	printf("handled %d\n", handled);

	/* a timer's signal interrupts nanosleep with the time left */
	on(SIGALRM, SA_RESTART);
	struct itimerval it = {{0, 0}, {0, 50000}};
	setitimer(ITIMER_REAL, &it, NULL);
	ts = (struct timespec){2, 0};
	T(nanosleep(&ts, &rem));
	CHECK(rem.tv_sec == 1 && rem.tv_nsec > 0);
	setitimer(ITIMER_REAL, &it, NULL);
	ts = (struct timespec){2, 0};
	T(clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &rem));
	CHECK(rem.tv_sec == 1 && rem.tv_nsec > 0);
	printf("alarms handled %d\n", handled);

	/* futex waits on shared memory, woken 50 ms after the signal */
	uint32_t *word = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	on(SIGUSR1, SA_RESTART);
	*word = 0;
	pid = fork();
	if (pid == 0) {
		parent_blocked();
		msleep(50);
		kill(getppid(), SIGUSR1);
		msleep(50);
		*word = 1;
		syscall(SYS_futex, word, FUTEX_WAKE, 1, NULL, NULL, 0);
		_exit(0);
	}
	long r = syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0);
	printf("SA_RESTART futex wait: restarted %d handled %d\n", r == 0 || errno == EAGAIN, handled);
	reap(pid);
	*word = 0;
	pid = child(SIGUSR1, -1);
	ts = (struct timespec){5, 0};
	T(syscall(SYS_futex, word, FUTEX_WAIT, 0, &ts, NULL, 0));
	reap(pid);
	on(SIGUSR1, 0);
	pid = child(SIGUSR1, -1);
	T(syscall(SYS_futex, word, FUTEX_WAIT, 0, NULL, NULL, 0));
	reap(pid);

	/* a blocked signal interrupts nothing */
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid = child(SIGUSR2, p[1]);
	ts = (struct timespec){0, 150000000};
	T(nanosleep(&ts, NULL));
	CHECK(elapsed_ms(start) >= 145);
	T(read(p[0], &c, 1));
	reap(pid);
	sigpending(&usr2);
	CHECK(sigismember(&usr2, SIGUSR2));
	return 0;
}
