/* sparse: a sparse host file written for the first time (in the sandbox,
 * its copy up into memory). copyup_test.go makes "sparse" in argv[1]:
 * 16 GiB of hole, then one page of 'D'. The file keeps its holes: one
 * byte written at the start and one in the middle, truncations to the
 * same size and down, SEEK_DATA and SEEK_HOLE, st_blocks, the bytes read back and
 * the memory left (/proc/meminfo) say the same as on a disk file. */
#include "../diff/common.h"

#define GiB (1LL << 30)
#define HOLE (16 * GiB)

/* avail returns MemAvailable in kB. */
static long long avail(void) {
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	long long kb = -1;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* blocks prints whether the file holds at most limit bytes of blocks. */
static void blocks(int fd, const char *when, long long limit) {
	struct stat st;
	if (fstat(fd, &st) != 0) {
		printf("%s: fstat %s\n", when, ename(errno));
		return;
	}
	printf("%s: size %lld, blocks at most %lld KiB: %s\n", when, (long long)st.st_size, limit >> 10,
	       (long long)st.st_blocks * 512 <= limit ? "yes" : "no");
}

/* seeks prints SEEK_DATA and SEEK_HOLE from a few offsets. */
static void seeks(int fd) {
	long long offs[] = {0, 1, 4096, GiB, 8 * GiB, HOLE - 1, HOLE, HOLE + 4095, HOLE + 4096};
	for (unsigned i = 0; i < sizeof offs / sizeof *offs; i++) {
		errno = 0;
		long long d = lseek(fd, offs[i], SEEK_DATA);
		int de = errno;
		errno = 0;
		long long h = lseek(fd, offs[i], SEEK_HOLE);
		int he = errno;
		printf("from %lld: data %lld %s, hole %lld %s\n", offs[i], d, d < 0 ? ename(de) : "", h,
		       h < 0 ? ename(he) : "");
	}
}

/* peek prints the byte at off. */
static void peek(int fd, long long off) {
	unsigned char c = 0xff;
	long n = pread(fd, &c, 1, off);
	printf("byte at %lld: %ld read, %#x\n", off, n, c);
}

int main(int argc, char **argv) {
	if (chdir(argv[1]) != 0)
		return 1;
	int ro = open("sparse", O_RDONLY);
	if (ro < 0) {
		printf("open sparse: %s\n", ename(errno));
		return 1;
	}
	blocks(ro, "host file", 64 << 10);
	long long before = avail();
	int fd = open("sparse", O_RDWR);
	if (fd < 0) {
		printf("open for writing: %s\n", ename(errno));
		return 0;
	}
	T(pwrite(fd, "x", 1, 0));
	blocks(fd, "after a byte at 0", 64 << 10);
	blocks(ro, "the same, read-only descriptor", 64 << 10);
	seeks(fd);
	peek(fd, 0);
	peek(fd, 1);
	peek(fd, 4096);
	peek(fd, HOLE);
	T(pwrite(fd, "y", 1, 8 * GiB));
	blocks(fd, "after a byte at 8 GiB", 64 << 10);
	peek(fd, 8 * GiB);
	T(ftruncate(fd, HOLE + 4096));
	blocks(fd, "truncated to its size", 64 << 10);
	T(ftruncate(fd, 9 * GiB));
	blocks(fd, "truncated to 9 GiB", 64 << 10);
	T(lseek(fd, 4096, SEEK_DATA));
	T(lseek(fd, 8 * GiB + 1, SEEK_DATA));
	T(lseek(fd, 8 * GiB + 1, SEEK_HOLE));
	long long after = avail();
	printf("MemAvailable fell by under 128 MiB: %s\n", before - after < (128 << 10) ? "yes" : "no");
	return 0;
}
