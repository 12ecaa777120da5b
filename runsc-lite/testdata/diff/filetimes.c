/* filetimes: the changes of a file's data set its mtime and ctime to one
 * time (file_update_time, notify_change's one current_time): write,
 * ftruncate, fallocate and utimensat(UTIME_NOW) on a memfd and on a tmpfs
 * file, truncate, O_TRUNC and copy_file_range on a tmpfs file, and write
 * on a pipe. Each change follows a utimensat that sets
 * the times in the past, so a change that sets only one of them shows.
 * Only whether the times are equal is printed, never the times. */
#include "common.h"
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>

static int same(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* show prints whether fd's mtime is its ctime, and its atime. */
static void show(const char *what, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		printf("%s: fstat: %s\n", what, ename(errno));
		return;
	}
	printf("%s: mtime == ctime: %d, atime == mtime: %d\n", what, same(st.st_mtim, st.st_ctim),
	       same(st.st_atim, st.st_mtim));
}

/* past sets fd's atime and mtime an hour back (its ctime is now). */
static void past(int fd)
{
	struct timespec now, ts[2];
	clock_gettime(CLOCK_REALTIME, &now);
	ts[0] = ts[1] = (struct timespec){now.tv_sec - 3600, 0};
	if (futimens(fd, ts) < 0)
		printf("futimens: %s\n", ename(errno));
}

static void changes(const char *kind, int fd)
{
	char what[64];
	past(fd);
	T(write(fd, "hello", 5));
	snprintf(what, sizeof what, "%s after write", kind);
	show(what, fd);
	past(fd);
	T(pwrite(fd, "hello", 5, 4096));
	snprintf(what, sizeof what, "%s after pwrite", kind);
	show(what, fd);
	past(fd);
	struct iovec iov = {"abc", 3};
	T(writev(fd, &iov, 1));
	snprintf(what, sizeof what, "%s after writev", kind);
	show(what, fd);
	past(fd);
	T(ftruncate(fd, 100));
	snprintf(what, sizeof what, "%s after ftruncate", kind);
	show(what, fd);
	past(fd);
	T(ftruncate(fd, 100));
	snprintf(what, sizeof what, "%s after ftruncate to its size", kind);
	show(what, fd);
	past(fd);
	T(fallocate(fd, 0, 0, 8192));
	snprintf(what, sizeof what, "%s after fallocate", kind);
	show(what, fd);
	past(fd);
	T(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 16384));
	snprintf(what, sizeof what, "%s after fallocate KEEP_SIZE", kind);
	show(what, fd);
	past(fd);
	T(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
	snprintf(what, sizeof what, "%s after a punched hole", kind);
	show(what, fd);
	past(fd);
	T(futimens(fd, NULL));
	snprintf(what, sizeof what, "%s after futimens(UTIME_NOW)", kind);
	show(what, fd);
	past(fd);
	struct timespec now2[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}};
	T(futimens(fd, now2));
	snprintf(what, sizeof what, "%s after futimens({UTIME_NOW, UTIME_NOW})", kind);
	show(what, fd);
}

int main(int argc, char **argv)
{
	setup(argc, argv);
	int m = memfd_create("times", 0);
	if (m < 0) {
		printf("memfd_create: %s\n", ename(errno));
		return 0;
	}
	changes("memfd", m);
	close(m);

	int t = open("/dev/shm/filetimes-test", O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (t < 0) {
		printf("open /dev/shm: %s\n", ename(errno));
		return 0;
	}
	unlink("/dev/shm/filetimes-test");
	changes("tmpfs file", t);
	close(t);

	/* By path: truncate, open's O_TRUNC, utimensat. */
	const char *path = "/dev/shm/filetimes-path";
	t = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	T(write(t, "hello", 5));
	past(t);
	T(truncate(path, 2));
	show("tmpfs file after truncate", t);
	past(t);
	int t2 = open(path, O_WRONLY | O_TRUNC);
	show("tmpfs file after O_TRUNC", t);
	close(t2);
	past(t);
	T(utimensat(AT_FDCWD, path, NULL, 0));
	show("tmpfs file after utimensat(NULL)", t);
	past(t);
	struct timespec onlym[2] = {{0, UTIME_OMIT}, {0, UTIME_NOW}};
	T(utimensat(AT_FDCWD, path, onlym, 0));
	show("tmpfs file after utimensat({UTIME_OMIT, UTIME_NOW})", t);
	past(t);
	int src = open("/dev/shm/filetimes-src", O_RDWR | O_CREAT | O_TRUNC, 0600);
	unlink("/dev/shm/filetimes-src");
	T(write(src, "0123456789", 10));
	loff_t in = 0;
	T(copy_file_range(src, &in, t, NULL, 10, 0));
	show("tmpfs file after copy_file_range", t);
	close(src);
	unlink(path);
	close(t);

	int p[2];
	T(pipe(p));
	struct stat st0;
	fstat(p[1], &st0);
	printf("new pipe: mtime == ctime: %d\n", same(st0.st_mtim, st0.st_ctim));
	usleep(20000);
	T(write(p[1], "x", 1));
	show("pipe after write", p[1]);
	struct stat st1;
	fstat(p[1], &st1);
	printf("pipe write moved mtime: %d\n", !same(st0.st_mtim, st1.st_mtim));
	return 0;
}
