/* iptables socket options (needs a root host; natively in a network
 * namespace of its own, so the host's tables never change): IPT_SO_GET_INFO
 * and IPT_SO_GET_ENTRIES of the initial tables (byte for byte, through a
 * checksum), IPT_SO_GET_REVISION_MATCH/TARGET, IPT_SO_SET_REPLACE with
 * the errnos of malformed tables (translate_table's checks, LTP
 * setsockopt08's table), IPT_SO_SET_ADD_COUNTERS, EPERM without
 * CAP_NET_ADMIN over the namespace, a table per namespace; and rules
 * taking effect on loopback traffic: UDP and TCP DROP, REJECT with a port
 * unreachable and with a TCP reset (ECONNREFUSED), an interface match, a
 * user chain with RETURN, per-rule counters; /proc/net/ip_tables_names. */
#include "common.h"
#include <arpa/inet.h>
#include <linux/netfilter/x_tables.h>
#include <linux/netfilter/xt_state.h>
#include <linux/netfilter/xt_tcpudp.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netfilter_ipv4/ipt_REJECT.h>
#include <linux/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "loif.h"

/* err is "0" or the errno name of a call's result. */
static const char *err(int r) { return r < 0 ? ename(errno) : "0"; }

/* ---- tables as iptables builds them ---- */

struct tb {
	unsigned char buf[8192];
	unsigned size, n, cur;
};

static struct ipt_entry *entry(struct tb *t) { return (struct ipt_entry *)(t->buf + t->cur); }

/* begin starts an entry; ip may be NULL (unconditional). */
static unsigned begin(struct tb *t, const struct ipt_ip *ip) {
	t->cur = t->size;
	struct ipt_entry *e = entry(t);
	memset(e, 0, sizeof *e);
	if (ip)
		e->ip = *ip;
	e->target_offset = sizeof *e;
	t->size += sizeof *e;
	return t->cur;
}

static void match(struct tb *t, const char *name, int rev, const void *data, unsigned len) {
	struct xt_entry_match *m = (void *)(t->buf + t->size);
	unsigned sz = sizeof *m + XT_ALIGN(len);
	memset(m, 0, sz);
	m->u.user.match_size = sz;
	strcpy(m->u.user.name, name);
	m->u.user.revision = rev;
	memcpy(m->data, data, len);
	t->size += sz;
	entry(t)->target_offset += sz;
}

static void target(struct tb *t, const char *name, const void *data, unsigned len) {
	struct xt_entry_target *g = (void *)(t->buf + t->size);
	unsigned sz = sizeof *g + XT_ALIGN(len);
	memset(g, 0, sz);
	g->u.user.target_size = sz;
	strcpy(g->u.user.name, name);
	memcpy(g->data, data, len);
	t->size += sz;
	entry(t)->next_offset = t->size - t->cur;
	t->n++;
}

static void verdict(struct tb *t, int v) { target(t, XT_STANDARD_TARGET, &v, sizeof v); }

static void error_entry(struct tb *t, const char *name) {
	char n[XT_FUNCTION_MAXNAMELEN] = {0};
	strcpy(n, name);
	begin(t, NULL);
	target(t, XT_ERROR_TARGET, n, sizeof n);
}

#define ACCEPT (-NF_ACCEPT - 1)
#define DROP (-NF_DROP - 1)

static struct ipt_ip proto(int p) {
	struct ipt_ip ip = {0};
	ip.proto = p;
	return ip;
}

static void tcp_dport(struct tb *t, int port) {
	struct xt_tcp m = {.spts = {0, 0xffff}, .dpts = {port, port}};
	match(t, "tcp", 0, &m, sizeof m);
}

static void udp_dport(struct tb *t, int port) {
	struct xt_udp m = {.spts = {0, 0xffff}, .dpts = {port, port}};
	match(t, "udp", 0, &m, sizeof m);
}

static struct xt_counters old[64];

