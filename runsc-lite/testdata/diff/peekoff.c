/* SO_PEEK_OFF (socket(7)): its value on each kind of socket, what values
 * it takes, and MSG_PEEK reading from the offset, which peeks move
 * forward and reads move back: Unix stream, datagram and seqpacket
 * sockets, TCP and UDP on 127.0.0.1 (what a UDP peek passed over stays
 * readable, in order, for poll and FIONREAD), and bad arguments. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

static void setoff(int fd, int v) {
	errno = 0;
	int r = setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof v);
	printf("set %d: %s", v, r < 0 ? ename(errno) : "ok");
	printf(" -> %d\n", sockopt_int(fd, SOL_SOCKET, SO_PEEK_OFF));
}

/* rd receives up to len bytes with flags and prints them and the offset. */
static void rd(int fd, int len, int flags) {
	char buf[64] = {0};
	errno = 0;
	long r = recv(fd, buf, len, flags | MSG_DONTWAIT);
	if (r < 0)
		printf("recv(%d, %s) = -1 %s", len, flags & MSG_PEEK ? "peek" : "0", ename(errno));
	else
		printf("recv(%d, %s) = %ld \"%.*s\"", len, flags & MSG_PEEK ? "peek" : "0", r, (int)(r < len ? r : len), buf);
	printf(" off=%d\n", sockopt_int(fd, SOL_SOCKET, SO_PEEK_OFF));
}

static void stream(const char *what, int a, int b) {
	printf("-- %s\n", what);
	printf("default: %d\n", sockopt_int(b, SOL_SOCKET, SO_PEEK_OFF));
	rd(b, 4, MSG_PEEK);
	setoff(b, 0);
	T(send(a, "abcdef", 6, 0));
	usleep(50000);
	rd(b, 2, MSG_PEEK);
	rd(b, 2, MSG_PEEK);
	rd(b, 3, 0);
	rd(b, 10, MSG_PEEK);
	rd(b, 10, MSG_PEEK);
	T(send(a, "ghij", 4, 0));
	usleep(50000);
	rd(b, 2, MSG_PEEK);
	rd(b, 10, 0);
	rd(b, 10, MSG_PEEK);
	setoff(b, 3);
	T(send(a, "kl", 2, 0));
	usleep(50000);
	rd(b, 10, MSG_PEEK);
	rd(b, 1, 0);
	rd(b, 10, MSG_PEEK);
	setoff(b, -1);
	rd(b, 10, MSG_PEEK);
	setoff(b, -7);
	setoff(b, 100);
	rd(b, 10, 0);
	setoff(b, 1);
	T(send(a, "mnop", 4, 0));
	usleep(50000);
	rd(b, 10, MSG_PEEK);
	rd(b, 2, 0);
	rd(b, 10, 0);
}

static void dgram(const char *what, int a, int b) {
	printf("-- %s\n", what);
	printf("default: %d\n", sockopt_int(b, SOL_SOCKET, SO_PEEK_OFF));
	setoff(b, 0);
	T(send(a, "abc", 3, 0));
	T(send(a, "defg", 4, 0));
	T(send(a, "hi", 2, 0));
	usleep(50000);
	rd(b, 2, MSG_PEEK);
	rd(b, 10, MSG_PEEK);
	rd(b, 10, MSG_PEEK);
	rd(b, 10, MSG_PEEK);
	rd(b, 10, MSG_PEEK);
	rd(b, 10, 0);
	rd(b, 10, MSG_PEEK);
	setoff(b, 5);
	rd(b, 10, MSG_PEEK);
	setoff(b, 4);
	rd(b, 10, MSG_PEEK);
	rd(b, 1, 0);
	rd(b, 10, MSG_PEEK);
	rd(b, 10, 0);
	rd(b, 10, MSG_PEEK);
}

static void unix_sockets(void) {
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	stream("unix stream", sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	dgram("unix dgram", sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
	dgram("unix seqpacket", sv[0], sv[1]);
	close(sv[0]);
	close(sv[1]);
}

static void tcp(void) {
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof a;
	bind(l, (void *)&a, sizeof a);
	getsockname(l, (void *)&a, &n);
	listen(l, 1);
	printf("listener: %d\n", sockopt_int(l, SOL_SOCKET, SO_PEEK_OFF));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (void *)&a, sizeof a) < 0) {
		printf("connect: %s\n", ename(errno));
		return;
	}
	int s = accept(l, NULL, NULL);
	stream("tcp", c, s);
	close(c);
	close(s);
	close(l);
}

/* udp: two UDP sockets on 127.0.0.1 connected to each other. */
static void udp(void) {
	int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in x = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)}, y = x;
	socklen_t n = sizeof x;
	bind(a, (void *)&x, sizeof x);
	getsockname(a, (void *)&x, &n);
	bind(b, (void *)&y, sizeof y);
	getsockname(b, (void *)&y, &n);
	connect(a, (void *)&y, sizeof y);
	connect(b, (void *)&x, sizeof x);
	dgram("udp", a, b);
	/* What the peeks took stays readable, in order, and counted. */
	setoff(b, 0);
	T(send(a, "one", 3, 0));
	T(send(a, "three", 5, 0));
	usleep(50000);
	rd(b, 10, MSG_PEEK);
	int q = -1;
	T(ioctl(b, FIONREAD, &q));
	printf("FIONREAD %d\n", q);
	struct pollfd p = {b, POLLIN, 0};
	printf("poll: %d\n", poll(&p, 1, 0));
	rd(b, 10, MSG_PEEK);
	rd(b, 10, MSG_PEEK);
	rd(b, 10, 0);
	T(ioctl(b, FIONREAD, &q));
	printf("FIONREAD %d\n", q);
	printf("poll: %d\n", poll(&p, 1, 0));
	rd(b, 2, MSG_TRUNC);
	printf("poll: %d\n", poll(&p, 1, 0));
	rd(b, 10, 0);
	close(a);
	close(b);
}

static void others(void) {
	printf("-- others\n");
	int v = 1;
	int s = socket(AF_INET, SOCK_STREAM, 0);
	T(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &v, 2));
	T(setsockopt(s, SOL_SOCKET, SO_PEEK_OFF, NULL, sizeof v));
	socklen_t l = 2;
	T(getsockopt(s, SOL_SOCKET, SO_PEEK_OFF, &v, &l));
	printf("len %u\n", l);
	close(s);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	unix_sockets();
	tcp();
	udp();
	others();
	return 0;
}
