// storm: allocation storms that must end with an error, not a dead host.
#define _GNU_SOURCE
// usage: storm mmap|brk|mremap|shm|fork|write PATH [sparse]|cpu
// Each mode allocates until the sandbox refuses, reports how far it got in
// MiB and the errno, and exits 0 if the errno is the expected one.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MiB (1L << 20)

static void touch(char *p, long n) {
	for (long i = 0; i < n; i += 4096)
		p[i] = 1;
}

static int report(const char *what, long mib, int err, int want) {
	printf("%s: %s after %ld MiB\n", what, strerror(err), mib);
	return err == want ? 0 : 1;
}

// storm_mmap maps and touches 1 MiB at a time with flags.
static int storm_mmap(const char *what, int flags) {
	for (long mib = 0;; mib++) {
		char *p = mmap(0, MiB, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return report(what, mib, errno, ENOMEM);
		touch(p, MiB);
	}
}

static int storm_brk(void) {
	for (long mib = 0;; mib++) {
		char *p = sbrk(MiB);
		if (p == (void *)-1)
			return report("brk", mib, errno, ENOMEM);
		touch(p, MiB);
	}
}

static int storm_mremap(void) {
	long n = MiB;
	char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (;;) {
		char *q = mremap(p, n, n + 16 * MiB, MREMAP_MAYMOVE);
		if (q == MAP_FAILED)
			return report("mremap", n / MiB, errno, ENOMEM);
		p = q;
		n += 16 * MiB;
		touch(p, n);
	}
}

// storm_write writes 1 MiB at a time into path; sparse first makes it a
// 64 GiB hole, which costs nothing, so that the writes fill the hole.
static int storm_write(const char *path, int sparse) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		perror("open");
		return 1;
	}
	if (sparse && ftruncate(fd, 64L << 30) != 0) {
		perror("ftruncate");
		return 1;
	}
	static char buf[MiB];
	memset(buf, 'x', sizeof buf);
	for (long mib = 0;; mib++) {
		ssize_t w = write(fd, buf, sizeof buf);
		if (w != sizeof buf) {
			int err = w < 0 ? errno : ENOSPC;
			int rc = report("write", mib, err, ENOSPC);
			// The space comes back when the file goes.
			close(fd);
			unlink(path);
			fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
			if (fd < 0 || write(fd, buf, sizeof buf) != sizeof buf) {
				printf("no space after unlink: %s\n", strerror(errno));
				return 1;
			}
			return rc;
		}
	}
}

// storm_fork holds 100 MiB and forks children that keep a copy until the
// fork fails; the children must still be alive and answer afterwards.
static int storm_fork(void) {
	char *p = mmap(0, 100 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return report("mmap 100 MiB", 0, errno, 0);
	touch(p, 100 * MiB);
	pid_t kids[64];
	int n = 0, err = 0;
	int fds[2];
	pipe(fds);
	for (; n < 64; n++) {
		pid_t pid = fork();
		if (pid < 0) {
			err = errno;
			break;
		}
		if (pid == 0) {
			touch(p, 100 * MiB);
			char c;
			read(fds[0], &c, 1);  // wait for the parent's word
			_exit(p[4096] == 1 ? 7 : 1);
		}
		kids[n] = pid;
	}
	printf("fork: %s after %d children\n", strerror(err), n);
	int alive = 0;
	for (int i = 0; i < n; i++)
		write(fds[1], "x", 1);
	for (int i = 0; i < n; i++) {
		int st;
		if (waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) && WEXITSTATUS(st) == 7)
			alive++;
	}
	printf("children that answered: %d\n", alive);
	return err == ENOMEM && alive == n ? 0 : 1;
}

static volatile int xcpu;

static void on_xcpu(int sig) {
	write(1, "SIGXCPU\n", 8);
	xcpu = 1;
}

// storm_cpu spins with RLIMIT_CPU soft 1 s, hard 2 s, making no syscalls
// until SIGXCPU. Then it reads its CPU clock now and then: SIGKILL must
// come at the hard limit, and a process still alive half a second of CPU
// time past it says so. CPU time, not wall time, is what the limit
// counts, so this holds however loaded the machine is.
static int storm_cpu(void) {
	struct rlimit rl = {1, 2};
	if (setrlimit(RLIMIT_CPU, &rl) < 0) {
		perror("setrlimit");
		return 1;
	}
	signal(SIGXCPU, on_xcpu);
	for (volatile unsigned long i = 0;; i++) {
		if (xcpu && i % (1 << 22) == 0) {
			struct timespec ts;
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
			if (ts.tv_sec * 1000000000L + ts.tv_nsec >= 2500000000L) {
				printf("alive at 2.5 s of CPU time, past the hard limit\n");
				return 1;
			}
		}
	}
}

int main(int argc, char **argv) {
	setvbuf(stdout, 0, _IONBF, 0);
	if (argc < 2)
		return 2;
	if (!strcmp(argv[1], "mmap"))
		return storm_mmap("mmap", MAP_PRIVATE);
	if (!strcmp(argv[1], "shm"))
		return storm_mmap("shared mmap", MAP_SHARED);
	if (!strcmp(argv[1], "brk"))
		return storm_brk();
	if (!strcmp(argv[1], "mremap"))
		return storm_mremap();
	if (!strcmp(argv[1], "write") && argc > 2)
		return storm_write(argv[2], argc > 3 && !strcmp(argv[3], "sparse"));
	if (!strcmp(argv[1], "fork"))
		return storm_fork();
	if (!strcmp(argv[1], "cpu"))
		return storm_cpu();
	return 2;
}
