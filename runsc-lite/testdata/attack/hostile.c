/*
 * hostile: attacks from inside the sandbox on the host, one per mode.
 * NEVER RUN IT NATIVELY: it signals host pids, writes host devices and
 * kernel settings, tries to set the clock and the hostname, and jumps into
 * code it does not own.
 *
 * usage: hostile MODE [key=value...]
 *
 * hostile_test.go runs every mode inside `runsc-lite run` on both
 * platforms and compares its output, line for line, with what the sandbox
 * must answer; a native witness process that the test watches proves that
 * nothing outside the sandbox changed. The keys name the targets: the
 * witness (w= its pid, waddr= its pattern), the test's own pid (test=), the
 * stub's layout (addresses in its image and shared region) and host paths;
 * each mode reads the ones it needs with arg().
 *
 * Every line printed is deterministic: results, errno names, how a child
 * ended; never addresses or pids. A mode that could end its process
 * uncleanly runs the attack in a forked child (contained) and reports how
 * the child ended, then shows that the sandbox still serves the parent
 * (alive).
 */
#include "../diff/common.h" /* ename, T, CHECK */
#include <asm/prctl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/perf_event.h>
#include <linux/reboot.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <linux/userfaultfd.h>
#include <dirent.h>
#include <linux/nsfs.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static int g_argc;
static char **g_argv;

/* arg returns the value of key=... on the command line, or exits. */
static const char *arg(const char *key)
{
	size_t n = strlen(key);
	for (int i = 2; i < g_argc; i++)
		if (strncmp(g_argv[i], key, n) == 0 && g_argv[i][n] == '=')
			return g_argv[i] + n + 1;
	printf("missing argument %s=\n", key);
	exit(2);
}

static uint64_t argu(const char *key) { return strtoull(arg(key), NULL, 0); }
static void *argp(const char *key) { return (void *)(uintptr_t)argu(key); }

/* L(label, expr) prints "label: " and expr's value, or the errno's name
 * when it is -1. OK(expr) is 0 for any other value, for calls whose
 * success value is not deterministic (a descriptor, an address). */
#define L(label, expr)                                             \
	do {                                                       \
		errno = 0;                                         \
		long _r = (long)(expr);                            \
		if (_r == -1)                                      \
			printf("%s: %s\n", label, ename(errno));   \
		else                                               \
			printf("%s: %ld\n", label, _r);            \
	} while (0)
#define OK(expr) ((long)(expr) == -1 ? -1L : 0L)
#define MAPPED(expr) ((void *)(expr) == MAP_FAILED ? -1L : 0L)

/* Faults: probe runs fn with a handler for the signals a stray access
 * raises, and returns the signal (0 if none came). */
static sigjmp_buf probe_jb;
static volatile sig_atomic_t probe_sig;
static volatile uintptr_t probe_addr;

static void on_probe(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	probe_sig = sig;
	probe_addr = (uintptr_t)si->si_addr;
	siglongjmp(probe_jb, 1);
}

static void catch_signals(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_probe;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGSYS, SIGTRAP, SIGFPE, SIGALRM};
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int probe(void (*fn)(void *), void *arg)
{
	catch_signals();
	probe_sig = 0;
	if (sigsetjmp(probe_jb, 1) == 0)
		fn(arg);
	return probe_sig;
}

static const char *signame(int sig) { return sig ? sigabbrev_np(sig) : "none"; }

/* contained runs fn in a child and reports how the child ended. A child
 * still running after limit_ms is killed, and the report says so: the
 * sandbox must always be able to kill one of its processes. */
static void contained_for(const char *what, void (*fn)(void), int limit_ms)
{
	fflush(stdout);
	pid_t p = fork();
	if (p < 0) {
		printf("%s: fork: %s\n", what, ename(errno));
		return;
	}
	if (p == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	int st = 0, killed = 0;
	for (int ms = 0;; ms += 5) {
		pid_t r = waitpid(p, &st, WNOHANG);
		if (r == p)
			break;
		if (r < 0) {
			printf("%s: waitpid: %s\n", what, ename(errno));
			return;
		}
		if (ms >= limit_ms && !killed) {
			kill(p, SIGKILL);
			killed = ms;
		}
		if (killed && ms - killed > 20000) {
			printf("%s: still alive 20 s after SIGKILL\n", what);
			return;
		}
		usleep(5000);
	}
	if (WIFEXITED(st))
		printf("%s: exit %d", what, WEXITSTATUS(st));
	else if (sigabbrev_np(WTERMSIG(st)))
		printf("%s: killed by SIG%s", what, sigabbrev_np(WTERMSIG(st)));
	else
		printf("%s: killed by signal %d", what, WTERMSIG(st));
	printf("%s\n", killed ? " (the parent killed it)" : "");
}

static void contained(const char *what, void (*fn)(void)) { contained_for(what, fn, 10000); }

static void *thread_ret(void *a) { return a; }

/* alive shows that the sandbox still serves this process: a fork, a
 * thread, a mapping and a few syscalls, each checked. */
static void alive(void)
{
	fflush(stdout);
	int ok = 1;
	pid_t p = fork();
	if (p == 0)
		_exit(7);
	int st;
	ok &= p > 0 && waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 7;
	pthread_t th;
	void *r = NULL;
	ok &= pthread_create(&th, NULL, thread_ret, (void *)42) == 0 && pthread_join(th, &r) == 0 && r == (void *)42;
	char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ok &= m != MAP_FAILED;
	if (m != MAP_FAILED) {
		memset(m, 0x5a, 1 << 20);
		ok &= m[12345] == 0x5a && munmap(m, 1 << 20) == 0;
	}
	ok &= getppid() >= 0 && getpid() > 0;
	printf("alive: %s\n", ok ? "yes" : "NO");
}

/* ---- writes to the stub's memory ---- */

static void poke8(void *addr) { *(volatile uint64_t *)addr = 0x4141414141414141ULL; }
static void peek8(void *addr) { (void)*(volatile uint64_t *)addr; }

/* poke: an application thread writes the stub's memory at addr=. */
static void mode_poke(void)
{
	uintptr_t a = strcmp(arg("addr"), "vdso") == 0 ? getauxval(AT_SYSINFO_EHDR) : argu("addr");
	int sig = probe(poke8, (void *)a);
	if (sig == 0)
		printf("write: no fault\n");
	else
		printf("write: SIG%s%s\n", sigabbrev_np(sig), probe_addr != a ? " elsewhere" : "");
	alive();
}

/* ---- forged protocol state, written by one thread while another works ---- */

static volatile int forging = 1;
static uintptr_t forge_base;
static int forge_kind;

/* Values a forger writes: small states, all ones, pointers into the
 * reserved range, into the application, and into the kernel's half. */
static const uint64_t forged[] = {
	0, 1, 2, 3, 0x41414141, ~0ULL, 0x7ff010000000, 0x7ff011000000,
	0x7ff011010040, 0x10000, 0xffff800000000000, 0x7ff000000000,
};
#define NFORGED (sizeof(forged) / sizeof(forged[0]))

enum { FORGE_STATE, FORGE_FRAME, FORGE_SIGINFO, FORGE_BASES, FORGE_RESPONSE, FORGE_SCRATCH, FORGE_RESUME, FORGE_CPU };

/* forger overwrites, for the first 8 thread slots from forge_base (or the
 * response page), the words forge_kind names, until forging is 0. */
static void *forger(void *unused)
{
	(void)unused;
	for (uint64_t n = 0; forging; n++) {
		uint64_t v = forged[n % NFORGED];
		switch (forge_kind) {
		case FORGE_RESPONSE: {
			volatile uint32_t *seq = (volatile uint32_t *)forge_base;
			volatile uint64_t *ret = (volatile uint64_t *)(forge_base + 8);
			*seq = *seq + 1 + (n & 1);
			*ret = v;
			break;
		}
		case FORGE_SCRATCH:
			for (int i = 0; i < 0x100; i += 8)
				*(volatile uint64_t *)(forge_base + i) = forged[(n + i / 8) % NFORGED];
			break;
		default:
			for (int s = 0; s < 8; s++) {
				volatile uint8_t *m = (volatile uint8_t *)(forge_base + s * 0x10000);
				switch (forge_kind) {
				case FORGE_STATE:
					*(volatile uint32_t *)m = (uint32_t)v;
					break;
				case FORGE_RESUME: /* "resume", and nobody waits */
					*(volatile uint32_t *)m = 2;
					*(volatile uint32_t *)(m + 4) = 0;
					break;
				case FORGE_FRAME: /* siginfo and ucontext pointers */
					*(volatile uint64_t *)(m + 16) = v;
					*(volatile uint64_t *)(m + 24) = forged[(n + 5) % NFORGED];
					break;
				case FORGE_SIGINFO: { /* the frame's siginfo itself */
					uint64_t si = *(volatile uint64_t *)(m + 16);
					uintptr_t lo = (uintptr_t)m + 0x1000, hi = (uintptr_t)m + 0x10000;
					if (si >= lo && si + 32 <= hi) {
						volatile uint32_t *w = (volatile uint32_t *)si;
						w[0] = (uint32_t)(n % 65);  /* si_signo */
						w[2] = (uint32_t)v;         /* si_code */
						w[6] = 59;                  /* si_syscall: execve */
						w[7] = 0x40000003;          /* si_arch: i386 */
					}
					break;
				}
				case FORGE_CPU: /* stub_cpu and sentry_cpu: this CPU, others, garbage */
					*(volatile uint32_t *)(m + 80) = n % 3 ? (uint32_t)sched_getcpu() : (uint32_t)v;
					*(volatile uint32_t *)(m + 84) = n % 2 ? (uint32_t)sched_getcpu() : (uint32_t)(n / 2);
					break;
				case FORGE_BASES: /* set_bases and the new bases */
					*(volatile uint64_t *)(m + 48) = v;
					*(volatile uint64_t *)(m + 56) = forged[(n + 3) % NFORGED];
					*(volatile uint32_t *)(m + 64) = 3;
					break;
				}
			}
		}
	}
	return NULL;
}

static void *forged_thread_work(void *a) { return (void *)((uintptr_t)a + 1); }

/* forge_victim: while the forger runs, syscalls whose answers are checked,
 * mappings, threads and forks. It exits 0 if every answer was right, 1 if
 * one was wrong (the forger only hurt its own process). */
static void forge_victim(void)
{
	/* What the victim's own process tree prints, once its state is
	 * forged (a thread resumed at a stale frame may run any of its code,
	 * the parent's printing included), is its own harm, not the test's
	 * output: the parent reports how the victim ended. */
	int null = open("/dev/null", O_WRONLY);
	if (null >= 0) {
		dup2(null, 1);
		/* and stderr: glibc's "stack smashing detected" from a thread
		 * whose forged fs base moved its stack canary is its harm too */
		dup2(null, 2);
	}
	pthread_t f;
	if (pthread_create(&f, NULL, forger, NULL) != 0)
		_exit(3);
	int wrong = 0;
	pid_t ppid = getppid();
	for (int i = 0; i < 300; i++) {
		wrong |= getppid() != ppid;
		char *m = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED) {
			m[100] = 1;
			wrong |= mprotect(m, 4096, PROT_READ) != 0;
			wrong |= munmap(m, 65536) != 0;
		}
		if (i % 30 == 0) {
			pthread_t th;
			void *r;
			if (pthread_create(&th, NULL, forged_thread_work, (void *)(uintptr_t)i) == 0)
				wrong |= pthread_join(th, &r) != 0 || r != (void *)(uintptr_t)(i + 1);
			pid_t c = fork();
			if (c == 0)
				_exit(5);
			int st = 0;
			if (c > 0)
				wrong |= waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 5;
		}
	}
	forging = 0;
	pthread_join(f, NULL);
	_exit(wrong);
}

