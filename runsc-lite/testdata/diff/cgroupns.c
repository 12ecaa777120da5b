/* Cgroup namespaces (CLONE_NEWCGROUP): unshare makes one for the caller
 * at once, clone for the child, a fork inherits it; /proc/self/cgroup
 * shows the v2 line relative to it ("0::/" where the process stays in the
 * cgroup it was made in); setns through /proc/PID/ns/cgroup and back; the
 * NS_GET_* ioctls; EPERM without CAP_SYS_ADMIN, allowed in a new user
 * namespace. Needs root. */
#include "common.h"
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

/* nsIno is the inode number of a process's cgroup namespace file. */
static unsigned long nsIno(const char *pid) {
	char p[64];
	struct stat st;
	snprintf(p, sizeof p, "/proc/%s/ns/cgroup", pid);
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

/* v2Line prints the cgroup v2 line ("0::PATH") of /proc/self/cgroup;
 * the v1 lines a host with v1 controllers adds are not the sandbox's. */
static void v2Line(const char *who) {
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[4096];
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "0::", 3) == 0)
			printf("%s: %s", who, line);
	if (f)
		fclose(f);
}

/* same prints whether two namespace inode numbers are one. */
static void same(const char *what, unsigned long a, unsigned long b) {
	printf("%s: %s\n", what, a == b ? "same" : "different");
}

static void run(void) {
	unsigned long first = nsIno("self");
	int orig = open("/proc/self/ns/cgroup", O_RDONLY);
	printf("NS_GET_NSTYPE is CLONE_NEWCGROUP: %d\n", ioctl(orig, NS_GET_NSTYPE) == CLONE_NEWCGROUP);
	T(ioctl(orig, NS_GET_PARENT));
	int owner = ioctl(orig, NS_GET_USERNS);
	struct stat a, b;
	T(fstat(owner, &a));
	T(stat("/proc/self/ns/user", &b));
	printf("owned by the caller's user namespace: %d\n", a.st_ino == b.st_ino);
	close(owner);

	/* clone: the child's own; the caller keeps its own. */
	fflush(stdout);
	pid_t pid = syscall(SYS_clone, CLONE_NEWCGROUP | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		same("clone child's namespace and the parent's", nsIno("self"), first);
		v2Line("clone child");
		fflush(stdout);
		_exit(0);
	}
	int status;
	T(waitpid(pid, &status, 0) == pid);
	printf("child status %#x\n", status);
	same("the parent's after the clone", nsIno("self"), first);

	/* unshare: the caller's at once, and its forks'. */
	T(unshare(CLONE_NEWCGROUP));
	unsigned long mine = nsIno("self");
	same("after unshare", mine, first);
	v2Line("after unshare");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		same("fork child's and ours", nsIno("self"), mine);
		fflush(stdout);
		_exit(0);
	}
	T(waitpid(pid, &status, 0) == pid);
	int made = open("/proc/self/ns/cgroup", O_RDONLY);
	owner = ioctl(made, NS_GET_USERNS);
	T(fstat(owner, &a));
	printf("the new one owned by the caller's user namespace: %d\n", a.st_ino == b.st_ino);
	close(owner);

	/* setns back and forth. */
	T(setns(orig, CLONE_NEWCGROUP));
	same("after setns to the first", nsIno("self"), first);
	T(setns(made, CLONE_NEWCGROUP));
	same("after setns to the new one", nsIno("self"), mine);
	T(setns(made, CLONE_NEWNET));
	T(setns(orig, CLONE_NEWCGROUP));

	/* Without CAP_SYS_ADMIN: EPERM, but a new user namespace's owner
	 * may; and setns into a namespace its user namespace does not own
	 * is EPERM there. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		T(setgroups(0, NULL));
		T(setresgid(65534, 65534, 65534));
		T(setresuid(65534, 65534, 65534));
		T(unshare(CLONE_NEWCGROUP));
		T(syscall(SYS_clone, CLONE_NEWCGROUP | SIGCHLD, 0, 0, 0, 0));
		T(setns(made, CLONE_NEWCGROUP));
		T(unshare(CLONE_NEWUSER | CLONE_NEWCGROUP));
		same("nobody's new one and the first", nsIno("self"), first);
		v2Line("nobody's new one");
		T(setns(orig, CLONE_NEWCGROUP));
		fflush(stdout);
		_exit(0);
	}
	T(waitpid(pid, &status, 0) == pid);
	printf("child status %#x\n", status);
	close(made), close(orig);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	run();
	return 0;
}
