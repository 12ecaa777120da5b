/* Syscalls from one `mov $nr,%eax; syscall` site made many times, which
 * systrap rewrites into a jump after the first few (platform/systrap,
 * patch.go): results, the registers and flags the syscall instruction
 * keeps or sets (rcx, r11), threads making the call at once while it is
 * rewritten, a fork after it, an SA_RESTART read restarted at the site, and
 * a nanosleep restarted with restart_syscall after a stop. Then the same
 * for a register site, `syscall; cmp $-4095,%rax` with the number from a
 * register (Go's Syscall6, glibc's syscall(2), which the restarts use),
 * and two with the tails of glibc's pthread_create and start_thread.
 * Then signal handlers returning many times through glibc's __restore_rt,
 * `mov $15,%rax; syscall` (the REX.W mov form), from 4 threads at once
 * and a forked child: each handler changes %r12 in its ucontext, which the
 * rt_sigreturn must put back.
 * Vector registers, MXCSR and the x87 control word across a mov site, from
 * threads that hand stub threads to each other.
 * The same as natively, whatever path the call takes. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>

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

/* The tails of glibc's two rt_sigprocmask sites around a thread's start:
 * `syscall; mov 0x28(%r12),%rax` (the result is dropped: umask's effect
 * shows in the next umask) and `syscall; cmpb $0,0x100(%rbx)`. */
static long r12_site(long nr, long arg, long *mem) {
	long r = nr;
	register long *r12 __asm__("r12") = mem;
	__asm__ volatile("syscall\n\t"
			 "mov 0x28(%%r12), %%rax\n\t"
			 : "+a"(r)
			 : "D"(arg), "r"(r12)
			 : "rcx", "r11", "memory");
	return r;
}

static long rbx_site(long nr, const unsigned char *mem, int *zero) {
	long r = nr;
	unsigned char z;
	__asm__ volatile("syscall\n\t"
			 "cmpb $0, 0x100(%%rbx)\n\t"
			 "sete %b[z]\n\t"
			 : "+a"(r), [z] "=q"(z)
			 : "b"(mem)
			 : "rcx", "r11", "memory", "cc");
	*zero = z;
	return r;
}

static long tails_bad(int n) {
	long bad = 0, mem[8] = {0, 0, 0, 0, 0, 4242};
	unsigned char bytes[0x200] = {0};
	mode_t old = umask(0);
	for (int i = 0; i < n; i++) {
		if (r12_site(SYS_umask, i & 0777, mem) != 4242 || umask(0) != (mode_t)(i & 0777))
			bad++;
		int z;
		bytes[0x100] = i & 1;
		if (rbx_site(SYS_getpid, bytes, &z) != getpid() || z != !(i & 1))
			bad++;
	}
	umask(old);
	return bad;
}

static void *tails_thread_loop(void *arg) {
	/* umask is the process's: threads check only the cmpb site. */
	long bad = 0;
	unsigned char bytes[0x200] = {0};
	for (int i = 0; i < 2000; i++) {
		int z;
		bytes[0x100] = i & 1;
		if (rbx_site(SYS_getpid, bytes, &z) != getpid() || z != !(i & 1))
			bad++;
	}
	return (void *)bad;
}

/* fp_site: a 1us nanosleep from one mov site with every vector register
 * (ymm with AVX, else xmm), MXCSR and the x87 control word set to values
 * made from seed; reports whether the syscall kept them all. Linux keeps
 * the FP state across a syscall; a patched site returns without restoring
 * it unless the sentry changed it, and a thread that sleeps may come back
 * on another thread's stub thread, whose registers are not its own. */