/* forge: kind= (state, frame, siginfo, bases, response, scratch, resume,
 * cpu) at base=,
 * if an application thread can write there at all. */
static void mode_forge(void)
{
	static const char *kinds[] = {"state", "frame", "siginfo", "bases", "response", "scratch", "resume", "cpu"};
	const char *k = arg("kind");
	forge_kind = -1;
	for (int i = 0; i < 8; i++)
		if (strcmp(k, kinds[i]) == 0)
			forge_kind = i;
	forge_base = argu("base");
	if (forge_kind < 0) {
		printf("unknown kind %s\n", k);
		return;
	}
	int sig = probe(poke8, (void *)(forge_base + 0x100)); /* harmless for every kind */
	printf("writable: %s\n", sig ? "no" : "yes");
	if (!sig) /* it takes a fraction of a second unless held down */
		contained_for("forger", forge_victim, 3000);
	alive();
}

/* sigstack: a thread blocked in the sentry, whose signal frame is on its
 * signal stack in slot=, has that stack overwritten with garbage, then is
 * woken up. */
static int sigstack_pipe[2];

static void *blocked_reader(void *unused)
{
	(void)unused;
	char c;
	return (void *)(intptr_t)read(sigstack_pipe[0], &c, 1);
}

static void sigstack_victim(void)
{
	uintptr_t slot = argu("slot");
	pipe(sigstack_pipe);
	pthread_t th;
	pthread_create(&th, NULL, blocked_reader, NULL);
	usleep(100000);
	memset((void *)(slot + 0x1000), 0x41, 0xf000);
	memset((void *)slot, 0x41, 0x48);
	write(sigstack_pipe[1], "x", 1);
	void *r;
	pthread_join(th, &r);
	_exit(r == (void *)1 ? 0 : 1);
}

static void mode_sigstack(void)
{
	int sig = probe(poke8, (void *)(argu("slot") + 0x100));
	printf("writable: %s\n", sig ? "no" : "yes");
	if (!sig)
		contained("overwritten thread", sigstack_victim);
	alive();
}

/* ---- jumps into stub code ---- */

/* jump_to runs syscall nr at the stub's instruction insn with our own
 * return paths: %rbx for stub_syscall_site's `jmp *%rbx`, a pushed address
 * for handler_syscall_site's `ret`; restorer_site's ud2 raises SIGILL and
 * ptrace_wait's loop is left by SIGALRM, both caught by probe. */
static long jump_nr, jump_args[6];
static uintptr_t jump_insn;
static volatile long jump_ret = -999;

static void jump_to(void *unused)
{
	(void)unused;
	long ret;
	register long r10 asm("r10") = jump_args[3];
	register long r8 asm("r8") = jump_args[4];
	register long r9 asm("r9") = jump_args[5];
	asm volatile(
		"mov %%rsp, %%r12\n\t"
		"sub $256, %%rsp\n\t" /* past the red zone */
		"and $-16, %%rsp\n\t"
		"lea 1f(%%rip), %%rbx\n\t"
		"push %%rbx\n\t"
		"jmp *%[insn]\n"
		"1:\n\t"
		"mov %%r12, %%rsp\n\t"
		: "=a"(ret)
		: "a"(jump_nr), "D"(jump_args[0]), "S"(jump_args[1]), "d"(jump_args[2]), "r"(r10), "r"(r8), "r"(r9),
		  [insn] "r"(jump_insn)
		: "rbx", "r12", "rcx", "r11", "memory", "cc");
	jump_ret = ret;
}

/* jump: openat(AT_FDCWD, path=, O_CREAT|O_WRONLY, 0644) at the stub's
 * syscall instruction insn=: it is the sandbox's openat (the file is made
 * in the sandbox's overlay, never on the host), and control comes back
 * only as the application arranged. */
static void mode_jump(void)
{
	const char *path = arg("path");
	jump_insn = argu("insn");
	jump_nr = SYS_openat;
	jump_args[0] = AT_FDCWD;
	jump_args[1] = (long)path;
	jump_args[2] = O_CREAT | O_WRONLY;
	jump_args[3] = 0644;
	struct itimerval it = {{0, 0}, {0, 200000}};
	setitimer(ITIMER_REAL, &it, NULL);
	int sig = probe(jump_to, NULL);
	struct itimerval off = {0};
	setitimer(ITIMER_REAL, &off, NULL);
	printf("came back: %s\n", sig ? sigabbrev_np(sig) : "by our return path");
	printf("openat: %s\n", jump_ret >= 0 ? "a descriptor" : jump_ret == -999 ? "no result" : ename(-jump_ret));
	struct stat st;
	printf("file in the sandbox: %s\n", stat(path, &st) == 0 ? "yes" : "no");
	alive();
}

/* stub_enter, with a filter that allows everything and our own code as
 * the loop to jump to: its first call, the mprotect of the stub's data,
 * is the sandbox's, refused for the reserved range, so it exits 127. */
static void jump_enter(void)
{
	static struct sock_filter allow[] = {{0x06, 0, 0, 0x7fff0000}}; /* RET ALLOW */
	static struct sock_fprog prog = {1, allow};
	void (*enter)(void *, void *) = argp("enter");
	enter(&prog, (void *)alive);
	_exit(0);
}

/* A new application thread's set-up code, with %r13 pointing at a
 * set-up block of our own (an allow-all filter, a signal stack in our
 * memory): its calls are the sandbox's, and its signal mask comes from the
 * stub's read-only data, which the sentry does not copy for anybody, so it
 * takes its exit path: the thread exits with status 1. */
static void jump_thread_setup(void)
{
	static struct {
		uint16_t prog_len, pad0[3];
		uint64_t prog_filter, ss_sp;
		int32_t ss_flags;
		uint32_t pad1;
		uint64_t ss_size, pad2[3];
		struct sock_filter insns[1];
	} block;
	static char stack[65536];
	block.prog_len = 1;
	block.prog_filter = (uintptr_t)block.insns;
	block.insns[0] = (struct sock_filter){0x06, 0, 0, 0x7fff0000}; /* RET ALLOW */
	block.ss_sp = (uintptr_t)stack;
	block.ss_size = sizeof stack;
	uintptr_t code = argu("setup");
	asm volatile("mov %0, %%r13\n\tjmp *%1" : : "r"(&block), "r"(code) : "r13", "memory");
	__builtin_unreachable();
}

/* sysmsg_handler, as if a signal had come, with its stack (and so its
 * "sysmsg page") in our own memory: it waits there for an answer that
 * never comes, until SIGALRM. */
