/* The vDSO's clocks: libc's clock_gettime, gettimeofday and time (the
 * vDSO) and the system calls agree and never go back against each other;
 * sleeps and timeouts measured by the vDSO never end early; getcpu and
 * clock_getres; the vDSO's data page cannot be written nor executed, but
 * may be made PROT_NONE; the vDSO itself may be made writable, and is
 * then the process's own copy, which a new program does not keep. */
#include "common.h"
#include <linux/futex.h>
#include <poll.h>
#include <setjmp.h>
#include <sys/auxv.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <sched.h>
#include <time.h>

static long long ns(struct timespec ts) { return ts.tv_sec * 1000000000LL + ts.tv_nsec; }

static long long libc_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return ns(ts);
}

static long long sys_ns(clockid_t c)
{
	struct timespec ts;
	syscall(SYS_clock_gettime, c, &ts);
	return ns(ts);
}

/* ordered reads the clock through libc and the system call in turn: each
 * reading is at least the one before. */
static void ordered(clockid_t c, const char *name)
{
	long long prev = libc_ns(c);
	int ok = 1;
	for (int i = 0; i < 20000 && ok; i++) {
		long long a = sys_ns(c), b = libc_ns(c);
		ok = a >= prev && b >= a;
		prev = b;
	}
	printf("%s: vDSO and syscall in order: %d\n", name, ok);
}

/* not_early runs wait, which should take want ns, timed by the vDSO. */
static void not_early(const char *what, long long want, void (*wait)(void))
{
	int ok = 1;
	for (int i = 0; i < 5; i++) {
		long long start = libc_ns(CLOCK_MONOTONIC);
		wait();
		long long took = libc_ns(CLOCK_MONOTONIC) - start;
		if (took < want) {
			ok = 0;
			printf("%s: took %lld ns of %lld\n", what, took, want);
		}
	}
	printf("%s: never early: %d\n", what, ok);
}

#define WAIT_NS 3000000LL
static void do_nanosleep(void)
{
	struct timespec ts = {0, WAIT_NS};
	nanosleep(&ts, NULL);
}
static void do_abs(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	long long end = ns(ts) + WAIT_NS;
	ts.tv_sec = end / 1000000000;
	ts.tv_nsec = end % 1000000000;
	clock_nanosleep(c, TIMER_ABSTIME, &ts, NULL);
	/* An absolute sleep ends at its time on its clock. */
	if (libc_ns(c) < end)
		printf("clock %d: woke before its absolute time\n", c);
}
static void do_abs_mono(void) { do_abs(CLOCK_MONOTONIC); }
static void do_abs_real(void) { do_abs(CLOCK_REALTIME); }
static void do_poll(void) { poll(NULL, 0, WAIT_NS / 1000000); }
static void do_select(void)
{
	struct timeval tv = {0, WAIT_NS / 1000};
	select(0, NULL, NULL, NULL, &tv);
}
static void do_epoll(void)
{
	int ep = epoll_create1(0);
	struct epoll_event ev;
	epoll_wait(ep, &ev, 1, WAIT_NS / 1000000);
	close(ep);
}
static void do_futex(void)
{
	int word = 0;
	struct timespec ts = {0, WAIT_NS};
	syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, NULL, 0);
}
static void do_timerfd(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, 0);
	struct itimerspec its = {{0, 0}, {0, WAIT_NS}};
	unsigned long long n;
	timerfd_settime(fd, 0, &its, NULL);
	if (read(fd, &n, sizeof n) != sizeof n)
		printf("timerfd read: %s\n", ename(errno));
	close(fd);
}

static sigjmp_buf jump;
static void on_segv(int sig) { siglongjmp(jump, sig); }

/* mapping finds the mapping named like name ending at end (0: any end)
 * in /proc/self/maps: its start, end and permissions. */
static int mapping(const char *name, unsigned long end, unsigned long *s, unsigned long *e, char perms[5])
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	while (maps && !found && fgets(line, sizeof line, maps))
		found = sscanf(line, "%lx-%lx %4s", s, e, perms) == 3 && strstr(line, name) &&
			(end == 0 || *e == end);
	if (maps)
		fclose(maps);
	return found;
}

/* tries_read reads *p and says which signal, if any, stopped it. */
static void tries_read(const char *what, volatile char *p)
{
	signal(SIGSEGV, on_segv);
	int sig = sigsetjmp(jump, 1);
	if (sig == 0) {
		(void)*p;
		printf("reading %s: ok\n", what);
	} else {
		printf("reading %s: signal %d\n", what, sig);
	}
	signal(SIGSEGV, SIG_DFL);
}

