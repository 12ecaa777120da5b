/* A /proc/PID directory opened for one process never shows another that
 * got the PID since, and has other inode numbers than the new one's (as
 * Linux's proc inode holds its struct pid). It writes
 * /proc/sys/kernel/ns_last_pid to make the PID come back: run it in the
 * sandbox, or natively in a PID namespace of its own
 * (unshare -pf --mount-proc), never in the host's. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *result(long r) {
	return r >= 0 ? "ok" : strerrorname_np(errno);
}

static pid_t child(void) {
	pid_t p = fork();
	if (p == 0) {
		pause();
		_exit(0);
	}
	return p;
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid_t a = child();
	char path[64];
	snprintf(path, sizeof path, "/proc/%d", a);
	int old = open(path, O_DIRECTORY | O_RDONLY);
	struct stat s1, s2;
	fstat(old, &s1);
	int fd = openat(old, "stat", O_RDONLY);
	printf("stat of the live process: %s\n", result(fd));
	close(fd);
	kill(a, SIGKILL);
	waitpid(a, NULL, 0);

	FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
	if (f == NULL || fprintf(f, "%d", a - 1) < 0 || fclose(f) != 0) {
		printf("ns_last_pid: %s\n", strerrorname_np(errno));
		return 1;
	}
	pid_t b = child();
	printf("the PID came back: %s\n", a == b ? "yes" : "no");
	fd = openat(old, "stat", O_RDONLY);
	printf("stat through the old directory: %s\n", result(fd));
	fd = openat(old, "task", O_RDONLY | O_DIRECTORY);
	printf("task through the old directory: %s\n", result(fd));
	char buf[4096];
	printf("listing the old directory: %s\n", result(syscall(SYS_getdents64, old, buf, sizeof buf)));
	printf("signal through the old directory: %s\n", result(syscall(SYS_pidfd_send_signal, old, 0, NULL, 0)));
	int cur = open(path, O_DIRECTORY | O_RDONLY);
	fstat(cur, &s2);
	printf("the new directory's inode is another: %s\n", s1.st_ino != s2.st_ino ? "yes" : "no");
	fd = openat(cur, "stat", O_RDONLY);
	printf("stat through the new directory: %s\n", result(fd));
	printf("signal through the new directory: %s\n", result(syscall(SYS_pidfd_send_signal, cur, 0, NULL, 0)));
	kill(b, SIGKILL);
	waitpid(b, NULL, 0);
	return 0;
}
