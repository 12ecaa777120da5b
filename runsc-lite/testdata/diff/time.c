/* Time: clock_gettime/clock_getres/nanosleep/clock_nanosleep/gettimeofday/
 * time. Error paths use syscall() directly: the vDSO does not report
 * EFAULT. */
#include "common.h"
#include <sys/time.h>
#include <time.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

int main(int argc, char **argv) {
	setup(argc, argv);
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
	return 0;
}
