/* IPv4 multicast's sending interface, IP_MULTICAST_IF (ip_sockglue.c),
 * on UDP, TCP and IPv6 UDP sockets (IPV6_V6ONLY too): getsockopt's struct in_addr (the
 * address set, 0.0.0.0 by default or when set by index) and its short
 * reads; setsockopt's struct in_addr, struct ip_mreq (the second address)
 * and struct ip_mreqn (the index first, then the address), by length;
 * 0.0.0.0 resets, an address or index of no interface (or a broadcast
 * address) is EADDRNOTAVAIL, any address of lo's 127.0.0.0/8 names lo,
 * an index with any address is taken as is; EINVAL for lengths under 4
 * and on TCP. (Not sends: the host's lo may lack IFF_MULTICAST.) */
#include "common.h"
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

static int lo;

/* getv prints the option read with a buffer of len bytes. */
static void getv(int fd, socklen_t len) {
	unsigned char buf[16];
	memset(buf, 0xaa, sizeof buf);
	socklen_t l = len;
	errno = 0;
	if (getsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, buf, &l) < 0) {
		printf("  get len=%u = -1 %s\n", (unsigned)len, ename(errno));
		return;
	}
	printf("  get len=%u = 0 len=%u bytes=", (unsigned)len, (unsigned)l);
	for (unsigned i = 0; i < 8; i++)
		printf("%02x", buf[i]);
	printf("\n");
}

/* set sets the option to what's first len bytes: an in_addr, ip_mreq or
 * ip_mreqn, as the length says. */
static void set(int fd, const char *what, const void *v, socklen_t len) {
	errno = 0;
	int r = setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, v, len);
	printf("  set %s len=%u = %d %s\n", what, (unsigned)len, r, r < 0 ? ename(errno) : "");
}

static void addr(int fd, const char *a, socklen_t len) {
	unsigned char buf[16] = {0};
	inet_pton(AF_INET, a, buf);
	set(fd, a, buf, len);
}

static void mreq(int fd, const char *group, const char *iface, socklen_t len) {
	struct ip_mreq m = {0};
	inet_pton(AF_INET, group, &m.imr_multiaddr);
	inet_pton(AF_INET, iface, &m.imr_interface);
	char what[64];
	snprintf(what, sizeof what, "ip_mreq{%s %s}", group, iface);
	set(fd, what, &m, len);
}

static void mreqn(int fd, const char *address, int ifindex, const char *index_name) {
	struct {
		struct ip_mreqn m;
		int pad;
	} v = {0};
	inet_pton(AF_INET, "224.0.0.1", &v.m.imr_multiaddr);
	inet_pton(AF_INET, address, &v.m.imr_address);
	v.m.imr_ifindex = ifindex;
	char what[64];
	snprintf(what, sizeof what, "ip_mreqn{%s %s}", address, index_name);
	set(fd, what, &v, sizeof v.m);
	if (ifindex == lo)
		set(fd, what, &v, sizeof v); /* longer: the same */
}

static void options(const char *kind, int family, int type, int v6only) {
	int fd = socket(family, type, 0);
	if (v6only)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
	printf("%s:\n", kind);
	getv(fd, 4);
	getv(fd, 16);
	getv(fd, 2);
	getv(fd, 0);
	addr(fd, "127.0.0.1", 4);
	getv(fd, 4);
	getv(fd, 3);
	addr(fd, "0.0.0.0", 4);
	getv(fd, 4);
	addr(fd, "127.0.0.1", 6);
	getv(fd, 4);
	addr(fd, "127.0.0.2", 4); /* lo has all of 127.0.0.0/8 */
	getv(fd, 4);
	addr(fd, "192.0.2.1", 4);
	addr(fd, "127.255.255.255", 4);
	addr(fd, "255.255.255.255", 4);
	addr(fd, "224.0.0.1", 4);
	getv(fd, 4);
	addr(fd, "127.0.0.1", 3);
	addr(fd, "127.0.0.1", 0);
	addr(fd, "0.0.0.0", 4);
	mreq(fd, "224.0.0.1", "127.0.0.1", 8);
	getv(fd, 4);
	mreq(fd, "127.0.0.1", "0.0.0.0", 8);
	getv(fd, 4);
	mreq(fd, "224.0.0.1", "192.0.2.1", 8);
	mreq(fd, "224.0.0.1", "127.0.0.1", 11);
	getv(fd, 4);
	mreqn(fd, "0.0.0.0", lo, "lo");
	getv(fd, 4);
	mreqn(fd, "127.0.0.1", lo, "lo");
	getv(fd, 4);
	mreqn(fd, "192.0.2.1", lo, "lo");
	getv(fd, 4);
	mreqn(fd, "127.0.0.1", 0, "0");
	getv(fd, 4);
	mreqn(fd, "0.0.0.0", 0, "0");
	getv(fd, 4);
	mreqn(fd, "127.0.0.1", 99999, "99999");
	mreqn(fd, "192.0.2.1", 0, "0");
	mreqn(fd, "127.0.0.1", -1, "-1");
	getv(fd, 4);
	close(fd);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	lo = if_nametoindex("lo");
	options("udp", AF_INET, SOCK_DGRAM, 0);
	options("tcp", AF_INET, SOCK_STREAM, 0);
	options("udp6", AF_INET6, SOCK_DGRAM, 0);
	options("udp6 v6only", AF_INET6, SOCK_DGRAM, 1);
	return 0;
}
