// Messages, socket options, statx, select and prctl, for the strace
// comparison (strace_test.go): every call here shows the same line under
// strace(1) and under --strace. argv[1] is a directory to work in.
#define _GNU_SOURCE
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	close(-42); // the marker: the comparison starts here
	if (argc < 2 || chdir(argv[1]) != 0)
		return 1;
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	struct iovec iov[2] = {{"head", 4}, {"body\n", 5}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	sendmsg(sv[0], &mh, MSG_NOSIGNAL);
	char a[3], b[16];
	struct iovec riov[2] = {{a, 3}, {b, 16}};
	struct msghdr rh = {.msg_iov = riov, .msg_iovlen = 2};
	recvmsg(sv[1], &rh, 0);
	recvmsg(sv[1], &rh, MSG_DONTWAIT);
	sendmsg(-1, &mh, 0);
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	mh.msg_control = ctl.buf;
	mh.msg_controllen = CMSG_SPACE(2 * sizeof(int));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
	int fds[2] = {0, 1};
	memcpy(CMSG_DATA(cm), fds, sizeof fds);
	mh.msg_iovlen = 1;
	sendmsg(sv[0], &mh, 0);
	rh.msg_control = ctl.buf;
	rh.msg_controllen = sizeof ctl.buf;
	recvmsg(sv[1], &rh, MSG_CMSG_CLOEXEC);
	close(5);
	close(6);

	int v = 1;
	setsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v);
	socklen_t len = sizeof v;
	getsockopt(sv[0], SOL_SOCKET, SO_KEEPALIVE, &v, &len);
	len = sizeof v;
	getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &v, &len);
	v = 65536;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	int tcp = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
	v = 1;
	setsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v);
	len = sizeof v;
	getsockopt(tcp, IPPROTO_TCP, TCP_NODELAY, &v, &len);
	setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v);
	close(tcp);

	int fd = open("file", O_CREAT | O_WRONLY | O_TRUNC, 0600);
	write(fd, "12345", 5);
	close(fd);
	struct statx stx;
	statx(AT_FDCWD, "file", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx);
	statx(AT_FDCWD, "nofile", 0, STATX_SIZE, &stx);
	unlink("file"); // the next run of the comparison makes it anew

	fd_set rfds, wfds;
	FD_ZERO(&rfds);
	FD_ZERO(&wfds);
	FD_SET(sv[1], &rfds);
	FD_SET(sv[0], &wfds);
	struct timeval tv = {0, 0};
	select(sv[1] + 1, &rfds, &wfds, NULL, &tv);
	FD_ZERO(&rfds);
	FD_SET(sv[1], &rfds);
	struct timespec ts = {0, 1000};
	pselect(sv[1] + 1, &rfds, NULL, NULL, &ts, NULL);
	struct pollfd pfd[2] = {{sv[0], POLLOUT, 0}, {sv[1], POLLIN, 0}};
	ts.tv_nsec = 0;
	ppoll(pfd, 2, &ts, NULL);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	ppoll(pfd, 1, NULL, &set);

	prctl(PR_SET_NAME, "worker");
	char name[16];
	prctl(PR_GET_NAME, name);
	prctl(PR_SET_DUMPABLE, 1);
	prctl(PR_GET_DUMPABLE);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	int sig;
	prctl(PR_GET_PDEATHSIG, &sig);
	prctl(PR_GET_SECCOMP);
	prctl(9999, 1, 2, 3, 4);
	return 0;
}