/* VDSO_PAD is a byte of the vDSO's ELF identification no one reads
 * (EI_PAD): the one the writes below change. */
#define VDSO_PAD 9

/* vvar_protect gives each data mapping of the vDSO (Linux 6.1 has one,
 * [vvar], later ones [vvar] and [vvar_vclock]) prot, whole: 0, or the
 * first failure's -1. */
static long vvar_protect(int prot)
{
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	long r = 0;
	while (maps && r == 0 && fgets(line, sizeof line, maps)) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && strstr(line, "[vvar"))
			r = mprotect((void *)s, e - s, prot);
	}
	if (maps)
		fclose(maps);
	return r;
}

/* vvar_none makes the vDSO's data mappings PROT_NONE (reading them then
 * faults) and readable again. */
static void vvar_none(void)
{
	unsigned long s = 0, e = 0;
	char perms[5] = "";
	T(vvar_protect(PROT_READ | PROT_EXEC));
	T(vvar_protect(PROT_EXEC));
	T(vvar_protect(PROT_NONE));
	CHECK(mapping("[vvar]", 0, &s, &e, perms));
	printf("[vvar] after PROT_NONE: %s\n", perms);
	if (s)
		tries_read("the PROT_NONE vvar page", (char *)s);
	T(vvar_protect(PROT_READ));
	if (s)
		tries_read("the vvar page again", (char *)s);
}

/* vdso_write makes the vDSO writable and changes a byte of it: a child
 * forked before sees the vDSO as it was, one forked after sees the
 * change, and a program it executes has a fresh vDSO. */
