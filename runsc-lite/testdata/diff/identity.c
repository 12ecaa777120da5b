/* Identity: uids, gids, groups, pids. Only relations are printed, so the
 * output does not depend on who runs it. */
#include "common.h"
#include <grp.h>

int main(int argc, char **argv) {
	setup(argc, argv);
	uid_t r, e, s;
	gid_t gr, ge, gs;
	CHECK(getuid() == geteuid());
	CHECK(getgid() == getegid());
	T(getresuid(&r, &e, &s));
	CHECK(r == getuid() && e == geteuid() && s == e);
	T(getresgid(&gr, &ge, &gs));
	CHECK(gr == getgid() && ge == getegid() && gs == ge);
	T(getresuid(BAD, &e, &s));
	T(getresgid(&gr, &ge, BAD));

	gid_t groups[256];
	int n = getgroups(0, NULL);
	CHECK(n >= 0);
	T(getgroups(256, groups) == n);
	/* a buffer too small for the list (size 0 only counts) */
	CHECK(n < 2 || (getgroups(n - 1, groups) == -1 && errno == EINVAL));
	CHECK(n < 1 || (getgroups(n, BAD) == -1 && errno == EFAULT));
	T(getgroups(-1, groups));

	/* setting ids to their current values is always allowed */
	T(setuid(geteuid()));
	T(setgid(getegid()));
	T(setresuid(-1, -1, -1));
	T(setresgid(-1, -1, -1));
	T(setreuid(-1, -1));
	T(setregid(-1, -1));
	CHECK(getuid() == r && geteuid() == e);
	T(setfsuid(-1) == (int)geteuid());
	T(setfsgid(-1) == (int)getegid());

	/* pids */
	pid_t pid = getpid();
	CHECK(pid > 0);
	CHECK(getppid() >= 0);
	CHECK(getppid() != pid);
	CHECK(syscall(SYS_gettid) == pid);
	CHECK(getpgid(0) == getpgrp());
	CHECK(getpgid(pid) == getpgrp());
	CHECK(getsid(0) == getsid(pid));
	/* the caller's session may be 0 (a container's); a new one is ours */
	CHECK(getsid(0) >= 0);
	pid_t child = fork();
	if (child == 0)
		_exit(setsid() == getpid() && getsid(0) == getpid() ? 0 : 1);
	int status;
	CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	T(getpgid(-1));
	T(kill(pid, 0));
	T(kill(0x3fffffff, 0));
	T(kill(pid, 999));
	return 0;
}