static void jump_handler_body(void *unused)
{
	(void)unused;
	uintptr_t handler = argu("handler");
	char *slot = mmap(NULL, 0x20000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t s = ((uintptr_t)slot + 0xffff) & ~0xffffUL;
	static siginfo_t si;
	static ucontext_t uc;
	si.si_signo = SIGSYS;
	asm volatile(
		"mov %%rsp, %%r12\n\t"
		"mov %[sp], %%rsp\n\t"
		"lea 1f(%%rip), %%rax\n\t"
		"push %%rax\n\t"
		"jmp *%[h]\n"
		"1:\n\t"
		"mov %%r12, %%rsp\n\t"
		:
		: [sp] "r"(s + 0xff00), [h] "r"(handler), "D"(SIGSYS), "S"(&si), "d"(&uc)
		: "rax", "r12", "rcx", "r11", "r8", "r9", "r10", "memory", "cc");
}

static void jump_handler(void)
{
	struct itimerval soon = {{0, 0}, {0, 100000}};
	setitimer(ITIMER_REAL, &soon, NULL);
	int sig = probe(jump_handler_body, NULL);
	printf("handler came back: %s\n", sig ? sigabbrev_np(sig) : "by return");
	_exit(0);
}

static void mode_jumpcode(void)
{
	const char *what = arg("what");
	if (strcmp(what, "enter") == 0)
		contained("stub_enter", jump_enter);
	else if (strcmp(what, "handler") == 0)
		contained("sysmsg_handler", jump_handler);
	else if (strcmp(what, "thread-setup") == 0)
		contained("thread set-up", jump_thread_setup);
	else
		printf("unknown %s\n", what);
	alive();
}

/* ---- 32-bit syscalls and vsyscall ---- */

static long w_pid;

static void do_int80(void *unused)
{
	(void)unused;
	asm volatile("int $0x80" : : "a"(37), "b"(w_pid), "c"(SIGWINCH) : "memory");
}

/* The 32-bit getpid, harmless: run natively, to learn whether the host
 * kernel runs 32-bit syscalls at all. */
static void do_int80_getpid(void *unused)
{
	(void)unused;
	asm volatile("int $0x80" : : "a"(20) : "memory");
}

static void mode_ia32probe(void)
{
	int sig = probe(do_int80_getpid, NULL);
	printf("int80 getpid: %s\n", sig ? sigabbrev_np(sig) : "no signal");
}

static void do_sysenter(void *unused)
{
	(void)unused;
	asm volatile("sysenter" : : "a"(37), "b"(w_pid), "c"(SIGWINCH) : "memory");
}

/* 32-bit code, called far with cs 0x23 on a stack below 4 GiB: kill(w,
 * SIGWINCH) with `syscall`, then with int 0x80, then lret. */
static volatile uint64_t saved_rsp;

static void do_compat(void *code)
{
	struct {
		uint32_t off;
		uint16_t sel;
	} __attribute__((packed)) far = {(uint32_t)(uintptr_t)code, 0x23};
	uintptr_t stack = (uintptr_t)code + 0x1000 - 64;
	asm volatile(
		"mov %%rsp, saved_rsp(%%rip)\n\t"
		"mov %[stack], %%rsp\n\t"
		"lcall *%[far]\n\t"
		"mov saved_rsp(%%rip), %%rsp\n\t"
		:
		: [far] "m"(far), [stack] "r"(stack)
		: "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
}

static void mode_syscall32(void)
{
	w_pid = argu("w");
	const char *how = arg("how");
	int sig;
	if (strcmp(how, "int80") == 0) {
		sig = probe(do_int80, NULL);
	} else if (strcmp(how, "sysenter") == 0) {
		sig = probe(do_sysenter, NULL);
	} else {
		/* Below 4 GiB, where 32-bit code can run and return. */
		uint8_t *code = mmap((void *)0x50000000, 0x2000, PROT_READ | PROT_WRITE | PROT_EXEC,
				     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		uint8_t *p = code;
		*p++ = 0xb8; *(uint32_t *)p = 37; p += 4;             /* mov $37, %eax */
		*p++ = 0xbb; *(uint32_t *)p = w_pid; p += 4;          /* mov $w, %ebx */
		*p++ = 0xb9; *(uint32_t *)p = SIGWINCH; p += 4;       /* mov $SIGWINCH, %ecx */
		if (strcmp(how, "compat-syscall") == 0) {
			*p++ = 0x0f; *p++ = 0x05;                     /* syscall */
		} else if (strcmp(how, "compat-int80") == 0) {
			*p++ = 0xcd; *p++ = 0x80;                     /* int $0x80 */
		} else if (strcmp(how, "compat-nop") != 0) {
			printf("unknown how=%s\n", how);
			return;
		}
		*p++ = 0xcb;                                          /* lret */
		sig = probe(do_compat, code);
		if (sig)
			asm volatile("mov saved_rsp(%%rip), %%rsp" ::: "memory");
	}
	printf("%s kill: %s\n", how, sig ? sigabbrev_np(sig) : "no signal");
	alive();
}

static void call_vsyscall_bad(void *unused)
{
	(void)unused;
	((void (*)(void))0xffffffffff600100UL)();
}

static void mode_vsyscall(void)
{
	struct timeval tv;
	struct timespec ts;
	long r = ((long (*)(struct timeval *, void *))0xffffffffff600000UL)(&tv, NULL);
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("gettimeofday: %ld, %s\n", r, labs(tv.tv_sec - ts.tv_sec) <= 2 ? "now" : "WRONG TIME");
	time_t t2 = 0;
	time_t t1 = ((time_t (*)(time_t *))0xffffffffff600400UL)(&t2);
	clock_gettime(CLOCK_REALTIME, &ts);
	printf("time: %s\n", t1 == t2 && labs(t1 - ts.tv_sec) <= 2 ? "now" : "WRONG TIME");
	unsigned cpu = ~0U, node = ~0U;
	r = ((long (*)(unsigned *, unsigned *, void *))0xffffffffff600800UL)(&cpu, &node, NULL);
	printf("getcpu: %ld, %s\n", r, cpu < (unsigned)sysconf(_SC_NPROCESSORS_CONF) && node == 0 ? "valid" : "INVALID");
	printf("vsyscall+0x100: %s\n", signame(probe(call_vsyscall_bad, NULL)));
	alive();
}

/* ---- forged sigreturn frames ---- */

static void raw_sigreturn(void *frame)
{
	asm volatile("mov %0, %%rsp\n\tmov $15, %%eax\n\tsyscall" : : "r"(frame) : "memory");
	__builtin_unreachable();
}

static void sigret_garbage(void)
{
	static uint64_t frame[1024];
	for (int i = 0; i < 1024; i++)
		frame[i] = forged[i % NFORGED] ^ (i * 0x0101010101010101ULL);
	raw_sigreturn(frame + 8);
}

/* The handler edits the frame it will return through, as fix= says. */
static const char *sigret_fix;

static void on_usr1(int sig, siginfo_t *si, void *ucp)
{
	(void)sig;
	(void)si;
	ucontext_t *uc = ucp;
	uint8_t *fx = (uint8_t *)uc->uc_mcontext.fpregs;
	if (strcmp(sigret_fix, "kernel-cs") == 0) {
		/* cs (low 16 bits of REG_CSGSFS) and ss (its top 16 bits): the
		 * kernel's code and stack segments. */
		uc->uc_mcontext.gregs[REG_CSGSFS] = 0x0018000000000010ULL;
	} else if (strcmp(sigret_fix, "huge-xsave") == 0) {
		uint32_t *sw = (uint32_t *)(fx + 464); /* struct _fpx_sw_bytes */
		sw[1] = 0xfffffff0;                    /* extended_size */
		sw[4] = 0x7ffffff0;                    /* xstate_size */
		*(uint64_t *)(fx + 512) = ~0ULL;       /* xstate_bv: every feature */
	} else if (strcmp(sigret_fix, "fpstate-reserved") == 0) {
		uc->uc_mcontext.fpregs = argp("reserved");
	} else if (strcmp(sigret_fix, "fpstate-kernel") == 0) {
		uc->uc_mcontext.fpregs = (void *)0xffffffff81000000UL;
	}
}

static void sigret_edited(void)
{
	struct sigaction sa = {0};
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	uint16_t cs, ss;
	asm volatile("mov %%cs, %0\n\tmov %%ss, %1" : "=r"(cs), "=r"(ss));
	printf("after sigreturn: cs %#x ss %#x\n", cs, ss);
	fflush(stdout);
	_exit(0);
}

static void mode_sigreturn(void)
{
	sigret_fix = arg("fix");
	if (strcmp(sigret_fix, "garbage") == 0)
		contained("sigreturn", sigret_garbage);
	else
		contained("sigreturn", sigret_edited);
	alive();
}

/* ---- the witness, from inside: signals, ptrace, memory ---- */

static void mode_kill(void)
{
	pid_t witness = argu("w"), test = argu("test");
	T(kill(witness, SIGWINCH));
	T(kill(witness, 0));
	T(kill(-witness, SIGWINCH));
	T(kill(test, SIGWINCH));
	T(syscall(SYS_tkill, witness, SIGWINCH));
	T(syscall(SYS_tgkill, witness, witness, SIGWINCH));
}

static void mode_sigqueue(void)
{
	pid_t witness = argu("w");
	siginfo_t si = {0};
	si.si_signo = SIGWINCH;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	T(syscall(SYS_rt_sigqueueinfo, witness, SIGWINCH, &si));
	T(syscall(SYS_rt_tgsigqueueinfo, witness, witness, SIGWINCH, &si));
	T(sigqueue(witness, SIGWINCH, (union sigval){0}));
}

static void mode_pidfd(void)
{
	pid_t witness = argu("w"), test = argu("test");
	T(syscall(SYS_pidfd_open, witness, 0));
	T(syscall(SYS_pidfd_open, test, 0));
	/* Our own pidfd names only ourselves, whatever numbers come along. */
	int self = syscall(SYS_pidfd_open, getpid(), 0);
	T(syscall(SYS_pidfd_send_signal, self, 0, NULL, 0));
	T(syscall(SYS_pidfd_getfd, self, witness, 0));
}

static void mode_broadcast(void)
{
	/* A child to signal, so that kill(-1) finds someone in the sandbox. */
	pid_t c = fork();
	if (c == 0) {
		signal(SIGWINCH, SIG_IGN);
		pause();
		_exit(0);
	}
	T(kill(-1, SIGWINCH));
	T(kill(0, SIGWINCH));
	kill(c, SIGKILL);
	waitpid(c, NULL, 0);
	T(kill(-1, SIGWINCH));
}

static void mode_ptrace(void)
{
	pid_t witness = argu("w");
	uintptr_t pattern = argu("waddr");
	T(ptrace(PTRACE_ATTACH, witness, 0, 0));
	T(ptrace(PTRACE_SEIZE, witness, 0, 0));
	T(ptrace(PTRACE_POKEDATA, witness, pattern, 0));
	char buf[16];
	struct iovec local = {buf, sizeof buf}, remote = {(void *)pattern, sizeof buf};
	T(process_vm_readv(witness, &local, 1, &remote, 1, 0));
	T(process_vm_writev(witness, &local, 1, &remote, 1, 0));
	char witness_mem[64], witness_status[64];
	snprintf(witness_mem, sizeof witness_mem, "/proc/%d/mem", witness);
	snprintf(witness_status, sizeof witness_status, "/proc/%d/status", witness);
	T(open(witness_mem, O_RDWR));
	T(open(witness_status, O_RDONLY));
}

/* ---- syscalls the stub's filters allow an application thread, made at
 * the stub's own instructions: they reach the host kernel, and may only
 * ever hurt the caller's own process ---- */

static void allowed_exit(void)
{
	jump_insn = argu("handler_insn");
	jump_nr = SYS_exit;
	jump_args[0] = 0;
	jump_to(NULL);
	_exit(9); /* not reached: the host thread is gone */
}

static void allowed_futex(void)
{
	/* Sleeps in the host on this thread's own state word, which holds
	 * "resume" while it runs: nothing wakes it but a signal. */
	jump_insn = argu("handler_insn");
	jump_nr = SYS_futex;
	jump_args[0] = argu("state");
	jump_args[1] = FUTEX_WAIT;
	jump_args[2] = 2;
	jump_args[3] = 0;
	jump_to(NULL);
	_exit(0);
}

static void allowed_setgs(void)
{
	jump_insn = argu("handler_insn");
	jump_nr = SYS_arch_prctl;
	jump_args[0] = ARCH_SET_GS;
	jump_args[1] = 0x41414141000;
	jump_to(NULL);
	printf("arch_prctl(ARCH_SET_GS) at the handler's site: %s\n", jump_ret == 0 ? "done" : ename(-jump_ret));
	fflush(stdout);
	_exit(0);
}

/* The host's rt_sigreturn at the restorer's site, through a frame that
 * blocks every host signal and moves the host signal stack into our
 * memory; then spin: the sentry cannot interrupt this thread any more. */
static void allowed_sigreturn(void)
{
	static ucontext_t uc;
	static char stack[65536] __attribute__((aligned(16)));
	static char altstack[65536];
	getcontext(&uc);
	static volatile int returned;
	if (returned)
		for (;;)
			asm volatile("" ::: "memory");
	returned = 1;
	uc.uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)&&spin;
	uc.uc_mcontext.gregs[REG_RSP] = (greg_t)(uintptr_t)(stack + sizeof stack - 8);
	uc.uc_mcontext.gregs[REG_CSGSFS] = 0x002b000000000033ULL;
	uc.uc_mcontext.fpregs = NULL;
	sigfillset(&uc.uc_sigmask);
	uc.uc_stack.ss_sp = altstack;
	uc.uc_stack.ss_size = sizeof altstack;
	uc.uc_stack.ss_flags = 0;
	uintptr_t insn = argu("restorer_insn");
	asm volatile("mov %0, %%rsp\n\tmov $15, %%eax\n\tjmp *%1" : : "S"(&uc), "c"(insn) : "rax", "memory");
spin:
	for (;;)
		asm volatile("" ::: "memory");
}

/* Mapping changes at the handler's site, where the handler makes the one
 * the sentry leaves to a thread's resume: the filter allows only private
 * anonymous mappings, unmappings and protection changes to none, read or
 * read+write, below the stub's image; anything else traps into the sentry, which
 * answers it as the application's own syscall. */
static void map_at_handler(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	jump_insn = argu("handler_insn");
	jump_nr = nr;
	jump_args[0] = a0, jump_args[1] = a1, jump_args[2] = a2;
	jump_args[3] = a3, jump_args[4] = a4, jump_args[5] = a5;
	jump_ret = -999;
	jump_to(NULL);
}

static const char *result(long ret) { return ret >= 0 ? "done" : ename(-ret); }

/* A single-threaded process (a fork of ours) maps anonymous memory, which
 * its thread maps itself as it resumes, then writes "refused" into the
 * host's answer in its own message before its next syscall: the sentry
 * believes its view of the process is wrong, and kills it. */
static void forge_resume_answer(void)
{
	volatile int64_t *ret = argp("callret");
	if (probe(poke8, (void *)ret)) {
		printf("message writable: no\n");
		return;
	}
	/* A syscall instruction of its own, which traps every time (a
	 * patched site's stop is never given a call). */
	long p;
	register long r10 asm("r10") = MAP_PRIVATE | MAP_ANONYMOUS;
	register long r8 asm("r8") = -1;
	register long r9 asm("r9") = 0;
	asm volatile("syscall"
		     : "=a"(p)
		     : "a"(SYS_mmap), "D"(0), "S"(4096), "d"(PROT_READ | PROT_WRITE), "r"(r10), "r"(r8), "r"(r9)
		     : "rcx", "r11", "memory");
	*ret = -ENOMEM;
	getppid();
	printf("mapped: %s, still running\n", p < 0 ? "no" : "yes");
}

static void mode_resumecall(void)
{
	const char *what = arg("what");
	const long anon = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
	if (strcmp(what, "own") == 0) {
		char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		p[0] = 1;
		map_at_handler(SYS_mmap, (long)p, 4096, PROT_READ | PROT_WRITE, anon, -1, 0);
		printf("anonymous mmap over our own page: %s, reads %d\n", result(jump_ret), p[0]);
		map_at_handler(SYS_mprotect, (long)p, 4096, PROT_READ, 0, 0, 0);
		printf("mprotect(PROT_READ): %s, write: %s\n", result(jump_ret), probe(poke8, p) ? "SIGSEGV" : "no fault");
		map_at_handler(SYS_munmap, (long)p, 4096, 0, 0, 0, 0);
		printf("munmap: %s, read: %s\n", result(jump_ret), probe(peek8, p) ? "SIGSEGV" : "no fault");
	} else if (strcmp(what, "control") == 0) {
		uintptr_t region = argu("region");
		map_at_handler(SYS_mmap, region, 4096, PROT_READ | PROT_WRITE, anon, -1, 0);
		printf("anonymous mmap over the control page: %s\n", result(jump_ret));
		map_at_handler(SYS_munmap, region, 4096, 0, 0, 0, 0);
		printf("munmap of the control page: %s\n", result(jump_ret));
		printf("control page write: %s\n", probe(poke8, (void *)region) ? "SIGSEGV" : "no fault");
	} else if (strcmp(what, "image") == 0) {
		uintptr_t image = argu("image");
		map_at_handler(SYS_munmap, image, 4096, 0, 0, 0, 0);
		printf("munmap of the stub's image: %s\n", result(jump_ret));
		map_at_handler(SYS_mprotect, image, 4096, PROT_READ, 0, 0, 0);
		printf("mprotect of the stub's image: %s\n", result(jump_ret));
	} else if (strcmp(what, "answer") == 0) {
		contained("forged answer to a resume's call", forge_resume_answer);
	} else if (strcmp(what, "file") == 0) {
		/* A file of the sandbox's own /tmp (the sentry's memfd, open
		 * for writing whatever the application opened) and a System V
		 * segment attached read-only: the handler may make a mapping
		 * writable, but a write never reaches what was only readable. */
		const char *path = "/tmp/read-only-at-resume";
		int wfd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0444);
		write(wfd, "original", 8);
		close(wfd);
		int fd = open(path, O_RDONLY);
		char *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
		map_at_handler(SYS_mprotect, (long)p, 4096, PROT_READ | PROT_WRITE, 0, 0, 0);
		printf("mprotect(PROT_WRITE) of a read-only shared file mapping: %s\n", result(jump_ret));
		map_at_handler(SYS_mmap, (long)p, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
		printf("writable shared mmap of it: %s\n", result(jump_ret));
		printf("write: %s\n", probe(poke8, p) ? "SIGSEGV" : "no fault");
		char got[9] = {0};
		pread(fd, got, 8, 0);
		printf("file afterwards: %s\n", got);
		int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
		char *rw = shmat(id, NULL, 0), *ro = shmat(id, NULL, SHM_RDONLY);
		shmctl(id, IPC_RMID, NULL);
		strcpy(rw, "original");
		map_at_handler(SYS_mprotect, (long)ro, 4096, PROT_READ | PROT_WRITE, 0, 0, 0);
		printf("mprotect(PROT_WRITE) of a SHM_RDONLY attachment: %s\n", result(jump_ret));
		printf("write: %s\n", probe(poke8, ro) ? "SIGSEGV" : "no fault");
		printf("segment afterwards: %.8s\n", rw);
	} else if (strcmp(what, "fds") == 0) {
		/* The handler may receive a file's descriptor on the control
		 * socket, map it privately and close it: with nothing sent the
		 * receipt fails at once, the socket itself can be neither
		 * mapped nor closed, and the stub holds no other descriptor. */
		char byte, cbuf[64];
		struct iovec iov = {&byte, 1};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
		map_at_handler(SYS_recvmsg, 3, (long)&msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT, 0, 0, 0);
		printf("recvmsg on the control socket: %s\n", result(jump_ret));
		char *p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		map_at_handler(SYS_mmap, (long)p, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, 3, 0);
		printf("mmap of the control socket: %s\n", result(jump_ret));
		map_at_handler(SYS_close, 3, 0, 0, 0, 0, 0);
		printf("close of the control socket: %s\n", result(jump_ret));
		int mapped = 0;
		for (int fd = 4; fd < 64; fd++) {
			map_at_handler(SYS_mmap, (long)p, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
			mapped += jump_ret >= 0;
		}
		printf("descriptors 4-63 mapped: %d\n", mapped);
		const char *path = "/tmp/mapped-after";
		int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
		write(fd, "intact", 6);
		char *q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
		printf("a file's mapping afterwards: %.6s\n", q == MAP_FAILED ? "failed" : q);
	} else
		printf("unknown what=%s\n", what);
	alive();
}

static void mode_allowed(void)
{
	const char *what = arg("what");
	if (strcmp(what, "exit") == 0)
		contained("thread exit at the handler's site", allowed_exit);
	else if (strcmp(what, "futex") == 0)
		contained_for("futex wait at the handler's site", allowed_futex, 300);
	else if (strcmp(what, "setgs") == 0)
		contained("arch_prctl at the handler's site", allowed_setgs);
	else if (strcmp(what, "sigreturn") == 0)
		contained_for("host rt_sigreturn blocking every signal", allowed_sigreturn, 300);
	else
		printf("unknown what=%s\n", what);
	alive();
}

/* ---- host sockets ---- */

static void mode_sockets(void)
{
	struct sockaddr_un host_path = {AF_UNIX}, host_abstract = {AF_UNIX}, new_path = {AF_UNIX};
	strncpy(host_path.sun_path, arg("path"), sizeof host_path.sun_path - 1);
	const char *name = arg("abstract");
	memcpy(host_abstract.sun_path + 1, name, strlen(name));
	socklen_t abstract_len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
	strncpy(new_path.sun_path, arg("newpath"), sizeof new_path.sun_path - 1);
	int stream = socket(AF_UNIX, SOCK_STREAM, 0);
	T(connect(stream, (void *)&host_path, sizeof host_path));
	close(stream);
	stream = socket(AF_UNIX, SOCK_STREAM, 0);
	T(connect(stream, (void *)&host_abstract, abstract_len));
	close(stream);
	int dgram = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(sendto(dgram, "x", 1, 0, (void *)&host_path, sizeof host_path));
	T(sendto(dgram, "x", 1, 0, (void *)&host_abstract, abstract_len));
	/* Bound where the host has no socket: it exists only in the sandbox. */
	T(bind(dgram, (void *)&new_path, sizeof new_path));
	close(dgram);
	T(socket(AF_INET, SOCK_STREAM, 0));
	T(socket(AF_INET6, SOCK_DGRAM, 0));
	T(socket(AF_NETLINK, SOCK_RAW, 0));
	T(socket(AF_PACKET, SOCK_RAW, 0));
	T(socket(AF_VSOCK, SOCK_STREAM, 0));
}

/* ---- devices and kernel files ---- */

static void mode_devices(void)
{
	const char *devs[] = {"/dev/mem", "/dev/kmem", "/dev/port", "/dev/vda", "/dev/sda", "/dev/kvm",
			      "/dev/kmsg", "/dev/loop0", "/dev/fuse", "/dev/net/tun", "/dev/cpu/0/msr"};
	for (unsigned i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
		L(devs[i], open(devs[i], O_RDWR));
	/* Root inside may make device nodes; each opens the sandbox's device
	 * of that number, and these numbers have none: never the host's. */
	T(mknod("/tmp/mem", S_IFCHR | 0600, makedev(1, 1)));
	T(open("/tmp/mem", O_RDWR));
	T(mknod("/tmp/vda", S_IFBLK | 0600, makedev(253, 0)));
	T(open("/tmp/vda", O_RDWR));
	T(mknod("mem", S_IFCHR | 0600, makedev(1, 1)));
	T(open("mem", O_RDONLY));
	T(mknodat(AT_FDCWD, "kvm", S_IFCHR | 0600, makedev(10, 232)));
	T(open("kvm", O_RDWR));
	T(open("/proc/sysrq-trigger", O_WRONLY));
	T(open("/proc/kcore", O_RDONLY));
	T(open("/sys/firmware/efi/efivars", O_RDONLY));
}

/* Opens of the kernel's settings for writing: the sandbox's /sys and
 * /proc are its own, and the host's files are compared by the test. Nothing
 * is written even where an open succeeds: a value written through a leak
 * would change the host the test runs on. */
static void mode_kfiles(void)
{
	const char *files[] = {"/sys/kernel/mm/ksm/run", "/sys/devices/system/cpu/cpu1/online", "/sys/devices/system/cpu/online",
			       "/sys/kernel/mm/transparent_hugepage/enabled", "/proc/sys/kernel/hostname",
			       "/proc/sys/vm/drop_caches", "/proc/sys/kernel/core_pattern"};
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		L(files[i], open(files[i], O_WRONLY));
}

/* ---- identity of the machine: hostname, time ---- */

static void mode_uts(void)
{
	T(sethostname("pwned", 5));
	T(setdomainname("pwned", 5));
	struct utsname u;
	uname(&u);
	printf("hostname unchanged: %s\n", strcmp(u.nodename, "pwned") ? "yes" : "NO");
	/* The same through /proc/sys, which the sandbox's root may write. */
	int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
	T(write(fd, "pwned2\n", 7));
	close(fd);
	fd = open("/proc/sys/kernel/domainname", O_WRONLY);
	T(write(fd, "pwned2\n", 7));
	close(fd);
	uname(&u);
	printf("sandbox's names: %s %s\n", u.nodename, u.domainname);
}

static void mode_clock(void)
{
	struct timeval in_1970 = {1, 0};
	struct timespec ts_1970 = {1, 0};
	T(settimeofday(&in_1970, NULL));
	T(clock_settime(CLOCK_REALTIME, &ts_1970));
	T(clock_settime(CLOCK_MONOTONIC, &ts_1970));
	struct timex back_11_days = {.modes = ADJ_SETOFFSET, .time = {-1000000, 0}};
	T(adjtimex(&back_11_days));
	T(clock_adjtime(CLOCK_REALTIME, &back_11_days));
	struct timex fast = {.modes = ADJ_FREQUENCY, .freq = 500 << 16};
	T(adjtimex(&fast));
}

/* ---- mounts and the root ---- */

static void mode_mounts(void)
{
	T(mount("none", "/tmp", "tmpfs", 0, NULL));
	T(mount("/", "/tmp", NULL, MS_BIND | MS_REC, NULL));
	T(mount(NULL, "/", NULL, MS_REMOUNT, NULL));
	T(umount2("/", MNT_DETACH));
	T(umount2("/proc", 0));
	/* The sandbox's own mounts do not leave the host directories they
	 * hide: not moved, not made the root. */
	T(mount("/proc", "/tmp", NULL, MS_MOVE, NULL));
	/* Their flags may be added to, never cleared (a read-only volume
	 * stays read-only). */
	T(mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOEXEC, NULL));
	T(mount(NULL, "/sys/fs/cgroup", NULL, MS_REMOUNT | MS_BIND | MS_NOEXEC, NULL));
	T(syscall(SYS_pivot_root, "/proc", "/proc/self"));
	/* Bind mounts show the sandbox's own files only: a magic link to a
	 * namespace is refused; a bind of / without its submounts, which
	 * would show the host's /proc, /sys and /tmp below the sandbox's, is
	 * EINVAL (the parent of / is /); the copies of the sandbox's mounts
	 * stay on what they cover (EBUSY). */
	T(mount("/proc/self/ns/mnt", "/tmp/etc/hostname", NULL, MS_BIND, NULL));
	T(mount("/proc/self/root/..", "/tmp", NULL, MS_BIND, NULL));
	T(umount2("/tmp/proc", MNT_DETACH));
	struct stat st;
	T(stat("/tmp/proc/self/ns/mnt", &st));
	T(setns(0, 0));
	T(syscall(SYS_fsopen, "tmpfs", 0));
	T(syscall(SYS_open_tree, AT_FDCWD, "/", 0));
	struct file_handle *handle = malloc(sizeof *handle + 128);
	handle->handle_bytes = 128;
	int mnt;
	T(name_to_handle_at(AT_FDCWD, "/", handle, &mnt, 0));
	/* A handle of the host's root inode (ext4: type 1, inode 2), opened
	 * through the sandbox's root: the old Docker "shocker" escape. */
	struct file_handle *host_root = handle;
	host_root->handle_bytes = 8;
	host_root->handle_type = 1;
	memset(host_root->f_handle, 0, 8);
	host_root->f_handle[0] = 2;
	T(open_by_handle_at(AT_FDCWD, host_root, O_RDONLY));
	/* The copies of the sandbox's mounts stay on what they cover for a
	 * file still open below them: in a bind mount unmounted lazily, in
	 * a namespace that no task and no namespace file holds any more. */
	struct stat proc;
	T(stat("/proc", &proc));
	T(mkdir("/tmp/r", 0755));
	T(mount("/", "/tmp/r", NULL, MS_BIND | MS_REC, NULL));
	int r = open("/tmp/r", O_PATH | O_DIRECTORY);
	T(umount2("/tmp/r", MNT_DETACH));
	T(fstatat(r, "proc", &st, 0));
	printf("the sandbox's /proc in the detached bind: %d\n", st.st_dev == proc.st_dev);
	close(r);
	int first = open("/proc/self/ns/mnt", O_RDONLY);
	T(unshare(CLONE_NEWNS));
	r = open("/", O_PATH | O_DIRECTORY);
	T(setns(first, CLONE_NEWNS));
	T(fstatat(r, "proc", &st, 0));
	printf("the sandbox's /proc in the gone namespace: %d\n", st.st_dev == proc.st_dev);
	close(r);
	close(first);
	/* A mount namespace of a new user namespace: the sandbox's mounts
	 * stay (EBUSY), the copies of mount(2)'s are locked (EINVAL). */
	T(unshare(CLONE_NEWNS | CLONE_NEWUSER));
	T(umount2("/proc", MNT_DETACH));
	T(umount2("/tmp", MNT_DETACH));
	T(mount("none", "/proc", "tmpfs", 0, NULL));
	/* pivot_root to a tmpfs, the old root unmounted: a file open in it
	 * still finds the sandbox's /proc there. */
	T(mkdir("/tmp/new", 0755));
	T(mount("none", "/tmp/new", "tmpfs", 0, NULL));
	T(mkdir("/tmp/new/old", 0755));
	T(chdir("/tmp/new"));
	T(syscall(SYS_pivot_root, ".", "old"));
	r = open("/old", O_PATH | O_DIRECTORY);
	T(umount2("/old", MNT_DETACH));
	T(stat("/old/proc", &st));
	T(fstatat(r, "proc", &st, 0));
	printf("the sandbox's /proc in the old root: %d\n", st.st_dev == proc.st_dev);
	close(r);
}

/* Random sequences of mounts, binds, moves, unmounts, pivot_roots,
 * namespaces, chroots and files kept open, on the sandbox's mounts and
 * its own: each child in a mount namespace of its own, from a fixed seed
 * (the sentry must answer every one without crashing). After each, the
 * first namespace's /proc must still be the sandbox's. */
static const char *mount_paths[] = {"/tmp/f", "/tmp/f/a", "/tmp/f/b", "/tmp/f/a/c", "/tmp/f/b/d",
	"/tmp/f/file", "/", "/proc", "/tmp", "/dev", "/sys", ".", "..", "/tmp/f/a/..",
	"/proc/self/ns/mnt", "/proc/self/root", "/tmp/f/b/d/e"};

static const char *mount_path(void)
{
	return mount_paths[rand() % (sizeof mount_paths / sizeof *mount_paths)];
}

static void mount_sequence(void)
{
	int fds[8] = {-1, -1, -1, -1, -1, -1, -1, -1};
	int first = open("/proc/self/ns/mnt", O_RDONLY);
	struct stat st;
	for (int i = 0; i < 2000; i++) {
		switch (rand() % 15) {
		case 0: mount("none", mount_path(), "tmpfs", 0, NULL); break;
		case 1: mount(mount_path(), mount_path(), NULL, MS_BIND, NULL); break;
		case 2: mount(mount_path(), mount_path(), NULL, MS_BIND | MS_REC, NULL); break;
		case 3: mount(mount_path(), mount_path(), NULL, MS_MOVE, NULL); break;
		case 4: umount2(mount_path(), rand() % 2 ? MNT_DETACH : 0); break;
		case 5:
			if (chdir(mount_path()) == 0)
				syscall(SYS_pivot_root, mount_path(), mount_path());
			break;
		case 6: unshare(CLONE_NEWNS); break;
		case 7: setns(first, CLONE_NEWNS); break;
		case 8: {
			int k = rand() % 8;
			if (fds[k] >= 0)
				close(fds[k]);
			fds[k] = open(mount_path(), O_PATH);
			break;
		}
		case 9: {
			int k = rand() % 8;
			if (fds[k] >= 0 && fstatat(fds[k], "..", &st, 0) == 0)
				fchdir(fds[k]);
			break;
		}
		case 10: mount(NULL, mount_path(), NULL, MS_REMOUNT | MS_BIND | (rand() % 2 ? MS_RDONLY : 0), NULL); break;
		case 11: mount("proc", mount_path(), "proc", 0, NULL); break;
		case 12: mount("devpts", mount_path(), "devpts", 0, "newinstance"); break;
		case 13: {
			FILE *f = fopen("/proc/self/mountinfo", "r");
			char line[4096];
			while (f && fgets(line, sizeof line, f))
				;
			if (f)
				fclose(f);
			break;
		}
		case 14: chroot(mount_path()); break;
		}
	}
}

static void mode_mountseq(void)
{
	struct stat proc;
	T(stat("/proc", &proc));
	T(mkdir("/tmp/f", 0755));
	for (unsigned seed = 1; seed <= 6; seed++) {
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0) {
			srand(seed);
			if (unshare(CLONE_NEWNS) != 0 || mount("none", "/tmp/f", "tmpfs", 0, NULL) != 0)
				_exit(2);
			mkdir("/tmp/f/a", 0755);
			mkdir("/tmp/f/b", 0755);
			mkdir("/tmp/f/a/c", 0755);
			mkdir("/tmp/f/b/d", 0755);
			close(open("/tmp/f/file", O_CREAT | O_WRONLY, 0644));
			mount_sequence();
			_exit(0);
		}
		int status;
		waitpid(pid, &status, 0);
		struct stat st;
		printf("seed %u: status %#x, /proc still the sandbox's: %d\n", seed, status,
		       stat("/proc/self", &st) == 0 && st.st_dev == proc.st_dev);
	}
}

/* pidns: a process in a PID namespace of its own names nothing outside
 * it. Every ID but its own (1) is ESRCH to each call that takes one
 * (signals, ptrace, memory, pidfds, scheduling, limits, groups, kcmp),
 * kill(-1) reaches no one (the test's process and the sandbox's init
 * survive it), its /proc lists it alone, and the namespace above is out of
 * setns's reach. Then random sequences of forks, clones and unshares into
 * namespaces, setns, signals, waits and exits (seeds 1-4) in a namespace
 * each, which the sentry must answer, leaving the first namespace as it
 * was. */
static int reachable(pid_t id)
{
	int hits = 0, status;
	char buf[8];
	struct iovec local = {buf, sizeof buf}, remote = {buf, sizeof buf};
	cpu_set_t set;
	struct rlimit rl;
	hits += kill(id, 0) == 0 || errno != ESRCH;
	hits += ptrace(PTRACE_ATTACH, id, NULL, NULL) == 0 || errno != ESRCH;
	hits += syscall(SYS_process_vm_readv, id, &local, 1, &remote, 1, 0) >= 0 || errno != ESRCH;
	hits += syscall(SYS_pidfd_open, id, 0) >= 0 || errno != ESRCH;
	hits += sched_getaffinity(id, sizeof set, &set) == 0 || errno != ESRCH;
	hits += syscall(SYS_prlimit64, id, RLIMIT_NOFILE, NULL, &rl) == 0 || errno != ESRCH;
	hits += getpgid(id) >= 0 || errno != ESRCH;
	hits += getsid(id) >= 0 || errno != ESRCH;
	hits += syscall(SYS_kcmp, getpid(), id, 0 /* KCMP_FILE */, 0, 0) >= 0 || errno != ESRCH;
	hits += syscall(SYS_tgkill, id, id, 0) == 0 || errno != ESRCH;
	hits += waitpid(id, &status, WNOHANG) >= 0 || errno != ECHILD;
	return hits;
}

static void pid_sequence(int depth)
{
	fflush(stdout);
	int nsfd[4] = {-1, -1, -1, -1}, forks = 0;
	for (int i = 0; i < 200; i++) {
		switch (rand() % 9) {
		case 0:
		case 1:
			/* At most 3 children each, 4 generations: a tree of 121
			 * processes at most. */
			if (forks < 3 && depth < 4 && fork() == 0) {
				srand(rand() + depth);
				pid_sequence(depth + 1);
				_exit(rand() % 4);
			}
			forks++;
			break;
		case 2: unshare(CLONE_NEWPID); break;
		case 3: {
			int slot = rand() % 4;
			if (nsfd[slot] >= 0)
				close(nsfd[slot]);
			nsfd[slot] = open(rand() % 2 ? "/proc/self/ns/pid" : "/proc/self/ns/pid_for_children", O_RDONLY);
			break;
		}
		case 4: setns(nsfd[rand() % 4], CLONE_NEWPID); break;
		case 5: kill(rand() % 8 - 1, rand() % 3 ? SIGUSR1 : SIGKILL); break;
		case 6: waitpid(-1, NULL, WNOHANG); break;
		case 7: getppid(), getpgid(rand() % 8), getsid(0); break;
		case 8:
			if (rand() % 40 == 0)
				_exit(0);
			break;
		}
	}
	while (wait(NULL) > 0)
		;
}

static void mode_pidns(void)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWPID | CLONE_NEWNS) != 0)
			_exit(2);
		fflush(stdout);
		pid_t init = fork();
		if (init == 0) {
			int hits = 0;
			for (pid_t id = 2; id <= 1024; id++)
				hits += reachable(id);
			printf("IDs 2-1024 reached from the namespace: %d\n", hits);
			printf("getpid %d, getppid %d\n", getpid(), getppid());
			T(kill(-1, SIGKILL));
			int self = open("/proc/self/ns/pid", O_RDONLY);
			T(ioctl(self, NS_GET_PARENT));
			T(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
			T(mount("proc", "/proc", "proc", 0, NULL));
			DIR *d = opendir("/proc");
			struct dirent *e;
			int n = 0;
			while ((e = readdir(d)) != NULL)
				n += e->d_name[0] >= '0' && e->d_name[0] <= '9';
			closedir(d);
			printf("processes in its /proc: %d\n", n);
			struct stat st;
			char path[64];
			for (pid_t id = 2, found = 0; id <= 1024; id++) {
				snprintf(path, sizeof path, "/proc/%d", id);
				found += stat(path, &st) == 0;
				if (id == 1024)
					printf("/proc/2-1024 found: %d\n", found);
			}
			fflush(stdout);
			_exit(0);
		}
		int status;
		waitpid(init, &status, 0);
		printf("init: status %#x\n", status);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("namespace's parent: status %#x\n", status);
	int first = open("/proc/self/ns/pid", O_RDONLY);
	for (unsigned seed = 1; seed <= 4; seed++) {
		fflush(stdout);
		pid = fork();
		if (pid == 0) {
			srand(seed);
			if (unshare(CLONE_NEWPID) != 0)
				_exit(2);
			if (fork() == 0) {
				/* Its own group: kill(0) reaches a group across
				 * namespaces, as in Linux. */
				setsid();
				signal(SIGUSR1, SIG_IGN);
				pid_sequence(0);
				_exit(0);
			}
			while (wait(NULL) > 0)
				;
			_exit(0);
		}
		waitpid(pid, &status, 0);
		struct stat a, b;
		fstat(first, &a);
		stat("/proc/self/ns/pid", &b);
		printf("seed %u: status %#x, still in the first namespace: %d\n", seed, status, a.st_ino == b.st_ino);
	}
}

