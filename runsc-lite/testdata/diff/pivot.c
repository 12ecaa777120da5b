/* pivot_root(2) and move mounts (mount(2) with MS_MOVE): a mount moved
 * with the mounts on it; pivot_root to a tmpfs with the old root on
 * put_old, the root and working directory moved, the old root unmounted;
 * runc's pivot_root(".", ".") then umount2(".", MNT_DETACH); errnos.
 * Natively the program first moves into a private mount namespace of its
 * own (mountns.h), and each pivot happens in a child's namespace of its
 * own. Needs root. */
#include "common.h"
#include "mountns.h"
#include <sys/mount.h>
#include <sys/wait.h>

/* mounted prints how many lines /proc/self/mountinfo has for dir, named
 * by label. */
static void mountedAs(const char *dir, const char *label) {
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	int n = 0;
	while (f && fgets(line, sizeof line, f)) {
		char point[4096];
		if (sscanf(line, "%*d %*d %*s %*s %4095s", point) == 1 && strcmp(point, dir) == 0)
			n++;
	}
	if (f)
		fclose(f);
	printf("mounts at %s: %d\n", label, n);
}

static void mounted(const char *dir) { mountedAs(dir, dir); }

static int pivot(const char *newRoot, const char *putOld) {
	return syscall(SYS_pivot_root, newRoot, putOld);
}

/* child runs f in a forked child with a mount namespace of its own, and
 * waits for it. */
static void child(void (*f)(const char *), const char *dir) {
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) != 0) {
			printf("unshare: %s\n", ename(errno));
			_exit(1);
		}
		f(dir);
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child status %#x\n", status);
}

static void pivotToTmpfs(const char *dir) {
	char cwd[4096];
	T(chdir("new"));
	T(pivot(".", "old"));
	printf("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : ename(errno));
	list("/");
	struct stat st;
	snprintf(cwd, sizeof cwd, "/old%s", dir);
	T(stat(cwd, &st));
	T(chdir("/"));
	T(umount2("/old", MNT_DETACH));
	list("/old");
	T(mkdir("/proc", 0755));
	T(mount("proc", "/proc", "proc", 0, NULL));
	mounted("/");
	T(stat(cwd, &st));
}

static void pivotDot(const char *dir) {
	char cwd[4096];
	T(chdir("new"));
	T(pivot(".", "."));
	T(umount2(".", MNT_DETACH));
	T(chdir("/"));
	printf("cwd: %s\n", getcwd(cwd, sizeof cwd) ? cwd : ename(errno));
	list("/");
	T(mount("proc", "/proc", "proc", 0, NULL));
	mounted("/");
	(void)dir;
}

/* pivotErrors first pivots into a tmpfs of its own, so that the mounts
 * the errors depend on are the program's, then tries what pivot_root
 * refuses. */
static void pivotErrors(const char *dir) {
	T(chdir("new"));
	T(pivot(".", "old"));
	T(chdir("/"));
	T(umount2("/old", MNT_DETACH));
	T(mkdir("/plain", 0755));
	T(mkdir("/plain/old", 0755));
	T(mkdir("/elsewhere", 0755));
	T(mkdir("/other", 0755));
	T(mount("none", "/other", "tmpfs", 0, NULL));
	T(mkdir("/n2", 0755));
	T(mount("none", "/n2", "tmpfs", 0, NULL));
	T(mkdir("/n2/old", 0755));
	T(mkdir("/n2/d", 0755));
	T(close(open("/n2/file", O_CREAT | O_WRONLY, 0644)));
	T(pivot("/n2", "/elsewhere"));  /* put_old on the root's mount */
	T(pivot("/plain", "/plain/old")); /* new_root on the root's mount */
	T(pivot("/n2", "/other"));      /* put_old not below new_root */
	T(pivot("/n2/d", "/n2/d"));     /* new_root not a mount's root */
	T(pivot("/n2", "/n2/file"));    /* put_old not a directory */
	T(pivot("/n2", "/n2/missing"));
	T(pivot("/n2/file", "/n2/old"));
	pid_t pid = fork();
	if (pid == 0) {
		T(setresuid(1000, 1000, 1000));
		T(pivot("/n2", "/n2/old"));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	/* Chrooted below a mount's root. */
	T(chroot("/n2/d"));
	T(pivot("/", "/"));
	(void)dir;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (privateMounts() != 0)
		return 1;
	T(mkdir("a", 0755));
	T(mkdir("b", 0755));
	T(mkdir("plain", 0755));

	/* A move takes the mounts on the moved one along. */
	T(mount("none", "a", "tmpfs", 0, NULL));
	T(mkdir("a/sub", 0755));
	T(mount("none", "a/sub", "tmpfs", 0, NULL));
	T(close(open("a/sub/inner", O_CREAT | O_WRONLY, 0644)));
	T(mount("a", "b", NULL, MS_MOVE, NULL));
	list("a");
	list("b/sub");
	char p[4200];
	snprintf(p, sizeof p, "%s/b/sub", argv[1]);
	mountedAs(p, "b/sub");
	snprintf(p, sizeof p, "%s/a", argv[1]);
	mountedAs(p, "a");
	T(mount("b", "b/sub", NULL, MS_MOVE, NULL)); /* below itself */
	T(mount("plain", "a", NULL, MS_MOVE, NULL)); /* not a mount */
	T(mount("b/sub", "a/../b/sub/inner", NULL, MS_MOVE, NULL));
	T(mount(NULL, "a", NULL, MS_MOVE, NULL));
	T(umount("b/sub"));
	T(umount("b"));

	T(mkdir("new", 0755));
	T(mount("none", "new", "tmpfs", 0, NULL));
	T(mkdir("new/old", 0755));
	T(mkdir("new/etc", 0755));
	T(close(open("new/file", O_CREAT | O_WRONLY, 0644)));
	child(pivotToTmpfs, argv[1]);
	child(pivotDot, argv[1]);
	child(pivotErrors, argv[1]);
	/* This namespace kept its root. */
	list("new");
	T(umount("new"));
	return 0;
}
