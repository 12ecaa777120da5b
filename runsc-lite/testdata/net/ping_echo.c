/* ping_echo ADDR...: one ICMP echo to each address (IPv4 or IPv6) over a
 * ping socket (SOCK_DGRAM, IPPROTO_ICMP or IPPROTO_ICMPV6), printing
 * what comes back: "ADDR reply seq N from ADDR payload same" or the
 * errno of the step that failed. Run natively and in the sandbox against
 * the same addresses. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static const char payload[] = "runsc-lite ping payload";

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof ss);
		socklen_t len;
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		int proto;
		unsigned char msg[64];
		memset(msg, 0, sizeof msg);
		if (inet_pton(AF_INET, argv[i], &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			len = sizeof *sin;
			proto = IPPROTO_ICMP;
			msg[0] = ICMP_ECHO;
		} else if (inet_pton(AF_INET6, argv[i], &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			len = sizeof *sin6;
			proto = IPPROTO_ICMPV6;
			msg[0] = ICMP6_ECHO_REQUEST;
		} else {
			fprintf(stderr, "ping_echo: bad address %s\n", argv[i]);
			return 2;
		}
		msg[7] = 7; /* sequence 7; the kernel sets the identifier */
		memcpy(msg + 8, payload, sizeof payload);
		int s = socket(ss.ss_family, SOCK_DGRAM, proto);
		if (s < 0) {
			printf("%s socket %s\n", argv[i], strerrorname_np(errno));
			continue;
		}
		struct timeval tv = {.tv_sec = 5};
		setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		if (sendto(s, msg, 8 + sizeof payload, 0, (struct sockaddr *)&ss, len) < 0) {
			printf("%s sendto %s\n", argv[i], strerrorname_np(errno));
			close(s);
			continue;
		}
		unsigned char buf[256];
		struct sockaddr_storage from;
		socklen_t fromlen = sizeof from;
		ssize_t n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
		if (n < 0) {
			printf("%s recvfrom %s\n", argv[i], strerrorname_np(errno));
			close(s);
			continue;
		}
		char fromstr[INET6_ADDRSTRLEN] = "?";
		if (from.ss_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)&from)->sin_addr, fromstr, sizeof fromstr);
		else if (from.ss_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&from)->sin6_addr, fromstr, sizeof fromstr);
		int reply = proto == IPPROTO_ICMP ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY;
		printf("%s type %s seq %d from %s payload %s\n", argv[i], buf[0] == reply ? "reply" : "other",
		       n >= 8 ? buf[6] << 8 | buf[7] : -1, fromstr,
		       n == (ssize_t)(8 + sizeof payload) && memcmp(buf + 8, payload, sizeof payload) == 0 ? "same" : "differs");
		close(s);
	}
	return 0;
}
