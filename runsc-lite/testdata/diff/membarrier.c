/* membarrier: the memory-ordering commands. Only relations are printed: the
 * host may offer more commands (SYNC_CORE, RSEQ) than the sandbox. */
#include "common.h"
#include <linux/membarrier.h>
#include <pthread.h>
#include <sys/wait.h>

#ifndef MEMBARRIER_CMD_GET_REGISTRATIONS
#define MEMBARRIER_CMD_GET_REGISTRATIONS (1 << 9) /* Linux 6.3 */
#endif

static long mb(int cmd, unsigned flags) { return syscall(SYS_membarrier, cmd, flags, 0); }

static volatile int stop;

static void *spin(void *arg) {
	while (!stop)
		;
	return NULL;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (argc > 2) { /* run again by execve */
		T(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0));
		return 0;
	}
	long q = mb(MEMBARRIER_CMD_QUERY, 0);
	CHECK(q >= 0);
	CHECK((q & MEMBARRIER_CMD_GLOBAL) != 0);
	CHECK((q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0);
	CHECK((q & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0);
	CHECK((q & MEMBARRIER_CMD_GLOBAL_EXPEDITED) != 0);
	T(mb(MEMBARRIER_CMD_QUERY, 1));
	T(mb(1 << 20, 0));
	T(mb(MEMBARRIER_CMD_GLOBAL, 1));

	/* A running thread on another CPU while the barriers are issued. */
	pthread_t th;
	pthread_create(&th, NULL, spin, NULL);
	T(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0));
	T(mb(MEMBARRIER_CMD_GET_REGISTRATIONS, 0));
	T(mb(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0));
	T(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0));
	T(mb(MEMBARRIER_CMD_GET_REGISTRATIONS, 0) == MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED);
	T(mb(MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0));
	T(mb(MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0));
	T(mb(MEMBARRIER_CMD_GLOBAL, 0));
	stop = 1;
	pthread_join(th, NULL);

	/* Registrations survive fork and are gone after execve. */
	pid_t pid = fork();
	if (pid == 0) {
		T(mb(MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0));
		fflush(stdout);
		execl("/proc/self/exe", argv[0], argv[1], "exec", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}
