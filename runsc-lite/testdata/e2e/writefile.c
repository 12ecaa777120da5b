/* A static program for `runsc-lite run --rootfs DIR --overlay=none`: writes
 * argv[2] to the file argv[1], made with mode 0640, and reports the result. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: writefile FILE TEXT\n");
		return 2;
	}
	umask(0);
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (fd < 0) {
		printf("open %s: %s\n", argv[1], strerrorname_np(errno));
		return 1;
	}
	if (write(fd, argv[2], strlen(argv[2])) != (ssize_t)strlen(argv[2])) {
		printf("write: %s\n", strerrorname_np(errno));
		return 1;
	}
	close(fd);
	printf("wrote %s\n", argv[1]);
	return 0;
}