static int fp_site(uint64_t seed) {
	struct timespec ts = {0, 1000};
	uint64_t in[64] __attribute__((aligned(32))), out[64] __attribute__((aligned(32)));
	for (int i = 0; i < 64; i++) {
		in[i] = seed * 0x9e3779b97f4a7c15ULL + i;
		out[i] = 0;
	}
	uint32_t mx = 0x1f80 | (seed % 4) << 13, mx_out;
	uint16_t cw = (0x37f & ~0xc00) | (seed % 4) << 10, cw_out;
	long r;
	if (__builtin_cpu_supports("avx")) {
		__asm__ volatile(
			"ldmxcsr %[mx]\n\tfldcw %[cw]\n\t"
			"vmovdqa 0(%[in]), %%ymm0\n\tvmovdqa 32(%[in]), %%ymm1\n\t"
			"vmovdqa 64(%[in]), %%ymm2\n\tvmovdqa 96(%[in]), %%ymm3\n\t"
			"vmovdqa 128(%[in]), %%ymm4\n\tvmovdqa 160(%[in]), %%ymm5\n\t"
			"vmovdqa 192(%[in]), %%ymm6\n\tvmovdqa 224(%[in]), %%ymm7\n\t"
			"vmovdqa 256(%[in]), %%ymm8\n\tvmovdqa 288(%[in]), %%ymm9\n\t"
			"vmovdqa 320(%[in]), %%ymm10\n\tvmovdqa 352(%[in]), %%ymm11\n\t"
			"vmovdqa 384(%[in]), %%ymm12\n\tvmovdqa 416(%[in]), %%ymm13\n\t"
			"vmovdqa 448(%[in]), %%ymm14\n\tvmovdqa 480(%[in]), %%ymm15\n\t"
			"mov $35, %%eax\n\t"
			"syscall\n\t"
			"vmovdqa %%ymm0, 0(%[out])\n\tvmovdqa %%ymm1, 32(%[out])\n\t"
			"vmovdqa %%ymm2, 64(%[out])\n\tvmovdqa %%ymm3, 96(%[out])\n\t"
			"vmovdqa %%ymm4, 128(%[out])\n\tvmovdqa %%ymm5, 160(%[out])\n\t"
			"vmovdqa %%ymm6, 192(%[out])\n\tvmovdqa %%ymm7, 224(%[out])\n\t"
			"vmovdqa %%ymm8, 256(%[out])\n\tvmovdqa %%ymm9, 288(%[out])\n\t"
			"vmovdqa %%ymm10, 320(%[out])\n\tvmovdqa %%ymm11, 352(%[out])\n\t"
			"vmovdqa %%ymm12, 384(%[out])\n\tvmovdqa %%ymm13, 416(%[out])\n\t"
			"vmovdqa %%ymm14, 448(%[out])\n\tvmovdqa %%ymm15, 480(%[out])\n\t"
			"stmxcsr %[mxo]\n\tfnstcw %[cwo]\n\t"
			"vzeroupper\n\t"
			: "=a"(r), [mxo] "=m"(mx_out), [cwo] "=m"(cw_out)
			: [in] "r"(in), [out] "r"(out), [mx] "m"(mx), [cw] "m"(cw), "D"(&ts), "S"(0L)
			: "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	} else {
		__asm__ volatile(
			"ldmxcsr %[mx]\n\tfldcw %[cw]\n\t"
			"movdqa 0(%[in]), %%xmm0\n\tmovdqa 32(%[in]), %%xmm1\n\t"
			"movdqa 64(%[in]), %%xmm2\n\tmovdqa 96(%[in]), %%xmm3\n\t"
			"movdqa 128(%[in]), %%xmm4\n\tmovdqa 160(%[in]), %%xmm5\n\t"
			"movdqa 192(%[in]), %%xmm6\n\tmovdqa 224(%[in]), %%xmm7\n\t"
			"movdqa 256(%[in]), %%xmm8\n\tmovdqa 288(%[in]), %%xmm9\n\t"
			"movdqa 320(%[in]), %%xmm10\n\tmovdqa 352(%[in]), %%xmm11\n\t"
			"movdqa 384(%[in]), %%xmm12\n\tmovdqa 416(%[in]), %%xmm13\n\t"
			"movdqa 448(%[in]), %%xmm14\n\tmovdqa 480(%[in]), %%xmm15\n\t"
			"mov $35, %%eax\n\t"
			"syscall\n\t"
			"movdqa %%xmm0, 0(%[out])\n\tmovdqa %%xmm1, 32(%[out])\n\t"
			"movdqa %%xmm2, 64(%[out])\n\tmovdqa %%xmm3, 96(%[out])\n\t"
			"movdqa %%xmm4, 128(%[out])\n\tmovdqa %%xmm5, 160(%[out])\n\t"
			"movdqa %%xmm6, 192(%[out])\n\tmovdqa %%xmm7, 224(%[out])\n\t"
			"movdqa %%xmm8, 256(%[out])\n\tmovdqa %%xmm9, 288(%[out])\n\t"
			"movdqa %%xmm10, 320(%[out])\n\tmovdqa %%xmm11, 352(%[out])\n\t"
			"movdqa %%xmm12, 384(%[out])\n\tmovdqa %%xmm13, 416(%[out])\n\t"
			"movdqa %%xmm14, 448(%[out])\n\tmovdqa %%xmm15, 480(%[out])\n\t"
			"stmxcsr %[mxo]\n\tfnstcw %[cwo]\n\t"
			: "=a"(r), [mxo] "=m"(mx_out), [cwo] "=m"(cw_out)
			: [in] "r"(in), [out] "r"(out), [mx] "m"(mx), [cw] "m"(cw), "D"(&ts), "S"(0L)
			: "rcx", "r11", "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7",
			  "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
	}
	uint32_t mx_def = 0x1f80;
	uint16_t cw_def = 0x37f;
	__asm__ volatile("ldmxcsr %0\n\tfldcw %1" ::"m"(mx_def), "m"(cw_def));
	int words = __builtin_cpu_supports("avx") ? 4 : 2;
	int ok = r == 0 && mx_out == mx && cw_out == cw;
	for (int reg = 0; reg < 16; reg++)
		for (int w = 0; w < words; w++)
			ok &= out[reg * 4 + w] == in[reg * 4 + w];
	return ok;
}

/* fp_bad: n calls from the FP site, with values from n and the caller's
 * stack (each thread its own); how many lost a register. */
static long fp_bad(int n) {
	long bad = 0;
	uint64_t base = (uint64_t)(uintptr_t)&bad;
	for (int i = 0; i < n; i++)
		bad += !fp_site(base + i);
	return bad;
}

static void *fp_thread_loop(void *arg) { return (void *)fp_bad(2000); }

/* mov_bad: n calls from the mov site; how many were wrong. */
static long mov_bad(int n) {
	long bad = 0;
	for (int i = 0; i < n; i++) {
		int f, c;
		if (getpid_site(&f, &c) != getpid() || !f || !c)
			bad++;
	}
	return bad;
}

static void *mov_thread_loop(void *arg) { return (void *)mov_bad(2000); }

static volatile int alarms;
static void on_alarm(int sig) { alarms++; }

/* site_checks: calls from one site (bad_of), from 4 threads at once while
 * it is rewritten, and from a forked child after it. */
static void site_checks(const char *what, long (*bad_of)(int), void *(*loop)(void *)) {
	printf("%s, 100 calls: %ld wrong\n", what, bad_of(100));
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, loop, NULL);
	long bad = 0;
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (long)r;
	}
	printf("%s, 4 threads x 2000 calls: %ld wrong\n", what, bad);
	pid_t pid = fork();
	if (pid == 0)
		_exit(bad_of(100) == 0 ? 7 : 1);
	int st;
	waitpid(pid, &st, 0);
	printf("%s, forked child: exit %d\n", what, WEXITSTATUS(st));
}

