/* truncate/ftruncate/fallocate. */
#include "common.h"
#include <linux/falloc.h>

static void size(const char *path) {
	struct stat st;
	if (stat(path, &st))
		printf("size %s: -1 %s\n", path, ename(errno));
	else
		printf("size %s: %ld\n", path, (long)st.st_size);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	char buf[8192];
	memset(buf, 'x', 100);
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	T(write(fd, buf, 100));
	T(ftruncate(fd, 10));
	size("f");
	T(lseek(fd, 0, SEEK_CUR)); /* truncation leaves the offset */
	T(pread(fd, buf, sizeof buf, 0));
	T(ftruncate(fd, 3 * 4096 + 5));
	size("f");
	memset(buf, 1, sizeof buf);
	T(pread(fd, buf, sizeof buf, 8));
	long nz = 0;
	for (int i = 2; i < 8192; i++)
		nz += buf[i] != 0;
	printf("bytes after 10: %s\n", nz ? "NOT ZERO" : "zero");
	printf("first bytes: %c %c %d\n", buf[0], buf[1], buf[2]);
	T(truncate("f", 5));
	size("f");
	T(truncate("f", 0));
	size("f");
	T(write(fd, "y", 1)); /* at offset 100: a hole before it */
	size("f");

	/* error paths */
	T(truncate("nonexistent", 0));
	T(truncate("f/x", 0));
	T(truncate(".", 0));
	T(truncate(BAD, 0));
	T(truncate("f", -1));
	T(ftruncate(fd, -1));
	T(ftruncate(99, 0));
	int ro = open("f", O_RDONLY);
	T(ftruncate(ro, 0));
	int dfd = open(".", O_RDONLY);
	T(ftruncate(dfd, 0));
	int p[2];
	pipe(p);
	T(ftruncate(p[1], 0));
	int ap = open("f", O_WRONLY | O_APPEND);
	T(ftruncate(ap, 2));
	size("f");
	/* O_RDONLY|O_TRUNC truncates too (do_open's handle_truncate). */
	T(close(open("f", O_RDONLY | O_TRUNC)));
	size("f");

	/* fallocate */
	T(fallocate(fd, 0, 0, 8192));
	size("f");
	T(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 65536));
	size("f");
	T(fallocate(fd, 0, 10000, 100));
	size("f");
	T(pread(fd, buf, 10, 9000));
	printf("allocated bytes: %d %d\n", buf[0], buf[9]);
	T(fallocate(fd, 0, 0, 0));
	T(fallocate(fd, 0, -1, 10));
	T(fallocate(fd, 0x1000, 0, 10));
	T(fallocate(ro, 0, 0, 10));
	T(fallocate(p[1], 0, 0, 10));
	T(fallocate(99, 0, 0, 10));
	T(fallocate(dfd, 0, 0, 10));
	T(posix_fallocate(fd, 0, 20000) == 0);
	size("f");
	return 0;
}
