/* The destination of sendto on IPv4 datagram and raw sockets given as
 * AF_UNSPEC (as root, for the raw socket): udp_sendmsg and raw_sendmsg
 * take sin_family 0 as AF_INET, its address and port (0.0.0.0 is this
 * host; UDP without a port is EINVAL); on an IPv6 socket AF_UNSPEC means
 * the connected peer (EDESTADDRREQ without one). */
#include "common.h"
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
static void show(const char *w, ssize_t r) {
	printf("%s: %zd %s\n", w, r, r < 0 ? ename(errno) : "");
}
int main(int argc, char **argv) {
	setup(argc, argv);
	int r = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family=AF_INET,.sin_addr.s_addr=htonl(INADDR_LOOPBACK)};
	socklen_t al=sizeof a; bind(r,(void*)&a,sizeof a); getsockname(r,(void*)&a,&al);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in b = a; b.sin_family = AF_UNSPEC;
	show("udp unspec to bound port", sendto(u,"x",1,0,(void*)&b,sizeof b));
	char buf[8]; show("received", recv(r,buf,8,MSG_DONTWAIT));
	struct sockaddr_in z = {.sin_family=AF_INET,.sin_port=a.sin_port};
	show("udp to 0.0.0.0:port", sendto(u,"y",1,0,(void*)&z,sizeof z));
	show("received", recv(r,buf,8,MSG_DONTWAIT));
	struct sockaddr_in zz = {0};
	show("udp unspec zero", sendto(u,"y",1,0,(void*)&zz,sizeof zz));
	int raw = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	unsigned char pkt[8]={8,0,0xf7,0xff,0,0,0,0};
	show("raw unspec zero", sendto(raw,pkt,8,0,(void*)&zz,sizeof zz));
	show("raw to 0.0.0.0", sendto(raw,pkt,8,0,(void*)&z,sizeof z));
	struct sockaddr_in lo = {.sin_family=AF_UNSPEC,.sin_addr.s_addr=htonl(INADDR_LOOPBACK)};
	show("raw unspec 127.0.0.1", sendto(raw,pkt,8,0,(void*)&lo,sizeof lo));
	int r6 = socket(AF_INET6, SOCK_DGRAM, 0);
	struct sockaddr_in6 u6 = {.sin6_family=AF_UNSPEC};
	show("udp6 unspec unconnected", sendto(r6,"x",1,0,(void*)&u6,sizeof u6));
	return 0;
}