static void vdso_write(char *self, unsigned long vdso)
{
	unsigned long s = vdso, e = vdso + 4096;
	char perms[5] = "";
	CHECK(mapping("[vdso]", 0, &s, &e, perms) && s == vdso);
	volatile char *pad = (char *)vdso + VDSO_PAD;
	char was = *pad;
	int go[2];
	T(pipe(go));
	fflush(stdout);
	pid_t before = fork();
	if (before == 0) {
		char c;
		read(go[0], &c, 1);
		printf("a child forked before the write sees it: %d\n", *pad != was);
		fflush(stdout);
		_exit(0);
	}
	T(mprotect((void *)s, e - s, PROT_READ | PROT_WRITE | PROT_EXEC));
	if (mapping("[vdso]", 0, &s, &e, perms))
		printf("[vdso] after PROT_WRITE: %s\n", perms);
	if (perms[1] == 'w')
		*pad = was ^ 0x5a;
	printf("the write shows: %d\n", *pad == (char)(was ^ 0x5a));
	fflush(stdout);
	write(go[1], "x", 1);
	waitpid(before, NULL, 0);
	pid_t after = fork();
	if (after == 0) {
		printf("a child forked after the write sees it: %d\n", *pad != was);
		fflush(stdout);
		execl(self, self, "vdso-pad", (char *)NULL);
		_exit(1);
	}
	waitpid(after, NULL, 0);
	if (perms[1] == 'w')
		*pad = was;
	T(mprotect((void *)s, e - s, PROT_READ | PROT_EXEC));
	if (mapping("[vdso]", 0, &s, &e, perms))
		printf("[vdso] restored: %s\n", perms);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "vdso-pad") == 0) {
		/* A fresh program: its vDSO is the kernel's, as mapped. */
		printf("a new program's vDSO is pristine: %d\n",
		       ((char *)getauxval(AT_SYSINFO_EHDR))[VDSO_PAD] == 0);
		return 0;
	}
	ordered(CLOCK_MONOTONIC, "CLOCK_MONOTONIC");
	ordered(CLOCK_MONOTONIC_RAW, "CLOCK_MONOTONIC_RAW");
	ordered(CLOCK_BOOTTIME, "CLOCK_BOOTTIME");
	ordered(CLOCK_REALTIME, "CLOCK_REALTIME");
	ordered(CLOCK_TAI, "CLOCK_TAI");

	/* The coarse clocks are never ahead of the fine ones. */
	long long coarse = libc_ns(CLOCK_MONOTONIC_COARSE), fine = libc_ns(CLOCK_MONOTONIC);
	CHECK(coarse <= fine);
	coarse = libc_ns(CLOCK_REALTIME_COARSE), fine = libc_ns(CLOCK_REALTIME);
	CHECK(coarse <= fine);
	/* Boot time is at least monotonic time; TAI is whole seconds ahead. */
	long long mono = libc_ns(CLOCK_MONOTONIC), boot = libc_ns(CLOCK_BOOTTIME);
	CHECK(boot >= mono);
	long long real = libc_ns(CLOCK_REALTIME), tai = libc_ns(CLOCK_TAI);
	long long tai_off = tai - real, whole = (tai_off + 500000000) / 1000000000 * 1000000000;
	CHECK(tai_off - whole < 1000000 && whole - tai_off < 1000000);

	struct timeval tv;
	struct timezone tz = {123, 456};
	long long before = libc_ns(CLOCK_REALTIME);
	T(gettimeofday(&tv, &tz));
	long long after = libc_ns(CLOCK_REALTIME);
	long long tv_ns = tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
	CHECK(tv_ns >= before / 1000 * 1000 && tv_ns <= after);
	printf("timezone: %d %d\n", tz.tz_minuteswest, tz.tz_dsttime);
	time_t t1, t0 = time(&t1);
	CHECK(t0 == t1 && t0 >= before / 1000000000 && t0 <= libc_ns(CLOCK_REALTIME) / 1000000000);

	struct timespec res;
	T(clock_getres(CLOCK_MONOTONIC, &res));
	printf("CLOCK_MONOTONIC resolution: %ld ns\n", res.tv_nsec);
	T(clock_getres(CLOCK_REALTIME, &res));
	printf("CLOCK_REALTIME resolution: %ld ns\n", res.tv_nsec);
	T(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &res));
	T(clock_gettime(12345, &res));

	unsigned cpu = ~0u, node = ~0u;
	T(getcpu(&cpu, &node));
	CHECK(cpu < (unsigned)sysconf(_SC_NPROCESSORS_CONF));
	printf("node: %u\n", node);
	/* Pinned to one CPU, the vDSO's getcpu and the system call say it. */
	cpu_set_t all, one;
	CHECK(sched_getaffinity(0, sizeof all, &all) == 0);
	int last = -1;
	for (int i = 0; i < CPU_SETSIZE; i++)
		if (CPU_ISSET(i, &all))
			last = i;
	CPU_ZERO(&one);
	CPU_SET(last, &one);
	T(sched_setaffinity(0, sizeof one, &one));
	unsigned vcpu = ~0u, scpu = ~0u;
	getcpu(&vcpu, NULL);
	syscall(SYS_getcpu, &scpu, NULL, NULL);
	printf("pinned to its last CPU: the vDSO says it: %s, the syscall: %s\n", vcpu == (unsigned)last ? "yes" : "no",
	       scpu == (unsigned)last ? "yes" : "no");
	T(sched_setaffinity(0, sizeof all, &all));

	not_early("nanosleep", WAIT_NS, do_nanosleep);
	not_early("clock_nanosleep absolute CLOCK_MONOTONIC", WAIT_NS, do_abs_mono);
	not_early("clock_nanosleep absolute CLOCK_REALTIME", WAIT_NS, do_abs_real);
	not_early("poll", WAIT_NS, do_poll);
	not_early("select", WAIT_NS, do_select);
	not_early("epoll_wait", WAIT_NS, do_epoll);
	not_early("futex", WAIT_NS, do_futex);
	not_early("timerfd", WAIT_NS, do_timerfd);

	/* The data page before the vDSO is the vDSO's: read-only for good. */
	char *vdso = (char *)getauxval(AT_SYSINFO_EHDR);
	FILE *maps = fopen("/proc/self/maps", "r");
	char line[512];
	char *vvar = NULL;
	while (maps && fgets(line, sizeof line, maps)) {
		unsigned long start, end;
		if (sscanf(line, "%lx-%lx", &start, &end) == 2 && strstr(line, "[vvar")) {
			if (end == (unsigned long)vdso)
				vvar = (char *)end - 4096;
		}
	}
	if (maps)
		fclose(maps);
	CHECK(vvar != NULL);
	if (!vvar)
		return 0;
	T(mprotect(vvar, 4096, PROT_READ | PROT_WRITE));
	signal(SIGSEGV, on_segv);
	int sig = sigsetjmp(jump, 1);
	if (sig == 0) {
		*(volatile char *)vvar = 1;
		printf("wrote the vvar page\n");
	} else {
		printf("writing the vvar page: signal %d\n", sig);
	}
	signal(SIGSEGV, SIG_DFL);
	CHECK(libc_ns(CLOCK_MONOTONIC) >= mono);

	vvar_none();
	CHECK(libc_ns(CLOCK_MONOTONIC) >= mono);
	vdso_write(argv[0], (unsigned long)vdso);
	CHECK(libc_ns(CLOCK_MONOTONIC) >= mono);
	return 0;
}
