/* nropen: /proc/sys/fs/nr_open written (needs a root host; only its own
 * value is written, so the host's stays): root's writes of values outside
 * 64..the largest, of negative numbers and of text are EINVAL, its own
 * value is taken; another user's open for writing is EACCES, reading works;
 * root of a user namespace whose root is the real root writes it, one
 * mapped to another user is refused (sysctl's test_perm: the file's owner
 * is the global root). Values past Linux's default are taken, up to
 * sysctl_nr_open_max (INT_MAX rounded down to a multiple of BITS_PER_LONG);
 * nr_open lowered below a hard RLIMIT_NOFILE leaves it, and the
 * descriptors above, in place but refuses (EPERM) a setrlimit past it.
 * The host's own value is put back by the parent whatever the child that
 * changes it does. */
#include "common.h"
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define NR_OPEN "/proc/sys/fs/nr_open"

/* orig is the value nr_open had. */
static unsigned long orig;

static void read_value(const char *who) {
	char buf[32] = {0};
	int fd = open(NR_OPEN, O_RDONLY);
	if (fd < 0) {
		printf("%s: open for reading: %s\n", who, ename(errno));
		return;
	}
	read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("%s: reads %s", who, buf);
}

/* in_userns runs, in a child, the write of the value back as root of a
 * new user namespace whose root is uid outside (the child becomes it
 * first, so that it may map itself). */
static void in_userns(const char *value, unsigned outside) {
	pid_t p = fork();
	if (p == 0) {
		if (outside && (setgroups(0, NULL) || setresgid(outside, outside, outside) || setresuid(outside, outside, outside)))
			_exit(1);
		prctl(PR_SET_DUMPABLE, 1); /* its /proc/self files are its own again */
		if (unshare(CLONE_NEWUSER)) {
			printf("unshare: %s\n", ename(errno));
			_exit(1);
		}
		char map[32];
		snprintf(map, sizeof map, "0 %u 1", outside);
		put_text("/proc/self/setgroups", "deny");
		if (put_text("/proc/self/uid_map", map) < 0 || put_text("/proc/self/gid_map", map) < 0) {
			printf("maps: %s\n", ename(errno));
			_exit(1);
		}
		printf("user namespace, root is %s:\n", outside ? "another user" : "root");
		read_value("  root");
		T(put_text(NR_OPEN, value));
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* res prints a call's result, saved in r and e. */
static void res(const char *what, int r, int e) {
	printf("%s = %d %s\n", what, r, r ? ename(e) : "");
}

/* beyond raises nr_open past its value, up to the largest, then lowers
 * it below the hard RLIMIT_NOFILE, which stays, with the descriptors
 * above it; setrlimit keeping the hard limit past nr_open is EPERM, at
 * it is taken. lim is the hard limit, a multiple of 64 at most the
 * original nr_open; only it and the values printed relative to it show,
 * as the host's and the sandbox's limits differ. The host's nr_open is
 * below its value only between the two writes, without a print. */
static void beyond(const char *value) {
	char big[32], low[32];
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	unsigned long lim = (rl.rlim_max < orig ? rl.rlim_max : orig) & ~63UL;
	CHECK(lim >= 4096);
	rl.rlim_cur = rl.rlim_max = lim;
	T(setrlimit(RLIMIT_NOFILE, &rl));
	T(dup2(0, lim - 1) == (int)lim - 1);
	snprintf(big, sizeof big, "%lu", orig + 65536);
	T(put_text(NR_OPEN, "2147483584"));
	read_value("after the largest");
	T(put_text(NR_OPEN, big));
	read_value("after its value + 65536");

	snprintf(low, sizeof low, "%lu", lim - 64);
	struct rlimit same = {1024, lim}, at = {1024, lim - 64};
	int lowered = put_text(NR_OPEN, low);
	int r1 = setrlimit(RLIMIT_NOFILE, &same), e1 = errno;
	int r2 = setrlimit(RLIMIT_NOFILE, &at), e2 = errno;
	int r3 = setrlimit(RLIMIT_NOFILE, &same), e3 = errno;
	int back = put_text(NR_OPEN, value);
	printf("nr_open lowered below the hard limit: %d, back: %d\n", lowered > 0, back > 0);
	res("setrlimit(RLIMIT_NOFILE, {1024, the hard limit}) past nr_open", r1, e1);
	res("setrlimit(RLIMIT_NOFILE, {1024, nr_open})", r2, e2);
	res("setrlimit(RLIMIT_NOFILE, {1024, the old hard limit}) back", r3, e3);
	printf("descriptor above nr_open kept: %d\n", fcntl(lim - 1, F_GETFD) >= 0);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	char value[32] = {0};
	int fd = open(NR_OPEN, O_RDONLY);
	if (fd < 0 || read(fd, value, sizeof value - 1) <= 0) {
		printf("read nr_open: %s\n", ename(errno));
		return 0;
	}
	close(fd);
	printf("nr_open: %s", value);
	struct stat sb;
	if (stat(NR_OPEN, &sb) == 0)
		printf("mode %o, owner %u:%u\n", sb.st_mode & 07777, sb.st_uid, sb.st_gid);
	T(put_text(NR_OPEN, "63"));
	T(put_text(NR_OPEN, "0"));
	T(put_text(NR_OPEN, "-1"));
	T(put_text(NR_OPEN, "2147483585"));
	T(put_text(NR_OPEN, "4294967296"));
	T(put_text(NR_OPEN, "many"));
	read_value("after the refusals");
	T(put_text(NR_OPEN, value));
	read_value("after its own value");
	orig = strtoul(value, NULL, 10);
	pid_t b = fork();
	if (b == 0) {
		beyond(value);
		_exit(0);
	}
	int status = 0;
	waitpid(b, &status, 0);
	/* Put back, whatever the child did. */
	if (put_text(NR_OPEN, value) < 0)
		printf("restoring nr_open: %s\n", ename(errno));
	printf("the child: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	read_value("restored");

	pid_t p = fork();
	if (p == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		read_value("nobody");
		T(put_text(NR_OPEN, value));
		_exit(0);
	}
	waitpid(p, NULL, 0);
	in_userns(value, 0);
	in_userns(value, 1000);
	return 0;
}
