/* Paths as d_path shows them, for the programs about names that follow
 * renames: each prints paths below top, the working directory the
 * program started in (whose own name differs between runs). */
#include <sys/stat.h>

static char top[4096];

/* rel returns p below top, or p itself when it is not. */
static const char *rel(const char *p) {
	size_t n = strlen(top);
	if (strncmp(p, top, n) == 0 && (p[n] == '/' || p[n] == 0))
		return p[n] ? p + n : "/";
	return p;
}

/* cwd prints getcwd and /proc/self/cwd. */
static void cwd(const char *what) {
	char b[4096];
	if (getcwd(b, sizeof b))
		printf("%s: getcwd %s\n", what, rel(b));
	else
		printf("%s: getcwd -1 %s\n", what, ename(errno));
	ssize_t n = readlink("/proc/self/cwd", b, sizeof b - 1);
	b[n < 0 ? 0 : n] = 0;
	printf("%s: /proc/self/cwd %s\n", what, n < 0 ? ename(errno) : rel(b));
}

/* fdlink prints descriptor fd's /proc/self/fd link. */
static void fdlink(const char *what, int fd) {
	char p[64], b[4096];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, b, sizeof b - 1);
	b[n < 0 ? 0 : n] = 0;
	printf("%s: fd link %s\n", what, n < 0 ? ename(errno) : rel(b));
}

/* same reports whether a and b are one file. */
static int same(const char *a, const char *b) {
	struct stat x, y;
	return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

/* in makes buf the absolute path of name below top. */
static void in(char *buf, const char *name) { snprintf(buf, 4096, "%s/%s", top, name); }
