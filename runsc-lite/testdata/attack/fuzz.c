/* NEVER RUN THIS NATIVELY: it is a hostile program for the sandbox only (as
 * root on a host it renames the host, renices processes...).
 *
 * Usage: fuzz [CHILDREN [CALLS [SEED [THREADS]]]]. Children, one after the
 * other, make CALLS random syscalls from each of THREADS threads at once,
 * with random, small and pointer-like arguments. Each child runs under
 * alarm(1) and the parent kills
 * one that is still there after two seconds, so a syscall that blocks or a
 * mask that hides SIGALRM only ends that child. Signals to other processes,
 * clone, and the syscalls that replace or end the program are left out:
 * they would end the fuzzing, not test it. The sentry must answer all of it
 * without crashing; the parent exits 0 when every child has been reaped. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static __thread uint64_t state;

static uint64_t rnd(void) {
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

static int skipped(long nr) {
	switch (nr) {
	case SYS_exit: case SYS_exit_group: case SYS_execve: case SYS_execveat:
	case SYS_fork: case SYS_vfork: case SYS_clone: case SYS_clone3:
	case SYS_kill: case SYS_tkill: case SYS_tgkill: case SYS_rt_sigqueueinfo:
	case SYS_rt_tgsigqueueinfo: case SYS_pidfd_send_signal:
	case SYS_rt_sigreturn: case SYS_munmap: case SYS_mremap:
	case SYS_mprotect: case SYS_brk: case SYS_arch_prctl:
	case SYS_set_tid_address: case SYS_set_robust_list: case SYS_rseq:
	case SYS_process_vm_writev: case SYS_madvise: case SYS_shmdt:
	case SYS_io_uring_setup: case SYS_prctl: case SYS_seccomp:
		return 1;
	}
	return 0;
}

static long arg(char *buf) {
	switch (rnd() % 4) {
	case 0: return (long)rnd();
	case 1: return (long)(rnd() % 16);
	case 2: return (long)(buf + rnd() % 4096);
	default: return -(long)(rnd() % 4);
	}
}

static void calls_from(int seed, int calls) {
	state = 0x9e3779b97f4a7c15ull * (uint64_t)(seed + 1);
	char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < calls; i++) {
		for (int j = 0; j < 8192; j += 8)
			*(uint64_t *)(buf + j) = rnd();
		long nr = rnd() % 460;
		if (skipped(nr))
			continue;
		syscall(nr, arg(buf), arg(buf), arg(buf), arg(buf), arg(buf), arg(buf));
	}
}

struct job {
	int seed, calls;
};

static void *thread_calls(void *p) {
	struct job *j = p;
	calls_from(j->seed, j->calls);
	return NULL;
}

/* fuzz makes calls random syscalls from each of threads threads of one
 * process, at once. */
static void fuzz(int seed, int calls, int threads) {
	alarm(1);
	static struct job jobs[16];
	pthread_t ids[16];
	for (int i = 1; i < threads && i < 16; i++) {
		jobs[i] = (struct job){seed * 16 + i, calls};
		pthread_create(&ids[i], NULL, thread_calls, &jobs[i]);
	}
	calls_from(seed * 16, calls);
	_exit(0);
}

int main(int argc, char **argv) {
	int children = argc > 1 ? atoi(argv[1]) : 40, calls = argc > 2 ? atoi(argv[2]) : 300;
	int seed = argc > 3 ? atoi(argv[3]) : 0;
	int threads = argc > 4 ? atoi(argv[4]) : 1;
	signal(SIGPIPE, SIG_IGN);
	for (int c = 0; c < children; c++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			fuzz(seed + c, calls, threads);
		int st = 0;
		struct timespec tick = {0, 10 * 1000 * 1000};
		int waited = 0;
		while (waitpid(pid, &st, WNOHANG) == 0) {
			if (waited++ == 200)
				kill(pid, SIGKILL);
			nanosleep(&tick, NULL);
		}
	}
	/* Reap whatever the children left behind (their own children cannot
	 * exist: clone is skipped, and their threads end with them). */
	while (wait(NULL) > 0)
		;
	printf("fuzzed %d children\n", children);
	return 0;
}
