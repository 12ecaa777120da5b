/* /proc/net as a program sees it with --network=host, printed so that a
 * native run prints the same: the host's interfaces (names of
 * /proc/net/dev, in order; counters move), IPv6 addresses (if_inet6,
 * sorted: Linux lists them in hash order) and IPv4 routes (route), and
 * this program's own sockets found in tcp and udp by their inode, with
 * their state, queues, owner and addresses' relations; and the
 * interfaces of /sys/class/net. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void dev(void) {
	FILE *f = fopen("/proc/net/dev", "r");
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof line, f)) {
		if (n++ < 2) {
			printf("dev header: %s", line);
			continue;
		}
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = 0;
		int fields = 0;
		for (char *p = strtok(colon + 1, " \n"); p; p = strtok(NULL, " \n"))
			fields++;
		char *name = line;
		while (*name == ' ')
			name++;
		printf("dev %s: %d fields\n", name, fields);
	}
	if (f)
		fclose(f);
}

static void if_inet6(void) {
	FILE *f = fopen("/proc/net/if_inet6", "r");
	char *lines[256];
	int n = 0;
	char line[256];
	while (f && n < 256 && fgets(line, sizeof line, f))
		lines[n++] = strdup(line);
	if (f)
		fclose(f);
	qsort(lines, n, sizeof lines[0], cmp);
	for (int i = 0; i < n; i++)
		printf("if_inet6: %s", lines[i]);
}

/* sysclass prints /sys/class/net: each interface (sorted) and the
 * attributes that do not move: index, type, MTU, hardware address and
 * the administrative flags. */
static void sysclass(void) {
	struct dirent **names;
	int n = scandir("/sys/class/net", &names, NULL, alphasort);
	static const char *attrs[] = {"ifindex", "type", "mtu", "address", "flags"};
	for (int k = 0; k < n; k++) {
		const char *name = names[k]->d_name;
		if (name[0] == '.')
			continue;
		printf("class/net %s:", name);
		for (unsigned i = 0; i < sizeof attrs / sizeof attrs[0]; i++) {
			char path[300], v[64] = "?";
			snprintf(path, sizeof path, "/sys/class/net/%s/%s", name, attrs[i]);
			FILE *f = fopen(path, "r");
			if (f && fgets(v, sizeof v, f))
				v[strcspn(v, "\n")] = 0;
			if (f)
				fclose(f);
			printf(" %s=%s", attrs[i], v);
		}
		printf("\n");
	}
	if (n < 0)
		printf("class/net: %m\n");
}

static void route(void) {
	FILE *f = fopen("/proc/net/route", "r");
	char line[512];
	while (f && fgets(line, sizeof line, f))
		printf("route: %s", line);
	if (f)
		fclose(f);
}

/* find prints the line of /proc/net/FILE for socket fd (by inode): state,
 * queues, whether the uid is ours, and whether local and remote are the
 * addresses given (hex as the file prints them). */
static void find(const char *file, int fd, const char *what, unsigned lport, unsigned rport) {
	struct stat st;
	fstat(fd, &st);
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/net/%s", file);
	FILE *f = fopen(path, "r");
	int found = 0;
	while (f && fgets(line, sizeof line, f)) {
		char local[64], remote[64];
		unsigned state, tx, rx, uid;
		unsigned long ino;
		int sl;
		if (sscanf(line, "%d: %63s %63s %x %x:%x %*x:%*x %*x %u %*d %lu", &sl, local, remote, &state, &tx, &rx, &uid, &ino) != 8)
			continue;
		if (ino != st.st_ino)
			continue;
		found++;
		unsigned lp = strtoul(strchr(local, ':') + 1, NULL, 16), rp = strtoul(strchr(remote, ':') + 1, NULL, 16);
		*strchr(local, ':') = 0;
		*strchr(remote, ':') = 0;
		printf("%s %s: state %02X tx %u rx %u uid-ours %d local %s port-ok %d remote %s port-ok %d\n", file, what, state, tx,
		       rx, uid == geteuid(), local, lp == lport, remote, rp == rport);
	}
	if (f)
		fclose(f);
	printf("%s %s: found %d\n", file, what, found);
}

static unsigned port_of(int fd, int peer) {
	struct sockaddr_in6 a;
	socklen_t n = sizeof a;
	if ((peer ? getpeername : getsockname)(fd, (void *)&a, &n) < 0)
		return 0;
	return ntohs(a.sin6_port); /* sin_port is at the same offset */
}

static void sockets(void) {
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t n = sizeof a;
	bind(l, (void *)&a, sizeof a);
	getsockname(l, (void *)&a, &n);
	listen(l, 4);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	int fresh = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(c, (void *)&a, sizeof a) < 0) {
		printf("connect failed\n");
		return;
	}
	int s = accept(l, NULL, NULL);
	write(c, "hello", 5);
	usleep(100000);
	find("tcp", l, "listener", port_of(l, 0), 0);
	find("tcp", c, "client", port_of(c, 0), port_of(l, 0));
	find("tcp", s, "accepted", port_of(l, 0), port_of(c, 0));
	find("tcp", fresh, "fresh", 0, 0);
	find("tcp6", l, "listener", port_of(l, 0), 0);
	int u = socket(AF_INET, SOCK_DGRAM, 0), v = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in b = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	n = sizeof b;
	bind(u, (void *)&b, sizeof b);
	getsockname(u, (void *)&b, &n);
	connect(v, (void *)&b, sizeof b);
	send(v, "datagram", 8, 0);
	usleep(100000);
	find("udp", u, "bound", port_of(u, 0), 0);
	find("udp", v, "connected", port_of(v, 0), port_of(u, 0));
	int l6 = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_addr = in6addr_loopback};
	if (bind(l6, (void *)&a6, sizeof a6) == 0 && listen(l6, 1) == 0)
		find("tcp6", l6, "listener6", port_of(l6, 0), 0);
	else
		printf("no ::1\n");
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	dev();
	if_inet6();
	route();
	sysclass();
	sockets();
	return 0;
}
