/* Scheduling policies: sched_setscheduler/getscheduler/setparam/getparam,
 * sched_setattr/getattr, priority ranges, sched_rr_get_interval,
 * SCHED_RESET_ON_FORK across fork, what an unprivileged user may not do,
 * and I/O priorities (ioprio_set/ioprio_get). Runs as root (a real-time policy needs it natively); nothing here
 * spins, so the real-time policies it takes natively cost nothing. */
#include "common.h"
#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

/* struct sched_attr (linux/sched/types.h, which clashes with glibc's
 * sched.h). */
struct sched_attr {
	unsigned int size, sched_policy;
	unsigned long long sched_flags;
	int sched_nice;
	unsigned int sched_priority;
	unsigned long long sched_runtime, sched_deadline, sched_period;
	unsigned int sched_util_min, sched_util_max;
};
#define SCHED_DEADLINE 6
#define SCHED_FLAG_KEEP_POLICY 0x08

static void show(const char *when) {
	struct sched_param p = {0};
	sched_getparam(0, &p);
	errno = 0;
	int nice = getpriority(PRIO_PROCESS, 0);
	printf("%s: policy %d priority %d nice %d\n", when, sched_getscheduler(0), p.sched_priority, nice);
}

static long slice(void) {
	struct timespec ts = {-1, -1};
	if (sched_rr_get_interval(0, &ts) != 0)
		return -1;
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	struct sched_param p = {.sched_priority = 10};
	show("start");
	T(sched_get_priority_max(SCHED_FIFO));
	T(sched_get_priority_min(SCHED_RR));
	T(sched_get_priority_max(SCHED_DEADLINE));
	T(sched_get_priority_min(SCHED_IDLE));
	T(sched_get_priority_max(42));

	T(sched_setscheduler(0, SCHED_FIFO, &p));
	show("fifo 10");
	printf("fifo slice %ld\n", slice());
	p.sched_priority = 20;
	T(sched_setparam(0, &p));
	show("setparam 20");
	T(sched_setscheduler(0, SCHED_RR, &p));
	printf("rr slice %ld\n", slice());
	p.sched_priority = 0;
	T(sched_setscheduler(0, SCHED_RR, &p));
	p.sched_priority = 100;
	T(sched_setscheduler(0, SCHED_FIFO, &p));
	p.sched_priority = 5;
	T(sched_setscheduler(0, SCHED_OTHER, &p));
	T(sched_setscheduler(0, 42, &p));
	T(sched_setscheduler(0, SCHED_FIFO, NULL));
	T(sched_setscheduler(-1, SCHED_FIFO, &p));
	T(sched_setscheduler(0, SCHED_FIFO, BAD));
	T(syscall(SYS_sched_setscheduler, 0, SCHED_DEADLINE, &p));
	T(sched_getparam(0, NULL));
	T(sched_getscheduler(-1));
	T(sched_getscheduler(1 << 22));
	T(sched_setparam(1 << 22, &p));

	/* Reset on fork: the child starts as SCHED_OTHER with nice 0. */
	p.sched_priority = 7;
	T(sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &p));
	T(sched_getscheduler(0) == (SCHED_FIFO | SCHED_RESET_ON_FORK));
	pid_t pid = fork();
	if (pid == 0) {
		show("reset child");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	p.sched_priority = 0;
	T(sched_setscheduler(0, SCHED_OTHER, &p));
	T(setpriority(PRIO_PROCESS, 0, -5));
	T(sched_setscheduler(0, SCHED_BATCH | SCHED_RESET_ON_FORK, &p));
	pid = fork();
	if (pid == 0) {
		show("batch reset child");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	T(sched_setscheduler(0, SCHED_OTHER, &p));
	show("other");

	/* sched_attr */
	struct sched_attr a = {0};
	T(syscall(SYS_sched_getattr, 0, &a, sizeof a, 0));
	printf("attr size %u policy %u nice %d prio %u flags %llu\n", a.size, a.sched_policy, a.sched_nice, a.sched_priority, (unsigned long long)a.sched_flags);
	T(syscall(SYS_sched_getattr, 0, &a, 48, 0));
	printf("attr size %u\n", a.size);
	T(syscall(SYS_sched_getattr, 0, &a, 47, 0));
	T(syscall(SYS_sched_getattr, 0, &a, sizeof a, 1));
	T(syscall(SYS_sched_getattr, 1 << 22, &a, sizeof a, 0));
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.sched_policy = SCHED_OTHER;
	a.sched_nice = 3;
	T(syscall(SYS_sched_setattr, 0, &a, 0));
	show("setattr nice 3");
	a.sched_policy = SCHED_RR;
	a.sched_priority = 4;
	T(syscall(SYS_sched_setattr, 0, &a, 0));
	show("setattr rr 4");
	a.sched_flags = SCHED_FLAG_KEEP_POLICY;
	a.sched_priority = 6;
	T(syscall(SYS_sched_setattr, 0, &a, 0));
	show("keep policy, priority 6");
	a.size = 40;
	T(syscall(SYS_sched_setattr, 0, &a, 0));
	printf("size written back %u\n", a.size);
	char big[200] = {0};
	memcpy(big, &a, sizeof a);
	((struct sched_attr *)big)->size = sizeof big;
	T(syscall(SYS_sched_setattr, 0, big, 0));
	big[150] = 1;
	T(syscall(SYS_sched_setattr, 0, big, 0));
	printf("size written back %u\n", ((struct sched_attr *)big)->size);
	a.size = sizeof a;
	a.sched_flags = 0x1000;
	T(syscall(SYS_sched_setattr, 0, &a, 0));
	a.sched_flags = 0;
	T(syscall(SYS_sched_setattr, 0, &a, 1));
	T(syscall(SYS_sched_setattr, 0, NULL, 0));
	memset(&a, 0, sizeof a);
	a.size = sizeof a;
	a.sched_policy = SCHED_DEADLINE;
	a.sched_runtime = 10 * 1000 * 1000;
	a.sched_deadline = 5 * 1000 * 1000;
	a.sched_period = 30 * 1000 * 1000;
	T(syscall(SYS_sched_setattr, 0, &a, 0));
	a.sched_deadline = 20 * 1000 * 1000;
	a.sched_period = 10ULL * 1000 * 1000 * 1000;
	T(syscall(SYS_sched_setattr, 0, &a, 0));
	a.sched_policy = SCHED_OTHER;
	a.sched_nice = 0;
	T(syscall(SYS_sched_setattr, 0, &a, 0));

	/* Without CAP_SYS_NICE. */
	pid = fork();
	if (pid == 0) {
		struct sched_param q = {.sched_priority = 1};
		if (setuid(65534) != 0)
			_exit(1);
		T(sched_setscheduler(0, SCHED_FIFO, &q));
		q.sched_priority = 0;
		T(sched_setscheduler(0, SCHED_BATCH, &q));
		T(sched_setscheduler(0, SCHED_IDLE, &q));
		T(sched_setscheduler(0, SCHED_OTHER, &q));
		T(sched_setscheduler(1, SCHED_OTHER, &q));
		T(sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &q));
		T(sched_setscheduler(0, SCHED_OTHER, &q));
		struct sched_attr b = {.size = sizeof b, .sched_policy = SCHED_OTHER, .sched_nice = -1};
		T(syscall(SYS_sched_setattr, 0, &b, 0));
		/* another user's task: EPERM after the mask is read and the
		 * target found (LTP sched_setaffinity01) */
		unsigned long one = 1;
		T(syscall(SYS_sched_setaffinity, 0, sizeof one, &one));
		T(syscall(SYS_sched_setaffinity, getppid(), sizeof one, &one));
		T(syscall(SYS_sched_setaffinity, getppid(), sizeof one, BAD));
		T(syscall(SYS_sched_setaffinity, 1 << 22, sizeof one, &one));
		_exit(0);
	}
	int ws;
	T(waitpid(pid, &ws, 0) == pid);
	T(ws);
	/* I/O priorities (ioprio_set/ioprio_get): class << 13 | level. */
	T(syscall(SYS_ioprio_get, 1, 0));
	T(syscall(SYS_ioprio_set, 1, 0, 2 << 13 | 3));
	T(syscall(SYS_ioprio_get, 1, 0));
	T(syscall(SYS_ioprio_get, 2, 0));
	T(syscall(SYS_ioprio_set, 1, 0, 2 << 13 | 8));
	T(syscall(SYS_ioprio_get, 1, 0));
	T(syscall(SYS_ioprio_set, 1, 0, 1 << 13 | 2));
	T(syscall(SYS_ioprio_set, 1, 0, 3 << 13 | 7));
	T(syscall(SYS_ioprio_set, 1, 0, 5 << 13));
	T(syscall(SYS_ioprio_set, 1, 0, 1));
	T(syscall(SYS_ioprio_set, 4, 0, 0));
	T(syscall(SYS_ioprio_get, 0, 0));
	T(syscall(SYS_ioprio_get, 1, 1 << 22));
	T(syscall(SYS_ioprio_set, 2, 1 << 22, 0));
	T(syscall(SYS_ioprio_set, 1, 0, 2 << 13 | 5));
	pid = fork();
	if (pid == 0) {
		T(syscall(SYS_ioprio_get, 1, 0));
		T(syscall(SYS_ioprio_set, 1, 0, 0));
		T(syscall(SYS_ioprio_get, 2, 0));
		T(syscall(SYS_ioprio_set, 1, getppid(), 0));
		if (setuid(65534) != 0)
			_exit(1);
		T(syscall(SYS_ioprio_set, 1, 0, 1 << 13));
		T(syscall(SYS_ioprio_set, 1, 0, 3 << 13));
		T(syscall(SYS_ioprio_set, 1, getppid(), 0));
		_exit(0);
	}
	T(waitpid(pid, &ws, 0) == pid);
	T(syscall(SYS_ioprio_get, 1, 0));
	return 0;
}