/* chroot: the classic escapes, in a sandbox whose root is a directory of
 * the test's: the marker file next to that directory on the host must stay
 * out of reach (each path below names it), and the sandbox's root in it. */
static void mode_chroot(void)
{
	char up[256], up4[256], esc[256], proc_root[256], proc_cwd[256], rel[256];
	const char *marker = arg("marker");
	snprintf(up, sizeof up, "/../%s", marker);
	snprintf(up4, sizeof up4, "../../../../%s", marker);
	snprintf(esc, sizeof esc, "/esc/%s", marker);
	snprintf(proc_root, sizeof proc_root, "/proc/self/root/../%s", marker);
	snprintf(proc_cwd, sizeof proc_cwd, "/proc/1/cwd/../../%s", marker);
	snprintf(rel, sizeof rel, "../%s", marker);
	struct stat st;
	T(stat(up, &st));
	int root = open("/", O_PATH | O_DIRECTORY);
	T(mkdir("/jail", 0755));
	T(chroot("/jail"));
	T(chdir("../../../.."));
	T(chroot("."));
	T(stat(up, &st));
	T(stat(up4, &st));
	T(symlink("/../../..", "/esc"));
	T(stat(esc, &st));
	T(stat(proc_root, &st));
	T(stat(proc_cwd, &st));
	T(openat(root, rel, O_RDONLY));
	struct open_how how = {.flags = O_RDONLY};
	T(syscall(SYS_openat2, root, rel, &how, sizeof how));
	T(fchdir(root));
	T(stat(rel, &st));
	T(stat("/hostile", &st)); /* the sandbox's root is still ours */
}

