/* NEVER RUN THIS NATIVELY: it is a hostile program for the sandbox only (as
 * root on a host it renames the host, renices processes, and its parent
 * kills every process it may signal).
 *
 * Usage: fuzz [CHILDREN [CALLS [SEED [THREADS]]]]. Children, one after the
 * other, make CALLS random syscalls from each of THREADS threads at once,
 * with random, small and pointer-like arguments. Within the sequences, now
 * and then, a task is spawned that makes a shorter random sequence of its
 * own, concurrently: a fork, a thread, a clone with random flags (shared
 * or copied memory, files, handlers, thread group, vfork, pidfd, tid
 * writes, parent) and exit signal on a stack of its own, or a clone3 of
 * random arguments whose child, if any, exits at once; spawned tasks spawn
 * again up to a depth of 2. Each process runs under alarm(1) and the
 * parent kills a child that is still there after two seconds, then, as
 * the sandbox's init, kills (kill(-1)) and reaps whatever that child left
 * behind, so that a syscall that blocks or a mask that hides SIGALRM only
 * ends that round. Signals to other processes, raw clone and fork (whose
 * children would run the sequence on a shared stack), and the syscalls
 * that replace or end the program are left out of the random calls: they
 * would end the fuzzing, not test it. The sentry must answer all of it
 * without crashing; the parent exits 0 when every child has been reaped. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
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

/* maxDepth bounds how deep spawned tasks spawn again; spawnedCalls is
 * how many calls a spawned task makes. */
enum { maxDepth = 2, spawnedCalls = 40 };

static void calls_from(int seed, int calls, int depth);

struct job {
	int seed, calls, depth;
	int thread;     /* a clone in the spawner's thread group */
	int ptid, ctid; /* where clone writes tids and pidfds */
};

static void *thread_calls(void *p) {
	struct job *j = p;
	calls_from(j->seed, j->calls, j->depth);
	return NULL;
}

/* clone_calls runs in a task made by clone: a process of its own (then
 * under its own alarm) or a thread of the spawner's. It ends only itself. */
static int clone_calls(void *p) {
	struct job *j = p;
	if (!j->thread)
		alarm(1);
	calls_from(j->seed, j->calls, j->depth);
	syscall(SYS_exit, 0);
	return 0;
}

/* cloneFlags are the flags a random clone picks from; invalid mixes
 * (a thread without shared handlers, handlers without shared memory, a
 * pidfd for a thread) are refused, which is tested too. */
static const unsigned long cloneFlags[] = {
	CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND, CLONE_THREAD, CLONE_SYSVSEM,
	CLONE_PARENT_SETTID, CLONE_CHILD_SETTID, CLONE_CHILD_CLEARTID, CLONE_VFORK,
	CLONE_PARENT, CLONE_PIDFD, CLONE_IO, CLONE_DETACHED,
};

/* spawn starts a task that makes spawnedCalls random calls concurrently
 * with the caller's: a fork, a thread, a clone, or a clone3. Its memory
 * (job, stack) is left to the process's end: the task may outlive the
 * caller's sequence. */
static void spawn(int depth) {
	struct job *j = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (j == MAP_FAILED)
		return;
	*j = (struct job){(int)rnd(), spawnedCalls, depth + 1, 0, 0, 0};
	switch (rnd() % 4) {
	case 0: {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(1);
			calls_from(j->seed, j->calls, j->depth);
			_exit(0);
		}
		break;
	}
	case 1: {
		pthread_t id;
		if (pthread_create(&id, NULL, thread_calls, j) == 0)
			pthread_detach(id);
		break;
	}
	case 2: {
		unsigned long flags = rnd() % 65; /* the exit signal */
		for (unsigned i = 0; i < sizeof cloneFlags / sizeof cloneFlags[0]; i++)
			if (rnd() % 3 == 0)
				flags |= cloneFlags[i];
		/* clone_calls takes its own alarm unless it is a thread */
		j->thread = (flags & CLONE_THREAD) != 0;
		char *stack = (char *)j + (1 << 16);
		clone(clone_calls, stack, (int)flags, j, &j->ptid, NULL, &j->ctid);
		break;
	}
	default: {
		/* clone_args of random bytes (random size too), without shared
		 * memory or a stack: a child, if one is made, runs on a copy of
		 * this stack and exits at once */
		uint64_t ca[12] = {0};
		for (int i = 0; i < 11; i++)
			ca[i] = rnd() % 4 ? rnd() % 64 : rnd();
		ca[0] &= ~(uint64_t)(CLONE_VM | CLONE_VFORK | CLONE_THREAD | CLONE_SIGHAND | CLONE_SETTLS);
		ca[5] = ca[6] = 0;
		long r = syscall(SYS_clone3, ca, 64 + rnd() % 32);
		if (r == 0)
			_exit(0);
		break;
	}
	}
}

static void calls_from(int seed, int calls, int depth) {
	state = 0x9e3779b97f4a7c15ull * (uint64_t)(seed + 1);
	char *buf = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return;
	for (int i = 0; i < calls; i++) {
		if (depth < maxDepth && rnd() % 40 == 0) {
			spawn(depth);
			continue;
		}
		for (int j = 0; j < 8192; j += 8)
			*(uint64_t *)(buf + j) = rnd();
		long nr = rnd() % 460;
		if (skipped(nr))
			continue;
		syscall(nr, arg(buf), arg(buf), arg(buf), arg(buf), arg(buf), arg(buf));
	}
}

/* fuzz makes calls random syscalls from each of threads threads of one
 * process, at once. */
static void fuzz(int seed, int calls, int threads) {
	alarm(1);
	/* What random writes to 1 and 2 write is no output of the sandbox:
	 * runsc-lite's own stderr must stay empty, and says so only if the
	 * program's does not share it. */
	int null = open("/dev/null", O_RDWR);
	for (int fd = 0; fd < 3 && null >= 0; fd++)
		dup2(null, fd);
	static struct job jobs[16];
	pthread_t ids[16];
	for (int i = 1; i < threads && i < 16; i++) {
		jobs[i] = (struct job){seed * 16 + i, calls, 0, 0, 0, 0};
		pthread_create(&ids[i], NULL, thread_calls, &jobs[i]);
	}
	calls_from(seed * 16, calls, 0);
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
		/* What the child spawned is ours now (we are the sandbox's init):
		 * end it all and reap it, clones with any exit signal included,
		 * so that the next round starts alone. */
		kill(-1, SIGKILL);
		while (waitpid(-1, NULL, __WALL) > 0)
			;
	}
	printf("fuzzed %d children\n", children);
	return 0;
}
