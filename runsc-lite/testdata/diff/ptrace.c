/* ptrace: a tracer and its traced children: PTRACE_TRACEME and the stops
 * wait reports, syscall-entry and -exit stops (TRACESYSGOOD), changing the
 * syscall and registers, PEEKDATA/POKEDATA/PEEKUSER, GETSIGINFO, signal
 * suppression and injection, fork and exec events with GETEVENTMSG,
 * PTRACE_GET_SYSCALL_INFO, int3 and its SIGTRAP, single steps, ATTACH and
 * DETACH, SEIZE and INTERRUPT, TracerPid, EXITKILL-less exit reporting;
 * PTRACE_LISTEN and the group stop's end, PTRACE_EVENT_EXIT at death by a
 * signal, PEEKSIGINFO, ARCH_PRCTL, ATTACH to a stopped process and the
 * debug registers, and the exit of a tracee whose tracer is not its parent
 * (the tracer sees it first, then the parent). */
#include "common.h"
#include <signal.h>
#include <stddef.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <sys/uio.h>
#include <elf.h>
#include <asm/prctl.h>
#include <sys/prctl.h>

static volatile long magic = 0x1234;
static volatile int usr1;
static void on_usr1(int s) { usr1++; }

static void status(const char *what, int st) {
	if (WIFSTOPPED(st))
		printf("%s: stopped %s event %d%s\n", what, sigabbrev_np(WSTOPSIG(st) & 0x7f), st >> 16,
		       (WSTOPSIG(st) & 0x80) ? " sysgood" : "");
	else if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed %s\n", what, sigabbrev_np(WTERMSIG(st)));
	else
		printf("%s: ? %#x\n", what, st);
}

static int wait_for(pid_t pid, const char *what) {
	int st = 0;
	if (waitpid(pid, &st, __WALL) != pid)
		printf("%s: waitpid %s\n", what, ename(errno));
	status(what, st);
	return st;
}

/* The child of the syscall part: stops, makes known syscalls, checks what
 * the tracer changed, and exits with a code that says it. */
static void syscall_child(void) {
	ptrace(PTRACE_TRACEME, 0, 0, 0);
	raise(SIGSTOP);
	long a = syscall(SYS_getppid); /* the tracer turns it into getpid */
	long b = syscall(SYS_getuid);  /* the tracer skips it: -1 rax 77 */
	int ok = (a == getpid()) | (b == 77) << 1 | (magic == 0x5678) << 2;
	_exit(ok);
}

static void trace_syscalls(void) {
	pid_t pid = fork();
	if (pid == 0)
		syscall_child();
	wait_for(pid, "syscalls: first stop");
	T(ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXIT));
	errno = 0;
	long v = ptrace(PTRACE_PEEKDATA, pid, &magic, 0);
	printf("PEEKDATA magic: %#lx %s\n", v, ename(errno));
	T(ptrace(PTRACE_POKEDATA, pid, &magic, 0x5678));
	T(ptrace(PTRACE_PEEKDATA, pid, (void *)8, 0));
	char procpath[64], line[256];
	snprintf(procpath, sizeof procpath, "/proc/%d/status", pid);
	FILE *f = fopen(procpath, "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "TracerPid:", 10) == 0)
			printf("TracerPid is the tracer: %d\n", atoi(line + 10) == getpid());
	if (f)
		fclose(f);
	int n = 0;
	for (;;) {
		T(ptrace(PTRACE_SYSCALL, pid, 0, 0));
		int st = wait_for(pid, "syscalls: stop");
		if (!WIFSTOPPED(st) || WSTOPSIG(st) != (SIGTRAP | 0x80)) {
			if (WIFSTOPPED(st) && st >> 16 == PTRACE_EVENT_EXIT) {
				unsigned long msg = 0;
				T(ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg));
				printf("exit event message: %#lx\n", msg);
				T(ptrace(PTRACE_CONT, pid, 0, 0));
				wait_for(pid, "syscalls: end");
			}
			break;
		}
		struct user_regs_struct r;
		T(ptrace(PTRACE_GETREGS, pid, 0, &r));
		struct __ptrace_syscall_info info;
		long isz = ptrace(PTRACE_GET_SYSCALL_INFO, pid, sizeof info, &info);
		int entry = n % 2 == 0;
		n++;
		printf("%s: nr %lld rax %lld; info size %ld op %d", entry ? "entry" : "exit", r.orig_rax,
		       entry ? r.rax : (r.orig_rax == SYS_getppid || r.orig_rax == SYS_getpid ? 0 : r.rax), isz, info.op);
		if (entry)
			printf(" nr %llu", info.entry.nr);
		else
			printf(" error %d", info.exit.is_error);
		printf("\n");
		errno = 0;
		long user_rax = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user, regs.orig_rax), 0);
		printf("PEEKUSER orig_rax: %d %s\n", user_rax == (long)r.orig_rax, ename(errno));
		if (entry && r.orig_rax == SYS_getppid) {
			r.orig_rax = SYS_getpid;
			T(ptrace(PTRACE_SETREGS, pid, 0, &r));
		}
		if (entry && r.orig_rax == SYS_getuid) {
			r.orig_rax = -1;
			r.rax = 77;
			T(ptrace(PTRACE_SETREGS, pid, 0, &r));
		}
	}
}