/* replace sets table name to t's entries: hooks[] are the entries of the
 * valid hooks' chains, policies[] their policies (underflows). */
static int replace_n(int s, const char *name, unsigned valid, const unsigned *hooks, const unsigned *policies,
		     struct tb *t, unsigned num_counters, void *counters, int optlen_less) {
	static unsigned char b[sizeof(struct ipt_replace) + sizeof t->buf];
	struct ipt_replace *r = (void *)b;
	memset(r, 0, sizeof *r);
	strcpy(r->name, name);
	r->valid_hooks = valid;
	r->num_entries = t->n;
	r->size = t->size;
	for (int h = 0, i = 0; h < NF_INET_NUMHOOKS; h++)
		if (valid & (1 << h)) {
			r->hook_entry[h] = hooks[i];
			r->underflow[h] = policies[i];
			i++;
		}
	r->num_counters = num_counters;
	r->counters = counters;
	memcpy(r->entries, t->buf, t->size);
	return setsockopt(s, SOL_IP, IPT_SO_SET_REPLACE, b, sizeof *r + t->size - optlen_less);
}

static unsigned num_entries(int s, const char *table) {
	struct ipt_getinfo info = {0};
	socklen_t l = sizeof info;
	strcpy(info.name, table);
	if (getsockopt(s, SOL_IP, IPT_SO_GET_INFO, &info, &l) < 0)
		return 0;
	return info.num_entries;
}

static int replace(int s, const char *name, unsigned valid, const unsigned *hooks, const unsigned *policies,
		   struct tb *t) {
	return replace_n(s, name, valid, hooks, policies, t, num_entries(s, name), old, 0);
}

#define FILTER_HOOKS ((1 << NF_INET_LOCAL_IN) | (1 << NF_INET_FORWARD) | (1 << NF_INET_LOCAL_OUT))

/* plain builds filter with no rules: three ACCEPT policies and ERROR;
 * hooks and policies get the chains' offsets. */
static void plain(struct tb *t, unsigned *hooks) {
	memset(t, 0, sizeof *t);
	for (int i = 0; i < 3; i++) {
		hooks[i] = begin(t, NULL);
		verdict(t, ACCEPT);
	}
	error_entry(t, "ERROR");
}

/* finish ends a filter table whose INPUT rules t has: INPUT's policy,
 * FORWARD's and OUTPUT's, ERROR; then sets it. */
static int finish(int s, struct tb *t, unsigned *hooks) {
	unsigned pol[3];
	pol[0] = begin(t, NULL);
	verdict(t, ACCEPT);
	for (int i = 1; i < 3; i++) {
		hooks[i] = pol[i] = begin(t, NULL);
		verdict(t, ACCEPT);
	}
	error_entry(t, "ERROR");
	return replace(s, "filter", FILTER_HOOKS, hooks, pol, t);
}

/* ---- reading tables ---- */

static void show_info(int s, const char *table) {
	struct ipt_getinfo info = {0};
	socklen_t l = sizeof info;
	strcpy(info.name, table);
	if (getsockopt(s, SOL_IP, IPT_SO_GET_INFO, &info, &l) < 0) {
		printf("info %s: %s\n", table, ename(errno));
		return;
	}
	printf("info %s: len %u name %s hooks %#x entries %u size %u hook_entry", table, l, info.name, info.valid_hooks,
	       info.num_entries, info.size);
	for (int h = 0; h < NF_INET_NUMHOOKS; h++)
		printf(" %d", (int)info.hook_entry[h]);
	printf(" underflow");
	for (int h = 0; h < NF_INET_NUMHOOKS; h++)
		printf(" %d", (int)info.underflow[h]);
	printf("\n");
}

/* show_entries prints each entry of a table and a checksum of its bytes
 * with the counters left out; counters[] get them. */
