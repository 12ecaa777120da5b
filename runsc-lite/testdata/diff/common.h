/* Shared helpers for the differential programs: each program runs natively
 * and inside runsc-lite, and both runs must print the same thing. Print only
 * deterministic facts: results, errno names, sizes, modes; never addresses,
 * pids, times or inode numbers. argv[1] is a fresh, empty directory, which
 * is also the working directory; its name must not show in the output. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>
#include <signal.h>
#include <sys/wait.h>

static const char *ename(int e) {
	const char *n = strerrorname_np(e);
	return n ? n : "E?";
}

/* codename names a siginfo si_code of signal-driven I/O. */
static const char *codename(int c) {
	switch (c) {
	case POLL_IN: return "POLL_IN";
	case POLL_OUT: return "POLL_OUT";
	case POLL_MSG: return "POLL_MSG";
	case POLL_ERR: return "POLL_ERR";
	case POLL_PRI: return "POLL_PRI";
	case POLL_HUP: return "POLL_HUP";
	case SI_KERNEL: return "SI_KERNEL";
	case SI_SIGIO: return "SI_SIGIO";
	case SI_USER: return "SI_USER";
	}
	return "?";
}

/* T(expr) prints the expression, then its result or "-1 ENAME". */
#define T(expr)                                                               \
	do {                                                                  \
		errno = 0;                                                    \
		long _r = (long)(expr);                                       \
		if (_r == -1)                                                 \
			printf("%s = -1 %s\n", #expr, ename(errno));          \
		else                                                          \
			printf("%s = %ld\n", #expr, _r);                      \
	} while (0)

/* M(expr) prints a mapping call's errno, or ok (never the address):
 * MAP_FAILED is its failure. */
#define M(expr)                                                               \
	do {                                                                  \
		errno = 0;                                                    \
		if ((void *)(expr) == (void *)-1)                             \
			printf("%s = -1 %s\n", #expr, ename(errno));          \
		else                                                          \
			printf("%s = ok\n", #expr);                           \
	} while (0)

/* sockopt_int is an int socket option's value, or -errno. */
static int sockopt_int(int fd, int level, int name) {
	int v = -1;
	unsigned l = sizeof v;
	if (syscall(SYS_getsockopt, fd, level, name, &v, &l) < 0)
		return -errno;
	return v;
}

/* sum is a position-weighted checksum of n bytes: which bytes a memory
 * operation kept, zeroed or moved shows in it. */
static long sum(const unsigned char *p, long n) {
	long s = 0;
	for (long i = 0; i < n; i++)
		s += p[i] * (i % 251 + 1);
	return s;
}

/* CHECK(cond) prints whether a fact holds. */
#define CHECK(cond) printf("%s: %s\n", #cond, (cond) ? "yes" : "NO")

#define BAD ((void *)1)

static const char *ftype(mode_t m) {
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFLNK: return "lnk";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "sock";
	}
	return "?";
}

/* put_text writes text to file in one write (a /proc or /proc/sys file):
 * the write's result, or -1 with errno (the open's or the write's). */
static int put_text(const char *file, const char *text) {
	int fd = open(file, O_WRONLY);
	if (fd < 0)
		return -1;
	int r = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/* setup line-buffers stdout, so that a crash shows how far it got. */
static void setup(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		printf("usage: PROGRAM DIR (a fresh directory)\n");
		exit(2);
	}
	/* The harness starts both runs in DIR (natively as the working
	 * directory, in the sandbox with --cwd), so that a program does not
	 * depend on chdir, which dirs.c tests. */
}

/* in_child prints what, runs fn in a forked child and waits for it,
 * printing the child's wait status unless it exited with 0. */
static void in_child(const char *what, void (*fn)(void)) {
	printf("%s\n", what);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		fn();
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("child status %x\n", st);
}
