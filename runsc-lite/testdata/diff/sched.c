/* Scheduling and process attributes: getpriority/setpriority,
 * capget/capset, sched_rr_get_interval, personality, chroot, and the hints
 * fadvise64/readahead/sync_file_range, which only validate, and mlock*,
 * whose locks show in /proc/self/status's VmLck. */
#include "common.h"
#include <linux/capability.h>
#include <sched.h>
#include <sys/mman.h>
#include <poll.h>
#include <sys/personality.h>
#include <sys/select.h>
#include <sys/resource.h>
#include <sys/wait.h>

static long rawprio(int which, int who) { return syscall(SYS_getpriority, which, who); }

static void priorities(void) {
	CHECK(getpriority(PRIO_PROCESS, 0) >= -20 && getpriority(PRIO_PROCESS, 0) <= 19);
	T(setpriority(PRIO_PROCESS, 0, 5));
	T(getpriority(PRIO_PROCESS, 0));
	T(rawprio(PRIO_PROCESS, 0));
	T(getpriority(PRIO_PROCESS, getpid()));
	T(setpriority(PRIO_PROCESS, 0, 100));
	T(getpriority(PRIO_PROCESS, 0));
	T(setpriority(PRIO_PROCESS, 0, -100));
	T(rawprio(PRIO_PROCESS, 0));
	T(setpriority(PRIO_PROCESS, 0, 3));
	T(setpriority(PRIO_PGRP, 0, 4));
	T(getpriority(PRIO_PGRP, 0));
	T(getpriority(PRIO_PGRP, getpgrp()));
	T(rawprio(3, 0));
	T(setpriority(3, 0, 1));
	T(rawprio(PRIO_PROCESS, 999999));
	T(setpriority(PRIO_PROCESS, 999999, 1));
	T(rawprio(PRIO_PGRP, 999999));
	T(rawprio(PRIO_USER, 54321));
	T(rawprio(PRIO_PROCESS, -1));
	/* A child inherits the nice value; its change is its own. */
	T(setpriority(PRIO_PROCESS, 0, 7));
	pid_t pid = fork();
	if (pid == 0) {
		printf("child nice %d\n", getpriority(PRIO_PROCESS, 0));
		setpriority(PRIO_PROCESS, 0, 9);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	T(getpriority(PRIO_PROCESS, 0));
	T(setpriority(PRIO_PROCESS, 0, 0));
}

static void caps(void) {
	struct __user_cap_header_struct h = {0x12345678, 0};
	struct __user_cap_data_struct d[2];
	T(syscall(SYS_capget, &h, d));
	printf("preferred version %#x\n", h.version);
	h.version = 0x12345678;
	T(syscall(SYS_capget, &h, NULL));
	printf("preferred version %#x\n", h.version);
	h.version = _LINUX_CAPABILITY_VERSION_3;
	T(syscall(SYS_capget, &h, d));
	CHECK(d[0].effective == d[0].permitted && d[1].effective == d[1].permitted);
	CHECK(d[0].inheritable == 0 && d[1].inheritable == 0);
	CHECK(d[0].effective & (1u << CAP_SYS_NICE));
	CHECK(d[0].effective & (1u << CAP_SYS_CHROOT));
	CHECK(d[0].effective & (1u << CAP_SETPCAP));
	h.pid = 999999;
	T(syscall(SYS_capget, &h, d));
	h.pid = -1;
	T(syscall(SYS_capget, &h, d));
	h.pid = 0;
	T(syscall(SYS_capget, BAD, d));
	T(syscall(SYS_capget, &h, BAD));
	/* capset: in a child, drop CAP_SYS_NICE and try to get it back. */
	pid_t pid = fork();
	if (pid == 0) {
		struct __user_cap_data_struct n[2];
		struct __user_cap_header_struct hh = {_LINUX_CAPABILITY_VERSION_3, 0};
		syscall(SYS_capget, &hh, n);
		unsigned full = n[0].permitted;
		n[0].effective &= ~(1u << CAP_SYS_NICE);
		T(syscall(SYS_capset, &hh, n));
		syscall(SYS_capget, &hh, n);
		CHECK(!(n[0].effective & (1u << CAP_SYS_NICE)) && (n[0].permitted & (1u << CAP_SYS_NICE)));
		n[0].effective = full;
		T(syscall(SYS_capset, &hh, n));
		n[0].permitted &= ~(1u << CAP_SYS_NICE);
		n[0].effective = n[0].permitted;
		T(syscall(SYS_capset, &hh, n));
		n[0].permitted = full;
		T(syscall(SYS_capset, &hh, n));
		n[0].permitted &= ~(1u << CAP_SYS_NICE);
		n[0].effective = full;
		T(syscall(SYS_capset, &hh, n));
		n[0].effective = n[0].permitted;
		n[0].inheritable = 1u << CAP_CHOWN;
		T(syscall(SYS_capset, &hh, n));
		syscall(SYS_capget, &hh, n);
		CHECK(n[0].inheritable == 1u << CAP_CHOWN);
		hh.pid = getppid();
		T(syscall(SYS_capset, &hh, n));
		hh.pid = 0;
		hh.version = 1;
		T(syscall(SYS_capset, &hh, n));
		printf("preferred version %#x\n", hh.version);
		/* Leaving uid 0 everywhere drops every capability. */
		T(setresuid(1000, 1000, 1000));
		hh.version = _LINUX_CAPABILITY_VERSION_3;
		T(syscall(SYS_capget, &hh, n));
		CHECK(n[0].effective == 0 && n[0].permitted == 0 && n[1].permitted == 0);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child status %d\n", WEXITSTATUS(st));
}

/* sticky: under STICKY_TIMEOUTS select, pselect6 and ppoll leave their
 * timeout as it was; otherwise they write back the time left (none, once
 * it ran out). */
static void sticky(void) {
	int p[2];
	if (pipe(p) != 0)
		return;
	for (int k = 0; k < 2; k++) {
		T(personality(k ? PER_LINUX | STICKY_TIMEOUTS : PER_LINUX));
		fd_set r;
		FD_ZERO(&r);
		FD_SET(p[0], &r);
		struct timeval tv = {0, 10};
		T(select(p[0] + 1, &r, NULL, NULL, &tv));
		printf("select's timeval after: %ld %ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
		FD_SET(p[0], &r);
		struct timespec ts = {0, 10000};
		T(syscall(SYS_pselect6, p[0] + 1, &r, NULL, NULL, &ts, NULL)); /* glibc's pselect passes a copy */
		printf("pselect's timespec after: %ld %ld\n", (long)ts.tv_sec, ts.tv_nsec);
		struct pollfd pfd = {.fd = p[0], .events = POLLIN};
		ts = (struct timespec){0, 10000};
		T(syscall(SYS_ppoll, &pfd, 1, &ts, NULL, 8));
		printf("ppoll's timespec after: %ld %ld\n", (long)ts.tv_sec, ts.tv_nsec);
	}
	T(personality(PER_LINUX));
	close(p[0]);
	close(p[1]);
}

static void misc(const char *dir) {
	struct timespec ts;
	T(sched_rr_get_interval(0, &ts));
	CHECK(ts.tv_sec == 0);
	T(sched_rr_get_interval(-1, &ts));
	T(sched_rr_get_interval(999999, &ts));
	T(sched_rr_get_interval(0, BAD));

	T(personality(0xffffffff));
	T(personality(PER_LINUX));
	T(personality(ADDR_NO_RANDOMIZE));
	T(personality(0xffffffff));
	T(personality(PER_LINUX));
	T(personality(0xffffffff));
	sticky();

	/* chroot, in a child so that the rest keeps its root. */
	mkdir("jail", 0755);
	mkdir("jail/sub", 0755);
	int fd = open("jail/file", O_CREAT | O_WRONLY, 0644);
	write(fd, "x", 1);
	close(fd);
	T(chroot("missing"));
	T(chroot("jail/file"));
	T(chroot("jail/file/x"));
	T(chroot(""));
	T(chroot(BAD));
	pid_t pid = fork();
	if (pid == 0) {
		T(chroot("jail"));
		T(access("/file", F_OK));
		T(access("/sub", F_OK));
		T(chdir("/"));
		T(access("file", F_OK));
		T(chdir(".."));
		T(access("file", F_OK));
		char cwd[256];
		CHECK(getcwd(cwd, sizeof cwd) != NULL && strcmp(cwd, "/") == 0);
		T(setresuid(1000, 1000, 1000));
		T(chroot("sub"));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child status %d\n", WEXITSTATUS(st));
}

/* vmlck is /proc/self/status's VmLck, in kB. */
static long vmlck(void) {
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmLck: %ld", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static void hints(void) {
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	write(fd, "hello", 5);
	int p[2];
	pipe(p);
	T(posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL) == 0 ? 0 : -1);
	T(syscall(SYS_fadvise64, fd, 0, 0, POSIX_FADV_DONTNEED));
	T(syscall(SYS_fadvise64, fd, 0, 0, 99));
	T(syscall(SYS_fadvise64, fd, 0, -1, POSIX_FADV_NORMAL));
	T(syscall(SYS_fadvise64, p[0], 0, 0, POSIX_FADV_NORMAL));
	T(syscall(SYS_fadvise64, 999, 0, 0, POSIX_FADV_NORMAL));
	T(readahead(fd, 0, 4096));
	T(readahead(p[0], 0, 4096));
	T(readahead(999, 0, 4096));
	int wo = open("f", O_WRONLY);
	T(readahead(wo, 0, 4096));
	int d = open(".", O_RDONLY | O_DIRECTORY);
	T(readahead(d, 0, 4096));
	T(syscall(SYS_fadvise64, d, 0, 0, POSIX_FADV_WILLNEED));
	T(sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE));
	T(sync_file_range(fd, 0, 0, 0x80));
	T(sync_file_range(fd, -1, 0, 0));
	T(sync_file_range(fd, 1, -2, 0));
	T(sync_file_range(p[1], 0, 0, 0));
	T(sync_file_range(999, 0, 0, 0));
	T(sync_file_range(d, 0, 0, 0));
	close(p[0]);
	close(p[1]);
	close(wo);
	close(d);
	close(fd);

	char *m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T(mlock(m, 4096));
	T(mlock(m + 10, 4096));
	T(munlock(m, 3 * 4096));
	T(mlock(m, 0));
	T(munmap(m + 4096, 4096));
	T(mlock(m, 3 * 4096));
	T(munlock(m, 3 * 4096));
	T(mlock(m + 8192, 4096));
	T(syscall(SYS_mlock2, m, 4096, 0));
	T(syscall(SYS_mlock2, m, 4096, 1));
	T(syscall(SYS_mlock2, m, 4096, 2));
	T(mlock((void *)-4096, 8192));
	T(mlockall(MCL_CURRENT));
	T(mlockall(MCL_CURRENT | MCL_FUTURE));
	T(mlockall(0));
	T(mlockall(MCL_ONFAULT));
	T(mlockall(0x100));
	T(munlockall());
	T(mprotect(m, 4096, PROT_NONE));
	T(mlock(m, 4096));
	T(munlock(m, 4096));
	T(syscall(SYS_mlock2, m, 4096, MLOCK_ONFAULT));
	T(mlockall(MCL_CURRENT));
	T(munlockall());

	/* VmLck counts the locked pages: once each, whatever locks them. */
	long base = vmlck();
	char *l = mmap(NULL, 8 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T(mlock(l, 4 * 4096));
	printf("VmLck grew by %ld kB\n", vmlck() - base);
	T(mlock(l, 4 * 4096));
	T(syscall(SYS_mlock2, l + 2 * 4096, 4 * 4096, MLOCK_ONFAULT));
	printf("VmLck grew by %ld kB\n", vmlck() - base);
	T(munlock(l + 4096, 4096));
	printf("VmLck grew by %ld kB\n", vmlck() - base);
	T(munmap(l, 8 * 4096));
	printf("VmLck grew by %ld kB\n", vmlck() - base);
	char *ml = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, -1, 0);
	printf("MAP_LOCKED: VmLck grew by %ld kB\n", vmlck() - base);
	munmap(ml, 2 * 4096);
	pid_t pid = fork();
	if (pid == 0) {
		T(mlockall(MCL_CURRENT | MCL_FUTURE));
		char *f = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(vmlck() > 0);
		T(munlockall());
		printf("after munlockall %ld kB\n", vmlck());
		exit(0);
	}
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	priorities();
	caps();
	misc(argv[1]);
	hints();
	return 0;
}
