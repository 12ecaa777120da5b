/* Signals sent with a siginfo (rt_sigqueueinfo, rt_tgsigqueueinfo) and
 * kill(2) aimed at a thread's ID: who may claim which si_code, which
 * targets exist, and that the signal reaches the process. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

static volatile int got, value, code;
static void handler(int sig, siginfo_t *si, void *uc) {
	got = sig;
	value = si->si_value.sival_int;
	code = si->si_code;
}

static volatile pid_t thread_tid;
static volatile int stop;
static void *spin(void *arg) {
	thread_tid = syscall(SYS_gettid);
	while (!stop)
		usleep(1000);
	return NULL;
}

static long sq(pid_t pid, int sig, int si_code, int v) {
	siginfo_t si = {0};
	si.si_signo = sig;
	si.si_code = si_code;
	si.si_value.sival_int = v;
	return syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
}

static long tgsq(pid_t tgid, pid_t tid, int sig, int si_code) {
	siginfo_t si = {0};
	si.si_signo = sig;
	si.si_code = si_code;
	return syscall(SYS_rt_tgsigqueueinfo, tgid, tid, sig, &si);
}

/* await waits for the handler to run (a signal to the process may be
 * taken by either thread). */
static void await(const char *what) {
	for (int i = 0; i < 5000 && !got; i++)
		usleep(1000);
	printf("%s: signal %d value %d code %d\n", what, got, value, code);
	got = value = code = 0;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	struct sigaction sa = {.sa_sigaction = handler, .sa_flags = SA_SIGINFO};
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGRTMIN, &sa, NULL);
	pthread_t th;
	pthread_create(&th, NULL, spin, NULL);
	while (!thread_tid)
		usleep(1000);

	T(sq(thread_tid, SIGUSR1, SI_QUEUE, 7)); /* a thread's ID names its process */
	await("sigqueue to a thread's id");
	T(kill(thread_tid, SIGRTMIN));
	await("kill of a thread's id");
	T(sq(getpid(), SIGUSR1, SI_USER, 8)); /* to itself: any code */
	await("SI_USER to itself");
	T(tgsq(getpid(), syscall(SYS_gettid), SIGUSR1, SI_TKILL));
	await("SI_TKILL to itself");
	T(tgsq(getpid(), thread_tid, SIGUSR1, SI_TKILL)); /* another thread: EPERM */
	T(sq(0, SIGUSR1, SI_QUEUE, 1));
	T(sq(-1, SIGUSR1, SI_QUEUE, 1));
	T(sq(-getpgrp(), SIGUSR1, SI_QUEUE, 1));
	T(sq(thread_tid, 65, SI_QUEUE, 1));
	T(tgsq(thread_tid, thread_tid, SIGUSR1, SI_QUEUE)); /* not a process ID */
	T(tgsq(-1, thread_tid, SIGUSR1, SI_QUEUE));
	/* the order of the checks: the siginfo is read first */
	T(syscall(SYS_rt_sigqueueinfo, -1, 65, BAD));
	T(syscall(SYS_rt_tgsigqueueinfo, -1, -1, 65, BAD));
	T(sq(-1, 65, SI_QUEUE, 1));
	T(sq(-1, SIGUSR1, SI_USER, 1));
	T(sq(1 << 22, 65, SI_QUEUE, 1));
	T(tgsq(getpid(), 1 << 22, 65, SI_QUEUE));
	T(tgsq(-1, thread_tid, 65, SI_USER));
	T(kill(1 << 22, 65));
	T(kill(getpid(), 65));
	T(kill(-(1 << 22), 65));
	T(kill(0, 65)); /* the caller's group (its pgid is 1 in the sandbox: -pgid would be -1) */

	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	T(sq(child, SIGUSR1, SI_USER, 1)); /* another process: EPERM */
	T(sq(child, 0, SI_QUEUE, 1));
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	T(sq(child, SIGUSR1, SI_QUEUE, 1)); /* reaped */
	stop = 1;
	pthread_join(th, NULL);
	return 0;
}