/* The reads and sleeps of the restart checks: the libc wrappers (mov
 * sites) and syscall(2) (a register site). */
static long libc_read(int fd, void *b, size_t n) { return read(fd, b, n); }
static long sys_read(int fd, void *b, size_t n) { return syscall(SYS_read, fd, b, n); }
static long libc_sleep(const struct timespec *ts) { return nanosleep(ts, NULL); }
static long sys_sleep(const struct timespec *ts) { return syscall(SYS_nanosleep, ts, NULL); }

/* restart_checks: an SA_RESTART read, its site made hot first,
 * interrupted by timer signals and restarted until a child writes; then a
 * nanosleep from a hot site stopped and continued: restarted with
 * restart_syscall, it sleeps only what was left. */
static void restart_checks(const char *what, long (*rd)(int, void *, size_t), long (*sl)(const struct timespec *)) {
	int p[2];
	char c;
	pipe(p);
	for (int i = 0; i < 5; i++) {
		write(p[1], "x", 1);
		rd(p[0], &c, 1);
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	alarms = 0;
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec ts = {0, 300000000};
		nanosleep(&ts, NULL);
		write(p[1], "y", 1);
		_exit(0);
	}
	struct itimerval it = {{0, 40000}, {0, 40000}}, none = {0};
	setitimer(ITIMER_REAL, &it, NULL);
	T(rd(p[0], &c, 1));
	setitimer(ITIMER_REAL, &none, NULL);
	printf("%s: read '%c', interrupted: %s\n", what, c, alarms > 0 ? "yes" : "no");
	int st;
	waitpid(pid, &st, 0);
	close(p[0]);
	close(p[1]);

	pid_t me = getpid();
	struct timespec tiny = {0, 1000}, ts = {0, 400000000}, a, b;
	for (int i = 0; i < 5; i++)
		sl(&tiny);
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
	T(sl(&ts));
	clock_gettime(CLOCK_MONOTONIC, &b);
	long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	CHECK(ms >= 395 && ms < 700);
	waitpid(pid, &st, 0);
}