static void show_entries(int s, const char *table, struct xt_counters *counters, int quiet) {
	struct ipt_getinfo info = {0};
	socklen_t l = sizeof info;
	strcpy(info.name, table);
	if (getsockopt(s, SOL_IP, IPT_SO_GET_INFO, &info, &l) < 0) {
		printf("entries %s: info %s\n", table, ename(errno));
		return;
	}
	socklen_t gl = sizeof(struct ipt_get_entries) + info.size;
	struct ipt_get_entries *g = calloc(1, gl);
	strcpy(g->name, table);
	g->size = info.size;
	if (getsockopt(s, SOL_IP, IPT_SO_GET_ENTRIES, g, &gl) < 0) {
		printf("entries %s: %s\n", table, ename(errno));
		free(g);
		return;
	}
	unsigned char *base = (void *)g->entrytable;
	int i = 0;
	for (unsigned off = 0; off < info.size; i++) {
		struct ipt_entry *e = (void *)(base + off);
		if (counters)
			counters[i] = e->counters;
		memset(&e->counters, 0, sizeof e->counters);
		struct xt_entry_target *t = (void *)((char *)e + e->target_offset);
		if (!quiet) {
			printf("  @%u to %u next %u comefrom %#x nfcache %u proto %u matches", off, e->target_offset,
			       e->next_offset, e->comefrom, e->nfcache, e->ip.proto);
			for (unsigned m = sizeof *e; m < e->target_offset;) {
				struct xt_entry_match *x = (void *)((char *)e + m);
				printf(" %s/%u/%u", x->u.user.name, x->u.user.match_size, x->u.user.revision);
				m += x->u.match_size;
			}
			printf(" target '%s' size %u rev %u", t->u.user.name, t->u.user.target_size, t->u.user.revision);
			if (!strcmp(t->u.user.name, XT_STANDARD_TARGET))
				printf(" verdict %d", ((struct xt_standard_target *)t)->verdict);
			else if (!strcmp(t->u.user.name, XT_ERROR_TARGET))
				printf(" error %s", ((struct xt_error_target *)t)->errorname);
			printf("\n");
		}
		if (e->next_offset == 0)
			break;
		off += e->next_offset;
	}
	printf("entries %s: %d entries, checksum %ld\n", table, i, sum(base, info.size));
	free(g);
}

static void revision(int s, int opt, const char *name, int rev, socklen_t len) {
	struct xt_get_revision r = {0};
	strcpy(r.name, name);
	r.revision = rev;
	int ret = getsockopt(s, SOL_IP, opt, &r, &len);
	printf("revision %s %s/%d len %u: %d %s\n", opt == IPT_SO_GET_REVISION_MATCH ? "match" : "target", name, rev,
	       len, ret, err(ret));
}

/* ---- traffic ---- */

static int udp_bound(int port) {
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(s, (void *)&a, sizeof a);
	return s;
}

/* udp_through reports whether a datagram to port reaches its socket. */
static void udp_through(int port) {
	int r = udp_bound(port), c = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char msg[12] = "hello world";
	sendto(c, msg, sizeof msg, 0, (void *)&a, sizeof a);
	struct pollfd p = {r, POLLIN, 0};
	int n = poll(&p, 1, 200);
	printf("udp to %d: %s\n", port, n == 1 ? "received" : "not received");
	close(r);
	close(c);
}

/* tcp_connect reports how a non-blocking connect to a listener on port
 * ends within 300 ms. */
static void tcp_connect(int port) {
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bind(l, (void *)&a, sizeof a);
	listen(l, 4);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int r = connect(c, (void *)&a, sizeof a);
	if (r < 0 && errno == EINPROGRESS) {
		struct pollfd p = {c, POLLOUT, 0};
		if (poll(&p, 1, 300) == 0) {
			printf("tcp to %d: still connecting\n", port);
			goto out;
		}
		int e = sockopt_int(c, SOL_SOCKET, SO_ERROR);
		printf("tcp to %d: %s\n", port, e ? ename(e) : "connected");
		goto out;
	}
	printf("tcp to %d: connect %s\n", port, err(r));
out:
	close(c);
	close(l);
}

