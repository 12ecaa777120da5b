/* connect_errno ADDR PORT [ADDR PORT ...]: a blocking TCP connect to each
 * destination (IPv4 or IPv6), printing "ADDR PORT ok" or "ADDR PORT
 * ENAME": what an application sees of a network's answer (a reset, an
 * ICMP unreachable, silence). Run natively and in the sandbox against the
 * same destinations. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	int i = 1;
	if ((argc - i) % 2 != 0 || argc == i) {
		fprintf(stderr, "usage: connect_errno ADDR PORT...\n");
		return 2;
	}
	for (; i < argc; i += 2) {
		struct sockaddr_storage ss;
		memset(&ss, 0, sizeof ss);
		socklen_t len;
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		if (inet_pton(AF_INET, argv[i], &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(atoi(argv[i + 1]));
			len = sizeof *sin;
		} else if (inet_pton(AF_INET6, argv[i], &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(atoi(argv[i + 1]));
			len = sizeof *sin6;
		} else {
			fprintf(stderr, "connect_errno: bad address %s\n", argv[i]);
			return 2;
		}
		int s = socket(ss.ss_family, SOCK_STREAM, 0);
		if (s < 0) {
			printf("%s %s socket %s\n", argv[i], argv[i + 1], strerrorname_np(errno));
			continue;
		}
		if (connect(s, (struct sockaddr *)&ss, len) == 0)
			printf("%s %s ok\n", argv[i], argv[i + 1]);
		else
			printf("%s %s %s\n", argv[i], argv[i + 1], strerrorname_np(errno));
		close(s);
	}
	return 0;
}