/* ---- the kernel's own interfaces ---- */

static void mode_kernel(void)
{
	/* A command no kernel accepts: harmless even natively. */
	T(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x12345678, NULL));
	T(syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_OFF, NULL));
	T(syscall(SYS_kexec_load, 0, 0, NULL, 0));
	T(syscall(SYS_kexec_file_load, -1, -1, 0, "", 0));
	T(syscall(SYS_init_module, NULL, 0, ""));
	T(syscall(SYS_finit_module, 0, "", 0));
	T(syscall(SYS_delete_module, "ext4", O_NONBLOCK));
	T(syscall(SYS_iopl, 3));
	T(syscall(SYS_ioperm, 0x70, 2, 1));
	T(syscall(SYS_modify_ldt, 1, NULL, 0));
	T(syscall(SYS_swapoff, "/swap"));
	T(syscall(SYS_acct, NULL));
	T(syscall(SYS_syslog, 10, NULL, 0));
	T(syscall(SYS_quotactl, 0, NULL, 0, NULL));
}

static void mode_bpf(void)
{
	struct bpf_insn ret0[] = {{BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0}, {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
	union bpf_attr load = {0};
	load.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
	load.insns = (uintptr_t)ret0;
	load.insn_cnt = 2;
	load.license = (uintptr_t) "GPL";
	T(syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof load));
	struct sock_filter allow[] = {{0x06, 0, 0, 0x7fff0000}};
	struct sock_fprog allow_all = {1, allow};
	T(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &allow_all));
	struct perf_event_attr cycles = {.type = PERF_TYPE_HARDWARE, .size = sizeof cycles, .config = PERF_COUNT_HW_CPU_CYCLES};
	T(syscall(SYS_perf_event_open, &cycles, -1, 0, -1, 0));
	T(syscall(SYS_userfaultfd, O_CLOEXEC | UFFD_USER_MODE_ONLY));
	T(syscall(SYS_userfaultfd, O_CLOEXEC));
	T(syscall(SYS_add_key, "user", "k", "v", 1, KEY_SPEC_USER_KEYRING));
	T(syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "x"));
	T(syscall(SYS_request_key, "user", "k", NULL, 0));
	struct io_uring_params params = {0};
	T(syscall(SYS_io_uring_setup, 8, &params));
	T(syscall(SYS_process_madvise, 0, NULL, 0, 0, 0));
	T(syscall(SYS_memfd_secret, 0));
	T(syscall(SYS_fanotify_init, 0, 0));
	T(syscall(SYS_landlock_create_ruleset, NULL, 0, 1));
}