/* Signals: a signal-delivery-stop for each signal; the tracer suppresses
 * one and injects another. */
static void trace_signals(void) {
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		signal(SIGUSR1, on_usr1);
		raise(SIGUSR1); /* suppressed */
		raise(SIGUSR2); /* replaced by SIGUSR1 */
		__asm__ volatile("int3");
		_exit(usr1);
	}
	int st = wait_for(pid, "signals: stop");
	siginfo_t si;
	T(ptrace(PTRACE_GETSIGINFO, pid, 0, &si));
	printf("siginfo: %s code %d pid is child %d\n", sigabbrev_np(si.si_signo), si.si_code, si.si_pid == pid);
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	wait_for(pid, "signals: stop");
	T(ptrace(PTRACE_CONT, pid, 0, SIGUSR1));
	wait_for(pid, "signals: stop");
	T(ptrace(PTRACE_GETSIGINFO, pid, 0, &si));
	printf("int3 siginfo: %s code %#x\n", sigabbrev_np(si.si_signo), si.si_code);
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	wait_for(pid, "signals: end");
	T(ptrace(PTRACE_CONT, pid, 0, 0));
}

/* Events: fork and exec, and the new child traced from its start. */
static void trace_events(const char *self) {
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		pid_t c = fork();
		if (c == 0)
			_exit(7);
		int st;
		waitpid(c, &st, 0);
		execl(self, self, "exec", NULL);
		_exit(99);
	}
	wait_for(pid, "events: first stop");
	T(ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEFORK | PTRACE_O_TRACEEXEC));
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	wait_for(pid, "events: fork");
	unsigned long msg = 0;
	T(ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg));
	pid_t gc = msg;
	wait_for(gc, "events: grandchild");
	T(ptrace(PTRACE_CONT, gc, 0, 0));
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	wait_for(gc, "events: grandchild end");
	/* SIGCHLD of the grandchild's end stops the child first: traced
	 * tasks stop even for signals they ignore. */
	for (;;) {
		int st = wait_for(pid, "events: stop");
		if (!WIFSTOPPED(st) || st >> 16 == PTRACE_EVENT_EXEC)
			break;
		T(ptrace(PTRACE_CONT, pid, 0, WSTOPSIG(st)));
	}
	T(ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg));
	printf("exec event message is the pid: %d\n", msg == (unsigned long)pid);
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	wait_for(pid, "events: end");
}

/* Single steps: each one is a SIGTRAP stop with the trap flag's code. */
static void trace_steps(void) {
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		__asm__ volatile("nop; nop; nop; nop; nop; nop; nop; nop");
		_exit(0);
	}
	wait_for(pid, "steps: first stop");
	int traps = 0;
	for (int i = 0; i < 4; i++) {
		if (ptrace(PTRACE_SINGLESTEP, pid, 0, 0) != 0)
			break;
		int st;
		waitpid(pid, &st, 0);
		siginfo_t si;
		ptrace(PTRACE_GETSIGINFO, pid, 0, &si);
		traps += WIFSTOPPED(st) && WSTOPSIG(st) == SIGTRAP && si.si_code == TRAP_TRACE;
	}
	printf("single steps that trapped: %d\n", traps);
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	wait_for(pid, "steps: end");
}

/* Attaching: ATTACH stops a running child with SIGSTOP; SEIZE does not
 * stop it, INTERRUPT does; DETACH lets it go. */
static void trace_attach(void) {
	int p[2];
	pipe(p);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		char b;
		read(p[0], &b, 1);
		_exit(5);
	}
	T(ptrace(PTRACE_ATTACH, pid, 0, 0));
	T(ptrace(PTRACE_ATTACH, pid, 0, 0));
	wait_for(pid, "attach");
	T(ptrace(PTRACE_DETACH, pid, 0, 0));
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	T(ptrace(PTRACE_SEIZE, pid, 0, PTRACE_O_TRACESYSGOOD));
	int st;
	T(waitpid(pid, &st, WNOHANG));
	T(ptrace(PTRACE_INTERRUPT, pid, 0, 0));
	wait_for(pid, "interrupt");
	T(ptrace(PTRACE_DETACH, pid, 0, 0));
	write(p[1], "x", 1);
	wait_for(pid, "attach: end");
	T(ptrace(PTRACE_ATTACH, getpid(), 0, 0));
	T(ptrace(PTRACE_CONT, getppid(), 0, 0));
}

