/* The sandbox's loop devices (TestLoopDevice): a file's blocks through
 * /dev/loopN, the loop ioctls and the block ioctls, and no filesystem to
 * mount on one. Never run natively: it binds the host's loop devices. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define T(expr)                                                                        \
	do {                                                                           \
		errno = 0;                                                             \
		long _r = (long)(expr);                                                \
		printf("%s = %ld%s%s\n", #expr, _r, _r == -1 ? " " : "",             \
		       _r == -1 ? strerrorname_np(errno) : "");                        \
	} while (0)

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	struct stat st;
	T(stat("/dev/loop0", &st));
	printf("blk %d major %d minor %d mode %o\n", S_ISBLK(st.st_mode), major(st.st_rdev), minor(st.st_rdev), st.st_mode & 0777);
	int ctl = open("/dev/loop-control", O_RDWR);
	T(ioctl(ctl, LOOP_CTL_GET_FREE));

	char block[4096];
	int img = open("img", O_CREAT | O_RDWR | O_TRUNC, 0600);
	for (int i = 0; i < 256; i++) {
		memset(block, 'a' + i % 26, sizeof block);
		write(img, block, sizeof block);
	}
	int dev = open("/dev/loop0", O_RDWR);
	unsigned long long size = 0;
	T(ioctl(dev, BLKGETSIZE64, &size));
	printf("unbound size %llu\n", size);
	T(read(dev, block, 16));
	T(ioctl(dev, LOOP_GET_STATUS64, &(struct loop_info64){0}));
	T(ioctl(dev, LOOP_CLR_FD, 0));
	T(ioctl(dev, LOOP_SET_FD, img));
	T(ioctl(dev, LOOP_SET_FD, img));
	T(ioctl(ctl, LOOP_CTL_GET_FREE));
	T(ioctl(dev, BLKGETSIZE64, &size));
	printf("size %llu\n", size);
	unsigned long sectors = 0;
	T(ioctl(dev, BLKGETSIZE, &sectors));
	printf("sectors %lu\n", sectors);
	int ssz = 0;
	T(ioctl(dev, BLKSSZGET, &ssz));
	printf("sector size %d\n", ssz);
	T(pread(dev, block, 4, 4096 * 27));
	printf("block 27 starts %.4s\n", block);
	T(pwrite(dev, "ZZZZ", 4, 8));
	T(pread(img, block, 12, 0));
	printf("file starts %.12s\n", block);
	T(pread(dev, block, 16, size));
	T(pwrite(dev, "x", 1, size));

	struct loop_info64 info = {.lo_offset = 4096};
	strcpy((char *)info.lo_file_name, "image");
	T(ioctl(dev, LOOP_SET_STATUS64, &info));
	T(ioctl(dev, BLKGETSIZE64, &size));
	printf("size with an offset %llu\n", size);
	T(pread(dev, block, 4, 0));
	printf("block 0 starts %.4s\n", block);
	memset(&info, 0, sizeof info);
	T(ioctl(dev, LOOP_GET_STATUS64, &info));
	printf("number %u offset %llu name %s\n", info.lo_number, (unsigned long long)info.lo_offset, info.lo_file_name);
	struct loop_info old = {0};
	T(ioctl(dev, LOOP_GET_STATUS, &old));
	printf("old: number %d offset %d name %s\n", old.lo_number, old.lo_offset, old.lo_name);
	T(ioctl(dev, BLKZEROOUT, (unsigned long long[]){0, 4096}));
	T(pread(img, block, 4, 4096));
	printf("zeroed %d\n", block[0] == 0 && block[3] == 0);
	T(ioctl(dev, BLKDISCARD, (unsigned long long[]){1, 4096}));

	T(mkdir("m", 0755));
	T(mount("/dev/loop0", "m", "ext2", 0, NULL));
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	int dev1 = open("/dev/loop1", O_RDWR);
	T(ioctl(dev1, LOOP_SET_FD, dir));
	T(ioctl(dev1, LOOP_SET_FD, dev));
	T(ioctl(dev1, LOOP_SET_FD, 999));
	T(ioctl(dev, LOOP_CLR_FD, 0));
	T(ioctl(dev, LOOP_CLR_FD, 0));
	T(ioctl(ctl, LOOP_CTL_GET_FREE));
	int ro = open("img", O_RDONLY);
	T(ioctl(dev1, LOOP_SET_FD, ro));
	T(pwrite(dev1, "x", 1, 0));
	int v = 0;
	T(ioctl(dev1, BLKROGET, &v));
	printf("read-only %d\n", v);
	T(ioctl(dev1, LOOP_CLR_FD, 0));
	return 0;
}
