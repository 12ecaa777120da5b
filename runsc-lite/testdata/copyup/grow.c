/* grow: sparse files made by truncating up and by writing past the end, in
 * the working directory (argv[1]; in the sandbox, a file of the memory
 * overlay), in /tmp (the sandbox's tmpfs) and in a memfd, under a memory
 * limit far smaller than their sizes. The holes cost nothing, as on Linux's
 * tmpfs and on a disk file: the truncations and writes succeed, st_blocks
 * stays small, the holes read as zeros and SEEK_DATA finds the data. Before,
 * a truncation up was charged by its size: ENOSPC. */
#include "../diff/common.h"
#include <sys/mman.h>

#define GiB (1LL << 30)

/* blocks prints the size and whether the file holds at most 1 MiB + 64 KiB
 * of blocks. */
static void blocks(int fd, const char *when) {
	struct stat st;
	if (fstat(fd, &st) != 0) {
		printf("%s: fstat %s\n", when, ename(errno));
		return;
	}
	printf("%s: size %lld, small: %s\n", when, (long long)st.st_size,
	       (long long)st.st_blocks * 512 <= (1 << 20) + (64 << 10) ? "yes" : "no");
}

static void grow(const char *what, int fd) {
	static char page[4096];
	memset(page, 'p', sizeof page);
	printf("--- %s\n", what);
	T(ftruncate(fd, 16 * GiB));
	blocks(fd, "truncated to 16 GiB");
	T(pwrite(fd, page, sizeof page, 8 * GiB));
	T(pwrite(fd, page, sizeof page, 32 * GiB));
	blocks(fd, "a page at 8 and at 32 GiB");
	T(lseek(fd, 0, SEEK_DATA));
	T(lseek(fd, 8 * GiB + 4096, SEEK_DATA));
	unsigned char c = 0xff;
	T(pread(fd, &c, 1, 4 * GiB));
	printf("byte at 4 GiB: %#x\n", c);
	T(pread(fd, &c, 1, 8 * GiB));
	printf("byte at 8 GiB: %#x\n", c);
	T(ftruncate(fd, 4096));
	T(ftruncate(fd, 64 * GiB));
	blocks(fd, "down to a page, up to 64 GiB");
	T(pwrite(fd, page, sizeof page, 63 * GiB));
	T(fallocate(fd, FALLOC_FL_KEEP_SIZE, 100 * GiB, 1 << 20));
	blocks(fd, "a page at 63 GiB, 1 MiB allocated at 100 GiB");
	T(pwrite(fd, page, sizeof page, 200 * GiB));
	blocks(fd, "a page at 200 GiB");
	/* A shared mapping of the holes reads zeros. */
	char *m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 40 * GiB);
	if (m == MAP_FAILED) {
		printf("mmap: %s\n", ename(errno));
	} else {
		printf("mapped byte: %#x\n", (unsigned char)m[4096]);
		m[0] = 'm';
		munmap(m, 1 << 20);
		T(pread(fd, &c, 1, 40 * GiB));
		printf("byte written through the mapping: %c\n", c);
	}
	T(ftruncate(fd, 0));
	blocks(fd, "truncated to 0");
	close(fd);
}

int main(int argc, char **argv) {
	if (chdir(argv[1]) != 0)
		return 1;
	grow("working directory", open("sparse", O_RDWR | O_CREAT | O_TRUNC, 0644));
	unlink("sparse");
	grow("/tmp", open("/tmp/runsc-lite-grow", O_RDWR | O_CREAT | O_TRUNC, 0644));
	unlink("/tmp/runsc-lite-grow");
	grow("memfd", memfd_create("grow", 0));
	return 0;
}
