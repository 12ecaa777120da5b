/* tcpclosed: poll of a TCP socket in TCP_CLOSE, as tcp_poll gives it:
 * new, bound, shut down before connecting, after a refused blocking
 * connect (disconnected: as new), after a refused non-blocking connect
 * before and after SO_ERROR took the error, after a reset connection, and
 * a listener. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

static void show(const char *what, int fd) {
	struct pollfd p = {fd, POLLIN | POLLOUT | POLLPRI | POLLRDHUP | POLLRDNORM | POLLWRNORM, 0};
	poll(&p, 1, 0);
	printf("%s: %#x\n", what, p.revents);
}

static void wait_event(int fd) {
	struct pollfd p = {fd, POLLOUT, 0};
	poll(&p, 1, 5000);
}

static int so_error(int fd) {
	int e = -1;
	socklen_t l = sizeof e;
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l);
	return e;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	/* A loopback port nothing listens on: one just let go. */
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	int tmp = socket(AF_INET, SOCK_STREAM, 0);
	bind(tmp, (void *)&a, sizeof a);
	getsockname(tmp, (void *)&a, &al);
	close(tmp);

	int s = socket(AF_INET, SOCK_STREAM, 0);
	show("new", s);
	T(connect(s, (void *)&a, sizeof a));
	show("refused blocking connect", s);
	printf("SO_ERROR %s\n", ename(so_error(s)));
	show("then", s);
	close(s);

	int n = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	T(connect(n, (void *)&a, sizeof a));
	wait_event(n);
	show("refused non-blocking connect", n);
	printf("SO_ERROR %s\n", ename(so_error(n)));
	show("after SO_ERROR", n);
	close(n);

	int sh = socket(AF_INET, SOCK_STREAM, 0);
	T(shutdown(sh, SHUT_RD));
	show("new, shutdown(SHUT_RD)", sh);
	T(shutdown(sh, SHUT_WR));
	show("new, then shutdown(SHUT_WR)", sh);
	close(sh);

	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in la = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t lal = sizeof la;
	T(bind(l, (void *)&la, sizeof la));
	show("bound", l);
	T(listen(l, 1));
	show("listening", l);
	getsockname(l, (void *)&la, &lal);

	/* A connection the peer resets (SO_LINGER 0 then close). */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, (void *)&la, sizeof la));
	/* Linux queues the connection before connect returns; the sandbox's
	 * network stack may take a moment after it (the listener's side of
	 * the handshake runs on its own): wait for it, then show it. */
	struct pollfd lp = {l, POLLIN, 0};
	poll(&lp, 1, 5000);
	show("listener with a connection to accept", l);
	int p = accept(l, NULL, NULL);
	struct linger lg = {1, 0};
	setsockopt(p, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(p);
	struct pollfd pf = {c, POLLIN, 0};
	poll(&pf, 1, 5000);
	show("reset by the peer", c);
	char b;
	T(read(c, &b, 1));
	close(c);
	close(l);
	return 0;
}
