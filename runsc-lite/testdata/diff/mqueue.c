/* POSIX message queues: mq_open/mq_unlink/mq_timedsend/mq_timedreceive/
 * mq_notify/mq_getsetattr: priorities, limits and errors, blocking and
 * non-blocking descriptors, timeouts, the status a read gives, signal and
 * thread notification (the C library's netlink cookie), unlinked queues
 * that live on while open. */
#include "common.h"
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static char name[64], name2[64];
static int notifyPipe[2];

static void threadNotified(union sigval v) {
	char c = (char)v.sival_int;
	write(notifyPipe[1], &c, 1);
}

static struct timespec past(void) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec -= 1;
	return ts;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	snprintf(name, sizeof name, "/diffq-%d", getpid());
	snprintf(name2, sizeof name2, "/diffq2-%d", getpid());
	struct mq_attr attr = {.mq_maxmsg = 3, .mq_msgsize = 64}, got;
	mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
	CHECK(q >= 0);
	T(mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr));
	T(mq_open(name2, O_RDWR));
	T(mq_open("/a/b", O_CREAT | O_RDWR, 0600, NULL));
	struct mq_attr bad = {.mq_maxmsg = 0, .mq_msgsize = 64};
	T(mq_open(name2, O_CREAT | O_RDWR, 0600, &bad));
	T(mq_getattr(q, &got));
	printf("attr: flags %ld maxmsg %ld msgsize %ld curmsgs %ld\n", got.mq_flags, got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs);

	/* Priorities: highest first, FIFO within one. */
	T(mq_send(q, "a", 1, 1));
	T(mq_send(q, "bb", 2, 5));
	T(mq_send(q, "ccc", 3, 1));
	char buf[64], status[128];
	int n = pread(q, status, sizeof status - 1, 0);
	status[n > 0 ? n : 0] = 0;
	printf("status: %s", status);
	struct timespec ts = past();
	T(mq_timedsend(q, "d", 1, 1, &ts)); /* full: the deadline passed */
	ts.tv_nsec = 1000000000;
	T(mq_timedsend(q, "d", 1, 1, &ts));
	T(mq_send(q, "d", 1, 32768)); /* MQ_PRIO_MAX */
	char big[65] = {0};
	T(mq_send(q, big, 65, 1));
	T(mq_receive(q, buf, 63, NULL));
	for (int i = 0; i < 3; i++) {
		unsigned prio;
		ssize_t r = mq_receive(q, buf, sizeof buf, &prio);
		printf("received %.*s prio %u\n", (int)r, buf, prio);
	}
	ts = past();
	T(mq_timedreceive(q, buf, sizeof buf, NULL, &ts));

	/* O_NONBLOCK by mq_setattr. */
	struct mq_attr nb = {.mq_flags = O_NONBLOCK};
	T(mq_setattr(q, &nb, &got));
	printf("old flags %ld\n", got.mq_flags);
	T(mq_receive(q, buf, sizeof buf, NULL));
	T(mq_getattr(q, &got));
	printf("flags now %s\n", got.mq_flags == O_NONBLOCK ? "O_NONBLOCK" : "?");
	nb.mq_flags = O_NONBLOCK | O_APPEND;
	T(mq_setattr(q, &nb, NULL));
	nb.mq_flags = 0;
	T(mq_setattr(q, &nb, NULL));

	/* A blocked receiver wakes for a child's message. */
	pid_t child = fork();
	if (child == 0) {
		usleep(100000);
		mq_send(q, "late", 4, 2);
		_exit(0);
	}
	unsigned prio;
	ssize_t r = mq_receive(q, buf, sizeof buf, &prio);
	printf("waited for %.*s prio %u\n", (int)r, buf, prio);
	waitpid(child, NULL, 0);

	/* Not a queue. */
	int p[2];
	T(pipe(p));
	T(mq_send(p[1], "x", 1, 0));
	T(mq_getattr(p[0], &got));
	mqd_t wronly = mq_open(name, O_WRONLY);
	T(mq_receive(wronly, buf, sizeof buf, NULL));

	/* Signal notification: once, to the registered process only. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1, .sigev_value.sival_int = 42};
	T(mq_notify(q, &ev));
	child = fork();
	if (child == 0)
		_exit(mq_notify(q, &ev) == -1 && errno == EBUSY ? 0 : 1);
	int ws;
	waitpid(child, &ws, 0);
	printf("another process registers: %s\n", WEXITSTATUS(ws) == 0 ? "EBUSY" : "?");
	n = pread(q, status, sizeof status - 1, 0);
	status[n > 0 ? n : 0] = 0;
	CHECK(strstr(status, "NOTIFY:0     SIGNO:10 ") != NULL);
	T(mq_send(q, "s", 1, 0));
	siginfo_t si;
	struct timespec five = {5, 0};
	T(sigtimedwait(&set, &si, &five));
	printf("si_code SI_MESGQ %s, value %d, pid is the sender %s\n", si.si_code == SI_MESGQ ? "yes" : "no", si.si_value.sival_int,
	       si.si_pid == getpid() ? "yes" : "no");
	T(mq_notify(q, &ev)); /* the last one fired: free again */
	T(mq_notify(q, NULL));
	struct sigevent badev = {.sigev_notify = 99};
	T(mq_notify(q, &badev));
	badev.sigev_notify = SIGEV_SIGNAL;
	badev.sigev_signo = 65;
	T(mq_notify(-1, &badev));
	T(mq_receive(q, buf, sizeof buf, NULL));

	/* Thread notification. */
	T(pipe(notifyPipe));
	struct sigevent tev = {.sigev_notify = SIGEV_THREAD, .sigev_notify_function = threadNotified, .sigev_value.sival_int = 'T'};
	T(mq_notify(q, &tev));
	T(mq_send(q, "t", 1, 0));
	char c = 0;
	T(read(notifyPipe[0], &c, 1));
	printf("thread notified: %c\n", c);

	/* Unlinked, the queue lives on while open. */
	T(mq_unlink(name));
	T(mq_unlink(name));
	T(mq_open(name, O_RDWR));
	r = mq_receive(q, buf, sizeof buf, NULL);
	printf("after unlink: %.*s\n", (int)r, buf);
	T(mq_close(q));
	T(mq_close(wronly));
	return 0;
}
