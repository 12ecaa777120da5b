/* NETLINK_SOCK_DIAG (sock_diag(7)), as ss(8) uses it: SOCK_DIAG_BY_FAMILY
 * dumps of TCP and UDP sockets over 127.0.0.1 (a listener with one
 * accepted and one queued connection, a bound and a connected UDP
 * socket), the state, port and NLM_F_DUMP filters, an exact lookup, and
 * the errors of short requests, unknown types, families and protocols;
 * then AF_UNIX sockets (a listener with an accepted and a queued
 * connection, a bound and a connected datagram socket) with their names,
 * peers and queues.
 * The native run sees the host's sockets too: only those whose ports
 * this program made, and that have a file (inode), are printed, by name
 * and by their ports' relations. */
#include "common.h"
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "loop4.h"

enum { L, C1, A1, C2, U, U2, NSOCK };
static const char *names[NSOCK] = {"listener", "client1", "accepted1", "client2", "udp", "udpconn"};
static int fds[NSOCK];
static long lport[NSOCK], rport[NSOCK], inos[NSOCK];

static int port_of(int fd, int peer) {
	struct sockaddr_in a;
	socklen_t n = sizeof a;
	if ((peer ? getpeername(fd, (void *)&a, &n) : getsockname(fd, (void *)&a, &n)) < 0)
		return 0;
	return ntohs(a.sin_port);
}

/* which names, among the sockets named nm, the one whose key (port,
 * inode) in keys is v; "0" for 0. */
static const char *which(long v, const long *keys, const char **nm) {
	if (v == 0)
		return "0";
	for (int i = 0; i < NSOCK; i++)
		if (keys[i] == v)
			return nm[i];
	return "other";
}

static const char *portname(int port) { return which(port, lport, names); }

/* connected is a new socket of fam and typ connected to addr. */
static int connected(int fam, int typ, const void *addr, socklen_t len) {
	int fd = socket(fam, typ, 0);
	if (connect(fd, addr, len) < 0)
		printf("connect %d/%d: %s\n", fam, typ, ename(errno));
	return fd;
}

/* make_set makes, in family fam, a stream listener bound to *sa with
 * backlog, a client it accepted and one left queued, a datagram socket
 * bound to *da and one connected to it: out[L], [C1], [A1], [C2], [U],
 * [U2]. *sa and *da become the bound addresses; inos the inodes. */
static void make_set(int fam, void *sa, void *da, socklen_t len, int backlog, int *out, long *inos) {
	socklen_t n = len;
	out[L] = socket(fam, SOCK_STREAM, 0);
	if (bind(out[L], sa, len) < 0 || listen(out[L], backlog) < 0 || getsockname(out[L], sa, &n) < 0)
		printf("listener %d: %s\n", fam, ename(errno));
	out[C1] = connected(fam, SOCK_STREAM, sa, len);
	out[A1] = accept(out[L], NULL, NULL);
	out[C2] = connected(fam, SOCK_STREAM, sa, len);
	out[U] = socket(fam, SOCK_DGRAM, 0);
	n = len;
	if (bind(out[U], da, len) < 0 || getsockname(out[U], da, &n) < 0)
		printf("datagram bind %d: %s\n", fam, ename(errno));
	out[U2] = connected(fam, SOCK_DGRAM, da, len);
	for (int i = 0; i < NSOCK; i++) {
		struct stat st;
		fstat(out[i], &st);
		inos[i] = st.st_ino;
	}
}

static void make_sockets(void) {
	struct sockaddr_in a = loop4(0), u = loop4(0);
	make_set(AF_INET, &a, &u, sizeof a, 5, fds, inos);
	for (int i = 0; i < NSOCK; i++) {
		lport[i] = port_of(fds[i], 0);
		rport[i] = port_of(fds[i], 1);
	}
	usleep(100000); /* the queued connection's handshake */
}

static int nl;
static void answer(void (*msg)(struct nlmsghdr *));
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
static char rows[8][512];

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
	for (int i = 0; i < 8; i++) {
		if (rows[i][0])
			printf("%s\n", rows[i]);
		rows[i][0] = 0;
	}
}

/* replies reads the answer to the last request, to NLMSG_DONE or an
 * error, and prints what is about this program's sockets. */
static int cur_proto;

static void inet_msg(struct nlmsghdr *h) { show(NLMSG_DATA(h), cur_proto); }

static void replies(int proto) {
	cur_proto = proto;
	answer(inet_msg);
	flush();
}

