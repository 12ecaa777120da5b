/* The vDSO every application in the sandbox is given: clock_gettime,
 * gettimeofday and time computed from the time-stamp counter and the
 * parameters the sentry keeps in the page just before this image
 * (params.h), so that reading a clock costs no trap and reads exactly the
 * clock the sentry answers system calls with. Clocks it does not compute
 * (CPU-time clocks, the alarm clocks, any unknown id), and every clock
 * before the sentry has calibrated, are the system call, which traps to
 * the sentry like any other. getcpu is the system call too, as gVisor's
 * vDSO makes it: the host CPU that Linux's vDSO reads (lsl) is the host's
 * number, which under a cpuset (taskset, a container's cpus) is not the
 * sandbox's (CPUs 0 to n-1), and the host thread does not follow the
 * task's sched_setaffinity; the sentry answers within both.
 *
 * Built by build.sh as a position-independent shared object with no
 * relocations (Linux's vDSO has none either: nothing relocates it). */

#include <stdint.h>
#include <asm/unistd.h>
#include <linux/time.h>

#include "params.h"

/* vdso.lds places it one page before the image. */
extern const volatile struct vdso_params vdso_params __attribute__((visibility("hidden")));

static inline long syscall2(long nr, long a, long b)
{
	long ret;
	__asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return ret;
}

/* The counter, read after every earlier load (lfence), as Linux's
 * rdtsc_ordered: a read that passed the sequence count's would use
 * parameters older than its cycles. */
static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Which offset a clock adds to CLOCK_MONOTONIC; -1 for the system call. */
enum { MONO, REAL, BOOT, TAI, SYSCALL };

static inline int clock_kind(int clock)
{
	switch (clock) {
	case CLOCK_MONOTONIC:
	case CLOCK_MONOTONIC_RAW:
	case CLOCK_MONOTONIC_COARSE:
		return MONO;
	case CLOCK_REALTIME:
	case CLOCK_REALTIME_COARSE:
		return REAL;
	case CLOCK_BOOTTIME:
		return BOOT;
	case CLOCK_TAI:
		return TAI;
	}
	return SYSCALL;
}

/* read_ns sets *ns to clock kind's nanoseconds; 0 if not calibrated. */
static inline int read_ns(int kind, int64_t *ns)
{
	const volatile struct vdso_params *p = &vdso_params;
	uint64_t seq, cycles, base, mult;
	int64_t mono, off;
	do {
		seq = p->seq;
		__asm__ volatile("" : : : "memory");
		if (!p->ready)
			return 0;
		cycles = rdtsc_ordered();
		base = p->base_cycles;
		mono = p->base_mono;
		mult = p->mult;
		off = kind == REAL ? p->realtime_offset : kind == BOOT ? p->boottime_offset : kind == TAI ? p->tai_offset : 0;
		__asm__ volatile("" : : : "memory");
	} while ((seq & 1) || p->seq != seq);
	uint64_t delta = cycles > base ? cycles - base : 0;
	*ns = mono + (int64_t)(((unsigned __int128)delta * mult) >> 32) + off;
	return 1;
}

int __vdso_clock_gettime(int clock, struct __kernel_timespec *ts)
{
	int64_t ns;
	int kind = clock_kind(clock);
	if (kind == SYSCALL || !read_ns(kind, &ns))
		return (int)syscall2(__NR_clock_gettime, clock, (long)ts);
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	return 0;
}
int clock_gettime(int, struct __kernel_timespec *) __attribute__((weak, alias("__vdso_clock_gettime")));

int __vdso_gettimeofday(struct __kernel_old_timeval *tv, struct timezone *tz)
{
	int64_t ns;
	if (!read_ns(REAL, &ns))
		return (int)syscall2(__NR_gettimeofday, (long)tv, (long)tz);
	if (tv) {
		tv->tv_sec = ns / 1000000000;
		tv->tv_usec = ns % 1000000000 / 1000;
	}
	if (tz) {
		/* UTC, as the sentry answers the system call. */
		tz->tz_minuteswest = 0;
		tz->tz_dsttime = 0;
	}
	return 0;
}
int gettimeofday(struct __kernel_old_timeval *, struct timezone *) __attribute__((weak, alias("__vdso_gettimeofday")));

long __vdso_time(long *t)
{
	int64_t ns;
	if (!read_ns(REAL, &ns))
		return (long)syscall2(__NR_time, (long)t, 0);
	long s = ns / 1000000000;
	if (t)
		*t = s;
	return s;
}
long time(long *) __attribute__((weak, alias("__vdso_time")));

int __vdso_clock_getres(int clock, struct __kernel_timespec *res)
{
	return (int)syscall2(__NR_clock_getres, clock, (long)res);
}
int clock_getres(int, struct __kernel_timespec *) __attribute__((weak, alias("__vdso_clock_getres")));

/* Linux keeps (node << 12) | cpu in the limit of a GDT segment for this:
 * lsl reads it without a trap. */
struct getcpu_cache;
long __vdso_getcpu(unsigned *cpu, unsigned *node, struct getcpu_cache *unused)
{
	long ret;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(__NR_getcpu), "D"(cpu), "S"(node), "d"(unused)
			 : "rcx", "r11", "memory");
	return ret;
}
long getcpu(unsigned *, unsigned *, struct getcpu_cache *) __attribute__((weak, alias("__vdso_getcpu")));
