/* The memory devices' data paths: /dev/null and /dev/zero take every byte
 * of a write without reading it (write_null), /dev/null reads nothing
 * (read_null), /dev/zero fills what the buffer lets it, /dev/full refuses;
 * only the range of a buffer is checked first (vfs_write's access_ok), so
 * an unmapped buffer is fine where the device does not touch it. */
#include "common.h"
#include <sys/mman.h>
#include <sys/uio.h>

#define PG 4096L
#define KERNEL ((void *)0xffffffff81000000UL)

int main(int argc, char **argv) {
	setup(argc, argv);
	int null = open("/dev/null", O_RDWR), zero = open("/dev/zero", O_RDWR), full = open("/dev/full", O_RDWR);
	/* a page, then an inaccessible one, then an unmapped one */
	char *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *big = mmap(NULL, 3 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *two = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(two + PG, PG, PROT_NONE);
	munmap(two + 2 * PG, PG);
	char *gone = two + 2 * PG; /* nothing is mapped after this */

	T(write(null, "x", 1));
	T(write(null, BAD, 10));
	T(write(null, gone, PG));
	T(write(null, two, 3 * PG));
	T(write(null, KERNEL, 10));
	T(write(null, BAD, 0));
	T(pwrite(null, BAD, 7, 100));
	T(pwrite(null, KERNEL, 7, 100));
	T(write(zero, gone, 10));
	T(write(zero, KERNEL, 10));
	T(write(full, "x", 1));
	T(write(full, BAD, 10));
	T(write(full, BAD, 0));

	struct iovec iov[3] = {{"ab", 2}, {BAD, 10}, {gone, 5}};
	T(writev(null, iov, 3));
	T(writev(zero, iov, 3));
	T(writev(null, BAD, 1));
	struct iovec kiov[2] = {{"ab", 2}, {KERNEL, 5}};
	T(writev(null, kiov, 2));

	T(read(null, BAD, 10));
	T(read(null, gone, PG));
	T(read(null, KERNEL, 10));
	T(pread(null, BAD, 10, 5));
	T(readv(null, iov, 3));

	memset(two, 'x', PG);
	T(read(zero, two + PG - 100, 200)); /* partial: stops at the hole */
	CHECK(two[PG - 100] == 0 && two[PG - 1] == 0 && two[PG - 101] == 'x');
	T(read(zero, two + PG, 10));
	T(read(zero, gone, 10));
	T(read(zero, ro, 10));
	T(read(zero, KERNEL, 10));
	memset(two, 'x', PG);
	struct iovec ziov[2] = {{two, 100}, {two + 200, 50}};
	T(readv(zero, ziov, 2));
	CHECK(two[0] == 0 && two[99] == 0 && two[100] == 'x' && two[200] == 0 && two[249] == 0 && two[250] == 'x');
	memset(big, 'x', 3 << 20);
	T(read(zero, big, 3 << 20));
	long nonzero = 0;
	for (long i = 0; i < 3 << 20; i++)
		nonzero += big[i] != 0;
	printf("nonzero after reading /dev/zero: %ld\n", nonzero);
	T(read(full, two, 10));
	CHECK(two[0] == 0);
	return 0;
}