/* answer reads the answer to the last request, to NLMSG_DONE or an
 * error, passing each socket's message to msg. */
static void answer(void (*msg)(struct nlmsghdr *)) {
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
				msg(h);
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

/* The Unix sockets, made as the Internet ones (make_set). */
enum { UL = L, UC1 = C1, UA1 = A1, UC2 = C2, UD = U, UD2 = U2, NUNIX = NSOCK };
static const char *unames[NUNIX] = {"ulistener", "uclient1", "uaccepted1", "uclient2", "udgram", "udgramconn"};
static int ufds[NUNIX];
static long uinos[NUNIX];

static struct sockaddr_un unix_addr(const char *path) {
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	strcpy(a.sun_path, path);
	return a;
}

static void make_unix_sockets(void) {
	struct sockaddr_un l = unix_addr("ux.sock"), d = unix_addr("ud.sock");
	make_set(AF_UNIX, &l, &d, sizeof l, 4, ufds, uinos);
	if (write(ufds[UC1], "abc", 3) != 3)
		printf("unix write: %s\n", ename(errno));
}

static const char *uname_of(unsigned ino) { return which(ino, uinos, unames); }

/* unix_row formats a message about one of this program's Unix sockets
 * into row. */
static void unix_row(struct nlmsghdr *h, char *row) {
	struct unix_diag_msg *m = NLMSG_DATA(h);
	row += sprintf(row, "  %s: family=%d type=%d state=%d cookie_set=%d", uname_of(m->udiag_ino), m->udiag_family,
		       m->udiag_type, m->udiag_state,
		       m->udiag_cookie[0] != INET_DIAG_NOCOOKIE || m->udiag_cookie[1] != INET_DIAG_NOCOOKIE);
	int len = h->nlmsg_len - NLMSG_LENGTH(sizeof *m);
	for (struct rtattr *a = (void *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		switch (a->rta_type) {
		case UNIX_DIAG_NAME:
			row += sprintf(row, " name=%.*s", (int)RTA_PAYLOAD(a), (char *)RTA_DATA(a));
			break;
		case UNIX_DIAG_PEER:
			row += sprintf(row, " peer=%s", uname_of(*(unsigned *)RTA_DATA(a)));
			break;
		case UNIX_DIAG_RQLEN: {
			struct unix_diag_rqlen *q = RTA_DATA(a);
			row += sprintf(row, " rqueue=%u", q->udiag_rqueue);
			if (m->udiag_state == TCP_LISTEN)
				row += sprintf(row, " wqueue=%u", q->udiag_wqueue);
			break;
		}
		case UNIX_DIAG_SHUTDOWN:
			row += sprintf(row, " shutdown=%d", *(unsigned char *)RTA_DATA(a));
			break;
		default:
			row += sprintf(row, " attr%d", a->rta_type);
		}
	}
}

/* unix_msg notes a message about one of this program's Unix sockets. */
static void unix_msg(struct nlmsghdr *h) {
	struct unix_diag_msg *m = NLMSG_DATA(h);
	for (int i = 0; i < NUNIX; i++)
		if (uinos[i] == m->udiag_ino)
			unix_row(h, rows[i]);
}

static void unix_request(const char *what, int flags, unsigned states, unsigned ino, size_t len) {
	struct unix_diag_req r = {.sdiag_family = AF_UNIX, .udiag_states = states, .udiag_ino = ino,
				  .udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_PEER | UDIAG_SHOW_RQLEN};
	r.udiag_cookie[0] = r.udiag_cookie[1] = INET_DIAG_NOCOOKIE;
	printf("%s:\n", what);
	request(SOCK_DIAG_BY_FAMILY, flags, &r, len);
	answer(unix_msg);
	flush();
}

static void unix_diag(void) {
	make_unix_sockets();
	unix_request("unix all states", NLM_F_DUMP, ~0u, 0, sizeof(struct unix_diag_req));
	unix_request("unix listening", NLM_F_DUMP, 1 << TCP_LISTEN, 0, sizeof(struct unix_diag_req));
	unix_request("unix exact uaccepted1", 0, 0, uinos[UA1], sizeof(struct unix_diag_req));
	unix_request("unix exact inode 0", 0, 0, 0, sizeof(struct unix_diag_req));
	unix_request("unix exact no such inode", 0, 0, 0xfffffff0u, sizeof(struct unix_diag_req));
	unix_request("unix short request", NLM_F_DUMP, ~0u, 0, 8);
}

int main(int argc, char **argv) {
	setup(argc, argv);

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
	unix_diag();
	return 0;
}
