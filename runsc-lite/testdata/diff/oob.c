/* TCP urgent data (MSG_OOB) on 127.0.0.1, as tcp(7) and socket(7) describe
 * it: the last byte of a send with MSG_OOB is urgent; recv(MSG_OOB) takes
 * it (EINVAL when there is none, when it was taken, or with SO_OOBINLINE);
 * reads stop at the mark and, without SO_OOBINLINE, skip the urgent byte;
 * SIOCATMARK; POLLPRI and select's exceptional set; urgent data sent
 * before the accept; MSG_OOB on a UDP socket and on an unconnected TCP
 * socket. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include "loop4.h"

/* listener4 returns a TCP listener on 127.0.0.1, its address in *a. */
static int listener4(struct sockaddr_in *a) {
	int l = socket(AF_INET, SOCK_STREAM, 0);
	*a = loop4(0);
	socklen_t n = sizeof *a;
	bind(l, (void *)a, sizeof *a);
	getsockname(l, (void *)a, &n);
	listen(l, 1);
	return l;
}

/* tcp_conn makes a connection on 127.0.0.1: *c connected, *s accepted. */
static int tcp_conn(int *c, int *s) {
	struct sockaddr_in a;
	int l = listener4(&a);
	for (int try = 0; try < 100; try++) {
		*c = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(*c, (void *)&a, sizeof a) == 0)
			break;
		int e = errno;
		close(*c);
		*c = -1;
		if (e != EADDRNOTAVAIL) {
			printf("connect: %s\n", ename(e));
			break;
		}
		usleep(20000);
	}
	if (*c < 0) {
		close(l);
		return -1;
	}
	*s = accept(l, NULL, NULL);
	close(l);
	return 0;
}

/* show prints what poll says of fd now (in, pri) and the mark. */
static void show(const char *what, int fd) {
	struct pollfd p = {fd, POLLIN | POLLPRI, 0};
	poll(&p, 1, 0);
	int mark = -1;
	ioctl(fd, SIOCATMARK, &mark);
	printf("%s: in=%d pri=%d atmark=%d\n", what, !!(p.revents & POLLIN), !!(p.revents & POLLPRI), mark);
}

/* wait_pri waits up to a second for urgent data on fd. */
static void wait_pri(int fd) {
	struct pollfd p = {fd, POLLPRI, 0};
	printf("wait pri: %d\n", poll(&p, 1, 1000));
}

/* wait_inq waits (up to 1 s) until fd has at least n bytes to read, so
 * that a later segment of the test's is there when a read looks for it
 * (the urgent byte may count or not: n leaves it out). Prints nothing. */
static void wait_inq(int fd, int n) {
	for (int i = 0; i < 1000; i++) {
		int q = 0;
		if (ioctl(fd, FIONREAD, &q) == 0 && q >= n)
			return;
		usleep(1000);
	}
}

/* rd receives with flags and prints what came. */
static void rd(int fd, int len, int flags) {
	char buf[64] = {0};
	struct iovec v = {buf, len};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
	errno = 0;
	long r = recvmsg(fd, &m, flags);
	if (r < 0)
		printf("recv(%d, %#x) = -1 %s\n", len, flags, ename(errno));
	else
		printf("recv(%d, %#x) = %ld \"%.*s\" oob=%d trunc=%d\n", len, flags, r, (int)(r < len ? r : len), buf,
		       !!(m.msg_flags & MSG_OOB), !!(m.msg_flags & MSG_TRUNC));
}

static void basic(void) {
	int c, s;
	if (tcp_conn(&c, &s) < 0)
		return;
	printf("SO_OOBINLINE: %d\n", sockopt_int(s, SOL_SOCKET, SO_OOBINLINE));
	rd(s, 10, MSG_OOB);
	rd(s, 10, MSG_OOB | MSG_DONTWAIT);
	T(send(c, "abcd", 4, MSG_OOB));
	wait_pri(s);
	show("after send", s);
	rd(s, 10, MSG_DONTWAIT | MSG_PEEK);
	rd(s, 10, 0);
	show("at the mark", s);
	rd(s, 10, MSG_OOB | MSG_PEEK);
	rd(s, 0, MSG_OOB | MSG_PEEK);
	rd(s, 10, MSG_OOB);
	show("taken", s);
	rd(s, 10, MSG_OOB);
	rd(s, 10, MSG_DONTWAIT);
	T(send(c, "ef", 2, 0));
	rd(s, 10, 0);
	show("past", s);
	rd(s, 10, MSG_OOB);
	close(c);
	close(s);
}

