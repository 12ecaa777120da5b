/* NETLINK_SOCK_DIAG (sock_diag(7)), as ss(8) uses it: SOCK_DIAG_BY_FAMILY
 * dumps of TCP and UDP sockets over 127.0.0.1 (a listener with one
 * accepted and one queued connection, a bound and a connected UDP
 * socket), the state, port and NLM_F_DUMP filters, an exact lookup, and
 * the errors of short requests, unknown types, families and protocols.
 * The native run sees the host's sockets too: only those whose ports
 * this program made, and that have a file (inode), are printed, by name
 * and by their ports' relations. */
#include "common.h"
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "loop4.h"

enum { L, C1, A1, C2, U, U2, NSOCK };
static const char *names[NSOCK] = {"listener", "client1", "accepted1", "client2", "udp", "udpconn"};
static int fds[NSOCK], lport[NSOCK], rport[NSOCK];
static ino_t inos[NSOCK];

static int port_of(int fd, int peer) {
	struct sockaddr_in a;
	socklen_t n = sizeof a;
	if ((peer ? getpeername(fd, (void *)&a, &n) : getsockname(fd, (void *)&a, &n)) < 0)
		return 0;
	return ntohs(a.sin_port);
}

/* portname names a port by the socket of this program that has it. */
static const char *portname(int port) {
	if (port == 0)
		return "0";
	for (int i = 0; i < NSOCK; i++)
		if (lport[i] == port)
			return names[i];
	return "other";
}

static void make_sockets(void) {
	fds[L] = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loop4(0);
	if (bind(fds[L], (void *)&a, sizeof a) < 0 || listen(fds[L], 5) < 0)
		printf("listener: %s\n", ename(errno));
	a = loop4(port_of(fds[L], 0));
	fds[C1] = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fds[C1], (void *)&a, sizeof a) < 0)
		printf("connect1: %s\n", ename(errno));
	fds[A1] = accept(fds[L], NULL, NULL);
	fds[C2] = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fds[C2], (void *)&a, sizeof a) < 0)
		printf("connect2: %s\n", ename(errno));
	fds[U] = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in u = loop4(0);
	if (bind(fds[U], (void *)&u, sizeof u) < 0)
		printf("udp bind: %s\n", ename(errno));
	u = loop4(port_of(fds[U], 0));
	fds[U2] = socket(AF_INET, SOCK_DGRAM, 0);
	if (connect(fds[U2], (void *)&u, sizeof u) < 0)
		printf("udp connect: %s\n", ename(errno));
	for (int i = 0; i < NSOCK; i++) {
		struct stat st;
		fstat(fds[i], &st);
		inos[i] = st.st_ino;
		lport[i] = port_of(fds[i], 0);
		rport[i] = port_of(fds[i], 1);
	}
	usleep(100000); /* the queued connection's handshake */
}

static int nl;
static void answer(int proto);
static unsigned seq;

/* request sends one sock_diag request of type typ with flags and payload. */
static void request(int typ, int flags, const void *payload, size_t len) {
	char buf[256] = {0};
	struct nlmsghdr *h = (void *)buf;
	h->nlmsg_len = NLMSG_LENGTH(len);
	h->nlmsg_type = typ;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++seq;
	memcpy(NLMSG_DATA(h), payload, len);
	struct sockaddr_nl k = {.nl_family = AF_NETLINK};
	if (sendto(nl, buf, h->nlmsg_len, 0, (void *)&k, sizeof k) < 0)
		printf("sendto: %s\n", ename(errno));
}

/* rows are the lines of the current answer, by socket: Linux dumps in
 * hash order, printed here in the program's. */
static char rows[NSOCK][512];

/* show notes a message about one of this program's sockets (with a
 * file): which one, and its fields. */
static void show(const struct inet_diag_msg *m, int proto) {
	int sport = ntohs(m->id.idiag_sport), dport = ntohs(m->id.idiag_dport);
	for (int i = 0; i < NSOCK; i++) {
		int tcp = i < U;
		if (lport[i] != sport || rport[i] != dport || tcp != (proto == IPPROTO_TCP) || m->idiag_inode == 0)
			continue;
		char *row = rows[i];
		if (*row)
			printf("  %s twice\n", names[i]);
		row += sprintf(row, "  %s: family=%d state=%d sport=%s dport=%s src=%08x dst=%08x if=%u uid=%u ino_matches=%d cookie_set=%d",
		       names[i], m->idiag_family, m->idiag_state, portname(sport), portname(dport), ntohl(m->id.idiag_src[0]),
		       ntohl(m->id.idiag_dst[0]), m->id.idiag_if, m->idiag_uid, m->idiag_inode == (unsigned)inos[i],
		       m->id.idiag_cookie[0] != INET_DIAG_NOCOOKIE || m->id.idiag_cookie[1] != INET_DIAG_NOCOOKIE);
		if (i == L)
			sprintf(row, " rqueue=%u wqueue=%u", m->idiag_rqueue, m->idiag_wqueue);
	}
}

