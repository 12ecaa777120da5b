/* Out-of-band data on Unix stream sockets (MSG_OOB, Linux's
 * CONFIG_AF_UNIX_OOB): the last byte of a send with MSG_OOB, reads that
 * stop before it and drop it when they start at it, recv(MSG_OOB),
 * MSG_PEEK, a second byte replacing the first, SO_OOBINLINE, SIOCATMARK,
 * POLLPRI, select's exceptional set, FIONREAD, SIGURG and F_SETSIG to the
 * owner; EOPNOTSUPP on datagram and seqpacket sockets. */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>

static void rd(int fd, int flags, const char *what) {
	char b[16] = {0};
	struct iovec iov = {b, sizeof b - 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	errno = 0;
	int n = recvmsg(fd, &mh, flags | MSG_DONTWAIT);
	if (n < 0)
		printf("%s: -1 %s\n", what, ename(errno));
	else
		printf("%s: %d '%s'%s\n", what, n, b, mh.msg_flags & MSG_OOB ? " MSG_OOB" : "");
}

static void state(int fd) {
	int m = -1, q = -1;
	ioctl(fd, SIOCATMARK, &m);
	ioctl(fd, FIONREAD, &q);
	struct pollfd p = {fd, POLLIN | POLLPRI};
	poll(&p, 1, 0);
	fd_set ex;
	FD_ZERO(&ex);
	FD_SET(fd, &ex);
	struct timeval tv = {0, 0};
	int sel = select(fd + 1, NULL, NULL, &ex, &tv);
	printf("  atmark=%d fionread=%d revents=%#x except=%d\n", m, q, p.revents, sel);
}

static int pending(int sig) {
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec ts = {0, 0};
	siginfo_t si;
	int n = 0;
	while (sigtimedwait(&s, &si, &ts) == sig) {
		if (n == 0 && sig != SIGURG)
			printf("  first %s code %d\n", sig == SIGURG ? "SIGURG" : "signal", si.si_code);
		n++;
	}
	return n;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGURG);
	sigaddset(&s, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &s, NULL);
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	fcntl(sv[1], F_SETOWN, getpid());

	printf("-- one send\n");
	T(send(sv[0], "abc", 3, MSG_OOB));
	printf("SIGURG: %d\n", pending(SIGURG));
	state(sv[1]);
	rd(sv[1], MSG_PEEK, "peek");
	rd(sv[1], MSG_OOB | MSG_PEEK, "peek oob");
	rd(sv[1], 0, "recv");
	state(sv[1]);
	rd(sv[1], MSG_OOB, "oob");
	state(sv[1]);
	rd(sv[1], MSG_OOB, "oob again");
	rd(sv[1], 0, "recv after");

	printf("-- mark kept after recv(MSG_OOB)\n");
	T(send(sv[0], "de", 2, MSG_OOB));
	T(send(sv[0], "fg", 2, 0));
	state(sv[1]);
	rd(sv[1], MSG_OOB, "oob");
	state(sv[1]);
	rd(sv[1], 0, "recv");
	state(sv[1]);
	rd(sv[1], 0, "recv");

	printf("-- a read starting at the mark drops the byte\n");
	T(send(sv[0], "hi", 2, MSG_OOB));
	T(send(sv[0], "jk", 2, 0));
	rd(sv[1], 0, "recv");
	state(sv[1]);
	rd(sv[1], MSG_PEEK, "peek at the mark");
	char b[8];
	T(read(sv[1], b, sizeof b));
	state(sv[1]);
	rd(sv[1], MSG_OOB, "oob");

	printf("-- a second byte replaces the first\n");
	T(send(sv[0], "x", 1, MSG_OOB));
	T(send(sv[0], "y", 1, MSG_OOB));
	state(sv[1]);
	rd(sv[1], MSG_OOB, "oob");
	rd(sv[1], 0, "recv");
	rd(sv[1], 0, "recv");
	printf("SIGURG: %d\n", pending(SIGURG));

	printf("-- SO_OOBINLINE\n");
	int on = 1;
	T(setsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &on, sizeof on));
	T(send(sv[0], "mn", 2, MSG_OOB));
	state(sv[1]);
	rd(sv[1], MSG_OOB, "oob");
	rd(sv[1], 0, "recv");
	state(sv[1]);
	rd(sv[1], 0, "recv");
	on = 0;
	setsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &on, sizeof on);
	printf("SIGURG: %d\n", pending(SIGURG));

	printf("-- F_SETSIG\n");
	fcntl(sv[1], F_SETSIG, SIGRTMIN);
	fcntl(sv[1], F_SETFL, O_ASYNC);
	T(send(sv[0], "o", 1, MSG_OOB));
	printf("SIGURG: %d\n", pending(SIGURG));
	printf("F_SETSIG signals: %d\n", pending(SIGRTMIN));
	rd(sv[1], MSG_OOB, "oob");
	fcntl(sv[1], F_SETFL, 0);

	printf("-- errors\n");
	T(send(sv[0], "", 0, MSG_OOB));
	rd(sv[0], MSG_OOB, "oob on the sender");
	shutdown(sv[1], SHUT_RD);
	T(send(sv[0], "p", 1, MSG_OOB | MSG_NOSIGNAL));
	close(sv[0]);
	close(sv[1]);
	int d[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, d);
	T(send(d[0], "a", 1, MSG_OOB));
	rd(d[1], MSG_OOB, "dgram oob");
	close(d[0]);
	close(d[1]);
	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, d);
	T(send(d[0], "a", 1, MSG_OOB));
	rd(d[1], MSG_OOB, "seqpacket oob");
	return 0;
}
