/* Directories: mkdir/rmdir/getdents64/getcwd/chdir/fchdir. */
#include "common.h"
#include <dirent.h>

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

/* list prints a directory's entries (name and type), sorted, read with
 * getdents64 through a small buffer so it takes several calls. */
static void list(const char *path) {
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		printf("list %s: -1 %s\n", path, ename(errno));
		return;
	}
	char buf[64], *names[64];
	int n = 0;
	long r;
	while ((r = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0) {
		for (long off = 0; off < r;) {
			struct linux_dirent64 *d = (void *)(buf + off);
			char *s = malloc(300);
			snprintf(s, 300, "%s(%d)", d->d_name, d->d_type);
			if (n < 64)
				names[n++] = s;
			off += d->d_reclen;
		}
	}
	if (r < 0)
		printf("getdents64: -1 %s\n", ename(errno));
	qsort(names, n, sizeof names[0], cmp);
	printf("list %s (%d):", path, n);
	for (int i = 0; i < n; i++)
		printf(" %s", names[i]);
	printf("\n");
	/* rewinding gives the same count */
	lseek(fd, 0, SEEK_SET);
	int m = 0;
	while ((r = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
		for (long off = 0; off < r; m++)
			off += ((struct linux_dirent64 *)(buf + off))->d_reclen;
	printf("after rewind: %s\n", m == n ? "same" : "DIFFERENT");
	close(fd);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	char top[4096], buf[4096];
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	getcwd(top, sizeof top);

	T(mkdir("d", 0755));
	T(mkdir("d", 0755));
	T(mkdir("d/", 0755));
	T(mkdir("nonexistent/x", 0755));
	T(close(open("f", O_CREAT | O_WRONLY, 0644)));
	T(mkdir("f/x", 0755));
	T(mkdir(longname, 0755));
	T(mkdir(BAD, 0755));
	T(mkdir("d/sub1", 0755));
	T(mkdir("d/sub2/", 0755));
	for (int i = 0; i < 12; i++) {
		snprintf(buf, sizeof buf, "d/file-with-a-longish-name-%02d", i);
		close(open(buf, O_CREAT | O_WRONLY, 0644));
	}
	T(symlink("sub1", "d/link"));
	list("d");
	list(".");
	list("d/sub1");
	list("f");
	list("nonexistent");

	int fd = open("d", O_RDONLY | O_DIRECTORY);
	T(syscall(SYS_getdents64, fd, buf, 1));
	T(syscall(SYS_getdents64, fd, BAD, 4096));
	T(syscall(SYS_getdents64, 99, buf, sizeof buf));
	int ffd = open("f", O_RDONLY);
	T(syscall(SYS_getdents64, ffd, buf, sizeof buf));

	/* opendir/readdir (glibc's own getdents64 loop) */
	DIR *dp = opendir("d");
	int count = 0;
	while (readdir(dp))
		count++;
	closedir(dp);
	printf("readdir count = %d\n", count);

	/* rmdir */
	T(rmdir("d"));
	T(rmdir("d/sub2"));
	T(rmdir("d/sub2"));
	T(rmdir("f"));
	T(rmdir("."));
	T(rmdir("d/sub1/.."));
	T(rmdir("d/link"));
	T(rmdir(BAD));
	list("d");

	/* getcwd, chdir, fchdir */
	T(syscall(SYS_getcwd, buf, sizeof buf) == (long)strlen(top) + 1);
	CHECK(strcmp(buf, top) == 0);
	T(syscall(SYS_getcwd, buf, 1));
	T(syscall(SYS_getcwd, BAD, sizeof buf));
	T(chdir("d/sub1"));
	getcwd(buf, sizeof buf);
	CHECK(strncmp(buf, top, strlen(top)) == 0 && strcmp(buf + strlen(top), "/d/sub1") == 0);
	T(chdir("../../"));
	getcwd(buf, sizeof buf);
	CHECK(strcmp(buf, top) == 0);
	T(chdir("nonexistent"));
	T(chdir("f"));
	T(chdir(""));
	T(chdir(BAD));
	T(chdir("d/link"));
	getcwd(buf, sizeof buf);
	CHECK(strcmp(buf + strlen(top), "/d/sub1") == 0);
	T(fchdir(fd));
	getcwd(buf, sizeof buf);
	CHECK(strcmp(buf + strlen(top), "/d") == 0);
	T(fchdir(ffd));
	T(fchdir(99));
	T(chdir("/"));
	getcwd(buf, sizeof buf);
	printf("cwd = %s\n", buf);
	T(chdir(top));
	T(access("f", F_OK));
	/* removing the working directory */
	T(mkdir("gone", 0755));
	T(chdir("gone"));
	T(rmdir("../gone"));
	T(syscall(SYS_getcwd, buf, sizeof buf));
	T(mkdir("x", 0755));
	T(open(".", O_RDONLY) >= 0);
	/* A removed directory lists nothing, not even "." (ENOENT). */
	T(mkdir("gone", 0755));
	int gone = open("gone", O_RDONLY | O_DIRECTORY);
	T(rmdir("gone"));
	T(syscall(SYS_getdents64, gone, buf, sizeof buf));
	T(lseek(gone, 0, SEEK_SET));
	T(syscall(SYS_getdents64, gone, buf, sizeof buf));
	close(gone);

	/* A working directory whose path needs more than PATH_MAX (with its
	 * NUL) is ENAMETOOLONG to getcwd and to readlink of the magic links,
	 * whatever the buffer; glibc's getcwd then walks "..". */
	T(chdir(top));
	char name[256], big[16384];
	size_t len = strlen(top);
	while (4095 - len - 1 > 255) {
		memset(name, 'd', 200);
		name[200] = 0;
		mkdir(name, 0755);
		chdir(name);
		len += 201;
	}
	memset(name, 'e', 4095 - len - 1);
	name[4095 - len - 1] = 0;
	T(mkdir(name, 0755));
	T(chdir(name));
	T(syscall(SYS_getcwd, big, sizeof big));
	T(readlink("/proc/self/cwd", big, sizeof big));
	T(mkdir("x", 0755));
	T(chdir("x"));
	T(syscall(SYS_getcwd, big, sizeof big));
	T(syscall(SYS_getcwd, big, 10));
	T(readlink("/proc/self/cwd", big, sizeof big));
	int deep = open(".", O_RDONLY | O_DIRECTORY);
	snprintf(buf, sizeof buf, "/proc/self/fd/%d", deep);
	T(readlink(buf, big, sizeof big));
	T(fstat(open(buf, O_RDONLY), &(struct stat){0}));
	char *p = getcwd(NULL, 0);
	T(p ? (long)strlen(p) : -1);
	CHECK(p && strncmp(p, top, strlen(top)) == 0);
	free(p);
	return 0;
}
