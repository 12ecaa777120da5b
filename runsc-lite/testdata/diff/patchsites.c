/* Syscalls from one `mov $nr,%eax; syscall` site made many times, which
 * systrap rewrites into a jump after the first few (platform/systrap,
 * patch.go): results, the registers and flags the syscall instruction
 * keeps or sets (rcx, r11), threads making the call at once while it is
 * rewritten, a fork after it, an SA_RESTART read restarted at the site, and
 * a nanosleep restarted with restart_syscall after a stop. Then the same
 * for a register site, `syscall; cmp $-4095,%rax` with the number from a
 * register (Go's Syscall6, glibc's syscall(2), which the restarts use).
 * The same as natively, whatever path the call takes. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

/* getpid_site: getpid from this one site, with OF, SF and CF set before
 * it; reports whether they survived and rcx/r11 are what syscall leaves. */
static long getpid_site(int *flags_ok, int *regs_ok) {
	long r, rcx, r11, label, flags_after;
	unsigned char of, sf, cf;
	__asm__ volatile(
		"mov $0x7f, %%cl\n\t"
		"add $1, %%cl\n\t"
		"stc\n\t"
		"mov $39, %%eax\n\t"
		"syscall\n\t"
		"1:\n\t"
		"seto %b[of]\n\t"
		"sets %b[sf]\n\t"
		"setc %b[cf]\n\t"
		"mov %%rcx, %[rcx]\n\t"
		"mov %%r11, %[r11]\n\t"
		"lea 1b(%%rip), %[label]\n\t"
		"pushfq\n\t"
		"pop %[fl]\n\t"
		: "=a"(r), [of] "=&q"(of), [sf] "=&q"(sf), [cf] "=&q"(cf), [rcx] "=&r"(rcx), [r11] "=&r"(r11),
		  [label] "=&r"(label), [fl] "=&r"(flags_after)
		:
		: "rcx", "r11", "memory", "cc");
	*flags_ok = of && sf && cf;
	/* rcx: the address after the syscall; r11: the flags it saw, whose
	 * arithmetic part pushfq sees again (seto.. change none). */
	*regs_ok = rcx == label && (r11 & 0x8d5) == (flags_after & 0x8d5);
	return r;
}

/* reg_site: syscall nr from a register site, with OF, SF, AF and CF set
 * before it; reports whether the cmp after it saw an error and whether
 * rcx/r11 are what syscall leaves. */
static long reg_site(long nr, int *err, int *regs_ok) {
	long r = nr, rcx, r11, label;
	unsigned char ae;
	__asm__ volatile(
		"mov $0x7f, %%cl\n\t"
		"add $1, %%cl\n\t"
		"stc\n\t"
		"syscall\n\t"
		"1:\n\t"
		"cmp $-4095, %%rax\n\t"
		"setae %b[ae]\n\t"
		"mov %%rcx, %[rcx]\n\t"
		"mov %%r11, %[r11]\n\t"
		"lea 1b(%%rip), %[label]\n\t"
		: "+a"(r), [ae] "=&q"(ae), [rcx] "=&r"(rcx), [r11] "=&r"(r11), [label] "=&r"(label)
		:
		: "rcx", "r11", "memory", "cc");
	*err = ae;
	/* rcx: the address after the syscall instruction (the cmp); r11: the
	 * flags it saw: OF SF AF CF, not ZF PF. */
	*regs_ok = rcx == label && (r11 & 0x8d5) == 0x891;
	return r;
}

static long reg_bad(int n) {
	long bad = 0;
	for (int i = 0; i < n; i++) {
		int e, c;
		if (reg_site(SYS_getpid, &e, &c) != getpid() || e || !c)
			bad++;
		/* An unknown number: -ENOSYS, which the cmp sees as an error. */
		if (i % 50 == 0 && (reg_site(100000, &e, &c) != -ENOSYS || !e || !c))
			bad++;
	}
	return bad;
}

static void *reg_thread_loop(void *arg) { return (void *)reg_bad(2000); }

static void *thread_loop(void *arg) {
	long bad = 0;
	for (int i = 0; i < 2000; i++) {
		int f, c;
		if (getpid_site(&f, &c) != getpid() || !f || !c)
			bad++;
	}
	return (void *)bad;
}