/* flush prints the rows of an answer and forgets them. */
static void flush(void) {
	for (int i = 0; i < NSOCK; i++) {
		if (rows[i][0])
			printf("%s\n", rows[i]);
		rows[i][0] = 0;
	}
}

/* replies reads the answer to the last request, to NLMSG_DONE or an
 * error, and prints what is about this program's sockets. */
static void replies(int proto) {
	answer(proto);
	flush();
}

static void answer(int proto) {
	static char buf[1 << 16];
	for (;;) {
		ssize_t n = recv(nl, buf, sizeof buf, 0);
		if (n < 0) {
			printf("recv: %s\n", ename(errno));
			return;
		}
		int multi = 0;
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != seq)
				printf("  seq %u, want %u\n", h->nlmsg_seq, seq);
			multi = h->nlmsg_flags & NLM_F_MULTI;
			switch (h->nlmsg_type) {
			case NLMSG_DONE:
				flush();
				printf("  done (len %u, %s)\n", h->nlmsg_len, *(int *)NLMSG_DATA(h) ? ename(-*(int *)NLMSG_DATA(h)) : "0");
				return;
			case NLMSG_ERROR: {
				struct nlmsgerr *e = NLMSG_DATA(h);
				flush();
				printf("  error %s\n", e->error ? ename(-e->error) : "0");
				return;
			}
			case SOCK_DIAG_BY_FAMILY:
				show(NLMSG_DATA(h), proto);
				break;
			default:
				printf("  type %d\n", h->nlmsg_type);
			}
		}
		if (!multi)
			return; /* an exact lookup's one message */
	}
}

static void dump(const char *what, int family, int proto, unsigned states, int sport, int dport) {
	struct inet_diag_req_v2 r = {.sdiag_family = family, .sdiag_protocol = proto, .idiag_states = states};
	r.id.idiag_sport = htons(sport);
	r.id.idiag_dport = htons(dport);
	printf("%s:\n", what);
	request(SOCK_DIAG_BY_FAMILY, NLM_F_DUMP, &r, sizeof r);
	replies(proto);
}

static void exact(const char *what, int sock, int dport) {
	struct inet_diag_req_v2 r = {.sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0u};
	r.id.idiag_sport = htons(lport[sock]);
	r.id.idiag_dport = htons(dport);
	r.id.idiag_src[0] = r.id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
	r.id.idiag_cookie[0] = r.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
	printf("%s:\n", what);
	request(SOCK_DIAG_BY_FAMILY, 0, &r, sizeof r);
	replies(IPPROTO_TCP);
}

static void bad(const char *what, int typ, const void *payload, size_t len) {
	printf("%s:\n", what);
	request(typ, NLM_F_DUMP, payload, len);
	replies(0);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	T(nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
	if (nl < 0)
		return 0;
	int v;
	socklen_t vl = sizeof v;
	getsockopt(nl, SOL_SOCKET, SO_PROTOCOL, &v, &vl);
	printf("SO_PROTOCOL=%d\n", v);
	T(close(socket(AF_NETLINK, SOCK_RAW, NETLINK_SOCK_DIAG)));
	make_sockets();

	dump("tcp all states", AF_INET, IPPROTO_TCP, ~0u, 0, 0);
	dump("tcp listening", AF_INET, IPPROTO_TCP, 1 << TCP_LISTEN, 0, 0);
	dump("tcp established", AF_INET, IPPROTO_TCP, 1 << TCP_ESTABLISHED, 0, 0);
	dump("tcp by listener's port", AF_INET, IPPROTO_TCP, ~0u, lport[L], 0);
	dump("tcp to listener's port", AF_INET, IPPROTO_TCP, ~0u, 0, lport[L]);
	dump("tcp6", AF_INET6, IPPROTO_TCP, ~0u, 0, 0);
	dump("udp all states", AF_INET, IPPROTO_UDP, ~0u, 0, 0);
	dump("udp unconnected", AF_INET, IPPROTO_UDP, 1 << TCP_CLOSE, 0, 0);
	dump("udp6", AF_INET6, IPPROTO_UDP, ~0u, 0, 0);
	exact("exact accepted1", A1, lport[C1]);
	exact("exact nothing", C1, 1);

	struct inet_diag_req_v2 r = {.sdiag_family = AF_INET, .sdiag_protocol = 200, .idiag_states = ~0u};
	bad("unknown protocol", SOCK_DIAG_BY_FAMILY, &r, sizeof r);
	r.sdiag_family = AF_APPLETALK;
	bad("family without handler", SOCK_DIAG_BY_FAMILY, &r, sizeof r);
	r.sdiag_family = AF_MAX;
	bad("family past AF_MAX", SOCK_DIAG_BY_FAMILY, &r, sizeof r);
	r.sdiag_family = AF_INET;
	r.sdiag_protocol = IPPROTO_TCP;
	bad("short sock_diag_req", SOCK_DIAG_BY_FAMILY, &r, 1);
	bad("short inet_diag_req_v2", SOCK_DIAG_BY_FAMILY, &r, 10);
	bad("unknown type", SOCK_DIAG_BY_FAMILY + 2, &r, sizeof r);
	return 0;
}
