/* execve empties the process whatever it ran before: systrap keeps the
 * host process of a single-threaded program for its new one (Renew), so
 * nothing the old program mapped may be left there. The old program maps
 * a page holding a secret at a fixed address, patches hot syscall sites,
 * and execs this program again, from a forked child (kept in place), from
 * a process that has had a second thread (a new host process), and after
 * failed execs (which must leave it intact); the new program reads the old
 * address with a load (a fault, if nothing is left), asks mincore and
 * /proc/self/maps, and makes syscalls and vDSO calls. */
#include "common.h"
#include <pthread.h>
#include <setjmp.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

#define OLD ((char *)0x200000000000UL)
#define PAGE 4096

static sigjmp_buf env;
static void on_segv(int sig) { siglongjmp(env, sig); }

/* probe reads the old page with a load, as attacker code would. */
static void probe(const char *who) {
	struct sigaction sa = {.sa_handler = on_segv};
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	volatile char *p = OLD;
	int sig = sigsetjmp(env, 1);
	if (sig == 0) {
		char c = p[0];
		printf("%s: old page readable: %c\n", who, c);
	} else {
		printf("%s: old page faults: %s\n", who, sig == SIGSEGV ? "SIGSEGV" : "SIGBUS");
	}
	unsigned char v;
	T(mincore(OLD, PAGE, &v));
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		if (strtoul(line, NULL, 16) == (unsigned long)OLD)
			n++;
	if (f)
		fclose(f);
	printf("%s: maps lines at the old address: %d\n", who, n);
}

/* busy makes syscalls and vDSO calls, enough for systrap to patch the
 * sites it can. */
static void busy(const char *who) {
	long ok = 0;
	pid_t pp = getppid();
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 200; i++) {
		ok += getppid() == pp;
		ok += syscall(SYS_getppid) == pp;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%s: %ld of 400 getppid right, clock %s\n", who, ok,
	       b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec) ? "monotonic" : "backwards");
}

static void *thread(void *arg) { return arg; }

static void run(char *self, char *dir, char *mode) {
	char *args[] = {self, dir, mode, NULL};
	execv("/proc/self/exe", args);
	printf("execv: %s\n", ename(errno));
	exit(1);
}

static void waitchild(pid_t pid) {
	int st;
	fflush(stdout);
	if (waitpid(pid, &st, 0) != pid)
		printf("waitpid: %s\n", ename(errno));
	else if (WIFEXITED(st))
		printf("child exited %d\n", WEXITSTATUS(st));
	else
		printf("child killed by %d\n", WTERMSIG(st));
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 2) {
		probe(argv[2]);
		busy(argv[2]);
		return 0;
	}
	char *p = mmap(OLD, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != OLD) {
		printf("mmap: %s\n", ename(errno));
		return 1;
	}
	strcpy(p, "secret");
	busy("old");

	/* A forked child: one thread, its process kept. */
	pid_t pid = fork();
	if (pid == 0) {
		busy("child before exec");
		run(argv[0], argv[1], "forked child");
	}
	waitchild(pid);

	/* Failed execs leave the old program as it was. */
	pid = fork();
	if (pid == 0) {
		char *args[] = {"nothing", NULL};
		T(execv("/nonexistent/program", args));
		int fd = open("notelf", O_CREAT | O_WRONLY, 0755);
		write(fd, "\x7f" "ELF-not-really", 15);
		close(fd);
		T(execv("notelf", args));
		printf("after failed execs: %s\n", OLD);
		busy("after failed execs");
		run(argv[0], argv[1], "after failed execs");
	}
	waitchild(pid);

	/* A process that has had a second thread. */
	pid = fork();
	if (pid == 0) {
		pthread_t t;
		pthread_create(&t, NULL, thread, NULL);
		pthread_join(t, NULL);
		run(argv[0], argv[1], "threaded");
	}
	waitchild(pid);

	/* The sandbox's first process itself. */
	run(argv[0], argv[1], "first process");
}
