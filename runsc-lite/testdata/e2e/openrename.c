/* openrename: an open file's attributes after a rename, in the directory
 * argv[1] (a read-write volume in the sandbox): fstat, fchmod, fchown,
 * futimens and ftruncate act on the open file, wherever it now is and
 * whatever now has its old name, and after it is unlinked; so do
 * fgetxattr and flistxattr (of "x", which the caller made with user.t set).
 * Its /proc/self/fd link and a mapping of it (whose descriptor is closed)
 * name it where it is now (d_path), " (deleted)" once unlinked; so do the
 * links of two open files exchanged, and of one renamed over. Paths are
 * printed relative to argv[1]. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

static int fd, xfd;
static char *map;
static char base[PATH_MAX];

/* relative strips the working directory from a path. */
static const char *relative(const char *p) {
	size_t n = strlen(base);
	if (strncmp(p, base, n) == 0 && p[n] == '/')
		return p + n + 1;
	return p;
}

/* mapped prints the name /proc/self/maps gives the mapping. */
static void mapped(void) {
	FILE *f = fopen("/proc/self/maps", "r");
	char line[PATH_MAX + 256];
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		int pos = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s%n", &lo, &hi, &pos) != 2 || pos == 0)
			continue;
		if ((unsigned long)map < lo || (unsigned long)map >= hi)
			continue;
		char *name = line + pos;
		while (*name == ' ')
			name++;
		name[strcspn(name, "\n")] = 0;
		printf("  mapped as %s\n", relative(name));
	}
	if (f)
		fclose(f);
}

static void show(const char *when) {
	struct stat st;
	if (fstat(fd, &st) != 0) {
		printf("%-34s fstat: %s\n", when, strerror(errno));
	} else {
		printf("%-34s size %lld mode %o links %ld mtime set: %s\n", when, (long long)st.st_size,
		       st.st_mode & 07777, (long)st.st_nlink, st.st_mtime == 1000000000 ? "yes" : "no");
	}
	char link[PATH_MAX + 32], proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, link, sizeof link - 1);
	link[n < 0 ? 0 : n] = 0;
	printf("  fd link %s\n", n < 0 ? strerror(errno) : relative(link));
	mapped();
	char v[64];
	n = fgetxattr(xfd, "user.t", v, sizeof v - 1);
	v[n < 0 ? 0 : n] = 0;
	printf("  x: fgetxattr user.t: %s\n", n < 0 ? strerror(errno) : v);
	n = flistxattr(xfd, v, sizeof v);
	printf("  x: flistxattr: %zd %s\n", n, n < 0 ? strerror(errno) : n > 0 ? v : "");
}

/* linked prints the fd link of f, relative. */
static void linked(const char *what, int f) {
	char link[PATH_MAX + 32], proc[64];
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", f);
	ssize_t n = readlink(proc, link, sizeof link - 1);
	link[n < 0 ? 0 : n] = 0;
	printf("%s: %s\n", what, n < 0 ? strerror(errno) : relative(link));
}

/* swapped: two open files exchanged, then one renamed over the other. */
static void swapped(void) {
	int p = open("p", O_RDWR | O_CREAT, 0644), q = open("q", O_RDWR | O_CREAT, 0644);
	printf("exchange: %d\n", renameat2(AT_FDCWD, "p", AT_FDCWD, "q", RENAME_EXCHANGE));
	linked("  p's", p);
	linked("  q's", q);
	printf("rename over: %d\n", rename("p", "q"));
	linked("  p's", p);
	linked("  q's", q);
	unlink("q");
	close(p);
	close(q);
	/* Two hard links of one file: rename(2) does nothing, both stay. */
	int h = open("h", O_RDWR | O_CREAT, 0644);
	link("h", "k");
	printf("rename onto its own link: %d\n", rename("h", "k"));
	linked("  h's", h);
	printf("  h still there: %d\n", access("h", F_OK) == 0);
	unlink("h");
	unlink("k");
	close(h);
}

int main(int argc, char **argv) {
	if (argc < 2 || chdir(argv[1]) != 0 || !getcwd(base, sizeof base))
		return 1;
	fd = open("a", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "hello", 5) != 5)
		return 1;
	int mfd = open("a", O_RDONLY);
	map = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd, 0);
	close(mfd);
	xfd = open("x", O_RDONLY);
	if (map == MAP_FAILED || xfd < 0)
		return 1;
	show("written");
	rename("a", "b");
	rename("x", "y");
	show("renamed");
	int other = open("a", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(other, "xy", 2);
	close(other);
	close(open("x", O_RDWR | O_CREAT | O_TRUNC, 0600));
	show("another file at its old name");
	mkdir("d", 0755);
	rename("b", "d/b");
	show("moved to another directory");
	rename("d", "e");
	show("its directory renamed");
	printf("fchmod 0640: %d\n", fchmod(fd, 0640));
	printf("ftruncate 3: %d\n", ftruncate(fd, 3));
	printf("fchown, no change: %d\n", fchown(fd, -1, -1));
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	printf("futimens: %d\n", futimens(fd, ts));
	show("changed through the descriptor");
	struct stat a;
	stat("a", &a);
	printf("the other file: size %lld mode %o\n", (long long)a.st_size, a.st_mode & 07777);
	unlink("e/b");
	unlink("y");
	show("unlinked");
	munmap(map, 4096);
	swapped();
	unlink("a");
	unlink("x");
	rmdir("e");
	return 0;
}