/* ---- the reserved range (the stub's image and shared region) through
 * the sentry's memory syscalls ---- */

static void mode_reserved(void)
{
	void *image = argp("image"), *control = argp("control"), *rw = argp("rw"), *bss = argp("bss");
	uintptr_t end = argu("end"), len = 0x10000;
	T(MAPPED(mmap(image, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)));
	T(MAPPED(mmap(control, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0)));
	uintptr_t hint = (uintptr_t)mmap(image, len, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(hint + len <= (uintptr_t)image || hint >= end);
	T(mprotect(image, len, PROT_READ | PROT_WRITE | PROT_EXEC));
	T(mprotect(control, 4096, PROT_READ | PROT_WRITE));
	T(munmap(image, len));
	T(munmap(control, 4096));
	T(madvise(image, len, MADV_DONTNEED));
	T(madvise(control, 4096, MADV_REMOVE));
	T(msync(image, len, MS_SYNC));
	T(mlock(image, len));
	unsigned char vec[16];
	T(mincore(image, len, vec));
	char *mine = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T(MAPPED(mremap(mine, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, image)));
	T(MAPPED(mremap(mine, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, control)));
	T(MAPPED(mremap(image, 4096, 8192, MREMAP_MAYMOVE)));
	T(MAPPED(mremap(control, 4096, 4096, MREMAP_MAYMOVE | MREMAP_DONTUNMAP)));
	void *brk0 = sbrk(0);
	T(brk(image));
	CHECK(sbrk(0) == brk0);
	T(syscall(SYS_pkey_mprotect, image, len, PROT_READ | PROT_WRITE, -1L));
	T(syscall(SYS_pkey_mprotect, image, len, PROT_READ | PROT_WRITE, 0L));
	/* The sentry copies to and from the reserved range for nobody. */
	int zero = open("/dev/zero", O_RDONLY);
	T(read(zero, image, 16));
	T(read(zero, control, 16));
	T(read(zero, bss, 16));
	T(write(1, image, 16));
	T(pread(zero, rw, 16, 0));
	T(uname(control));
	T(syscall(SYS_clock_gettime, CLOCK_REALTIME, image));
	struct iovec into_image = {image, 16};
	T(readv(zero, &into_image, 1));
	struct iovec ours = {mine, 16};
	T(process_vm_writev(getpid(), &ours, 1, &into_image, 1, 0));
	T(process_vm_readv(getpid(), &ours, 1, &into_image, 1, 0));
	/* /proc/self/mem reaches only the application's own mappings. */
	int mem;
	T(OK(mem = open("/proc/self/mem", O_RDWR)));
	if (mem >= 0) {
		uint64_t x = 0x4141414141414141ULL;
		T(pwrite(mem, &x, 8, (off_t)(uintptr_t)image));
		T(pwrite(mem, &x, 8, (off_t)(uintptr_t)control));
		T(pwrite(mem, &x, 8, (off_t)(uintptr_t)rw));
		T(pwrite(mem, &x, 8, (off_t)(uintptr_t)bss));
		T(pread(mem, &x, 8, (off_t)(uintptr_t)image));
		T(pwrite(mem, &x, 8, (off_t)(uintptr_t)mine));
	}
	alive();
}

/* ---- storms ---- */

static void mode_fdstorm(void)
{
	struct rlimit past_nr_open = {1 << 30, 1 << 30};
	T(setrlimit(RLIMIT_NOFILE, &past_nr_open));
	int n = argu("nofile");
	struct rlimit lim = {n, n};
	T(setrlimit(RLIMIT_NOFILE, &lim));
	int dups = 0, pipes = 0, e1, e2;
	while (dup(0) >= 0)
		dups++;
	e1 = errno;
	close_range(3, ~0U, 0);
	int p[2];
	while (pipe(p) == 0)
		pipes++;
	e2 = errno;
	close_range(3, ~0U, 0);
	printf("dup: %s after %s descriptors\n", ename(e1), dups == n - 3 ? "RLIMIT_NOFILE" : "SOME");
	printf("pipe: %s after %s pipes\n", ename(e2), pipes == (n - 3) / 2 ? "RLIMIT_NOFILE/2" : "SOME");
	alive();
}

/* Pipes filled to their largest size: memory the sentry holds for the
 * sandbox, which --memory-limit must bound like any other. */
static void mode_pipestorm(void)
{
	struct rlimit rl = {65536, 65536};
	setrlimit(RLIMIT_NOFILE, &rl);
	static char buf[1 << 20];
	memset(buf, 'p', sizeof buf);
	long mib = 0;
	int e = 0;
	for (int i = 0; i < 1024; i++) {
		int p[2];
		if (pipe2(p, O_NONBLOCK) < 0) {
			e = errno;
			break;
		}
		int sz = fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
		if (sz < 0) {
			e = errno;
			break;
		}
		long w = write(p[1], buf, sz);
		if (w < 0) {
			e = errno;
			break;
		}
		mib += w;
	}
	printf("pipes: %s after %ld MiB\n", e ? ename(e) : "no error", mib >> 20);
}

static void *parked(void *unused)
{
	(void)unused;
	pause();
	return NULL;
}

static void mode_threadstorm(void)
{
	int n = 0, e;
	for (;;) {
		pthread_t th;
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setstacksize(&a, 65536);
		e = pthread_create(&th, &a, parked, NULL);
		if (e)
			break;
		n++;
	}
	printf("pthread_create: %s\n", ename(e));
	CHECK(n + 1 == (int)argu("limit")); /* every task of the sandbox, ours included */
	pid_t c = fork();
	printf("fork: %s\n", c < 0 ? ename(errno) : "ok");
	if (c == 0)
		_exit(0);
	fflush(stdout);
	_exit(0); /* every parked thread with it */
}

/* ---- packet rings: memory the application shares with the sentry ---- */

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

static volatile int pr_stop;
static unsigned char *pr_ring;
static size_t pr_len;

/* pr_forger scribbles over the whole ring while the sentry fills it:
 * status words (every TP_STATUS_* and junk), lengths, offsets, block
 * descriptors, tp_next_offset. */
static void *pr_forger(void *unused)
{
	(void)unused;
	static const uint32_t vals[] = {0, 1, 2, 4, 0x21, 0x7fffffff, 0x80000000u, 0xffffffffu, 0xfffffff0u, 4096, 65535};
	uint64_t x = 88172645463325252ull;
	while (!pr_stop) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		size_t off = (x % (pr_len / 4)) * 4;
		((volatile uint32_t *)pr_ring)[off / 4] = vals[(x >> 40) % (sizeof vals / sizeof vals[0])];
		if ((x & 15) == 0) /* a status word of a frame or block, at once */
			((volatile uint32_t *)pr_ring)[((x >> 20) % (pr_len / 2048)) * 512 + (x & 16 ? 5 : 0)] =
			    vals[(x >> 33) % 4];
	}
	return NULL;
}