/* ---- the program ---- */

static void errors(int s) {
	struct tb t;
	unsigned hooks[3];

	printf("-- replace errors\n");
	plain(&t, hooks);
	printf("short optlen: %s\n", err(setsockopt(s, SOL_IP, IPT_SO_SET_REPLACE, t.buf, 1)));
	printf("optlen less than size: %s\n", err(replace_n(s, "filter", FILTER_HOOKS, hooks, hooks, &t, 4, old, 8)));
	printf("unknown table: %s\n", err(replace_n(s, "nosuch", FILTER_HOOKS, hooks, hooks, &t, 4, old, 0)));
	printf("valid hooks: %s\n", err(replace(s, "filter", FILTER_HOOKS | 1, (unsigned[]){0, 0, 152, 304}, (unsigned[]){0, 0, 152, 304}, &t)));
	printf("no counters: %s\n", err(replace_n(s, "filter", FILTER_HOOKS, hooks, hooks, &t, 0, old, 0)));
	printf("stale counters: %s\n", err(replace_n(s, "filter", FILTER_HOOKS, hooks, hooks, &t, 3, old, 0)));
	t.n = 3;
	printf("num_entries: %s\n", err(replace(s, "filter", FILTER_HOOKS, hooks, hooks, &t)));
	printf("hook at no entry: %s\n", err(replace(s, "filter", FILTER_HOOKS, (unsigned[]){0, 8, 304}, hooks, &t)));
	printf("unsorted hooks: %s\n", err(replace(s, "filter", FILTER_HOOKS, (unsigned[]){152, 0, 304}, (unsigned[]){152, 0, 304}, &t)));

	/* A policy that is not an unconditional ACCEPT or DROP. */
	memset(&t, 0, sizeof t);
	struct ipt_ip udp = proto(IPPROTO_UDP);
	hooks[0] = begin(&t, &udp);
	verdict(&t, ACCEPT);
	hooks[1] = begin(&t, NULL);
	verdict(&t, ACCEPT);
	hooks[2] = begin(&t, NULL);
	verdict(&t, XT_RETURN);
	error_entry(&t, "ERROR");
	printf("conditional policy: %s\n", err(replace(s, "filter", FILTER_HOOKS, hooks, hooks, &t)));
	printf("RETURN policy: %s\n", err(replace(s, "filter", FILTER_HOOKS, (unsigned[]){0, 152, 304}, (unsigned[]){152, 152, 152}, &t)));

	/* Jumps: into an entry's middle, a loop, verdicts. Two TCP rules
	 * (at 0 and 152) before INPUT's policy at 304. */
	struct {
		const char *what;
		int first, second;
	} jumps[] = {
	    {"jump into an entry", 8, ACCEPT},
	    {"loop", ACCEPT, 152},
	    {"verdict 0", 0, ACCEPT},
	    {"verdict -10", -10, ACCEPT},
	    {"jump past the table", 100000, ACCEPT},
	    {"QUEUE", -NF_QUEUE - 1, ACCEPT},
	};
	for (unsigned j = 0; j < sizeof jumps / sizeof jumps[0]; j++) {
		memset(&t, 0, sizeof t);
		struct ipt_ip tcp = proto(IPPROTO_TCP);
		hooks[0] = begin(&t, &tcp);
		verdict(&t, jumps[j].first);
		begin(&t, &tcp);
		verdict(&t, jumps[j].second);
		printf("%s: %s\n", jumps[j].what, err(finish(s, &t, hooks)));
	}

	/* Matches and targets. */
	struct {
		const char *what, *match;
		int rev, proto, size;
		const char *target;
		int with;
	} cases[] = {
	    {"unknown match", "nosuchmatch", 0, IPPROTO_TCP, 12, NULL, 0},
	    {"tcp revision 7", "tcp", 7, IPPROTO_TCP, 12, NULL, 0},
	    {"state revision 3", "state", 3, IPPROTO_TCP, 4, NULL, 0},
	    {"state", "state", 0, IPPROTO_TCP, 4, NULL, 0},
	    {"tcp match on udp", "tcp", 0, IPPROTO_UDP, 12, NULL, 0},
	    {"tcp match short", "tcp", 0, IPPROTO_TCP, 4, NULL, 0},
	    {"unknown target", NULL, 0, IPPROTO_TCP, 0, "NOSUCH", 0},
	    {"REJECT echo-reply", NULL, 0, IPPROTO_TCP, 0, "REJECT", IPT_ICMP_ECHOREPLY},
	    {"REJECT tcp-reset on udp", NULL, 0, IPPROTO_UDP, 0, "REJECT", IPT_TCP_RESET},
	};
	for (unsigned c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		memset(&t, 0, sizeof t);
		struct ipt_ip ip = proto(cases[c].proto);
		hooks[0] = begin(&t, &ip);
		if (cases[c].match) {
			struct xt_tcp m = {.spts = {0, 0xffff}, .dpts = {1, 1}};
			match(&t, cases[c].match, cases[c].rev, &m, cases[c].size);
		}
		if (cases[c].target) {
			struct ipt_reject_info r = {.with = cases[c].with};
			target(&t, cases[c].target, &r, sizeof r);
		} else
			verdict(&t, DROP);
		printf("%s: %s\n", cases[c].what, err(finish(s, &t, hooks)));
	}

	/* REJECT outside filter. */
	memset(&t, 0, sizeof t);
	unsigned nh[4];
	struct ipt_ip tcp = proto(IPPROTO_TCP);
	nh[0] = begin(&t, &tcp);
	struct ipt_reject_info rj = {.with = IPT_ICMP_PORT_UNREACHABLE};
	target(&t, "REJECT", &rj, sizeof rj);
	unsigned np[4];
	np[0] = begin(&t, NULL);
	verdict(&t, ACCEPT);
	for (int i = 1; i < 4; i++) {
		nh[i] = np[i] = begin(&t, NULL);
		verdict(&t, ACCEPT);
	}
	error_entry(&t, "ERROR");
	unsigned nat_hooks = (1 << NF_INET_PRE_ROUTING) | (1 << NF_INET_LOCAL_IN) | (1 << NF_INET_LOCAL_OUT) |
			     (1 << NF_INET_POST_ROUTING);
	printf("REJECT in nat: %s\n", err(replace(s, "nat", nat_hooks, nh, np, &t)));

	/* LTP setsockopt08's table (CVE-2021-22555): a "state" match whose
	 * size does not fit, a short REJECT. */
	static unsigned char buf[2048];
	memset(buf, 0, sizeof buf);
	struct ipt_replace *r = (void *)buf;
	struct ipt_entry *e = r->entries;
	struct xt_entry_match *m = (void *)e->elems;
	const size_t tgt_size = 32, match_size = 1024 - 64 - 112 - 4 - tgt_size - 4;
	struct xt_entry_target *g = (void *)(e->elems + match_size);
	m->u.user.match_size = match_size;
	strcpy(m->u.user.name, "state");
	g->u.user.target_size = tgt_size;
	strcpy(g->u.user.name, "REJECT");
	e->target_offset = offsetof(struct ipt_entry, elems) + match_size;
	e->next_offset = e->target_offset + tgt_size;
	strcpy(r->name, "filter");
	r->num_entries = 1;
	r->num_counters = 1;
	r->size = e->next_offset;
	printf("setsockopt08, optlen 1: %s\n", err(setsockopt(s, SOL_IP, IPT_SO_SET_REPLACE, buf, 1)));
	printf("setsockopt08, whole: %s\n", err(setsockopt(s, SOL_IP, IPT_SO_SET_REPLACE, buf, sizeof *r + r->size)));
	show_info(s, "filter");
}

