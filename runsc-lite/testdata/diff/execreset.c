/* What execve resets and what it keeps (fs/exec.c's begin_new_exec):
 * POSIX timers are deleted and the siginfos queued with si_code SI_TIMER
 * are dropped (exit_itimers, flush_itimer_signals), while other pending
 * signals, the blocked mask, ignored signals, ITIMER_REAL, the parent
 * death signal and the next timer ID stay; caught signals return to
 * SIG_DFL and the alternate signal stack is gone. */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <time.h>

static void handler(int sig) { (void)sig; }

static timer_t mk(clockid_t clock, int sig) {
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig};
	timer_t id = 0;
	if (timer_create(clock, &ev, &id))
		printf("timer_create: %s\n", ename(errno));
	return id;
}

static void arm(timer_t id, long long value_ns, long long interval_ns) {
	struct itimerspec its = {
		.it_value = {value_ns / 1000000000, value_ns % 1000000000},
		.it_interval = {interval_ns / 1000000000, interval_ns % 1000000000},
	};
	if (timer_settime(id, 0, &its, NULL))
		printf("timer_settime: %s\n", ename(errno));
}

static void sleepms(int ms) {
	struct timespec ts = {0, ms * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* queue_self sends sig to this process with si_code code
 * (rt_sigqueueinfo: any negative code but SI_TKILL is allowed). */
static long queue_self(int sig, int code, int value) {
	siginfo_t si = {0};
	si.si_signo = sig;
	si.si_code = code;
	si.si_pid = getpid();
	si.si_uid = getuid();
	si.si_value.sival_int = value;
	return syscall(SYS_rt_sigqueueinfo, getpid(), sig, &si);
}

static void show_pending(const char *when) {
	sigset_t p;
	sigpending(&p);
	printf("%s pending:", when);
	for (int s = 1; s < 65; s++)
		if (sigismember(&p, s))
			printf(" %d", s < SIGRTMIN ? s : 1000 + s - SIGRTMIN);
	printf("\n");
}

/* drain takes every pending instance of sig and prints its si_code. */
static void drain(int sig) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	struct timespec zero = {0, 0};
	siginfo_t si;
	printf("signal %d:", sig < SIGRTMIN ? sig : 1000 + sig - SIGRTMIN);
	while (sigtimedwait(&set, &si, &zero) == sig)
		printf(" code %d value %d;", si.si_code, si.si_code == SI_TIMER ? -1 : si.si_value.sival_int);
	printf("\n");
}

static int after(void) {
	printf("after exec\n");
	show_pending("after");
	/* The timers are gone: IDs 0, 1 and 2 name nothing. */
	struct itimerspec cur;
	for (long id = 0; id < 3; id++)
		T(syscall(SYS_timer_gettime, id, &cur));
	T(syscall(SYS_timer_delete, 0L));
	T(syscall(SYS_timer_getoverrun, 1L));
	/* A new timer takes the next ID, as the process's counter is kept. */
	int nid = -1;
	struct sigevent ev = {.sigev_notify = SIGEV_NONE};
	T(syscall(SYS_timer_create, CLOCK_MONOTONIC, &ev, &nid));
	printf("new timer id %d\n", nid);
	/* Each signal: the siginfos kept, none from a timer. */
	drain(SIGUSR1);
	drain(SIGUSR2);
	drain(SIGALRM);
	drain(SIGRTMIN);
	drain(SIGRTMIN + 1);
	drain(SIGRTMIN + 2);
	drain(SIGRTMIN + 3);
	show_pending("drained");
	/* ITIMER_REAL lives on. */
	struct itimerval itv;
	getitimer(ITIMER_REAL, &itv);
	CHECK(itv.it_value.tv_sec > 100);
	CHECK(itv.it_interval.tv_sec == 500);
	/* The parent death signal, the ignored and the caught signals. */
	int pd = 0;
	prctl(PR_GET_PDEATHSIG, &pd);
	printf("pdeathsig %d\n", pd);
	struct sigaction sa;
	sigaction(SIGTERM, NULL, &sa);
	CHECK(sa.sa_handler == SIG_IGN);
	sigaction(SIGHUP, NULL, &sa);
	CHECK(sa.sa_handler == SIG_DFL);
	sigset_t mask;
	sigprocmask(SIG_SETMASK, NULL, &mask);
	CHECK(sigismember(&mask, SIGRTMIN) && sigismember(&mask, SIGUSR1));
	/* No alternate signal stack. */
	stack_t ss;
	T(sigaltstack(NULL, &ss));
	printf("altstack flags %#x size %zu\n", ss.ss_flags, ss.ss_size);
	T(prctl(PR_GET_DUMPABLE));
	/* The timer kept nothing that would fire: a second later there is
	 * still nothing pending. */
	sleepms(300);
	show_pending("later");
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "after") == 0)
		return after();
	setvbuf(stdout, NULL, _IONBF, 0);
	sigset_t block;
	sigemptyset(&block);
	for (int s = SIGRTMIN; s <= SIGRTMIN + 3; s++)
		sigaddset(&block, s);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, NULL);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, handler);
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	prctl(PR_SET_DUMPABLE, 0);
	static char altstack[65536];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
	T(sigaltstack(&ss, NULL));

	/* Timer 0 fires once into SIGRTMIN, blocked: its siginfo waits. */
	timer_t t0 = mk(CLOCK_MONOTONIC, SIGRTMIN);
	arm(t0, 1000000, 0);
	/* Timer 1 fires every 5 ms into SIGUSR2, which kill also sent. */
	kill(getpid(), SIGUSR2);
	timer_t t1 = mk(CLOCK_MONOTONIC, SIGUSR2);
	arm(t1, 1000000, 5000000);
	/* Timer 2, on the process's CPU clock, is armed far ahead. */
	timer_t t2 = mk(CLOCK_PROCESS_CPUTIME_ID, SIGRTMIN + 3);
	arm(t2, 100000000000LL, 0);
	sleepms(50);
	/* Signals that are no timer's. */
	kill(getpid(), SIGUSR1);
	T(queue_self(SIGRTMIN + 1, SI_QUEUE, 7));
	T(queue_self(SIGRTMIN, SI_QUEUE, 8));
	/* A siginfo that claims SI_TIMER is dropped at exec too. */
	T(queue_self(SIGRTMIN + 2, SI_TIMER, 9));
	struct itimerval itv = {.it_value = {1000, 0}, .it_interval = {500, 0}};
	setitimer(ITIMER_REAL, &itv, NULL);
	show_pending("before");
	struct itimerspec cur;
	T(timer_gettime(t2, &cur));
	CHECK(cur.it_value.tv_sec > 50);
	char *args[] = {argv[0], argv[1], "after", NULL};
	execv("/proc/self/exe", args);
	printf("execv: %s\n", ename(errno));
	return 1;
}