/* child_loop stops itself for its tracer, then waits for signals. */
static void child_loop(int traceme) {
	if (traceme)
		ptrace(PTRACE_TRACEME, 0, 0, 0);
	raise(SIGSTOP);
	for (;;)
		pause();
}

static void kill_child(pid_t pid) {
	kill(pid, SIGKILL);
	waitpid(pid, NULL, __WALL);
}

static void trace_listen(void) {
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	T(ptrace(PTRACE_SEIZE, pid, 0, 0));
	kill(pid, SIGSTOP);
	wait_for(pid, "listen: SIGSTOP");
	T(ptrace(PTRACE_LISTEN, pid, 0, 0)); /* not a group stop: EIO */
	T(ptrace(PTRACE_CONT, pid, 0, SIGSTOP));
	wait_for(pid, "listen: group stop");
	T(ptrace(PTRACE_LISTEN, pid, 0, 0));
	int st;
	T(waitpid(pid, &st, WNOHANG));
	T(ptrace(PTRACE_PEEKUSER, pid, 0, 0)); /* listening: not in a ptrace-stop */
	kill(pid, SIGCONT);
	wait_for(pid, "listen: after SIGCONT");
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	wait_for(pid, "listen: SIGCONT delivery");
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	kill_child(pid);
}

static void trace_fatal_exit(void) {
	pid_t pid = fork();
	if (pid == 0)
		child_loop(1);
	wait_for(pid, "fatal: first stop");
	T(ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEEXIT));
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	kill(pid, SIGTERM);
	wait_for(pid, "fatal: SIGTERM");
	T(ptrace(PTRACE_CONT, pid, 0, SIGTERM));
	wait_for(pid, "fatal: exit event");
	unsigned long msg = 0;
	T(ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg));
	printf("fatal: event message %lu\n", msg);
	T(ptrace(PTRACE_CONT, pid, 0, 0));
	wait_for(pid, "fatal: end");
	/* Linux stops at PTRACE_EVENT_EXIT under SIGKILL too; the sentry
	 * does not (a killed task does not stop): not compared. */
}

static void peek(pid_t pid, const char *what, unsigned long off, unsigned flags, int nr) {
	struct __ptrace_peeksiginfo_args a = {off, flags, nr};
	siginfo_t si[8];
	memset(si, 0, sizeof si);
	errno = 0;
	long n = ptrace(PTRACE_PEEKSIGINFO, pid, &a, si);
	printf("%s: %ld %s\n", what, n, n < 0 ? ename(errno) : "");
	for (long i = 0; i < n; i++)
		printf("  %s code %d value %d\n", sigabbrev_np(si[i].si_signo), si[i].si_code, si[i].si_value.sival_int);
}

static void trace_peeksiginfo(void) {
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGUSR1);
		sigaddset(&s, SIGUSR2);
		sigaddset(&s, SIGRTMIN);
		sigprocmask(SIG_BLOCK, &s, NULL);
		child_loop(1);
	}
	wait_for(pid, "peeksiginfo: first stop");
	sigqueue(pid, SIGUSR2, (union sigval){.sival_int = 7});
	sigqueue(pid, SIGRTMIN, (union sigval){.sival_int = 8});
	sigqueue(pid, SIGRTMIN, (union sigval){.sival_int = 9});
	sigqueue(pid, SIGUSR1, (union sigval){.sival_int = 10});
	siginfo_t si = {0};
	si.si_signo = SIGUSR1;
	si.si_code = SI_QUEUE;
	si.si_pid = getpid();
	si.si_value.sival_int = 11;
	T(syscall(SYS_rt_tgsigqueueinfo, pid, pid, SIGUSR1, &si));
	peek(pid, "shared", 0, PTRACE_PEEKSIGINFO_SHARED, 8);
	peek(pid, "shared from 2", 2, PTRACE_PEEKSIGINFO_SHARED, 1);
	peek(pid, "shared past the end", 9, PTRACE_PEEKSIGINFO_SHARED, 8);
	peek(pid, "thread", 0, 0, 8);
	peek(pid, "nr -1", 0, 0, -1);
	peek(pid, "bad flags", 0, 2, 1);
	struct __ptrace_peeksiginfo_args a = {0, PTRACE_PEEKSIGINFO_SHARED, 2};
	T(ptrace(PTRACE_PEEKSIGINFO, pid, &a, BAD));
	T(ptrace(PTRACE_PEEKSIGINFO, pid, BAD, &si));
	kill_child(pid);
}

