/* Time: clock_gettime/clock_getres/nanosleep/clock_nanosleep/gettimeofday/
 * time. Error paths use syscall() directly: the vDSO does not report
 * EFAULT. */
#include "common.h"
#include <signal.h>
#include <sys/time.h>
#include <time.h>
#include <pthread.h>
#include <sys/wait.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static volatile sig_atomic_t got[65];
static void count(int sig) { got[sig]++; }

/* spinUntil burns CPU time, in user space, until sig has come (at most
 * about 10 s of CPU time). */
static int spinUntil(int sig) {
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		for (volatile int i = 0; i < 1000000; i++)
			;
		if (got[sig])
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ns(now) - ns(start) > 20000000000LL)
			return 0;
	}
}

/* cpuTimers: ITIMER_VIRTUAL, ITIMER_PROF and a CLOCK_PROCESS_CPUTIME_ID
 * timer expire after CPU time, not wall time. */
static void cpuTimers(void) {
	signal(SIGVTALRM, count);
	signal(SIGPROF, count);
	signal(SIGUSR1, count);
	struct itimerval v = {{0, 0}, {0, 50000}}, old;
	T(setitimer(ITIMER_VIRTUAL, &v, NULL));
	T(getitimer(ITIMER_VIRTUAL, &old));
	CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_usec > 0 && old.it_value.tv_usec <= 60000);
	CHECK(spinUntil(SIGVTALRM));
	T(getitimer(ITIMER_VIRTUAL, &old));
	CHECK(old.it_value.tv_sec == 0 && old.it_value.tv_usec == 0);

	struct itimerval p = {{0, 20000}, {0, 20000}};
	T(setitimer(ITIMER_PROF, &p, NULL));
	CHECK(spinUntil(SIGPROF));
	got[SIGPROF] = 0;
	CHECK(spinUntil(SIGPROF));
	struct itimerval off = {{0, 0}, {0, 0}};
	T(setitimer(ITIMER_PROF, &off, &old));
	CHECK(old.it_interval.tv_sec == 0 && old.it_interval.tv_usec == 20000);
	/* Sleeping uses no CPU time: the timer does not expire. */
	T(setitimer(ITIMER_PROF, &p, NULL));
	got[SIGPROF] = 0;
	struct timespec tenth = {0, 100000000};
	nanosleep(&tenth, NULL);
	T(setitimer(ITIMER_PROF, &off, NULL));
	printf("SIGPROF while asleep: %d\n", (int)got[SIGPROF]);

	T(getitimer(3, &old));
	T(setitimer(-ITIMER_PROF, &v, NULL));
	T(syscall(SYS_setitimer, ITIMER_VIRTUAL, &v, (void *)-1));
	T(setitimer(ITIMER_VIRTUAL, &off, NULL));

	timer_t id;
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
	T(timer_create(CLOCK_PROCESS_CPUTIME_ID, &ev, &id));
	struct itimerspec its = {{0, 0}, {0, 30000000}}, cur;
	T(timer_settime(id, 0, &its, NULL));
	T(timer_gettime(id, &cur));
	CHECK(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 30000000);
	CHECK(spinUntil(SIGUSR1));
	T(syscall(SYS_timer_settime, id, 0, NULL, NULL));
	T(timer_delete(id));
	T(timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &id));
	T(timer_delete(id));
	/* To the kernel SIGEV_THREAD is a signal. */
	struct sigevent th = {.sigev_notify = SIGEV_THREAD, .sigev_signo = SIGUSR1};
	T(syscall(SYS_timer_create, CLOCK_MONOTONIC, &th, &id));
	T(syscall(SYS_timer_delete, id));
	/* The CPU time spent shows in /proc/self/stat's utime and stime. */
	unsigned long utime = 0, stime = 0;
	FILE *f = fopen("/proc/self/stat", "r");
	CHECK(f && fscanf(f, "%*d %*s %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime) == 2);
	CHECK(utime + stime > 0);
	T(timer_create(CLOCK_MONOTONIC_RAW, &ev, &id));
	T(timer_create(CLOCK_TAI, &ev, &id));
	T(timer_delete(id));
}

/* CPU clocks made from process and thread IDs (Linux's CPUCLOCK
 * encoding: ~pid << 3 | per-thread 4 | PROF 0, VIRT 1, SCHED 2), as
 * clock_getcpuclockid and pthread_getcpuclockid make them. */
#define CPUCLOCK(pid, thread, which) ((~(clockid_t)(pid) << 3) | ((thread) ? 4 : 0) | (which))

static pthread_barrier_t cpubar;

static void *spin_thread(void *arg) {
	(void)arg;
	pthread_barrier_wait(&cpubar);
	pthread_barrier_wait(&cpubar);
	return NULL;
}

static void show_clock(const char *what, clockid_t c) {
	struct timespec ts = {0, 0}, res = {0, 0};
	errno = 0;
	int r = syscall(SYS_clock_gettime, c, &ts);
	int e = errno;
	errno = 0;
	int g = syscall(SYS_clock_getres, c, &res);
	int ge = errno;
	printf("%s: gettime %d %s getres %d %s res>0 %d\n", what, r, r ? ename(e) : "ok", g, g ? ename(ge) : "ok",
	       res.tv_sec > 0 || res.tv_nsec > 0);
}

static void cpuclocks(void) {
	pid_t me = getpid(), tid = syscall(SYS_gettid);
	show_clock("process pid 0 sched", CPUCLOCK(0, 0, 2));
	show_clock("process self prof", CPUCLOCK(me, 0, 0));
	show_clock("process self virt", CPUCLOCK(me, 0, 1));
	show_clock("process self sched", CPUCLOCK(me, 0, 2));
	show_clock("process self which 3", CPUCLOCK(me, 0, 3));
	show_clock("thread 0 sched", CPUCLOCK(0, 1, 2));
	show_clock("thread self sched", CPUCLOCK(tid, 1, 2));
	struct timespec res;
	syscall(SYS_clock_getres, CPUCLOCK(me, 0, 2), &res);
	printf("sched res %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
	syscall(SYS_clock_getres, CLOCK_PROCESS_CPUTIME_ID, &res);
	printf("process cputime res %ld.%09ld\n", (long)res.tv_sec, res.tv_nsec);
	clockid_t c;
	T(clock_getcpuclockid(0, &c));
	CHECK(c == CPUCLOCK(0, 0, 2));
	T(clock_getcpuclockid(me, &c));
	CHECK(c == CPUCLOCK(me, 0, 2));
	/* Another thread's clock: its ID is no process's. */
	pthread_t th;
	pthread_barrier_init(&cpubar, NULL, 2);
	pthread_create(&th, NULL, spin_thread, NULL);
	pthread_barrier_wait(&cpubar);
	T(pthread_getcpuclockid(th, &c));
	show_clock("other thread", c);
	pid_t other = ~(c >> 3);
	show_clock("other thread's id as a process", CPUCLOCK(other, 0, 2));
	pthread_barrier_wait(&cpubar);
	pthread_join(th, NULL);
	/* A child's process clock may be read; its thread clock may not. */
	int pfd[2];
	pipe(pfd);
	pid_t child = fork();
	if (child == 0) {
		char b;
		read(pfd[0], &b, 1);
		_exit(0);
	}
	show_clock("child process", CPUCLOCK(child, 0, 2));
	show_clock("child thread", CPUCLOCK(child, 1, 2));
	T(clock_getcpuclockid(child, &c));
	write(pfd[1], "x", 1);
	waitpid(child, NULL, 0);
	show_clock("reaped child", CPUCLOCK(child, 0, 2));
	show_clock("no such pid", CPUCLOCK(99999, 0, 2));
	show_clock("clockfd", (~(clockid_t)3 << 3) | 3);
	/* clock_nanosleep on CPU clocks. */
	struct timespec d = {0, 1000};
	printf("nanosleep thread cputime %s\n", ename(syscall(SYS_clock_nanosleep, CLOCK_THREAD_CPUTIME_ID, 0, &d, NULL) ? errno : 0));
	printf("nanosleep own thread clock %s\n", ename(syscall(SYS_clock_nanosleep, CPUCLOCK(0, 1, 2), 0, &d, NULL) ? errno : 0));
	printf("nanosleep own tid clock %s\n", ename(syscall(SYS_clock_nanosleep, CPUCLOCK(tid, 1, 2), 0, &d, NULL) ? errno : 0));
	printf("nanosleep bad clock %s\n", ename(syscall(SYS_clock_nanosleep, CPUCLOCK(me, 0, 3), 0, &d, NULL) ? errno : 0));
}

int main(int argc, char **argv) {
	setup(argc, argv);
	cpuclocks();
	struct timespec a, b, res;
	clockid_t clocks[] = {CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW,
			      CLOCK_BOOTTIME, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID};
	for (unsigned i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
		int r1 = clock_gettime(clocks[i], &a);
		int r2 = syscall(SYS_clock_gettime, clocks[i], &b);
		int r3 = clock_getres(clocks[i], &res);
		printf("clock %d: gettime %d %d, ordered %s, res %d {%ld, %ld}\n", clocks[i],
		       r1, r2, ns(b) >= ns(a) ? "yes" : "NO", r3, (long)res.tv_sec, res.tv_nsec);
	}
	/* coarse clocks tick at the host's HZ: only their sign is portable */
	T(clock_getres(CLOCK_MONOTONIC_COARSE, &res));
	CHECK(res.tv_sec == 0 && res.tv_nsec > 0);
	T(clock_gettime(CLOCK_REALTIME_COARSE, &a));

	clock_gettime(CLOCK_MONOTONIC, &a);
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(ns(b) >= ns(a));
	/* gettimeofday and time read the clock that CLOCK_REALTIME reads
	 * before and after them: bracketed by the two, however long the calls
	 * take on a loaded machine (no bound on elapsed wall time). */
	clock_gettime(CLOCK_REALTIME, &a);
	CHECK(a.tv_sec > 1600000000);
	struct timeval tv;
	T(gettimeofday(&tv, NULL));
	time_t t = time(NULL);
	clock_gettime(CLOCK_REALTIME, &b);
	long long tvns = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
	CHECK(tvns >= ns(a) / 1000 * 1000 && tvns <= ns(b));
	/* time() reads the coarse clock, up to a tick behind gettimeofday: just
	 * after a second begins it may still show the one before. */
	CHECK(t >= tv.tv_sec - 1 && t <= b.tv_sec);
	CHECK(tv.tv_usec >= 0 && tv.tv_usec < 1000000);
	T(syscall(SYS_time, NULL) >= t);
	time_t t2 = 0;
	T(syscall(SYS_time, &t2) == t2);

	/* sleeping */
	struct timespec ms = {0, 1000000}, rem = {7, 7};
	clock_gettime(CLOCK_MONOTONIC, &a);
	T(nanosleep(&ms, &rem));
	clock_gettime(CLOCK_MONOTONIC, &b);
	/* Only the lower bound is the kernel's: how much longer the sleep
	 * lasts depends on the load (a sleep that never ends is the harness's
	 * timeout). */
	CHECK(ns(b) - ns(a) >= 1000000);
	T(clock_nanosleep(CLOCK_MONOTONIC, 0, &ms, NULL));
	clock_gettime(CLOCK_MONOTONIC, &a);
	a.tv_nsec += 2000000;
	if (a.tv_nsec >= 1000000000) { a.tv_sec++; a.tv_nsec -= 1000000000; }
	T(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &a, NULL));
	clock_gettime(CLOCK_MONOTONIC, &b);
	CHECK(ns(b) >= ns(a));
	struct timespec past = {1, 0};
	T(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL));
	struct timespec zero = {0, 0};
	T(nanosleep(&zero, NULL));

	/* error paths */
	struct timespec bad1 = {0, 1000000000}, bad2 = {-1, 0}, bad3 = {0, -1};
	T(syscall(SYS_nanosleep, &bad1, NULL));
	T(syscall(SYS_nanosleep, &bad2, NULL));
	T(syscall(SYS_nanosleep, &bad3, NULL));
	T(syscall(SYS_nanosleep, BAD, NULL));
	printf("clock_nanosleep(bad) = %s\n", ename(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad1, NULL)));
	printf("clock_nanosleep(clock 1000) = %s\n", ename(clock_nanosleep(1000, 0, &ms, NULL)));
	printf("clock_nanosleep(flags 0x10) ok = %d\n", clock_nanosleep(CLOCK_MONOTONIC, 0x10, &ms, NULL));
	T(syscall(SYS_clock_gettime, 1000, &a));
	T(syscall(SYS_clock_gettime, -100, &a));
	T(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD));
	T(syscall(SYS_clock_getres, 1000, &a));
	T(syscall(SYS_clock_getres, CLOCK_MONOTONIC, NULL));
	T(syscall(SYS_clock_getres, CLOCK_MONOTONIC, BAD));
	T(syscall(SYS_gettimeofday, BAD, NULL));
	T(syscall(SYS_time, BAD));
	T(syscall(SYS_clock_settime, CLOCK_MONOTONIC, &a));
	cpuTimers();
	return 0;
}