/* skipped: the urgent byte, never taken, is not in the stream. */
static void skipped(void) {
	int c, s;
	if (tcp_conn(&c, &s) < 0)
		return;
	T(send(c, "12", 2, 0));
	T(send(c, "3", 1, MSG_OOB));
	T(send(c, "45", 2, 0));
	wait_pri(s);
	wait_inq(s, 4);
	show("queued", s);
	rd(s, 10, 0);
	show("at the mark", s);
	rd(s, 10, MSG_PEEK);
	rd(s, 10, 0);
	rd(s, 10, MSG_OOB);
	show("past", s);
	close(c);
	close(s);
}

/* only: the urgent byte alone is not something to read. */
static void only(void) {
	int c, s;
	if (tcp_conn(&c, &s) < 0)
		return;
	T(send(c, "Z", 1, MSG_OOB));
	wait_pri(s);
	show("only urgent", s);
	fd_set r, x;
	FD_ZERO(&r);
	FD_ZERO(&x);
	FD_SET(s, &r);
	FD_SET(s, &x);
	struct timeval tv = {0, 0};
	int n = select(s + 1, &r, NULL, &x, &tv);
	printf("select: %d read=%d except=%d\n", n, FD_ISSET(s, &r), FD_ISSET(s, &x));
	rd(s, 10, MSG_DONTWAIT);
	rd(s, 10, MSG_OOB);
	rd(s, 10, MSG_DONTWAIT);
	T(send(c, "after", 5, 0));
	rd(s, 10, 0);
	close(c);
	rd(s, 10, 0);
	close(s);
}

/* inline: with SO_OOBINLINE the byte stays in the stream; reads still
 * stop at the mark. */
static void inlined(void) {
	int c, s;
	if (tcp_conn(&c, &s) < 0)
		return;
	int on = 1;
	T(setsockopt(s, SOL_SOCKET, SO_OOBINLINE, &on, sizeof on));
	printf("SO_OOBINLINE: %d\n", sockopt_int(s, SOL_SOCKET, SO_OOBINLINE));
	T(send(c, "xyz", 3, MSG_OOB));
	T(send(c, "w", 1, 0));
	wait_pri(s);
	/* Inline, the urgent byte is in the stream and counted: all four,
	 * so that the "w" segment is there for the read past the mark. */
	wait_inq(s, 4);
	show("inline", s);
	rd(s, 10, MSG_OOB);
	rd(s, 10, 0);
	show("at the mark", s);
	rd(s, 10, 0);
	show("past", s);
	close(c);
	close(s);
}

/* truncated: a send's urgent byte cut by a short read before it. */
static void partial(void) {
	int c, s;
	if (tcp_conn(&c, &s) < 0)
		return;
	T(send(c, "abcdef", 6, MSG_OOB));
	wait_pri(s);
	rd(s, 2, 0);
	show("two read", s);
	rd(s, 10, MSG_WAITALL | MSG_DONTWAIT);
	show("at the mark", s);
	rd(s, 10, MSG_OOB);
	T(send(c, "gh", 2, 0));
	rd(s, 2, MSG_WAITALL);
	close(c);
	close(s);
}

/* backlog: urgent data sent before the connection was accepted. */
static void backlog(void) {
	struct sockaddr_in a;
	int l = listener4(&a);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (void *)&a, sizeof a) < 0) {
		printf("connect: %s\n", ename(errno));
		return;
	}
	T(send(c, "uvw", 3, MSG_OOB));
	usleep(100000);
	int s = accept(l, NULL, NULL);
	wait_pri(s);
	show("accepted", s);
	rd(s, 10, 0);
	rd(s, 10, MSG_OOB);
	close(c);
	rd(s, 10, 0);
	close(s);
	close(l);
}

static void others(void) {
	int c, s;
	int t = socket(AF_INET, SOCK_STREAM, 0);
	T(send(t, "a", 1, MSG_OOB | MSG_NOSIGNAL));
	rd(t, 10, MSG_OOB);
	int mark = -1;
	T(ioctl(t, SIOCATMARK, &mark));
	printf("mark: %d\n", mark);
	close(t);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = loop4(0);
	socklen_t n = sizeof a;
	bind(u, (void *)&a, sizeof a);
	getsockname(u, (void *)&a, &n);
	T(sendto(u, "a", 1, MSG_OOB, (void *)&a, sizeof a));
	T(sendto(u, "b", 1, 0, (void *)&a, sizeof a));
	rd(u, 10, MSG_OOB | MSG_DONTWAIT);
	rd(u, 10, MSG_DONTWAIT);
	close(u);
	if (tcp_conn(&c, &s) < 0)
		return;
	T(send(c, "", 0, MSG_OOB));
	T(send(c, "q", 1, 0));
	rd(s, 10, 0);
	rd(s, 10, MSG_OOB);
	T(shutdown(s, SHUT_RD));
	rd(s, 10, MSG_OOB);
	close(c);
	close(s);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	basic();
	skipped();
	only();
	inlined();
	partial();
	backlog();
	others();
	return 0;
}