static void trace_arch_prctl(void) {
	unsigned long myfs = 0, fs = 0, gs = 1;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &myfs);
	pid_t pid = fork();
	if (pid == 0)
		child_loop(1);
	wait_for(pid, "arch_prctl: first stop");
	T(ptrace(PTRACE_ARCH_PRCTL, pid, &fs, ARCH_GET_FS));
	printf("tracee's fs base is the tracer's: %d\n", fs == myfs);
	T(ptrace(PTRACE_ARCH_PRCTL, pid, 0x10000, ARCH_SET_GS));
	T(ptrace(PTRACE_ARCH_PRCTL, pid, &gs, ARCH_GET_GS));
	printf("gs base %#lx\n", gs);
	errno = 0;
	long v = ptrace(PTRACE_PEEKUSER, pid, offsetof(struct user, regs.gs_base), 0);
	printf("PEEKUSER gs_base %#lx %s\n", v, ename(errno));
	T(ptrace(PTRACE_ARCH_PRCTL, pid, 0xffff800000000000UL, ARCH_SET_FS));
	T(ptrace(PTRACE_ARCH_PRCTL, pid, &gs, 0x1011)); /* ARCH_GET_CPUID */
	T(ptrace(PTRACE_ARCH_PRCTL, pid, &gs, 0x9999));
	T(ptrace(PTRACE_ARCH_PRCTL, pid, BAD, ARCH_GET_FS));
	kill_child(pid);
}

#define DR(n) offsetof(struct user, u_debugreg[n])

/* trace_stopped_attach: ATTACH to a child already in a group stop finds
 * it stopped at once; the debug registers store addresses. */
static void trace_stopped_attach(void) {
	pid_t pid = fork();
	if (pid == 0)
		child_loop(0);
	int st;
	T(waitpid(pid, &st, WUNTRACED) == pid);
	status("stopped child", st);
	T(ptrace(PTRACE_ATTACH, pid, 0, 0));
	T(ptrace(PTRACE_POKEUSER, pid, DR(0), 1));
	T(ptrace(PTRACE_POKEUSER, pid, DR(0), 2));
	errno = 0;
	long v = ptrace(PTRACE_PEEKUSER, pid, DR(0), 0);
	printf("dr0 %ld %s\n", v, ename(errno));
	T(ptrace(PTRACE_POKEUSER, pid, DR(1), 0xffff800000000000UL));
	T(ptrace(PTRACE_POKEUSER, pid, DR(4), 0));
	T(ptrace(PTRACE_POKEUSER, pid, DR(6), 0));
	wait_for(pid, "attach to stopped");
	T(ptrace(PTRACE_DETACH, pid, 0, 0));
	kill_child(pid);
}

/* trace_foster: a tracer that is not the parent sees the exit first; the
 * parent sees nothing until it has reaped it. */
static void trace_foster(void) {
	int ready[2], go[2];
	pipe(ready);
	pipe(go);
	char c;
	pid_t tracee = fork();
	if (tracee == 0) {
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY);
		write(ready[1], "r", 1);
		for (;;)
			pause();
	}
	read(ready[0], &c, 1);
	pid_t tracer = fork();
	if (tracer == 0) {
		int st;
		T(ptrace(PTRACE_ATTACH, tracee, 0, 0));
		wait_for(tracee, "foster tracer: attach");
		T(ptrace(PTRACE_CONT, tracee, 0, 0));
		write(ready[1], "a", 1);
		waitpid(tracee, &st, 0);
		status("foster tracer", st);
		T(ptrace(PTRACE_CONT, tracee, 0, WSTOPSIG(st)));
		siginfo_t si = {0};
		T(waitid(P_PID, tracee, &si, WEXITED | WNOWAIT));
		printf("foster tracer: sees the exit: %d\n", si.si_pid == tracee && si.si_code == CLD_KILLED);
		write(ready[1], "z", 1);
		read(go[0], &c, 1);
		waitpid(tracee, &st, 0);
		status("foster tracer: reaps", st);
		write(ready[1], "d", 1);
		fflush(stdout);
		_exit(0);
	}
	fflush(stdout);
	read(ready[0], &c, 1);
	kill(tracee, SIGTERM);
	read(ready[0], &c, 1);
	int st = 0;
	T(waitpid(tracee, &st, WNOHANG));
	write(go[1], "g", 1);
	read(ready[0], &c, 1);
	T(waitpid(tracee, &st, 0) == tracee);
	status("foster parent", st);
	wait_for(tracer, "foster tracer");
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "exec") == 0)
		_exit(11);
	setup(argc, argv);
	trace_syscalls();
	trace_signals();
	trace_events(argv[0]);
	trace_steps();
	trace_attach();
	trace_listen();
	trace_fatal_exit();
	trace_peeksiginfo();
	trace_arch_prctl();
	trace_stopped_attach();
	trace_foster();
	return 0;
}