static int pr_ring_set(int s, int name, unsigned bs, unsigned bn, unsigned fs, unsigned fn, unsigned tov)
{
	struct tpacket_req3 r = {bs, bn, fs, fn, tov, 0, 0};
	return setsockopt(s, SOL_PACKET, name, &r, sizeof r);
}

/* pr_round maps a ring of version v, lets the forger loose on it between
 * guard pages, and sends UDP datagrams on lo (RX) or send()s the forged
 * frames (TX); what any call returned outside what Linux may return is
 * printed. */
static void pr_round(int v, int tx)
{
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = 1};
	bind(s, (void *)&ll, sizeof ll);
	setsockopt(s, SOL_PACKET, PACKET_VERSION, &v, sizeof v);
	if (tx) {
		int one = 1;
		setsockopt(s, SOL_PACKET, PACKET_TX_HAS_OFF, &one, sizeof one);
	}
	pr_len = 16 * 4096;
	if (pr_ring_set(s, tx ? PACKET_TX_RING : PACKET_RX_RING, 4096, 16, 2048, 32, v == TPACKET_V3 && !tx ? 1 : 0) < 0) {
		printf("ring v%d %s: %s\n", v + 1, tx ? "tx" : "rx", ename(errno));
		close(s);
		return;
	}
	/* The ring between two guard mappings with a pattern. */
	unsigned char *area = mmap(NULL, pr_len + 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(area, 0x5a, pr_len + 2 * 4096);
	pr_ring = mmap(area + 4096, pr_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, s, 0);
	if (pr_ring == MAP_FAILED) {
		printf("mmap: %s\n", ename(errno));
		return;
	}
	pr_stop = 0;
	pthread_t th[2];
	pthread_create(&th[0], NULL, pr_forger, NULL);
	pthread_create(&th[1], NULL, pr_forger, NULL);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = {AF_INET, htons(9), {htonl(INADDR_LOOPBACK)}};
	int odd = 0;
	for (int i = 0; i < 1000; i++) {
		if (tx) {
			long r = send(s, NULL, 0, MSG_DONTWAIT);
			if (r < 0 && errno != EMSGSIZE && errno != EINVAL && errno != ENOBUFS && errno != EAGAIN)
				odd++, printf("send: %s\n", ename(errno));
		} else {
			sendto(u, "forged ring", 11, 0, (void *)&to, sizeof to);
			struct pollfd p = {s, POLLIN | POLLOUT};
			poll(&p, 1, 0);
		}
	}
	pr_stop = 1;
	pthread_join(th[0], NULL);
	pthread_join(th[1], NULL);
	int guards = 1;
	for (size_t i = 0; i < 4096; i++)
		guards &= area[i] == 0x5a && area[4096 + pr_len + i] == 0x5a;
	struct tpacket_stats_v3 st;
	socklen_t l = sizeof st;
	int stats = getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &l);
	printf("v%d %s: odd results %d, guards intact %s, statistics %s\n", v + 1, tx ? "tx" : "rx", odd,
	       guards ? "yes" : "NO", stats ? ename(errno) : "ok");
	munmap(area, pr_len + 2 * 4096);
	close(u);
	close(s);
}

