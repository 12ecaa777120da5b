/* Network namespaces (CLONE_NEWNET, as root): a new namespace has only
 * lo, down; 127.0.0.1 there is not the first namespace's (a listener
 * there is unreachable, its port free), nor are its abstract AF_UNIX
 * names; /proc/net, /proc/self/net, netlink (if_nameindex) and the
 * interface ioctls describe the new one; setns(2) goes back through
 * /proc/self/ns/net; clone(CLONE_NEWNET) makes another; unshare without
 * CAP_SYS_ADMIN is EPERM. Packet sockets (AF_PACKET) on the new lo:
 * a datagram sent on lo is seen with its link address. Nothing here
 * depends on the host's interfaces: only new namespaces are looked at
 * in detail. */
#include "common.h"
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <stddef.h>
#include "loif.h"

static void show_ifs(const char *when) {
	struct if_nameindex *ifs = if_nameindex();
	printf("%s: interfaces:", when);
	for (struct if_nameindex *i = ifs; i && i->if_index; i++)
		printf(" %u:%s", i->if_index, i->if_name);
	printf("\n");
	if_freenameindex(ifs);
}

static void show_lo(int s) {
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		printf("SIOCGIFFLAGS: %s\n", ename(errno));
		return;
	}
	printf("lo: up %d loopback %d running %d\n", !!(ifr.ifr_flags & IFF_UP), !!(ifr.ifr_flags & IFF_LOOPBACK),
	       !!(ifr.ifr_flags & IFF_RUNNING));
}

/* proc_names prints the interface names of a /proc/net/dev file. */
static void proc_names(const char *path) {
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("%s: %s\n", path, ename(errno));
		return;
	}
	char line[512];
	printf("%s:", path);
	for (int n = 0; fgets(line, sizeof line, f); n++) {
		char name[64];
		if (n >= 2 && sscanf(line, " %63[^:]:", name) == 1)
			printf(" %s", name);
	}
	printf("\n");
	fclose(f);
}

/* proc_lines counts the entries of a /proc/net socket table. */
static int proc_lines(const char *path) {
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	char line[512];
	int n = -1;
	while (fgets(line, sizeof line, f))
		n++;
	fclose(f);
	return n;
}

/* lo_tag prints net.ipv4.conf.lo.tag, a per-namespace sysctl. */
static void lo_tag(const char *when) {
	FILE *f = fopen("/proc/sys/net/ipv4/conf/lo/tag", "r");
	int v = -1;
	if (!f || fscanf(f, "%d", &v) != 1)
		printf("%s: lo tag: %s\n", when, ename(errno));
	else
		printf("%s: lo tag %d\n", when, v);
	if (f)
		fclose(f);
}

static int tcp_connect(struct sockaddr_in *a) {
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int r = connect(c, (void *)a, sizeof *a);
	int e = errno;
	close(c);
	errno = e;
	return r;
}

static int unix_connect(const char *name) {
	struct sockaddr_un u = {AF_UNIX};
	memcpy(u.sun_path + 1, name, strlen(name));
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	int r = connect(c, (void *)&u, offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name));
	int e = errno;
	close(c);
	errno = e;
	return r;
}

/* recv_ll waits up to a second for a packet on s: its length, or -1. */
static int recv_ll(int s, unsigned char *buf, int size, struct sockaddr_ll *from, socklen_t *fl) {
	struct pollfd pf = {s, POLLIN, 0};
	if (poll(&pf, 1, 1000) != 1)
		return -1;
	*fl = sizeof *from;
	return recvfrom(s, buf, size, 0, (void *)from, fl);
}

