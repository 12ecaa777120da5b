// rlimit: RLIMIT_AS, RLIMIT_DATA, RLIMIT_CPU, RLIMIT_FSIZE and
// RLIMIT_NOFILE's ceiling (/proc/sys/fs/nr_open) as Linux enforces them:
// mmap, mremap and brk beyond the limits fail with ENOMEM, children
// inherit the limits, CPU time shows in getrusage, times and clock_gettime,
// and waited-for children's in times and getrusage(RUSAGE_CHILDREN).
// Only what the kernel decides is printed: CPU time is compared with CPU
// time, never with how much wall time passed (that depends on the load).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1L << 20)

// cpu_ns reads a CPU clock in nanoseconds (-1 if it fails).
static long cpu_ns(clockid_t clock) {
	struct timespec ts;
	if (clock_gettime(clock, &ts))
		return -1;
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

// spin burns CPU time without a system call.
static void spin(long n) {
	for (volatile long i = 0; i < n; i++)
		;
}

static void try_mmap(const char *what, long len, int prot, int flags) {
	void *p = mmap(0, len, prot, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("%s: %s\n", what, strerror(errno));
		return;
	}
	printf("%s: ok\n", what);
	munmap(p, len);
}

static void set(int res, rlim_t cur, rlim_t max, const char *what) {
	struct rlimit rl = {cur, max};
	int r = setrlimit(res, &rl);
	printf("setrlimit %s: %d %s\n", what, r, r ? strerror(errno) : "");
}

static volatile int xfsz;
static void onXFSZ(int sig) { xfsz++; }

#define R(expr)                                                                \
	do {                                                                   \
		errno = 0;                                                     \
		long _r = (long)(expr);                                        \
		printf("%s = %ld %s\n", #expr, _r, _r == -1 ? strerrorname_np(errno) : ""); \
	} while (0)

// nropen: /proc/sys/fs/nr_open is the ceiling of RLIMIT_NOFILE's hard
// limit, for every caller (do_prlimit's EPERM comes before the privilege
// check); a soft limit above the hard one is EINVAL first.
static void nropen(void) {
	char buf[32] = {0};
	int fd = open("/proc/sys/fs/nr_open", O_RDONLY);
	if (fd < 0) {
		printf("open nr_open: %s\n", strerrorname_np(errno));
		return;
	}
	R(read(fd, buf, sizeof buf - 1));
	close(fd);
	printf("nr_open: %s", buf);
	rlim_t n = strtoul(buf, 0, 10);
	struct rlimit old, rl = {64, n + 1};
	getrlimit(RLIMIT_NOFILE, &old);
	R(setrlimit(RLIMIT_NOFILE, &rl));
	rl = (struct rlimit){n + 2, n + 1};
	R(setrlimit(RLIMIT_NOFILE, &rl));
	rl = (struct rlimit){64, RLIM_INFINITY};
	R(setrlimit(RLIMIT_NOFILE, &rl));
	R(setrlimit(RLIMIT_NOFILE, &old));
}

// fsize: writes stop at RLIMIT_FSIZE and a write or truncation beyond it
// fails with EFBIG and SIGXFSZ; shrinking is always allowed.
static void fsize(void) {
	signal(SIGXFSZ, onXFSZ);
	struct rlimit old, rl = {10000, RLIM_INFINITY};
	getrlimit(RLIMIT_FSIZE, &old);
	setrlimit(RLIMIT_FSIZE, &rl);
	static char buf[20000];
	int fd = open("fsize", O_CREAT | O_RDWR | O_TRUNC, 0644);
	errno = 0;
	R(write(fd, buf, sizeof buf));
	R(write(fd, buf, 1));
	R(pwrite(fd, buf, 100, 9990));
	R(pwrite(fd, buf, 100, 10000));
	R(ftruncate(fd, 20000));
	R(ftruncate(fd, 10000));
	R(ftruncate(fd, 5000));
	R(truncate("fsize", 10001));
	R(lseek(fd, 0, SEEK_END));
	R(write(fd, buf, 6000));
	int ap = open("fsize", O_WRONLY | O_APPEND);
	R(write(ap, buf, 1));
	close(ap);
	// fallocate growing the file past the limit fails whole
	R(fallocate(fd, 0, 0, 20000));
	R(fallocate(fd, 0, 9000, 1001));
	R(fallocate(fd, 0, 9000, 1000));
	R(lseek(fd, 0, SEEK_END));
	printf("SIGXFSZ received %d times\n", xfsz);
	close(fd);
	setrlimit(RLIMIT_FSIZE, &old);
	signal(SIGXFSZ, SIG_DFL);
}

// burn spins until the process has used ms of CPU time.
static void burn(long ms) {
	while (cpu_ns(CLOCK_PROCESS_CPUTIME_ID) < ms * 1000000L)
		spin(100000);
}

// childrens_ms is the CPU time of the waited-for children in ms, from
// times (in ticks, each of user and system truncated) and from
// getrusage(RUSAGE_CHILDREN).
static void childrens_ms(long *t, long *r) {
	struct tms tm;
	times(&tm);
	*t = (tm.tms_cutime + tm.tms_cstime) * 1000 / sysconf(_SC_CLK_TCK);
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	*r = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

// children: a child's CPU time counts for its parent once it is waited
// for, with its own children's; a child reaped because SIGCHLD is
// ignored counts nothing (wait_task_zombie).
static void children(void) {
	long t0, r0, t1, r1;
	childrens_ms(&t0, &r0); // the children main waited for earlier
	pid_t pid = fork();
	if (pid == 0) {
		pid_t g = fork();
		if (g == 0) {
			burn(100);
			_exit(0);
		}
		waitpid(g, NULL, 0);
		burn(100);
		_exit(0);
	}
	// Not waited for yet: nothing.
	struct timespec ms10 = {0, 10000000};
	siginfo_t si;
	waitid(P_PID, pid, &si, WEXITED | WNOWAIT);
	childrens_ms(&t1, &r1);
	printf("a child not yet reaped adds nothing: %d %d\n", t1 == t0, r1 == r0);
	waitpid(pid, NULL, 0);
	childrens_ms(&t1, &r1);
	printf("child and grandchild count (at least 180 ms): %d %d\n", t1 - t0 >= 180, r1 - r0 >= 180);
	signal(SIGCHLD, SIG_IGN);
	pid = fork();
	if (pid == 0) {
		burn(100);
		_exit(0);
	}
	// Reaped by itself; wait sees ECHILD once it is gone.
	while (waitpid(pid, NULL, 0) != -1 || errno != ECHILD)
		nanosleep(&ms10, NULL);
	childrens_ms(&t0, &r0);
	printf("an ignored child adds nothing: %d %d\n", t0 == t1, r0 == r1);
	signal(SIGCHLD, SIG_DFL);
}

int main(void) {
	setvbuf(stdout, 0, _IONBF, 0);
	struct rlimit rl;
	getrlimit(RLIMIT_AS, &rl);
	printf("AS infinite: %d %d\n", rl.rlim_cur == RLIM_INFINITY, rl.rlim_max == RLIM_INFINITY);

	set(RLIMIT_AS, 512 * MiB, RLIM_INFINITY, "AS 512M");
	try_mmap("mmap 1G rw", 1024 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	try_mmap("mmap 1G none", 1024 * MiB, PROT_NONE, MAP_PRIVATE);
	try_mmap("mmap 64M rw", 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	char *p = mmap(0, 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q = mremap(p, 64 * MiB, 1024 * MiB, MREMAP_MAYMOVE);
	printf("mremap to 1G: %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
	q = mremap(p, 64 * MiB, 128 * MiB, MREMAP_MAYMOVE);
	printf("mremap to 128M: %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
	if (q != MAP_FAILED)
		p = q;
	munmap(p, 128 * MiB);
	void *b = sbrk(1024 * MiB);
	printf("sbrk 1G: %s\n", b == (void *)-1 ? strerror(errno) : "ok");

	pid_t pid = fork();
	if (pid == 0) {
		try_mmap("child mmap 1G", 1024 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
		_exit(0);
	}
	waitpid(pid, 0, 0);
	set(RLIMIT_AS, RLIM_INFINITY, RLIM_INFINITY, "AS infinity");
	try_mmap("mmap 1G rw again", 1024 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);

	set(RLIMIT_DATA, 32 * MiB, RLIM_INFINITY, "DATA 32M");
	try_mmap("data mmap 64M rw", 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	try_mmap("data mmap 64M ro", 64 * MiB, PROT_READ, MAP_PRIVATE);
	try_mmap("data mmap 64M shared", 64 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED);
	b = sbrk(64 * MiB);
	printf("sbrk 64M: %s\n", b == (void *)-1 ? strerror(errno) : "ok");
	b = sbrk(MiB);
	printf("sbrk 1M: %s\n", b == (void *)-1 ? strerror(errno) : "ok");
	p = mmap(0, 64 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r = mprotect(p, 64 * MiB, PROT_READ | PROT_WRITE);
	printf("mprotect 64M writable: %s\n", r ? strerror(errno) : "ok");
	set(RLIMIT_DATA, RLIM_INFINITY, RLIM_INFINITY, "DATA infinity");

	set(RLIMIT_CPU, 100, 200, "CPU 100 200");
	getrlimit(RLIMIT_CPU, &rl);
	printf("CPU: %lu %lu\n", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);

	// CPU time as the kernel counts it: spin until the process's CPU clock
	// has seen 50 ms, however long that takes on a loaded machine (a wall
	// clock deadline would make the output depend on the machine's load),
	// then check that the other views of the same time agree with it and
	// that it only goes forward. The clock is read once per million
	// iterations, so most of the time is spent running, not trapping.
	long c0 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("cpu clock before spinning is >= 0: %d\n", c0 >= 0);
	struct timespec w0, w1;
	clock_gettime(CLOCK_MONOTONIC, &w0);
	long c1 = c0;
	for (;;) {
		spin(1000000);
		c1 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
		// And past c0: with RLIMIT_CPU set, Linux reads the process
		// clock from its CPU timer, which moves at scheduler ticks, so
		// one spin after a c0 already past 50 ms may read c0 again.
		if (c1 >= 50000000L && c1 > c0)
			break;
		// Only a CPU clock that never moves gets here: 10 minutes of wall
		// time without 50 ms of CPU time is not a loaded machine.
		clock_gettime(CLOCK_MONOTONIC, &w1);
		if (w1.tv_sec - w0.tv_sec > 600) {
			printf("cpu clock stuck at %ld ns\n", c1);
			return 1;
		}
	}
	printf("cpu clock went forward while spinning: %d\n", c1 > c0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	long us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
	printf("rusage self at least 50 ms once the cpu clock says so: %d\n", us >= 50000);
	struct tms tm;
	times(&tm);
	long hz = sysconf(_SC_CLK_TCK);
	// user and system time are truncated to ticks separately.
	printf("times at least 50 ms less two ticks: %d\n", (tm.tms_utime + tm.tms_stime + 2) * 1000 / hz >= 50);
	long c2 = cpu_ns(CLOCK_PROCESS_CPUTIME_ID);
	printf("cpu clock never goes back: %d\n", c2 >= c1);
	long th = cpu_ns(CLOCK_THREAD_CPUTIME_ID);
	printf("thread cpu clock is > 0: %d\n", th > 0);
	fsize();
	nropen();
	children();
	return 0;
}