static void mode_pktring(void)
{
	if (unshare(CLONE_NEWNET) < 0) {
		printf("unshare: %s\n", ename(errno));
		return;
	}
	int i = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	ioctl(i, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	ioctl(i, SIOCSIFFLAGS, &ifr);
	close(i);
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	/* Requests whose sizes overflow or pass the memory limit. */
	int v = TPACKET_V2;
	setsockopt(s, SOL_PACKET, PACKET_VERSION, &v, sizeof v);
	struct tpacket_req huge = {0x7ffff000u, 0xffffffffu, 0x7ffff000u, 0xffffffffu};
	L("huge ring", setsockopt(s, SOL_PACKET, PACKET_RX_RING, &huge, sizeof huge));
	struct tpacket_req wrap = {1u << 30, 8, 64, (1u << 24) * 8};
	L("ring past the memory limit", setsockopt(s, SOL_PACKET, PACKET_RX_RING, &wrap, sizeof wrap));
	struct tpacket_req over = {4096, 0x40000000u, 1024, 0};
	L("frame count that overflows", setsockopt(s, SOL_PACKET, PACKET_RX_RING, &over, sizeof over));
	close(s);
	for (int v = TPACKET_V1; v <= TPACKET_V3; v++) {
		pr_round(v, 0);
		pr_round(v, 1);
	}
	alive();
}

/* ---- execve of the stub's image ---- */

static void mode_exec(void)
{
	char *argv0[] = {"stub", NULL};
	char *env0[] = {NULL};
	/* The stub image as a file (the repository's copy): an ELF linked at
	 * the reserved range. */
	const char *image_file = arg("image_file");
	T(execve(image_file, argv0, env0));
	/* The forkserver's memfd is no descriptor of the sandbox's. */
	char path[64];
	for (int pid = 0; pid < 4; pid++)
		for (int fd = 0; fd < 8; fd++) {
			snprintf(path, sizeof path, "/proc/%d/fd/%d", pid, fd);
			char target[256] = "";
			ssize_t n = readlink(path, target, sizeof target - 1);
			if (n > 0 && strstr(target, "runsc-lite"))
				printf("%s -> %s\n", path, target);
		}
	T(execve("/proc/self/fd/3", argv0, env0));
	T(execveat(AT_FDCWD, "", argv0, env0, AT_EMPTY_PATH));
	int image = open(image_file, O_RDONLY);
	T(syscall(SYS_execveat, image, "", argv0, env0, AT_EMPTY_PATH));
	T(MAPPED(mmap((void *)0x7ff000000000, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_FIXED, image, 0)));
	alive();
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	g_argc = argc;
	g_argv = argv;
	if (argc < 2) {
		printf("usage: hostile MODE [key=value...]\n");
		return 2;
	}
	static const struct {
		const char *name;
		void (*fn)(void);
	} modes[] = {
		{"poke", mode_poke},
		{"kill", mode_kill},
		{"sigqueue", mode_sigqueue},
		{"pidfd", mode_pidfd},
		{"broadcast", mode_broadcast},
		{"ptrace", mode_ptrace},
		{"forge", mode_forge},
		{"sigstack", mode_sigstack},
		{"jump", mode_jump},
		{"jumpcode", mode_jumpcode},
		{"syscall32", mode_syscall32},
		{"ia32probe", mode_ia32probe},
		{"vsyscall", mode_vsyscall},
		{"sigreturn", mode_sigreturn},
		{"allowed", mode_allowed},
		{"resumecall", mode_resumecall},
		{"sockets", mode_sockets},
		{"devices", mode_devices},
		{"kfiles", mode_kfiles},
		{"uts", mode_uts},
		{"clock", mode_clock},
		{"mounts", mode_mounts},
		{"mountseq", mode_mountseq},
		{"pidns", mode_pidns},
		{"chroot", mode_chroot},
		{"kernel", mode_kernel},
		{"bpf", mode_bpf},
		{"reserved", mode_reserved},
		{"fdstorm", mode_fdstorm},
		{"pipestorm", mode_pipestorm},
		{"threadstorm", mode_threadstorm},
		{"exec", mode_exec},
		{"pktring", mode_pktring},
	};
	for (unsigned i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(argv[1], modes[i].name) == 0) {
			modes[i].fn();
			return 0;
		}
	printf("unknown mode %s\n", argv[1]);
	return 2;
}