static volatile int alarms;
static void on_alarm(int sig) { alarms++; }

int main(int argc, char **argv) {
	setup(argc, argv);
	long bad = 0;
	for (int i = 0; i < 100; i++) {
		int f, c;
		if (getpid_site(&f, &c) != getpid() || !f || !c)
			bad++;
	}
	printf("100 calls from one site: %ld wrong\n", bad);

	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, thread_loop, NULL);
	bad = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	printf("4 threads x 2000 calls: %ld wrong\n", bad);

	pid_t pid = fork();
	if (pid == 0) {
		bad = 0;
		for (int i = 0; i < 100; i++) {
			int f, c;
			if (getpid_site(&f, &c) != getpid() || !f || !c)
				bad++;
		}
		_exit(bad == 0 ? 7 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("forked child: exit %d\n", WEXITSTATUS(st));

	/* An SA_RESTART read, its site made hot first, interrupted by timer
	 * signals and restarted until a child writes. */
	int p[2];
	char c;
	pipe(p);
	for (int i = 0; i < 5; i++) {
		write(p[1], "x", 1);
		read(p[0], &c, 1);
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	pid = fork();
	if (pid == 0) {
		struct timespec ts = {0, 300000000};
		nanosleep(&ts, NULL);
		write(p[1], "y", 1);
		_exit(0);
	}
	struct itimerval it = {{0, 40000}, {0, 40000}}, none = {0};
	setitimer(ITIMER_REAL, &it, NULL);
	T(read(p[0], &c, 1));
	setitimer(ITIMER_REAL, &none, NULL);
	printf("read '%c', interrupted: %s\n", c, alarms > 0 ? "yes" : "no");
	waitpid(pid, &st, 0);

	/* A nanosleep from a hot site stopped and continued: restarted with
	 * restart_syscall, it sleeps only what was left. */
	pid_t me = getpid();
	struct timespec tiny = {0, 1000}, ts = {0, 400000000}, a, b;
	for (int i = 0; i < 5; i++)
		nanosleep(&tiny, NULL);
	pid = fork();
	if (pid == 0) {
		struct timespec d = {0, 100000000};
		nanosleep(&d, NULL);
		kill(me, SIGSTOP);
		nanosleep(&d, NULL);
		kill(me, SIGCONT);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	T(nanosleep(&ts, NULL));
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CHECK(ms >= 395 && ms < 700);
	waitpid(pid, &st, 0);

	/* The register site. */
	printf("register site, 200 calls: %ld wrong\n", reg_bad(200));
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, reg_thread_loop, NULL);
	bad = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	printf("register site, 4 threads x 2000 calls: %ld wrong\n", bad);
	pid = fork();
	if (pid == 0)
		_exit(reg_bad(100) == 0 ? 7 : 1);
	waitpid(pid, &st, 0);
	printf("register site, forked child: exit %d\n", WEXITSTATUS(st));

	/* syscall(2) read, hot first, SA_RESTART-restarted by timer signals. */
	for (int i = 0; i < 5; i++) {
		syscall(SYS_write, p[1], "x", 1);
		syscall(SYS_read, p[0], &c, 1);
	}
	alarms = 0;
	pid = fork();
	if (pid == 0) {
		struct timespec d = {0, 300000000};
		nanosleep(&d, NULL);
		write(p[1], "z", 1);
		_exit(0);
	}
	setitimer(ITIMER_REAL, &it, NULL);
	T(syscall(SYS_read, p[0], &c, 1));
	setitimer(ITIMER_REAL, &none, NULL);
	printf("syscall(2) read '%c', interrupted: %s\n", c, alarms > 0 ? "yes" : "no");
	waitpid(pid, &st, 0);

	/* syscall(2) nanosleep stopped and continued: restart_syscall. */
	for (int i = 0; i < 5; i++)
		syscall(SYS_nanosleep, &tiny, NULL);
	pid = fork();
	if (pid == 0) {
		struct timespec d = {0, 100000000};
		nanosleep(&d, NULL);
		kill(me, SIGSTOP);
		nanosleep(&d, NULL);
		kill(me, SIGCONT);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	T(syscall(SYS_nanosleep, &ts, NULL));
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CHECK(ms >= 395 && ms < 700);
	waitpid(pid, &st, 0);
	return 0;
}
