/* atime: when reads, listings, mappings and readlink move a file's access
 * time under relatime, Linux's default mount rule: only if the atime is not
 * after the mtime or the ctime (or is a day old), and never through an
 * O_NOATIME descriptor or for a file with FS_NOATIME_FL. */
#include "common.h"
#include <dirent.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

/* age sets path's atime to now+atime_off and mtime to now+mtime_off
 * (which makes its ctime now). */
static void age(const char *path, long atime_off, long mtime_off) {
	time_t now = time(NULL);
	struct timespec ts[2] = {{now + atime_off, 0}, {now + mtime_off, 0}};
	if (utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW) != 0)
		printf("utimensat %s: %s\n", path, ename(errno));
}

/* moved prints whether path's atime is now (within 5 s) or was kept. */
static void moved(const char *path, const char *what) {
	struct stat st;
	if (lstat(path, &st) != 0) {
		printf("%s: lstat %s\n", what, ename(errno));
		return;
	}
	long d = (long)(time(NULL) - st.st_atime);
	printf("%-40s %s\n", what, d >= 0 && d < 5 ? "moved" : "kept");
}

static void readfile(const char *path, int flags) {
	char b[16];
	int fd = open(path, O_RDONLY | flags);
	if (fd < 0) {
		printf("open %s: %s\n", path, ename(errno));
		return;
	}
	if (read(fd, b, 5) != 5)
		printf("read %s: %s\n", path, ename(errno));
	close(fd);
}

int main(void) {
	int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	write(fd, "hello", 5);
	close(fd);

	age("f", -100000, -50000);
	readfile("f", 0);
	moved("f", "read, atime before mtime");

	age("f", 1000, -50000);
	readfile("f", 0);
	moved("f", "read, atime after mtime and ctime");

	age("f", -1000, -50000);
	readfile("f", 0);
	moved("f", "read, atime after mtime, before ctime");

	age("f", -100000, -50000);
	readfile("f", O_NOATIME);
	moved("f", "O_NOATIME read");

	age("f", -100000, -50000);
	fd = open("f", O_RDONLY);
	char b[4];
	T(pread(fd, b, 4, 1));
	close(fd);
	moved("f", "pread");

	age("f", -100000, -50000);
	fd = open("f", O_RDONLY);
	void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	moved("f", "mmap");
	munmap(m, 4096);

	age("f", -100000, -50000);
	fd = open("f", O_WRONLY);
	T(write(fd, "x", 1));
	close(fd);
	struct stat st;
	lstat("f", &st);
	printf("%-40s %s\n", "a write leaves atime", st.st_atime < st.st_mtime ? "kept" : "moved");

	mkdir("d", 0755);
	close(open("d/a", O_CREAT | O_WRONLY, 0644));
	age("d", -100000, -50000);
	DIR *dir = opendir("d");
	while (readdir(dir))
		;
	closedir(dir);
	moved("d", "getdents");

	symlink("f", "l");
	age("l", -100000, -50000);
	char target[64];
	T(readlink("l", target, sizeof target));
	moved("l", "readlink");

	age("f", -100000, -50000);
	fd = open("f", O_RDONLY);
	int attr = 0;
	if (ioctl(fd, FS_IOC_GETFLAGS, &attr) == 0) {
		attr |= FS_NOATIME_FL;
		T(ioctl(fd, FS_IOC_SETFLAGS, &attr));
	}
	close(fd);
	age("f", -100000, -50000);
	readfile("f", 0);
	moved("f", "FS_NOATIME_FL");
	return 0;
}