/* rules sets filter's INPUT chain to the test's rules. */
static void rules(int s) {
	struct tb t;
	memset(&t, 0, sizeof t);
	unsigned hooks[3], pol[3];
	struct ipt_ip udp = proto(IPPROTO_UDP), tcp = proto(IPPROTO_TCP);

	hooks[0] = begin(&t, &udp); /* -p udp --dport 9001 -j DROP */
	udp_dport(&t, 9001);
	verdict(&t, DROP);
	begin(&t, &tcp); /* -p tcp --dport 9002 -j DROP */
	tcp_dport(&t, 9002);
	verdict(&t, DROP);
	begin(&t, &tcp); /* -p tcp --dport 9003 -j REJECT */
	tcp_dport(&t, 9003);
	struct ipt_reject_info unreach = {.with = IPT_ICMP_PORT_UNREACHABLE}, reset = {.with = IPT_TCP_RESET};
	target(&t, "REJECT", &unreach, sizeof unreach);
	begin(&t, &tcp); /* -p tcp --dport 9004 -j REJECT --reject-with tcp-reset */
	tcp_dport(&t, 9004);
	target(&t, "REJECT", &reset, sizeof reset);
	unsigned jump = begin(&t, &udp); /* -p udp -j mychain */
	verdict(&t, 0);
	struct ipt_ip lo = udp, eth = udp; /* -i lo -p udp --dport 9007 -j DROP; -i eth9 ... 9008 */
	strcpy(lo.iniface, "lo");
	memset(lo.iniface_mask, 0xff, 3);
	strcpy(eth.iniface, "eth9");
	memset(eth.iniface_mask, 0xff, 5);
	begin(&t, &lo);
	udp_dport(&t, 9007);
	verdict(&t, DROP);
	begin(&t, &eth);
	udp_dport(&t, 9008);
	verdict(&t, DROP);
	struct ipt_ip notlo = udp; /* -s ! 127.0.0.1 -p udp --dport 9009 -j DROP */
	notlo.src.s_addr = htonl(INADDR_LOOPBACK);
	notlo.smsk.s_addr = 0xffffffff;
	notlo.invflags = IPT_INV_SRCIP;
	begin(&t, &notlo);
	udp_dport(&t, 9009);
	verdict(&t, DROP);
	pol[0] = begin(&t, NULL);
	verdict(&t, ACCEPT);
	hooks[1] = pol[1] = begin(&t, NULL);
	verdict(&t, ACCEPT);
	hooks[2] = pol[2] = begin(&t, NULL);
	verdict(&t, ACCEPT);
	/* mychain: -p udp --dport 9005 -j DROP; -j RETURN */
	error_entry(&t, "mychain");
	unsigned chain = t.size;
	begin(&t, &udp);
	udp_dport(&t, 9005);
	verdict(&t, DROP);
	begin(&t, NULL);
	verdict(&t, XT_RETURN);
	error_entry(&t, "ERROR");
	struct xt_standard_target *j = (void *)(t.buf + jump + sizeof(struct ipt_entry));
	j->verdict = chain;
	printf("replace: %s\n", err(replace(s, "filter", FILTER_HOOKS, hooks, pol, &t)));
}