/* sig_r12: tgkill(SIGUSR1) to this thread with v in %r12; the handler
 * (on_usr1) sets the frame's r12 to v*3+1, which rt_sigreturn restores. */
static long sig_r12(long v) {
	register long r12 __asm__("r12") = v;
	long r = 234; /* tgkill */
	long pid = getpid(), tid = syscall(SYS_gettid);
	__asm__ volatile("syscall" : "+a"(r), "+r"(r12) : "D"(pid), "S"(tid), "d"(SIGUSR1) : "rcx", "r11", "memory");
	return r == 0 ? r12 : -1;
}

static __thread long handled;
static void on_usr1(int sig, siginfo_t *si, void *uc) {
	ucontext_t *u = uc;
	handled++;
	u->uc_mcontext.gregs[REG_R12] = u->uc_mcontext.gregs[REG_R12] * 3 + 1;
}

/* sig_bad: n signals handled and returned from; how many went wrong. */
static long sig_bad(int n) {
	long bad = 0, before = handled;
	for (long i = 0; i < n; i++)
		if (sig_r12(i) != i * 3 + 1)
			bad++;
	return bad + (handled - before != n);
}

static void *sig_thread_loop(void *arg) { return (void *)sig_bad(2000); }

static void sigreturn_checks(void) {
	struct sigaction sa = {0};
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	site_checks("rt_sigreturn (__restore_rt)", sig_bad, sig_thread_loop);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	site_checks("mov site", mov_bad, mov_thread_loop);
	site_checks("FP state across a mov site", fp_bad, fp_thread_loop);
	restart_checks("libc", libc_read, libc_sleep);
	site_checks("register site", reg_bad, reg_thread_loop);
	site_checks("register sites of pthread_create", tails_bad, tails_thread_loop);
	restart_checks("syscall(2)", sys_read, sys_sleep);
	sigreturn_checks();
	return 0;
}
