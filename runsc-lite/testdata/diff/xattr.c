/* setxattr/getxattr/listxattr/removexattr and their l- and f- forms:
 * flags, sizes, limits, namespaces, file types, permissions, bad pointers.
 * Listings print only user.* and trusted.* names, sorted: security.* names
 * depend on the host's LSM, and the order on the filesystem. */
#include "common.h"
#include <sys/socket.h>
#include <sys/wait.h>
#include <sys/xattr.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* list prints the user.* and trusted.* names of a listing of n bytes. */
static void list(const char *what, char *buf, long n) {
	char *names[64];
	int k = 0;
	if (n < 0) {
		printf("list %s: -1 %s\n", what, ename(errno));
		return;
	}
	for (char *p = buf; p < buf + n && k < 64; p += strlen(p) + 1)
		if (!strncmp(p, "user.", 5) || !strncmp(p, "trusted.", 8))
			names[k++] = p;
	qsort(names, k, sizeof names[0], cmp);
	printf("list %s:", what);
	for (int i = 0; i < k; i++)
		printf(" %s", names[i]);
	printf("\n");
}

/* get prints a value read with getxattr. */
static void get(const char *path, const char *name) {
	char buf[256];
	errno = 0;
	long n = getxattr(path, name, buf, sizeof buf - 1);
	if (n < 0) {
		printf("get %s %s: -1 %s\n", path, name, ename(errno));
		return;
	}
	buf[n] = 0;
	printf("get %s %s: %ld \"%s\"\n", path, name, n, buf);
}

/* shm moves the test to a fresh directory of /dev/shm (tmpfs, with user
 * xattrs since Linux 6.6) when the per-test directory's filesystem refuses
 * user xattrs natively; the sandbox's overlay never does. */
static char shm[64];

static void probe(void) {
	int fd = open("probe", O_CREAT | O_RDWR, 0644);
	int r = fsetxattr(fd, "user.probe", "1", 1, 0);
	close(fd);
	unlink("probe");
	if (r == 0 || errno != EOPNOTSUPP)
		return;
	snprintf(shm, sizeof shm, "/dev/shm/xattr-%d", (int)getpid());
	if (mkdir(shm, 0755) || chdir(shm)) {
		printf("no filesystem with user xattrs\n");
		exit(1);
	}
}

