/* 0.0.0.0 as a destination in a network namespace of its own (needs a
 * root host): it means this host, which Linux routes to lo without a
 * lookup whatever lo's state (ip_route_output_key_hash), so UDP and raw
 * sends to it succeed on a lo that is down, and is dropped there; a
 * connect to it needs lo's 127.0.0.1 as its source, which a lo never up
 * has not (ENETUNREACH). With lo up, UDP and TCP reach listeners bound
 * to the wildcard. IPv6's :: is ::1, which a down lo has not. */
#include "common.h"
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "loif.h"

/* bound_port prints whether a socket has a port (autobind) and its
 * address. */
static void bound_port(const char *what, int s) {
	struct sockaddr_in n = {0};
	socklen_t nl = sizeof n;
	getsockname(s, (void *)&n, &nl);
	printf("%s: %s, port %s\n", what, inet_ntoa(n.sin_addr), n.sin_port ? "set" : "0");
}

static void phase(const char *title) {
	char buf[16];
	printf("-- %s\n", title);
	struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons(5000)};
	struct sockaddr_in lo = any;
	lo.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	struct sockaddr_in unspec = any;
	unspec.sin_family = AF_UNSPEC;
	int rcv = socket(AF_INET, SOCK_DGRAM, 0);
	T(bind(rcv, (void *)&any, sizeof any));

	int u = socket(AF_INET, SOCK_DGRAM, 0);
	T(sendto(u, "a", 1, 0, (void *)&any, sizeof any));
	bound_port("after sendto 0.0.0.0", u);
	T(recv(rcv, buf, sizeof buf, MSG_DONTWAIT));
	T(sendto(u, "b", 1, 0, (void *)&unspec, sizeof unspec));
	T(recv(rcv, buf, sizeof buf, MSG_DONTWAIT));
	T(sendto(u, "c", 1, 0, (void *)&lo, sizeof lo));
	T(recv(rcv, buf, sizeof buf, MSG_DONTWAIT));
	struct msghdr mh = {0};
	struct iovec iov = {"d", 1};
	mh.msg_name = &any;
	mh.msg_namelen = sizeof any;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	T(sendmsg(u, &mh, 0));
	T(recv(rcv, buf, sizeof buf, MSG_DONTWAIT));

	int c = socket(AF_INET, SOCK_DGRAM, 0);
	T(connect(c, (void *)&any, sizeof any));
	bound_port("after connect 0.0.0.0", c);
	T(send(c, "e", 1, 0));
	T(recv(rcv, buf, sizeof buf, MSG_DONTWAIT));

	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_UDP);
	unsigned char udp[8] = {0x13, 0x88, 0x13, 0x88, 0, 8, 0, 0};
	T(sendto(raw, udp, sizeof udp, 0, (void *)&any, sizeof any));
	T(sendto(raw, udp, sizeof udp, 0, (void *)&lo, sizeof lo));

	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in la = {.sin_family = AF_INET, .sin_port = htons(5001)};
	T(bind(l, (void *)&la, sizeof la));
	T(listen(l, 4));
	int t = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(t, (void *)&la, sizeof la));
	/* The connection reaches the listener's queue after connect returns
	 * (the handshake's last ACK): wait for it, not on the timing. */
	struct pollfd lp = {l, POLLIN, 0};
	poll(&lp, 1, 5000);
	int a = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	printf("accepted: %s\n", a >= 0 ? "yes" : ename(errno));

	struct sockaddr_in6 any6 = {.sin6_family = AF_INET6, .sin6_port = htons(5002)};
	int u6 = socket(AF_INET6, SOCK_DGRAM, 0);
	T(sendto(u6, "f", 1, 0, (void *)&any6, sizeof any6));
	int c6 = socket(AF_INET6, SOCK_DGRAM, 0);
	T(connect(c6, (void *)&any6, sizeof any6));

	int fds[] = {rcv, u, c, raw, l, t, a, u6, c6};
	for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (unshare(CLONE_NEWNET) != 0) {
		printf("unshare: %s\n", ename(errno));
		return 1;
	}
	phase("lo never up");
	T(set_lo(1));
	phase("lo up");
	return 0;
}