/* counters prints the input rules' packet counts and, for UDP, bytes. */
static void counters(int s) {
	struct xt_counters c[16];
	show_entries(s, "filter", c, 1);
	printf("counters: udp 9001 %llu/%llu, tcp 9002 %llu, 9003 %llu, 9004 %llu, udp chain %llu, lo 9007 %llu/%llu, "
	       "eth9 %llu, !127.0.0.1 %llu, mychain 9005 %llu/%llu\n",
	       c[0].pcnt, c[0].bcnt, c[1].pcnt, c[2].pcnt, c[3].pcnt, c[4].pcnt, c[5].pcnt, c[5].bcnt, c[6].pcnt,
	       c[7].pcnt, c[12].pcnt, c[12].bcnt);
}

static void child_info(int s, const char *what, int flags) {
	pid_t p = fork();
	if (p == 0) {
		if (flags == -1) {
			if (setresuid(65534, 65534, 65534) < 0)
				printf("setresuid: %s\n", ename(errno));
		} else if (unshare(flags) < 0)
			printf("unshare: %s\n", ename(errno));
		int s2 = flags & CLONE_NEWNET ? socket(AF_INET, SOCK_DGRAM, 0) : s;
		printf("%s: ", what);
		fflush(stdout);
		show_info(s2, "filter");
		fflush(stdout);
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

int main(void) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (unshare(CLONE_NEWNET) < 0) {
		printf("unshare: %s\n", ename(errno));
		return 1;
	}
	if (set_lo(1) < 0)
		printf("lo up: %s\n", ename(errno));
	int s = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (s < 0)
		printf("raw socket: %s\n", ename(errno));

	printf("-- initial tables\n");
	const char *tables[] = {"filter", "nat", "mangle", "raw", "nosuch"};
	for (int i = 0; i < 5; i++)
		show_info(s, tables[i]);
	for (int i = 0; i < 4; i++)
		show_entries(s, tables[i], NULL, 0);

	printf("-- option errors\n");
	struct ipt_getinfo info = {0};
	strcpy(info.name, "filter");
	socklen_t l = sizeof info - 1;
	printf("get_info short: %s\n", err(getsockopt(s, SOL_IP, IPT_SO_GET_INFO, &info, &l)));
	l = sizeof info;
	printf("get_info bad address: %s\n", err(getsockopt(s, SOL_IP, IPT_SO_GET_INFO, BAD, &l)));
	struct {
		struct ipt_get_entries g;
		unsigned char e[1024];
	} ge = {0};
	strcpy(ge.g.name, "filter");
	ge.g.size = 632;
	l = sizeof ge.g + 600;
	printf("get_entries wrong length: %s\n", err(getsockopt(s, SOL_IP, IPT_SO_GET_ENTRIES, &ge, &l)));
	ge.g.size = 600;
	printf("get_entries wrong size: %s\n", err(getsockopt(s, SOL_IP, IPT_SO_GET_ENTRIES, &ge, &l)));
	l = 4;
	printf("get_entries short: %s\n", err(getsockopt(s, SOL_IP, IPT_SO_GET_ENTRIES, &ge, &l)));
	l = sizeof info;
	printf("getsockopt 68: %s\n", err(getsockopt(s, SOL_IP, IPT_SO_GET_MAX + 1, &info, &l)));
	printf("setsockopt 66: %s\n", err(setsockopt(s, SOL_IP, IPT_SO_SET_MAX + 1, &info, sizeof info)));
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	l = sizeof info;
	printf("get_info on a UDP socket: %s\n", err(getsockopt(u, SOL_IP, IPT_SO_GET_INFO, &info, &l)));
	int u6 = socket(AF_INET6, SOCK_DGRAM, 0), t6 = socket(AF_INET6, SOCK_STREAM, 0);
	l = sizeof info;
	printf("get_info on a UDPv6 socket: %s\n", err(getsockopt(u6, SOL_IP, IPT_SO_GET_INFO, &info, &l)));
	l = sizeof info;
	printf("get_info on a TCPv6 socket: %s %s\n", err(getsockopt(t6, SOL_IP, IPT_SO_GET_INFO, &info, &l)), info.name);
	close(u6);
	close(t6);

	revision(s, IPT_SO_GET_REVISION_MATCH, "tcp", 0, sizeof(struct xt_get_revision));
	revision(s, IPT_SO_GET_REVISION_MATCH, "udp", 0, sizeof(struct xt_get_revision));
	revision(s, IPT_SO_GET_REVISION_MATCH, "state", 0, sizeof(struct xt_get_revision));
	revision(s, IPT_SO_GET_REVISION_MATCH, "tcp", 1, sizeof(struct xt_get_revision));
	revision(s, IPT_SO_GET_REVISION_MATCH, "nosuchmatch", 0, sizeof(struct xt_get_revision));
	revision(s, IPT_SO_GET_REVISION_MATCH, "tcp", 0, sizeof(struct xt_get_revision) - 1);
	revision(s, IPT_SO_GET_REVISION_TARGET, "REJECT", 0, sizeof(struct xt_get_revision));
	revision(s, IPT_SO_GET_REVISION_TARGET, "ERROR", 0, sizeof(struct xt_get_revision));
	revision(s, IPT_SO_GET_REVISION_TARGET, "", 0, sizeof(struct xt_get_revision));
	revision(s, IPT_SO_GET_REVISION_TARGET, "NOSUCH", 0, sizeof(struct xt_get_revision));

	errors(s);

	printf("-- rules\n");
	rules(s);
	show_info(s, "filter");
	show_entries(s, "filter", NULL, 0);
	udp_through(9001);
	udp_through(9005);
	udp_through(9006);
	udp_through(9007);
	udp_through(9008);
	udp_through(9009);
	tcp_connect(9002);
	tcp_connect(9003);
	tcp_connect(9004);
	tcp_connect(9010);
	counters(s);

	printf("-- counters\n");
	struct {
		struct xt_counters_info i;
		struct xt_counters c[17];
	} ac = {0};
	strcpy(ac.i.name, "filter");
	ac.i.num_counters = num_entries(s, "filter");
	for (int i = 0; i < 17; i++)
		ac.c[i] = (struct xt_counters){.pcnt = 5, .bcnt = 500};
	socklen_t acl = sizeof ac.i + ac.i.num_counters * sizeof ac.c[0];
	printf("add_counters: %s\n", err(setsockopt(s, SOL_IP, IPT_SO_SET_ADD_COUNTERS, &ac, acl)));
	counters(s);
	printf("add_counters long: %s\n", err(setsockopt(s, SOL_IP, IPT_SO_SET_ADD_COUNTERS, &ac, acl + 16)));
	ac.i.num_counters++;
	printf("add_counters count: %s\n", err(setsockopt(s, SOL_IP, IPT_SO_SET_ADD_COUNTERS, &ac, acl + 16)));
	strcpy(ac.i.name, "nosuch");
	printf("add_counters table: %s\n", err(setsockopt(s, SOL_IP, IPT_SO_SET_ADD_COUNTERS, &ac, acl + 16)));
	printf("add_counters short: %s\n", err(setsockopt(s, SOL_IP, IPT_SO_SET_ADD_COUNTERS, &ac, 8)));

	printf("-- back to no rules, the old counters\n");
	struct tb t;
	unsigned hooks[3];
	plain(&t, hooks);
	memset(old, 0, sizeof old);
	printf("replace: %s\n", err(replace(s, "filter", FILTER_HOOKS, hooks, hooks, &t)));
	printf("old counters: udp 9001 %llu/%llu, mychain 9005 %llu, ERROR %llu\n", old[0].pcnt, old[0].bcnt,
	       old[12].pcnt, old[14].pcnt);
	show_entries(s, "filter", NULL, 0);
	udp_through(9001);
	tcp_connect(9003);
	printf("replace, bad counters address: %s\n",
	       err(replace_n(s, "filter", FILTER_HOOKS, hooks, hooks, &t, 4, BAD, 0)));
	show_info(s, "filter");

	printf("-- permissions and namespaces\n");
	child_info(s, "nobody", -1);
	child_info(s, "new user namespace", CLONE_NEWUSER);
	rules(s);
	child_info(s, "new network namespace", CLONE_NEWNET);
	child_info(s, "new user and network namespaces", CLONE_NEWUSER | CLONE_NEWNET);
	show_info(s, "filter");

	/* The tables used so far, the last made first. */
	char names[256] = {0};
	int fd = open("/proc/net/ip_tables_names", O_RDONLY);
	if (fd < 0 || read(fd, names, sizeof names - 1) < 0)
		printf("ip_tables_names: %s\n", ename(errno));
	printf("ip_tables_names:\n%s", names);
	return 0;
}
