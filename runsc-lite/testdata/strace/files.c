// Files, pipes, memory and Unix sockets, for the strace comparison
// (strace_test.go): every call here shows the same line under strace(1)
// and under --strace. argv[1] is a directory to work in.
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	close(-42); // the marker: the comparison starts here
	if (argc < 2 || chdir(argv[1]) != 0)
		return 1;
	int fd = openat(AT_FDCWD, "data.txt", O_CREAT | O_WRONLY | O_TRUNC, 0640);
	const char text[] = "hello, world\n\tline two \"quoted\" \\ and a tail beyond thirty-two bytes\n";
	write(fd, text, sizeof text - 1);
	close(fd);
	fd = open("data.txt", O_RDONLY | O_CLOEXEC);
	struct stat st;
	fstat(fd, &st);
	char buf[256];
	read(fd, buf, sizeof buf);
	lseek(fd, 7, SEEK_SET);
	read(fd, buf, 5);
	pread(fd, buf, 4, 2);
	close(fd);
	stat("data.txt", &st);
	open("/no/such/file", O_RDONLY);
	read(-1, buf, 1);
	access("data.txt", R_OK | W_OK);
	access("/no/such/file", F_OK);

	int p[2];
	pipe2(p, O_CLOEXEC);
	struct iovec iov[2] = {{"ab", 2}, {"\001\0027\377", 4}};
	writev(p[1], iov, 2);
	struct pollfd pfd = {p[0], POLLIN, 0};
	poll(&pfd, 1, 0);
	char a[2], b[8];
	struct iovec riov[2] = {{a, 2}, {b, 8}};
	readv(p[0], riov, 2);
	dup2(p[0], 10);
	fcntl(10, F_GETFD);
	fcntl(10, F_SETFD, FD_CLOEXEC);
	fcntl(p[1], F_GETFL);
	fcntl(p[1], F_SETFL, O_NONBLOCK);

	void *m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(m, 4096, PROT_READ);
	munmap(m, 8192);
	struct timespec ts = {0, 1000};
	nanosleep(&ts, NULL);

	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, "sock");
	bind(s, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 5);
	listen(s, 1);
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	sendto(sv[0], "dgram", 5, MSG_DONTWAIT, NULL, 0);
	recvfrom(sv[1], buf, sizeof buf, 0, NULL, NULL);
	shutdown(sv[0], SHUT_RDWR);

	int f = 0;
	syscall(SYS_futex, &f, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	unlink("data.txt");
	unlink("sock");
	mkdir("sub", 0755);
	rmdir("sub");
	return 0;
}
