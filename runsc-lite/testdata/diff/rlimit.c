// rlimit: RLIMIT_AS, RLIMIT_DATA and RLIMIT_CPU as Linux enforces them:
// mmap, mremap and brk beyond the limits fail with ENOMEM, children
// inherit the limits, CPU time shows in getrusage and clock_gettime.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1L << 20)

static void try_mmap(const char *what, long len, int prot, int flags) {
	void *p = mmap(0, len, prot, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("%s: %s\n", what, strerror(errno));
		return;
	}
	printf("%s: ok\n", what);
	munmap(p, len);
}

static void set(int res, rlim_t cur, rlim_t max, const char *what) {
	struct rlimit rl = {cur, max};
	int r = setrlimit(res, &rl);
	printf("setrlimit %s: %d %s\n", what, r, r ? strerror(errno) : "");
}

int main(void) {
	setvbuf(stdout, 0, _IONBF, 0);
	struct rlimit rl;
	getrlimit(RLIMIT_AS, &rl);
	printf("AS infinite: %d %d\n", rl.rlim_cur == RLIM_INFINITY, rl.rlim_max == RLIM_INFINITY);

	set(RLIMIT_AS, 512 * MiB, RLIM_INFINITY, "AS 512M");
	try_mmap("mmap 1G rw", 1024 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	try_mmap("mmap 1G none", 1024 * MiB, PROT_NONE, MAP_PRIVATE);
	try_mmap("mmap 64M rw", 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	char *p = mmap(0, 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q = mremap(p, 64 * MiB, 1024 * MiB, MREMAP_MAYMOVE);
	printf("mremap to 1G: %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
	q = mremap(p, 64 * MiB, 128 * MiB, MREMAP_MAYMOVE);
	printf("mremap to 128M: %s\n", q == MAP_FAILED ? strerror(errno) : "ok");
	if (q != MAP_FAILED)
		p = q;
	munmap(p, 128 * MiB);
	void *b = sbrk(1024 * MiB);
	printf("sbrk 1G: %s\n", b == (void *)-1 ? strerror(errno) : "ok");

	pid_t pid = fork();
	if (pid == 0) {
		try_mmap("child mmap 1G", 1024 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
		_exit(0);
	}
	waitpid(pid, 0, 0);
	set(RLIMIT_AS, RLIM_INFINITY, RLIM_INFINITY, "AS infinity");
	try_mmap("mmap 1G rw again", 1024 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);

	set(RLIMIT_DATA, 32 * MiB, RLIM_INFINITY, "DATA 32M");
	try_mmap("data mmap 64M rw", 64 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	try_mmap("data mmap 64M ro", 64 * MiB, PROT_READ, MAP_PRIVATE);
	try_mmap("data mmap 64M shared", 64 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED);
	b = sbrk(64 * MiB);
	printf("sbrk 64M: %s\n", b == (void *)-1 ? strerror(errno) : "ok");
	b = sbrk(MiB);
	printf("sbrk 1M: %s\n", b == (void *)-1 ? strerror(errno) : "ok");
	p = mmap(0, 64 * MiB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int r = mprotect(p, 64 * MiB, PROT_READ | PROT_WRITE);
	printf("mprotect 64M writable: %s\n", r ? strerror(errno) : "ok");
	set(RLIMIT_DATA, RLIM_INFINITY, RLIM_INFINITY, "DATA infinity");

	set(RLIMIT_CPU, 100, 200, "CPU 100 200");
	getrlimit(RLIMIT_CPU, &rl);
	printf("CPU: %lu %lu\n", (unsigned long)rl.rlim_cur, (unsigned long)rl.rlim_max);

	// Spin 200 ms of CPU time: getrusage and the CPU clock see it.
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do
		clock_gettime(CLOCK_MONOTONIC, &t1);
	while ((t1.tv_sec - t0.tv_sec) * 1000000000L + t1.tv_nsec - t0.tv_nsec < 200000000L);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	long us = ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec;
	printf("rusage at least 100 ms: %d\n", us >= 100000);
	struct timespec cpu;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
	printf("cpu clock at least 100 ms: %d\n", cpu.tv_sec > 0 || cpu.tv_nsec >= 100000000L);
	return 0;
}
