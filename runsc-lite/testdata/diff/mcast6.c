/* IPv6 multicast sending options (ipv6_sockglue.c) on UDP and TCP IPv6
 * sockets: IPV6_MULTICAST_HOPS (-1 is the default 1; -1..255; TCP refuses
 * setting it), IPV6_MULTICAST_LOOP (0 or 1 only), IPV6_MULTICAST_IF (an
 * interface index, 0 clears, an unknown one ENODEV; TCP refuses setting
 * it): defaults, values, short and long lengths, short reads, and an
 * IPv4 socket's refusal. (Not sends: the host's lo may lack IFF_MULTICAST.) */
#include "common.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

static void setv(int fd, const char *what, int name, int v, socklen_t len) {
	long long big = v; /* an 8-byte buffer whose first int is v */
	errno = 0;
	int r = setsockopt(fd, IPPROTO_IPV6, name, &big, len);
	char val[16] = "lo"; /* lo's index is not printed */
	if (strcmp(what, "if(lo)") != 0)
		snprintf(val, sizeof val, "%d", v);
	if (r < 0)
		printf("  set %s=%s len=%u = -1 %s\n", what, val, (unsigned)len, ename(errno));
	else
		printf("  set %s=%s len=%u = 0\n", what, val, (unsigned)len);
}

static void getv(int fd, const char *what, int name, socklen_t len) {
	unsigned char buf[8];
	memset(buf, 0xaa, sizeof buf);
	socklen_t l = len;
	errno = 0;
	int r = getsockopt(fd, IPPROTO_IPV6, name, buf, &l);
	if (r < 0) {
		printf("  get %s len=%u = -1 %s\n", what, (unsigned)len, ename(errno));
		return;
	}
	printf("  get %s len=%u = 0 len=%u bytes=", what, (unsigned)len, (unsigned)l);
	for (int i = 0; i < 8; i++)
		printf("%02x", buf[i]);
	printf("\n");
}

static void options(const char *kind, int type, int lo) {
	int fd = socket(AF_INET6, type, 0);
	printf("%s:\n", kind);
	getv(fd, "hops", IPV6_MULTICAST_HOPS, 4);
	getv(fd, "loop", IPV6_MULTICAST_LOOP, 4);
	getv(fd, "if", IPV6_MULTICAST_IF, 4);
	getv(fd, "hops", IPV6_MULTICAST_HOPS, 1);
	getv(fd, "loop", IPV6_MULTICAST_LOOP, 8);
	getv(fd, "if", IPV6_MULTICAST_IF, 0);

	int hops[] = {5, 0, 255, 256, -1, -2, 1000};
	for (unsigned i = 0; i < sizeof hops / sizeof *hops; i++) {
		setv(fd, "hops", IPV6_MULTICAST_HOPS, hops[i], 4);
		getv(fd, "hops", IPV6_MULTICAST_HOPS, 4);
	}
	setv(fd, "hops", IPV6_MULTICAST_HOPS, 7, 2);
	setv(fd, "hops", IPV6_MULTICAST_HOPS, 7, 8);
	setv(fd, "hops", IPV6_MULTICAST_HOPS, 7, 0);
	getv(fd, "hops", IPV6_MULTICAST_HOPS, 4);

	int loops[] = {0, 1, 2, -1};
	for (unsigned i = 0; i < sizeof loops / sizeof *loops; i++) {
		setv(fd, "loop", IPV6_MULTICAST_LOOP, loops[i], 4);
		getv(fd, "loop", IPV6_MULTICAST_LOOP, 4);
	}
	setv(fd, "loop", IPV6_MULTICAST_LOOP, 0, 1);
	setv(fd, "loop", IPV6_MULTICAST_LOOP, 0, 8);
	getv(fd, "loop", IPV6_MULTICAST_LOOP, 4);
	setv(fd, "loop", IPV6_MULTICAST_LOOP, 1, 4);

	setv(fd, "if(lo)", IPV6_MULTICAST_IF, lo, 4);
	printf("  if is lo: %s\n", sockopt_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF) == lo ? "yes" : "no");
	setv(fd, "if", IPV6_MULTICAST_IF, 0, 4);
	getv(fd, "if", IPV6_MULTICAST_IF, 4);
	setv(fd, "if", IPV6_MULTICAST_IF, 99999, 4);
	setv(fd, "if", IPV6_MULTICAST_IF, -5, 4);
	setv(fd, "if(lo)", IPV6_MULTICAST_IF, lo, 2);
	getv(fd, "if", IPV6_MULTICAST_IF, 4);

	/* An IPv4 socket does not know them. */
	int fd4 = socket(AF_INET, type, 0);
	setv(fd4, "v4 hops", IPV6_MULTICAST_HOPS, 1, 4);
	getv(fd4, "v4 hops", IPV6_MULTICAST_HOPS, 4);
	close(fd4);
	close(fd);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	int lo = if_nametoindex("lo");
	options("udp", SOCK_DGRAM, lo);
	options("tcp", SOCK_STREAM, lo);
	return 0;
}
