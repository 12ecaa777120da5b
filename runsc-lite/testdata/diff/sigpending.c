/* RLIMIT_SIGPENDING: the signals queued for a real user are counted, and
 * beyond the limit a real-time signal sent with a siginfo (sigqueue,
 * tgkill, rt_tgsigqueueinfo) fails with EAGAIN, while kill's and standard
 * signals are still made pending, some without their siginfo (kernel/
 * signal.c's __send_signal_locked and collect_signal). Signals leave the
 * count when taken, when their action becomes SIG_IGN and when the process
 * that had them queued exits. Each part runs in a child with a limit of 3,
 * the signals blocked and taken with sigtimedwait, as a user of its own
 * (the count is the user's, host-wide: root's has others' signals), so
 * the program needs a root host. */
#include "common.h"
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

/* info is a siginfo as sigqueue(3) makes it. */
static siginfo_t info(int sig, int v) {
	siginfo_t si = {0};
	si.si_signo = sig;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = v;
	return si;
}

static long sq(int sig, int v) {
	siginfo_t si = info(sig, v);
	return syscall(SYS_rt_sigqueueinfo, getpid(), sig, &si);
}

static long tgsq(int sig, int v) {
	siginfo_t si = info(sig, v);
	return syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), sig, &si);
}

/* sqs queues SIGRTMIN+rt with the values first to last, one by one. */
static void sqs(int rt, int first, int last) {
	for (int v = first; v <= last; v++) {
		errno = 0;
		long r = sq(SIGRTMIN + rt, v);
		printf("sq(SIGRTMIN + %d, %d) = %ld %s\n", rt, v, r, r ? ename(errno) : "");
	}
}

static long tgk(int sig) { return syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig); }

static sigset_t all;

/* drain takes every pending signal of all and prints what it says. */
static void drain(void) {
	struct timespec zero = {0};
	siginfo_t si;
	int sig;
	while ((sig = sigtimedwait(&all, &si, &zero)) > 0) {
		const char *sig_name = sig >= SIGRTMIN ? "RT" : sig == SIGUSR1 ? "USR1" : "USR2";
		printf("  took %s%+d code %d value %d from self %s\n", sig_name,
		       sig >= SIGRTMIN ? sig - SIGRTMIN : 0, si.si_code,
		       si.si_code == SI_QUEUE ? si.si_value.sival_int : -1,
		       si.si_pid == getpid() ? "yes" : si.si_pid == 0 ? "no (0)" : "other");
	}
	printf("  then: %s\n", ename(errno));
}

static void limit(rlim_t n) {
	struct rlimit rl = {n, n};
	if (setrlimit(RLIMIT_SIGPENDING, &rl) != 0)
		printf("setrlimit: %s\n", ename(errno));
}

/* part runs f in a child and waits for it. */
static void part(const char *what, void (*f)(void)) {
	printf("%s\n", what);
	pid_t pid = fork();
	if (pid == 0) {
		sigprocmask(SIG_BLOCK, &all, NULL);
		limit(3);
		/* A user no other program runs as, not even another run of
		 * this one. */
		if (setuid(200000 + getpid() % 100000) != 0)
			printf("setuid: %s\n", ename(errno));
		f();
		exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("  exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

static void refuse(void) {
	T(sq(SIGRTMIN, 1));
	T(sq(SIGRTMIN, 2));
	T(tgsq(SIGRTMIN, 3));
	T(sq(SIGRTMIN, 4));           /* the fourth: EAGAIN */
	T(tgsq(SIGRTMIN + 1, 5));     /* EAGAIN */
	T(tgk(SIGRTMIN + 1));      /* EAGAIN (SI_TKILL) */
	T(kill(getpid(), SIGRTMIN + 1)); /* pending, its siginfo lost */
	T(kill(getpid(), SIGRTMIN + 1)); /* again: still one */
	T(sq(SIGUSR1, 6));            /* standard: pending, siginfo lost */
	T(kill(getpid(), SIGUSR2));   /* kill's standard signal queues anyway */
	drain();
	/* Taken: the count is back to 0. */
	sqs(2, 7, 10);
	drain();
}

static void ignore(void) {
	sqs(0, 1, 1);
	sqs(1, 2, 3);
	sqs(2, 4, 4);
	/* SIG_IGN drops what is pending of the signal, blocked or not. */
	signal(SIGRTMIN + 1, SIG_IGN);
	signal(SIGRTMIN + 1, SIG_DFL);
	sqs(2, 5, 7);
	drain();
}

static void queue3(void) { sqs(0, 1, 3); }

static void afterexit(void) {
	/* A child of this user queues 3 and exits with them pending: they
	 * no longer count. While it lives, they do. */
	int p[2];
	if (pipe(p) != 0)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		queue3();
		char c = 'x';
		write(p[1], &c, 1);
		pause(); /* blocked signals do not end it */
		exit(0);
	}
	char c;
	read(p[0], &c, 1);
	T(sq(SIGRTMIN, 4)); /* the child's 3 count: EAGAIN */
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	queue3();
	drain();
}

static void zero(void) {
	/* LTP's tgkill02: a limit of 0. */
	limit(0);
	T(tgk(SIGRTMIN));
	T(tgk(SIGUSR1));
	T(kill(getpid(), SIGRTMIN));
	drain();
}

int main(int argc, char **argv) {
	setup(argc, argv);
	sigemptyset(&all);
	for (int s = SIGRTMIN; s <= SIGRTMIN + 2; s++)
		sigaddset(&all, s);
	sigaddset(&all, SIGUSR1);
	sigaddset(&all, SIGUSR2);
	part("refused past the limit", refuse);
	part("dropped by SIG_IGN", ignore);
	part("freed at exit", afterexit);
	part("a limit of 0", zero);
	return 0;
}
