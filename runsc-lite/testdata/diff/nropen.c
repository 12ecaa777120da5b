/* nropen: /proc/sys/fs/nr_open written (needs a root host; only its own
 * value is written, so the host's stays): root's writes of values outside
 * 64..the largest, of negative numbers and of text are EINVAL, its own
 * value is taken; another user's open for writing is EACCES, reading works;
 * root of a user namespace whose root is the real root writes it, one
 * mapped to another user is refused (sysctl's test_perm: the file's owner
 * is the global root). */
#include "common.h"
#include <grp.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define NR_OPEN "/proc/sys/fs/nr_open"

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
