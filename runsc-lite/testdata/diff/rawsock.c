/* Raw Internet sockets (CAP_NET_RAW, as root): an ICMP echo request sent
 * on a raw socket to 127.0.0.1 comes back to it with its IPv4 header, as
 * does the reply; IP_HDRINCL; ICMPv6 on ::1 without a header; the errors
 * of bad protocols. Only this program's packets (its echo identifier) are
 * looked at: a native run shares the host's loopback. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <netinet/icmp6.h>
#include <poll.h>
#include <sys/socket.h>

static unsigned short csum(const void *p, int n) {
	const unsigned short *w = p;
	unsigned long s = 0;
	for (; n > 1; n -= 2)
		s += *w++;
	if (n)
		s += *(const unsigned char *)w;
	s = (s >> 16) + (s & 0xffff);
	s += s >> 16;
	return ~s;
}

/* ours reads packets from s for up to a second and prints the ICMP type
 * of each one with this program's identifier id; off is where the ICMP
 * header starts (after the IPv4 header, or 0). */
static void ours(int s, int id, int v6) {
	for (int got = 0; got < 2;) {
		struct pollfd p = {s, POLLIN, 0};
		if (poll(&p, 1, 1000) != 1) {
			printf("no more packets\n");
			return;
		}
		unsigned char buf[256];
		struct sockaddr_storage from;
		socklen_t fl = sizeof from;
		int n = recvfrom(s, buf, sizeof buf, 0, (void *)&from, &fl);
		int off = v6 ? 0 : (buf[0] & 0xf) * 4;
		if (n < off + 8)
			continue;
		struct icmphdr *h = (void *)(buf + off);
		if (ntohs(h->un.echo.id) != id)
			continue;
		got++;
		printf("packet: %d bytes, header %d, icmp type %d code %d, from family %d len %d", n, off, h->type, h->code,
		       from.ss_family, (int)fl);
		if (!v6) {
			struct iphdr *ip = (void *)buf;
			printf(", ip proto %d ttl>0 %d", ip->protocol, ip->ttl > 0);
		}
		printf("\n");
	}
}

int main(int argc, char **argv) {
	setup(argc, argv);
	int id = getpid() & 0xffff;
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	CHECK(s >= 0);
	T(sockopt_int(s, SOL_IP, IP_HDRINCL));
	struct icmphdr h = {.type = ICMP_ECHO};
	h.un.echo.id = htons(id);
	h.un.echo.sequence = htons(1);
	h.checksum = csum(&h, sizeof h);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	T(sendto(s, &h, sizeof h, 0, (void *)&to, sizeof to));
	ours(s, id, 0);
	int on = 1;
	T(setsockopt(s, SOL_IP, IP_HDRINCL, &on, sizeof on));
	T(sockopt_int(s, SOL_IP, IP_HDRINCL));
	close(s);

	int s6 = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
	CHECK(s6 >= 0);
	struct icmp6_hdr h6 = {.icmp6_type = ICMP6_ECHO_REQUEST};
	h6.icmp6_id = htons(id);
	h6.icmp6_seq = htons(1);
	struct sockaddr_in6 to6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
	T(sendto(s6, &h6, sizeof h6, 0, (void *)&to6, sizeof to6));
	ours(s6, id, 1);
	close(s6);

	int r = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	CHECK(r >= 0);
	T(sockopt_int(r, SOL_IP, IP_HDRINCL));
	close(r);
	T(socket(AF_INET, SOCK_RAW, 0));
	T(socket(AF_INET, SOCK_RAW, 263));
	T(socket(AF_INET, SOCK_RAW, -1));
	return 0;
}
