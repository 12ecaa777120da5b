/* loop4.h: 127.0.0.1 as a struct sockaddr_in, for the differential
 * programs on IPv4 loopback. */
#include <arpa/inet.h>
#include <netinet/in.h>

/* loop4 is 127.0.0.1 with port (host order). */
static struct sockaddr_in loop4(int port) {
	struct sockaddr_in a = {0};
	a.sin_family = AF_INET;
	a.sin_port = htons(port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}
