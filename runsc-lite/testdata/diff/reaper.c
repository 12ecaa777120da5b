/* Reapers and parent-death signals: prctl PR_SET_CHILD_SUBREAPER makes a
 * process adopt its orphaned descendants; PR_SET_PDEATHSIG signals a child
 * when the thread that created it exits, even if its process lives on;
 * and children that ask to be traced while their parent exits all end and
 * are reaped (PTRACE_TRACEME against an exiting parent is refused). */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

static pid_t self;

/* await_pdeath runs in a grandchild: it asks for SIGUSR1 when its parent
 * dies, says so on ready, and reports the signal it gets. */
static void await_pdeath(int ready) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	pid_t creator = getppid();
	prctl(PR_SET_PDEATHSIG, SIGUSR1);
	int sig = -1;
	prctl(PR_GET_PDEATHSIG, &sig);
	write(ready, "r", 1);
	siginfo_t si;
	struct timespec limit = {10, 0};
	int got = sigtimedwait(&set, &si, &limit);
	printf("  pdeath %d: got %s, code SI_USER %d, from creator %d, adopted by reaper %d, same parent %d\n",
	       sig, got == SIGUSR1 ? "SIGUSR1" : "nothing", si.si_code == SI_USER, si.si_pid == creator,
	       getppid() == self, getppid() == creator);
	fflush(stdout);
	_exit(0);
}

/* process_dies: the middle process exits; its child is signalled and
 * adopted by the subreaper. */
static void process_dies(void) {
	printf("the creating process exits:\n");
	fflush(stdout);
	int p[2];
	pipe(p);
	pid_t mid = fork();
	if (mid == 0) {
		if (fork() == 0)
			await_pdeath(p[1]);
		char c;
		read(p[0], &c, 1);
		_exit(0);
	}
	int st;
	waitpid(mid, &st, 0);
	pid_t g = waitpid(-1, &st, 0);
	printf("  reaper reaps the orphan: %d, exit %d\n", g > 0, WEXITSTATUS(st));
	close(p[0]);
	close(p[1]);
}

static int ready[2];

static void *spawn(void *arg) {
	pid_t *child = arg;
	*child = fork();
	if (*child == 0)
		await_pdeath(ready[1]);
	char c;
	read(ready[0], &c, 1);
	return NULL;
}

/* thread_dies: a thread of the middle process creates the child and
 * exits; the process lives on, stays the parent, and reaps it. */
static void thread_dies(void) {
	printf("the creating thread exits:\n");
	fflush(stdout);
	pipe(ready);
	pid_t mid = fork();
	if (mid == 0) {
		pid_t child;
		pthread_t th;
		pthread_create(&th, NULL, spawn, &child);
		pthread_join(th, NULL);
		int st;
		pid_t r = waitpid(child, &st, 0);
		printf("  the process reaps it: %d, exit %d\n", r == child, WEXITSTATUS(st));
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(mid, &st, 0);
	close(ready[0]);
	close(ready[1]);
}

/* no_pdeath: without the setting, a child of an exiting process gets no
 * signal; fork clears the setting in the child. */
static void no_pdeath(void) {
	printf("fork clears the setting:\n");
	fflush(stdout);
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	pid_t c = fork();
	if (c == 0) {
		int sig = -1;
		prctl(PR_GET_PDEATHSIG, &sig);
		printf("  child's pdeath signal: %d\n", sig);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	int sig = -1;
	prctl(PR_GET_PDEATHSIG, &sig);
	printf("  parent's: %d\n", sig);
	prctl(PR_SET_PDEATHSIG, 0);
	T(prctl(PR_SET_PDEATHSIG, 65));
}

/* traceme_orphans: grandchildren ask to be traced as their parent exits
 * (the parent is alive, exiting, or gone); all end and are reaped. */
static void traceme_orphans(void) {
	enum { rounds = 150 };
	for (int i = 0; i < rounds; i++) {
		if (fork() == 0) {
			if (fork() == 0) {
				ptrace(PTRACE_TRACEME, 0, 0, 0);
				_exit(0);
			}
			_exit(0);
		}
	}
	int n = 0;
	while (waitpid(-1, NULL, __WALL) > 0)
		n++;
	printf("traceme orphans: reaped %d of %d\n", n, 2 * rounds);
}

int main(int argc, char **argv) {
	self = getpid();
	int on = -1;
	T(prctl(PR_GET_CHILD_SUBREAPER, &on));
	printf("subreaper at first: %d\n", on);
	T(prctl(PR_SET_CHILD_SUBREAPER, 7));
	T(prctl(PR_GET_CHILD_SUBREAPER, &on));
	printf("subreaper: %d\n", on);
	process_dies();
	thread_dies();
	no_pdeath();
	traceme_orphans();
	T(prctl(PR_SET_CHILD_SUBREAPER, 0));
	T(prctl(PR_GET_CHILD_SUBREAPER, &on));
	printf("subreaper at last: %d\n", on);
	return 0;
}
