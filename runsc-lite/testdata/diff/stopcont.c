/* Job control: stop signals stop a child, SIGCONT resumes it; the parent
 * sees both through wait4 (WUNTRACED, WCONTINUED), waitid (WSTOPPED,
 * WCONTINUED, WNOWAIT) and SIGCHLD (CLD_STOPPED, CLD_CONTINUED, none with
 * SA_NOCLDSTOP). A stopped child does not run; its nanosleep goes on after
 * SIGCONT. A stop or continue reports the child's usage so far, its
 * waited-for children's included (only thresholds are compared, never
 * times). */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

static void msleep(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void status(const char *what, pid_t r, pid_t pid, int st) {
	if (r < 0) {
		printf("%s: -1 %s\n", what, ename(errno));
		return;
	}
	printf("%s: %s stopped=%d sig=%d continued=%d exited=%d signaled=%d termsig=%d\n", what,
	       r == pid ? "child" : r == 0 ? "none" : "OTHER", WIFSTOPPED(st), WIFSTOPPED(st) ? WSTOPSIG(st) : 0,
	       WIFCONTINUED(st), WIFEXITED(st), WIFSIGNALED(st), WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

#define WAIT(what, pid, opts) do { int _st = 0; pid_t _r = waitpid(pid, &_st, opts); status(what, _r, pid, _st); } while (0)

static void sigchld(const char *what, pid_t pid) {
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGCHLD);
	struct timespec ts = {5, 0};
	siginfo_t si;
	int r = sigtimedwait(&s, &si, &ts);
	if (r < 0) {
		printf("%s: sigtimedwait -1 %s\n", what, ename(errno));
		return;
	}
	printf("%s: SIGCHLD code %d status %d from child %d\n", what, si.si_code, si.si_status, si.si_pid == pid);
}

static pid_t sleeper(void) {
	pid_t pid = fork();
	if (pid == 0) {
		for (;;)
			pause();
	}
	return pid;
}

/* burn spends at least ms milliseconds of the process's CPU time. */
static void burn(long ms) {
	struct timespec ts;
	do {
		for (volatile int i = 0; i < 100000; i++)
			;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	} while (ts.tv_sec * 1000 + ts.tv_nsec / 1000000 < ms);
}

/* usage prints whether a wait found the child and reported at least
 * least_ms of CPU time and a mark of resident memory. */
static void usage(const char *what, long r, const struct rusage *ru, long least_ms) {
	long ms = (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000 + (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000;
	printf("%s: %s cpu>=%ldms %s maxrss>0 %s\n", what, r < 0 ? ename(errno) : "found", least_ms, ms >= least_ms ? "yes" : "NO",
	       ru->ru_maxrss > 0 ? "yes" : "NO");
}

/* usage_so_far stops a child that burned CPU time, or whose waited-for
 * child did, and reads its usage from each stop and continue report
 * (wait_task_stopped and wait_task_continued's getrusage(RUSAGE_BOTH)). */
static void usage_so_far(int grandchild) {
	pid_t pid = fork();
	if (pid == 0) {
		if (grandchild) {
			pid_t g = fork();
			if (g == 0) {
				burn(100);
				_exit(0);
			}
			waitpid(g, NULL, 0);
		} else {
			burn(60);
		}
		raise(SIGSTOP);
		for (;;)
			pause();
	}
	const char *who = grandchild ? "grandchild's" : "own";
	struct rusage ru;
	siginfo_t si;
	char what[64];
	/* WAITED(label, call) reports call's usage as who's label. */
#define WAITED(label, call)                                                   \
	do {                                                                  \
		memset(&ru, 0, sizeof ru);                                    \
		snprintf(what, sizeof what, "%s: %s", who, label);            \
		usage(what, call, &ru, 50);                                   \
	} while (0)
	WAITED("waitid stop nowait", syscall(SYS_waitid, P_PID, pid, &si, WSTOPPED | WNOWAIT, &ru));
	WAITED("wait4 stop", wait4(pid, NULL, WUNTRACED, &ru));
	T(kill(pid, SIGCONT));
	WAITED("waitid continue", syscall(SYS_waitid, P_PID, pid, &si, WCONTINUED | WNOWAIT, &ru));
	WAITED("wait4 continue", wait4(pid, NULL, WCONTINUED, &ru));
	T(kill(pid, SIGKILL));
	WAITED("wait4 exit", wait4(pid, NULL, 0, &ru));
#undef WAITED
}

/* traced_usage reads a tracee's usage so far from its signal-delivery
 * stop, which wait_task_stopped reports too. */
static void traced_usage(void) {
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		burn(60);
		raise(SIGUSR1);
		_exit(0);
	}
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	usage("traced: wait4 ptrace stop", wait4(pid, NULL, 0, &ru), &ru, 50);
	T(kill(pid, SIGKILL));
	WAIT("traced: kill", pid, 0);
}

static int handled;
static void on_chld(int sig) { handled++; }

int main(int argc, char **argv) {
	setup(argc, argv);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	/* SIGSTOP, SIGCONT, wait4 */
	pid_t pid = sleeper();
	T(kill(pid, SIGSTOP));
	/* The notification first: natively, a wait that collects the stop
	 * before the stopping child has notified its parent zeroes the
	 * SIGCHLD's si_status (do_notify_parent_cldstop reads the
	 * group_exit_code that wait_task_stopped cleared). */
	sigchld("stop", pid);
	WAIT("stop", pid, WUNTRACED);
	WAIT("stop reported once", pid, WUNTRACED | WNOHANG);
	WAIT("no continue yet", pid, WCONTINUED | WNOHANG);
	T(kill(pid, SIGCONT));
	WAIT("continue", pid, WCONTINUED);
	sigchld("continue", pid);
	WAIT("continue reported once", pid, WCONTINUED | WUNTRACED | WNOHANG);
	T(kill(pid, SIGCONT));
	WAIT("SIGCONT to a running child", pid, WCONTINUED | WNOHANG);
	T(kill(pid, SIGKILL));
	WAIT("kill", pid, 0);
	sigchld("kill", pid);

	/* a stopped process can be killed */
	pid = sleeper();
	T(kill(pid, SIGSTOP));
	WAIT("stop", pid, WUNTRACED);
	T(kill(pid, SIGTERM));
	T(kill(pid, SIGKILL));
	WAIT("kill while stopped", pid, 0);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	/* waitid */
	pid = sleeper();
	T(kill(pid, SIGSTOP));
	siginfo_t si;
	memset(&si, 0, sizeof si);
	T(waitid(P_PID, pid, &si, WSTOPPED | WNOWAIT));
	printf("waitid nowait: code %d status %d\n", si.si_code, si.si_status);
	memset(&si, 0, sizeof si);
	T(waitid(P_PID, pid, &si, WSTOPPED));
	printf("waitid: code %d status %d\n", si.si_code, si.si_status);
	memset(&si, 0, sizeof si);
	T(waitid(P_PID, pid, &si, WSTOPPED | WNOHANG));
	printf("waitid again: pid set %d\n", si.si_pid != 0);
	T(kill(pid, SIGCONT));
	memset(&si, 0, sizeof si);
	T(waitid(P_PID, pid, &si, WCONTINUED));
	printf("waitid: code %d status %d\n", si.si_code, si.si_status);
	T(kill(pid, SIGKILL));
	WAIT("kill", pid, 0);

	/* SIGTSTP stops a child in its own process group */
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		for (;;)
			pause();
	}
	setpgid(pid, pid);
	T(kill(pid, SIGTSTP));
	WAIT("tstp", pid, WUNTRACED);
	T(kill(pid, SIGCONT));
	WAIT("continue", pid, WCONTINUED);
	T(kill(pid, SIGKILL));
	WAIT("kill", pid, 0);

	/* a stopped child does not run; its sleep goes on after SIGCONT (a
	 * sleep of 1 s, so that a loaded machine's delay before the stop
	 * still stops it before it ends) */
	int p[2];
	pipe(p);
	pid = fork();
	if (pid == 0) {
		struct timespec ts = {1, 0};
		int r = nanosleep(&ts, NULL);
		write(p[1], r == 0 ? "0" : "E", 1);
		_exit(0);
	}
	msleep(30);
	T(kill(pid, SIGSTOP));
	WAIT("stop", pid, WUNTRACED);
	struct pollfd pfd = {p[0], POLLIN, 0};
	T(poll(&pfd, 1, 200));
	T(kill(pid, SIGCONT));
	char c = 0;
	T(read(p[0], &c, 1));
	printf("child's nanosleep: %c\n", c);
	WAIT("exit", pid, 0);

	usage_so_far(0);
	usage_so_far(1);
	traced_usage();

	/* SA_NOCLDSTOP: only the exit is signalled */
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
	struct sigaction sa = {0};
	sa.sa_handler = on_chld;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sigset_t pend;
	pid = sleeper();
	T(kill(pid, SIGSTOP));
	WAIT("stop", pid, WUNTRACED);
	T(kill(pid, SIGCONT));
	WAIT("continue", pid, WCONTINUED);
	printf("SIGCHLD handled %d\n", handled);
	T(kill(pid, SIGKILL));
	WAIT("kill", pid, 0);
	msleep(20);
	printf("SIGCHLD handled %d\n", handled);
	return 0;
}
