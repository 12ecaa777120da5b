/* ioctl: terminal ioctls on non-terminals, FIONREAD, FIONBIO, FIOCLEX. */
#include "common.h"
#include <sys/ioctl.h>
#include <termios.h>

int main(int argc, char **argv) {
	setup(argc, argv);
	int n = -1;
	struct termios tio;
	struct winsize ws;
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	write(fd, "0123456789", 10);
	lseek(fd, 3, SEEK_SET);

	T(isatty(fd));
	printf("errno = %s\n", ename(errno));
	T(ioctl(fd, TCGETS, &tio));
	T(ioctl(fd, TIOCGWINSZ, &ws));
	T(ioctl(fd, TIOCGPGRP, &n));
	T(ioctl(fd, FIONREAD, &n));
	printf("FIONREAD file = %d\n", n);
	T(ioctl(fd, FIONREAD, BAD));
	T(ioctl(fd, 0x12345678, &n));
	T(ioctl(99, FIONREAD, &n));
	T(ioctl(-1, TCGETS, &tio));

	int null = open("/dev/null", O_RDWR);
	T(isatty(null));
	T(ioctl(null, TCGETS, &tio));

	int p[2];
	pipe(p);
	write(p[1], "abcde", 5);
	T(ioctl(p[0], FIONREAD, &n));
	printf("FIONREAD pipe = %d\n", n);
	T(isatty(p[0]));

	/* FIONBIO sets O_NONBLOCK; FIOCLEX/FIONCLEX set close-on-exec */
	int one = 1, zero = 0;
	T(ioctl(p[0], FIONBIO, &one));
	T(fcntl(p[0], F_GETFL) & O_NONBLOCK ? 1 : 0);
	char buf[16];
	T(read(p[0], buf, sizeof buf));
	T(read(p[0], buf, sizeof buf));
	T(ioctl(p[0], FIONBIO, &zero));
	T(fcntl(p[0], F_GETFL) & O_NONBLOCK ? 1 : 0);
	T(ioctl(fd, FIOCLEX));
	T(fcntl(fd, F_GETFD));
	T(ioctl(fd, FIONCLEX));
	T(fcntl(fd, F_GETFD));
	T(ioctl(fd, FIONBIO, &one));
	T(fcntl(fd, F_GETFL) & O_NONBLOCK ? 1 : 0);
	T(ioctl(fd, FIONBIO, BAD));

	int dfd = open(".", O_RDONLY);
	T(ioctl(dfd, TCGETS, &tio));
	return 0;
}
