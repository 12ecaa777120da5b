/* copyxdev: copy_file_range between file systems, as Linux 6.1 answers it
 * (generic_copy_file_checks): EXDEV for files of different superblocks
 * when the file system has no copy_file_range method of its own (a memfd
 * and a /dev/shm file are on different shmem instances; /dev/shm and the
 * working directory too), after the checks of the two files and before the
 * immutable, overflow and EOF checks; flags, bad descriptors and offsets in
 * Linux's order; a length past EOF cut to it, a wrapping one EOVERFLOW. */
#include "common.h"
#include <sys/mman.h>

static int mk(const char *path, const char *data) {
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		printf("open %s: %s\n", path, ename(errno));
		exit(1);
	}
	if (data && write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		exit(1);
	return fd;
}

static int memfd(const char *data) {
	int fd = memfd_create("copyxdev", 0);
	if (data && write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		exit(1);
	return fd;
}

int main(int argc, char **argv) {
	loff_t in = 0, out = 0;
	int m1 = memfd("memfd data"), m2 = memfd(NULL);
	int s1 = mk("/dev/shm/copyxdev-1", "shm data"), s2 = mk("/dev/shm/copyxdev-2", NULL);
	int w1 = mk("w1", "work data"), w2 = mk("w2", NULL);

	printf("same file system\n");
	in = out = 0;
	T(copy_file_range(m1, &in, m2, &out, 100, 0));
	in = out = 0;
	T(copy_file_range(s1, &in, s2, &out, 100, 0));
	in = out = 0;
	T(copy_file_range(w1, &in, w2, &out, 100, 0));

	printf("different file systems\n");
	in = out = 0;
	T(copy_file_range(m1, &in, s2, &out, 100, 0));
	T(copy_file_range(s1, &in, m2, &out, 100, 0));
	T(copy_file_range(s1, &in, w2, &out, 100, 0));
	T(copy_file_range(w1, &in, s2, &out, 100, 0));
	T(copy_file_range(m1, &in, w2, &out, 100, 0));
	T(copy_file_range(w1, NULL, m2, NULL, 100, 0));
	printf("offsets moved: %lld %lld\n", (long long)in, (long long)out);
	T(copy_file_range(m1, &in, s2, &out, 0, 0));
	in = 1000;
	T(copy_file_range(m1, &in, s2, &out, 100, 0));
	in = 0;
	T(copy_file_range(m1, &in, s2, &out, (size_t)-1, 0));

	printf("the file checks come first\n");
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	int ro = open("/dev/shm/copyxdev-2", O_RDONLY);
	int app = open("/dev/shm/copyxdev-2", O_WRONLY | O_APPEND);
	int pfd[2];
	if (pipe(pfd))
		return 1;
	T(copy_file_range(m1, NULL, dir, NULL, 1, 0));
	T(copy_file_range(m1, NULL, ro, NULL, 1, 0));
	T(copy_file_range(m1, NULL, app, NULL, 1, 0));
	T(copy_file_range(m1, NULL, pfd[1], NULL, 1, 0));
	T(copy_file_range(pfd[0], NULL, s2, NULL, 1, 0));

	printf("flags, descriptors and offsets\n");
	T(copy_file_range(m1, NULL, s2, NULL, 1, 1));
	T(copy_file_range(m1, NULL, m2, NULL, 1, 1));
	T(copy_file_range(m1, NULL, m2, NULL, 1, ~0u));
	T(copy_file_range(-1, NULL, m2, NULL, 1, 1));
	T(copy_file_range(m1, NULL, -1, NULL, 1, 1));
	T(copy_file_range(m1, (loff_t *)8, m2, NULL, 1, 1));
	T(copy_file_range(m1, NULL, m2, (loff_t *)8, 1, 1));
	T(copy_file_range(m1, (loff_t *)8, s2, NULL, 1, 0));
	in = -1;
	T(copy_file_range(m1, &in, m2, NULL, 1, 0));
	in = 0, out = -1;
	T(copy_file_range(m1, &in, m2, &out, 1, 0));

	printf("lengths\n");
	in = out = 0;
	T(copy_file_range(m1, &in, m2, &out, (size_t)-1, 0));
	in = 1, out = 0;
	T(copy_file_range(m1, &in, m2, &out, (size_t)-1, 0));
	in = out = 0;
	T(copy_file_range(m1, &in, m2, &out, (size_t)1 << 63, 0));
	in = 100, out = 0;
	T(copy_file_range(m1, &in, m2, &out, (size_t)-1, 0));
	in = 2, out = 0;
	T(copy_file_range(m1, &in, m1, &out, 4, 0));
	in = 0, out = 4;
	T(copy_file_range(m1, &in, m1, &out, 10, 0));

	unlink("/dev/shm/copyxdev-1");
	unlink("/dev/shm/copyxdev-2");
	return 0;
}