static void cleanup(void) {
	if (!shm[0])
		return;
	unlink("f");
	unlink("l");
	unlink("p");
	rmdir("d");
	rmdir(shm);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	probe();
	static char buf[70000], big[70000];
	int fd = open("f", O_CREAT | O_RDWR, 0644);

	/* a fresh file has no user or trusted attributes */
	list("f", buf, listxattr("f", buf, sizeof buf));
	T(getxattr("f", "user.a", NULL, 0));
	T(removexattr("f", "user.a"));

	/* set, query the size, get, replace */
	T(setxattr("f", "user.a", "hello", 5, 0));
	T(getxattr("f", "user.a", NULL, 0));
	get("f", "user.a");
	T(getxattr("f", "user.a", buf, 2));
	T(setxattr("f", "user.a", "x", 1, XATTR_CREATE));
	T(setxattr("f", "user.b", "x", 1, XATTR_REPLACE));
	T(setxattr("f", "user.a", "bye", 3, XATTR_REPLACE));
	get("f", "user.a");
	T(setxattr("f", "user.b", "bee", 3, XATTR_CREATE));
	T(setxattr("f", "user.empty", "", 0, 0));
	T(getxattr("f", "user.empty", buf, sizeof buf));
	get("f", "user.b");
	list("f", buf, listxattr("f", buf, sizeof buf));
	T(listxattr("f", buf, 1));
	T(listxattr("f", NULL, 0) >= 21);

	/* the descriptor forms, on a file open read-only */
	int ro = open("f", O_RDONLY);
	T(fsetxattr(ro, "user.c", "sea", 3, 0));
	T(fgetxattr(ro, "user.c", buf, sizeof buf));
	list("fd", buf, flistxattr(ro, buf, sizeof buf));
	T(fremovexattr(ro, "user.c"));
	T(fremovexattr(ro, "user.c"));
	T(fgetxattr(ro, "user.c", buf, sizeof buf));
	T(removexattr("f", "user.b"));
	T(removexattr("f", "user.b"));
	list("f", buf, listxattr("f", buf, sizeof buf));

	/* values of 1000 bytes come back whole */
	memset(big, 'v', 1000);
	T(setxattr("f", "user.big", big, 1000, 0));
	memset(buf, 0, 1000);
	T(getxattr("f", "user.big", buf, sizeof buf));
	CHECK(memcmp(buf, big, 1000) == 0);
	T(removexattr("f", "user.big"));

	/* limits: names of 1..255 bytes, values up to 64 KiB, known flags */
	char name[300];
	strcpy(name, "user.");
	memset(name + 5, 'n', 250);
	name[255] = 0;
	T(setxattr("f", name, "1", 1, 0));
	T(getxattr("f", name, NULL, 0));
	T(removexattr("f", name));
	name[255] = 'n';
	name[256] = 0;
	T(setxattr("f", name, "1", 1, 0));
	T(getxattr("f", name, NULL, 0));
	T(removexattr("f", name));
	T(setxattr("f", "", "1", 1, 0));
	T(getxattr("f", "", NULL, 0));
	T(setxattr("f", "user.x", big, 65537, 0));
	T(setxattr("f", "user.x", "1", 1, 4));
	T(setxattr("f", "user.x", "1", 1, XATTR_CREATE | XATTR_REPLACE));

	/* namespaces */
	T(setxattr("f", "foo.bar", "1", 1, 0));
	T(getxattr("f", "foo.bar", NULL, 0));
	T(setxattr("f", "nodot", "1", 1, 0));
	T(setxattr("f", "user.", "1", 1, 0));
	T(getxattr("f", "user.", NULL, 0));
	T(setxattr("f", "trusted.t", "root", 4, 0));
	get("f", "trusted.t");
	list("f", buf, listxattr("f", buf, sizeof buf));

	/* directories, symlinks, FIFOs */
	T(mkdir("d", 0755));
	T(setxattr("d", "user.d", "dir", 3, 0));
	get("d", "user.d");
	T(symlink("f", "l"));
	T(lsetxattr("l", "user.x", "1", 1, 0));
	T(lgetxattr("l", "user.x", NULL, 0));
	T(lremovexattr("l", "user.x"));
	get("l", "user.a");
	T(lgetxattr("l", "user.a", NULL, 0));
	list("l", buf, llistxattr("l", buf, sizeof buf));
	T(setxattr("l", "user.vialink", "1", 1, 0));
	get("f", "user.vialink");
	T(lsetxattr("l", "trusted.l", "lnk", 3, 0));
	T(lgetxattr("l", "trusted.l", buf, sizeof buf));
	T(mkfifo("p", 0644));
	T(setxattr("p", "user.x", "1", 1, 0));
	T(getxattr("p", "user.x", NULL, 0));
	T(setxattr("p", "trusted.x", "1", 1, 0));
	T(getxattr("p", "trusted.x", buf, sizeof buf));

	/* missing files, bad descriptors, O_PATH */
	T(getxattr("nonexistent", "user.a", NULL, 0));
	T(setxattr("nonexistent", "user.a", "1", 1, 0));
	T(listxattr("nonexistent", NULL, 0));
	T(removexattr("nonexistent", "user.a"));
	T(fgetxattr(-1, "user.a", NULL, 0));
	T(fsetxattr(999, "user.a", "1", 1, 0));
	T(flistxattr(999, NULL, 0));
	T(fremovexattr(999, "user.a"));
	int op = open("f", O_PATH);
	T(fgetxattr(op, "user.a", NULL, 0));
	T(fsetxattr(op, "user.a", "1", 1, 0));
	T(flistxattr(op, NULL, 0));

	/* bad pointers */
	T(getxattr(BAD, "user.a", NULL, 0));
	T(getxattr("f", BAD, NULL, 0));
	T(getxattr("f", "user.a", BAD, 100));
	T(setxattr("f", BAD, "1", 1, 0));
	T(setxattr("f", "user.a", BAD, 4, 0));
	T(setxattr("f", "user.z", BAD, 0, 0));
	T(listxattr("f", BAD, sizeof buf));
	T(removexattr("f", BAD));

	/* pipes, sockets, /proc, /dev */
	int pfd[2], sv[2];
	T(pipe(pfd));
	T(fgetxattr(pfd[0], "user.x", NULL, 0));
	T(fsetxattr(pfd[1], "user.x", "1", 1, 0));
	T(flistxattr(pfd[0], buf, sizeof buf));
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	T(fgetxattr(sv[0], "user.x", NULL, 0));
	T(fsetxattr(sv[0], "user.x", "1", 1, 0));
	T(getxattr("/proc/self/status", "user.x", NULL, 0));
	T(setxattr("/proc/self/status", "user.x", "1", 1, 0));
	T(getxattr("/dev/null", "user.x", NULL, 0));
	T(setxattr("/dev/null", "user.x", "1", 1, 0));

	/* without privilege: no trusted.*, no changes to security.*, and
	 * user.* needs the permission bits */
	T(chmod("f", 0644));
	pid_t pid = fork();
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(3);
		get("f", "user.a");
		get("f", "trusted.t");
		list("f as nobody", buf, listxattr("f", buf, sizeof buf));
		T(setxattr("f", "user.a", "1", 1, 0));
		T(removexattr("f", "user.a"));
		T(setxattr("f", "trusted.t", "1", 1, 0));
		T(setxattr("f", "security.s", "1", 1, 0));
		T(chmod("f", 0600));
		fflush(stdout);
		_exit(0);
	}
	int status;
	T(waitpid(pid, &status, 0) == pid);
	printf("child exit %d\n", WEXITSTATUS(status));
	T(chmod("f", 0600));
	pid = fork();
	if (pid == 0) {
		if (setgid(65534) || setuid(65534))
			_exit(3);
		get("f", "user.a");
		fflush(stdout);
		_exit(0);
	}
	T(waitpid(pid, &status, 0) == pid);
	close(fd);
	close(ro);
	cleanup();
	return 0;
}
