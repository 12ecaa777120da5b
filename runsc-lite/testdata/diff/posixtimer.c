/* POSIX interval timers as Linux runs them: a timer whose signal is still
 * queued is not re-armed; it is re-armed when the signal is delivered, and
 * the intervals missed meanwhile are its overrun (si_overrun and
 * timer_getoverrun, capped at INT_MAX). timer_create charges its signal
 * to RLIMIT_SIGPENDING. */
#include "common.h"
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static timer_t mk(clockid_t clock, int sig) {
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig};
	ev.sigev_value.sival_int = 42;
	timer_t id;
	if (timer_create(clock, &ev, &id))
		perror("timer_create");
	return id;
}

static void set(timer_t id, int flags, long long value, long long interval) {
	struct itimerspec its = {
		.it_value = {value / 1000000000, value % 1000000000},
		.it_interval = {interval / 1000000000, interval % 1000000000},
	};
	if (timer_settime(id, flags, &its, NULL))
		perror("timer_settime");
}

static void sleepms(int ms) {
	struct timespec ts = {0, ms * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static long long cpuns(void) {
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* waitOne takes the pending sig and prints what its siginfo says. */
static siginfo_t waitOne(int sig) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	siginfo_t si = {0};
	int got = sigwaitinfo(&set, &si);
	printf("sigwaitinfo = %s, si_code SI_TIMER: %s, sival 42: %s\n", got == sig ? "sig" : "?",
	       si.si_code == SI_TIMER ? "yes" : "NO", si.si_value.sival_int == 42 ? "yes" : "NO");
	return si;
}

/* flush drops sig if pending: the expiry of a timer disarmed after it
 * was queued (which Linux 6.13 and later drop at delivery, and earlier
 * ones deliver). */
static void flush(int sig) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&set, NULL, &zero) == sig)
		;
}

/* blockedOverrun: a 1 ms timer whose signal waits 50 ms blocked counts the
 * intervals missed at delivery; it is then re-armed, within an interval. */
static void blockedOverrun(void) {
	puts("-- blocked 1ms timer");
	timer_t id = mk(CLOCK_MONOTONIC, SIGUSR1);
	set(id, 0, 1000000, 1000000);
	sleepms(50);
	struct itimerspec cur;
	T(timer_gettime(id, &cur));
	CHECK(ns(cur.it_value) > 0 && ns(cur.it_value) <= 1000000);
	CHECK(ns(cur.it_interval) == 1000000);
	CHECK(timer_getoverrun(id) == 0);
	siginfo_t si = waitOne(SIGUSR1);
	int over = timer_getoverrun(id);
	CHECK(si.si_overrun >= 20);
	CHECK(si.si_overrun < 1000);
	CHECK(over == si.si_overrun);
	/* Re-armed at delivery: the next expiry comes within an interval. */
	sleepms(5);
	sigset_t pend;
	sigpending(&pend);
	CHECK(sigismember(&pend, SIGUSR1));
	si = waitOne(SIGUSR1);
	CHECK(si.si_overrun >= 0 && si.si_overrun < 1000);
	/* timer_settime forgets the overrun. */
	set(id, 0, 0, 0);
	T(timer_getoverrun(id));
	flush(SIGUSR1);
	T(timer_delete(id));
}

/* pastAbsolute: an absolute expiry 10 s ago with a 1 ns interval overruns
 * past INT_MAX: capped (LTP timer_settime03, CVE-2018-12896). */
static void pastAbsolute(void) {
	puts("-- absolute expiry in the past, 1ns interval");
	timer_t id = mk(CLOCK_REALTIME, SIGUSR1);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	set(id, TIMER_ABSTIME, ns(now) - 10000000000LL, 1);
	siginfo_t si = waitOne(SIGUSR1);
	CHECK(si.si_overrun == INT_MAX);
	CHECK(timer_getoverrun(id) == INT_MAX);
	set(id, 0, 0, 0);
	flush(SIGUSR1);
	T(timer_delete(id));
}

/* nanoInterval: a 1 ns interval timer whose signal stays blocked 100 ms
 * does not keep expiring: the process spends no CPU on it, and its
 * overrun is counted only at delivery. */
static void nanoInterval(void) {
	puts("-- 1ns interval, blocked 100ms");
	timer_t id = mk(CLOCK_MONOTONIC, SIGUSR2);
	long long before = cpuns();
	set(id, 0, 1, 1);
	sleepms(100);
	long long spent = cpuns() - before;
	CHECK(spent < 50000000);
	siginfo_t si = waitOne(SIGUSR2);
	CHECK(si.si_overrun > 1000000);
	set(id, 0, 0, 0);
	flush(SIGUSR2);
	T(timer_delete(id));
}

/* standardPending: a timer's standard signal queues even when the same
 * signal is pending from kill: both are delivered. */
static void standardPending(void) {
	puts("-- timer signal after a pending kill");
	timer_t id = mk(CLOCK_MONOTONIC, SIGUSR1);
	kill(getpid(), SIGUSR1);
	set(id, 0, 1000000, 0);
	sleepms(10);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	siginfo_t si;
	T(sigwaitinfo(&set, &si));
	CHECK(si.si_code == SI_USER);
	struct timespec zero = {0, 0};
	T(sigtimedwait(&set, &si, &zero));
	CHECK(si.si_code == SI_TIMER);
	T(timer_delete(id));
}

/* sigpendingLimit: each timer holds one of RLIMIT_SIGPENDING's signals. */
static void sigpendingLimit(void) {
	puts("-- RLIMIT_SIGPENDING");
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = {0, 0};
		getrlimit(RLIMIT_SIGPENDING, &rl);
		/* This user's other processes hold some of it: take what is
		 * left, then see the next one refused. */
		rl.rlim_cur = 4;
		setrlimit(RLIMIT_SIGPENDING, &rl);
		struct sigevent ev = {.sigev_notify = SIGEV_NONE};
		timer_t id;
		int n = 0, err = 0;
		while (n < 100) {
			if (timer_create(CLOCK_MONOTONIC, &ev, &id)) {
				err = errno;
				break;
			}
			n++;
		}
		printf("timers created: at most 4: %s, then %s\n", n <= 4 ? "yes" : "NO", ename(err));
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	blockedOverrun();
	pastAbsolute();
	nanoInterval();
	standardPending();
	sigpendingLimit();
	return 0;
}