static void packets(void) {
	int p = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
	printf("packet socket: %s\n", p >= 0 ? "yes" : ename(errno));
	if (p < 0)
		return;
	struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = 1};
	T(bind(p, (void *)&ll, sizeof ll));
	struct sockaddr_ll name;
	socklen_t nl = sizeof name;
	T(getsockname(p, (void *)&name, &nl));
	printf("name: family %d protocol %#x ifindex %d hatype %d len %d\n", name.sll_family, ntohs(name.sll_protocol),
	       name.sll_ifindex, name.sll_hatype, (int)nl);
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = {AF_INET, htons(9), {htonl(INADDR_LOOPBACK)}};
	T(sendto(u, "hello", 5, 0, (void *)&to, sizeof to));
	for (int i = 0; i < 2; i++) {
		unsigned char buf[256];
		struct sockaddr_ll from;
		socklen_t fl;
		int n = recv_ll(p, buf, sizeof buf, &from, &fl);
		if (n < 0) {
			printf("no packet\n");
			break;
		}
		struct iphdr *ip = (void *)buf;
		printf("packet: %d bytes, ip version %d proto %d, from ifindex %d protocol %#x pkttype %d hatype %d halen %d len %d\n",
		       n, ip->version, ip->protocol, from.sll_ifindex, ntohs(from.sll_protocol), from.sll_pkttype,
		       from.sll_hatype, from.sll_halen, (int)fl);
	}
	close(u);
	/* A raw packet socket sends an Ethernet frame; on lo it comes back. */
	int r = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	printf("raw packet socket: %s\n", r >= 0 ? "yes" : ename(errno));
	if (r >= 0) {
		struct sockaddr_ll rl = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL), .sll_ifindex = 1};
		T(bind(r, (void *)&rl, sizeof rl));
		/* An IPv4 packet of protocol 253 (experimental) to 127.0.0.1. */
		unsigned char frame[14 + 20 + 17] = {0};
		frame[12] = 0x08, frame[13] = 0x00;
		struct iphdr *ip = (void *)(frame + 14);
		ip->version = 4, ip->ihl = 5, ip->tot_len = htons(20 + 17), ip->ttl = 64, ip->protocol = 253;
		ip->saddr = ip->daddr = htonl(INADDR_LOOPBACK);
		unsigned long sum = 0;
		for (int i = 0; i < 10; i++)
			sum += ((unsigned short *)ip)[i];
		sum = (sum >> 16) + (sum & 0xffff);
		ip->check = ~(sum + (sum >> 16));
		memcpy(frame + 34, "raw frame payload", 17);
		T(send(r, frame, sizeof frame, 0));
		/* The looped-back copy (Linux does not show the sender its own
		 * outgoing copy; skip one if shown). */
		for (int i = 0; i < 2; i++) {
			unsigned char buf[256];
			struct sockaddr_ll from;
			socklen_t fl;
			int n = recv_ll(r, buf, sizeof buf, &from, &fl);
			if (n < 0) {
				printf("no frame\n");
				break;
			}
			if (from.sll_pkttype == PACKET_OUTGOING)
				continue;
			printf("frame: %d bytes, type %02x%02x, payload %.17s, protocol %#x pkttype %d\n", n, buf[12], buf[13],
			       buf + 34, ntohs(from.sll_protocol), from.sll_pkttype);
			break;
		}
		close(r);
	}
	close(p);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	char abstract[64];
	snprintf(abstract, sizeof abstract, "netns-diff-%d", getpid());
	/* A listener in the first namespace, TCP and abstract AF_UNIX. */
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {AF_INET, 0, {htonl(INADDR_LOOPBACK)}};
	socklen_t al = sizeof a;
	T(bind(l, (void *)&a, sizeof a));
	T(listen(l, 8));
	getsockname(l, (void *)&a, &al);
	int ul = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un un = {AF_UNIX};
	memcpy(un.sun_path + 1, abstract, strlen(abstract));
	socklen_t ulen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(abstract);
	T(bind(ul, (void *)&un, ulen));
	T(listen(ul, 8));
	T(tcp_connect(&a));
	T(unix_connect(abstract));

	char first[64] = "", second[64] = "";
	T(readlink("/proc/self/ns/net", first, sizeof first - 1) > 0);
	int home = open("/proc/self/ns/net", O_RDONLY);
	CHECK(home >= 0);
	struct stat hs;
	T(fstat(home, &hs));
	CHECK(strncmp(first, "net:[", 5) == 0);

	T(unshare(CLONE_NEWNET));
	T(readlink("/proc/self/ns/net", second, sizeof second - 1) > 0);
	CHECK(strcmp(first, second) != 0);
	struct stat ns;
	T(stat("/proc/self/ns/net", &ns));
	CHECK(ns.st_ino != hs.st_ino);
	show_ifs("new namespace");
	lo_tag("new namespace");
	FILE *tf = fopen("/proc/sys/net/ipv4/conf/lo/tag", "w");
	CHECK(tf != NULL);
	if (tf) {
		fprintf(tf, "7\n");
		fclose(tf);
	}
	lo_tag("new namespace, set");
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	show_lo(s);
	proc_names("/proc/net/dev");
	proc_names("/proc/self/net/dev");
	printf("/proc/net/tcp entries: %d\n", proc_lines("/proc/net/tcp"));
	printf("/proc/net/unix entries: %d\n", proc_lines("/proc/net/unix"));
	/* lo is down: nothing to route through. */
	T(tcp_connect(&a));
	T(set_lo(1));
	show_lo(s);
	/* The first namespace's listeners are not here. */
	T(tcp_connect(&a));
	T(unix_connect(abstract));
	/* Its port is free here; a connection works on the new lo. */
	int l2 = socket(AF_INET, SOCK_STREAM, 0);
	T(bind(l2, (void *)&a, sizeof a));
	T(listen(l2, 8));
	int c2 = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c2, (void *)&a, sizeof a));
	int acc = accept(l2, NULL, NULL);
	CHECK(acc >= 0);
	T(write(c2, "ping", 4));
	char buf[8] = "";
	T(read(acc, buf, sizeof buf));
	printf("read: %s\n", buf);
	printf("/proc/net/tcp entries: %d\n", proc_lines("/proc/net/tcp"));
	int ul2 = socket(AF_UNIX, SOCK_STREAM, 0);
	T(bind(ul2, (void *)&un, ulen));
	T(listen(ul2, 8));
	T(unix_connect(abstract));
	printf("/proc/net/unix entries: %d\n", proc_lines("/proc/net/unix"));
	packets();

	/* Without CAP_SYS_ADMIN: EPERM. */
	pid_t pid = fork();
	if (pid == 0) {
		if (setuid(65534) != 0)
			_exit(3);
		T(unshare(CLONE_NEWNET));
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	/* A child cloned into a namespace of its own. */
	pid = syscall(SYS_clone, CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		show_ifs("cloned namespace");
		lo_tag("cloned namespace");
		int s3 = socket(AF_INET, SOCK_DGRAM, 0);
		show_lo(s3);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));

	/* Back home: the first listeners answer again. */
	T(setns(home, CLONE_NEWNET));
	T(setns(home, CLONE_NEWUTS));
	T(setns(0, CLONE_NEWNET));
	char third[64] = "";
	T(readlink("/proc/self/ns/net", third, sizeof third - 1) > 0);
	CHECK(strcmp(first, third) == 0);
	T(tcp_connect(&a));
	T(unix_connect(abstract));
	/* Sockets stay in the namespace they were made in. */
	show_lo(s);
	return 0;
}
