/* AF_PACKET rings (PACKET_MMAP), in a network namespace of its own with
 * lo up (needs a root host): PACKET_VERSION, PACKET_HDRLEN,
 * PACKET_RESERVE, the errnos of PACKET_RX_RING/TX_RING requests as
 * packet_set_ring checks them, mmap of the rings (offset 0, exactly their
 * size), a TPACKET_V2 RX ring filled by UDP datagrams to 127.0.0.1 (the
 * frame header, sockaddr_ll, the frame's bytes, poll), ring overflow and
 * PACKET_STATISTICS, a TPACKET_V3 RX ring (block descriptor, private
 * area, packets chained by tp_next_offset, the retire timeout), and a
 * TX ring (TP_STATUS_SEND_REQUEST frames sent by send(2), a frame too
 * long, RX and TX in one mapping). Times are only checked to be near
 * now. */
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
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include "loif.h"

#define PAGE 4096

static int setint(int s, int name, int v) { return setsockopt(s, SOL_PACKET, name, &v, sizeof v); }

static int packet_socket(int type, int proto) {
	int s = socket(AF_PACKET, type, htons(proto));
	struct sockaddr_ll ll = {.sll_family = AF_PACKET, .sll_protocol = htons(proto), .sll_ifindex = 1};
	if (bind(s, (void *)&ll, sizeof ll) < 0)
		printf("bind: %s\n", ename(errno));
	return s;
}

static int ring(int s, int name, unsigned bs, unsigned bn, unsigned fs, unsigned fn) {
	struct tpacket_req r = {bs, bn, fs, fn};
	return setsockopt(s, SOL_PACKET, name, &r, sizeof r);
}

static int ring3(int s, int name, unsigned bs, unsigned bn, unsigned fs, unsigned fn, unsigned tov, unsigned priv,
		 unsigned feat) {
	struct tpacket_req3 r = {bs, bn, fs, fn, tov, priv, feat};
	return setsockopt(s, SOL_PACKET, name, &r, sizeof r);
}

#define R(expr) printf("%s: %s\n", #expr, (expr) == 0 ? "ok" : ename(errno))

static void options(void) {
	printf("-- options\n");
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	printf("version %d reserve %d\n", sockopt_int(s, SOL_PACKET, PACKET_VERSION),
	       sockopt_int(s, SOL_PACKET, PACKET_RESERVE));
	R(setint(s, PACKET_VERSION, 3));
	short sh = 1;
	R(setsockopt(s, SOL_PACKET, PACKET_VERSION, &sh, sizeof sh));
	for (int v = 0; v <= 3; v++) {
		int val = v;
		socklen_t l = sizeof val;
		int r = getsockopt(s, SOL_PACKET, PACKET_HDRLEN, &val, &l);
		printf("hdrlen(%d): %s %d len %d\n", v, r ? ename(errno) : "ok", r ? -1 : val, (int)l);
	}
	int val = TPACKET_V2;
	socklen_t l = 2;
	printf("hdrlen short: %s\n", getsockopt(s, SOL_PACKET, PACKET_HDRLEN, &val, &l) ? ename(errno) : "ok");
	R(setint(s, PACKET_RESERVE, (int)0x80000000u));
	R(setint(s, PACKET_RESERVE, 64));
	printf("reserve %d\n", sockopt_int(s, SOL_PACKET, PACKET_RESERVE));
	R(setint(s, PACKET_VNET_HDR, 1));
	printf("vnet %d\n", sockopt_int(s, SOL_PACKET, PACKET_VNET_HDR));
	R(setint(s, PACKET_VNET_HDR, 0));
	int d = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL));
	R(setint(d, PACKET_VNET_HDR, 1));
	close(d);
	R(setint(s, PACKET_LOSS, 1));
	printf("loss %d\n", sockopt_int(s, SOL_PACKET, PACKET_LOSS));
	struct tpacket_stats st;
	l = sizeof st;
	R(getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &l));
	printf("stats len %d packets %u drops %u\n", (int)l, st.tp_packets, st.tp_drops);
	close(s);
}

static void requests(void) {
	printf("-- requests\n");
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	R(setint(s, PACKET_VERSION, TPACKET_V2));
	struct tpacket_req r = {PAGE, 1, 2048, 2};
	R(setsockopt(s, SOL_PACKET, PACKET_RX_RING, &r, sizeof r - 1));
	R(ring(s, PACKET_RX_RING, 1000, 1, 1000, 1));
	R(ring(s, PACKET_RX_RING, 0x80000000u, 1, 2048, 0x40000));
	R(ring(s, PACKET_RX_RING, PAGE, 1, 16, 256));
	R(ring(s, PACKET_RX_RING, PAGE, 1, 2056, 1));
	R(ring(s, PACKET_RX_RING, PAGE, 1, 8192, 0));
	R(ring(s, PACKET_RX_RING, PAGE, 1, 2048, 3));
	R(ring(s, PACKET_RX_RING, PAGE, 0x7fffffff, 64, 64));
	R(ring(s, PACKET_RX_RING, PAGE, 0, 2048, 1));
	R(ring(s, PACKET_RX_RING, PAGE, 0, 0, 0));
	/* PACKET_RESERVE counts in the smallest frame. */
	R(setint(s, PACKET_RESERVE, 2000));
	R(ring(s, PACKET_RX_RING, PAGE, 1, 2048, 2));
	R(setint(s, PACKET_RESERVE, 0));
	R(ring(s, PACKET_RX_RING, PAGE, 1, 2048, 2));
	R(ring(s, PACKET_RX_RING, PAGE, 1, 2048, 2));
	R(setint(s, PACKET_VERSION, TPACKET_V3));
	R(setint(s, PACKET_RESERVE, 16));
	R(setint(s, PACKET_VNET_HDR, 1));
	/* mmap: offset 0 and the rings' size only. */
	void *m = mmap(NULL, PAGE * 2, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	printf("mmap twice the size: %s\n", m == MAP_FAILED ? ename(errno) : "mapped");
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, PAGE);
	printf("mmap at an offset: %s\n", m == MAP_FAILED ? ename(errno) : "mapped");
	R(ring(s, PACKET_TX_RING, PAGE, 2, 1024, 8));
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	printf("mmap the RX ring alone: %s\n", m == MAP_FAILED ? ename(errno) : "mapped");
	m = mmap(NULL, PAGE * 3, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	printf("mmap both: %s\n", m == MAP_FAILED ? ename(errno) : "mapped");
	/* Mapped rings stay: in a forked child's copy too, and in a part
	 * left after a partial munmap. */
	R(ring(s, PACKET_RX_RING, 0, 0, 0, 0));
	int go[2];
	pipe(go);
	pid_t child = fork();
	if (child == 0) {
		char c;
		read(go[0], &c, 1);
		_exit(0);
	}
	munmap(m, PAGE);
	R(ring(s, PACKET_TX_RING, 0, 0, 0, 0));
	munmap(m + PAGE, PAGE * 2);
	R(ring(s, PACKET_TX_RING, 0, 0, 0, 0));
	write(go[1], "x", 1);
	waitpid(child, NULL, 0);
	close(go[0]), close(go[1]);
	R(ring(s, PACKET_RX_RING, 0, 0, 0, 0));
	R(ring(s, PACKET_TX_RING, 0, 0, 0, 0));
	R(setint(s, PACKET_VERSION, TPACKET_V3));
	int n = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	m = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, n, 0);
	printf("mmap without rings: %s\n", m == MAP_FAILED ? ename(errno) : "mapped");
	close(n);
	/* V3: the block must hold its descriptor, private area and a frame. */
	R(setsockopt(s, SOL_PACKET, PACKET_RX_RING, &r, sizeof r));
	R(ring3(s, PACKET_RX_RING, PAGE, 1, PAGE, 1, 10, 3u << 30, 0));
	R(ring3(s, PACKET_RX_RING, PAGE, 1, PAGE, 1, 10, PAGE - 48 - 68 + 1, 0));
	R(ring3(s, PACKET_RX_RING, PAGE, 1, PAGE, 1, 10, PAGE - 48 - 68, 0));
	R(ring3(s, PACKET_RX_RING, 0, 0, 0, 0, 0, 0, 0));
	R(ring3(s, PACKET_TX_RING, PAGE, 1, 2048, 2, 10, 0, 0));
	R(ring3(s, PACKET_TX_RING, PAGE, 1, 2048, 2, 0, 8, 0));
	R(ring3(s, PACKET_TX_RING, PAGE, 1, 2048, 2, 0, 0, 0));
	R(ring3(s, PACKET_TX_RING, 0, 0, 0, 0, 0, 0, 0));
	close(s);
}

/* recv_wait receives a datagram, waiting at most a second (lo's
 * delivery is asynchronous in Linux). */
static int recv_wait(int s, char *buf, int n) {
	struct pollfd p = {s, POLLIN};
	poll(&p, 1, 1000);
	return recv(s, buf, n, MSG_DONTWAIT);
}

/* udp_pair makes a receiver on 127.0.0.1 and a sender connected to it. */
static void udp_pair(int *rcv, int *snd, int *port) {
	*rcv = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {AF_INET, 0, {htonl(INADDR_LOOPBACK)}};
	socklen_t al = sizeof a;
	bind(*rcv, (void *)&a, sizeof a);
	getsockname(*rcv, (void *)&a, &al);
	*port = ntohs(a.sin_port);
	*snd = socket(AF_INET, SOCK_DGRAM, 0);
	connect(*snd, (void *)&a, sizeof a);
}

static int near_now(unsigned sec) {
	long d = (long)time(NULL) - (long)sec;
	return d >= -5 && d <= 5;
}

static void show_sll(struct sockaddr_ll *ll) {
	printf("  sll family %d protocol %#x ifindex %d hatype %d pkttype %d halen %d\n", ll->sll_family,
	       ntohs(ll->sll_protocol), ll->sll_ifindex, ll->sll_hatype, ll->sll_pkttype, ll->sll_halen);
}

/* show_frame prints an Ethernet frame's type and, for UDP, its payload. */
static void show_frame(const unsigned char *f, unsigned len, int raw) {
	const unsigned char *ip = raw ? f + 14 : f;
	if (raw)
		printf("  ethertype %02x%02x", f[12], f[13]);
	int ihl = (ip[0] & 15) * 4;
	printf("  ip proto %d", ip[9]);
	if (ip[9] == IPPROTO_UDP)
		printf(" payload %.*s", (int)(len - (ip - f) - ihl - 8), (const char *)ip + ihl + 8);
	printf("\n");
}

static void rx_v2(int type) {
	printf("-- V2 RX ring, %s\n", type == SOCK_RAW ? "SOCK_RAW" : "SOCK_DGRAM");
	int s = packet_socket(type, ETH_P_IP);
	R(setint(s, PACKET_VERSION, TPACKET_V2));
	R(ring(s, PACKET_RX_RING, PAGE, 2, 2048, 4));
	unsigned char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	if (m == MAP_FAILED) {
		printf("mmap: %s\n", ename(errno));
		return;
	}
	struct pollfd p = {s, POLLIN};
	int pr = poll(&p, 1, 0);
	printf("poll before: %d revents %#x\n", pr, p.revents);
	int rcv, snd, port;
	udp_pair(&rcv, &snd, &port);
	T(send(snd, "ring one", 8, 0));
	T(send(snd, "ring two!", 9, 0));
	p.revents = 0;
	pr = poll(&p, 1, 1000);
	printf("poll after: %d revents %#x\n", pr, p.revents);
	int host = 0;
	for (int i = 0; i < 4; i++) {
		struct tpacket2_hdr *h = (void *)(m + i * 2048);
		if (!(h->tp_status & TP_STATUS_USER))
			break;
		struct sockaddr_ll *ll = (void *)((char *)h + TPACKET_ALIGN(sizeof *h));
		if (ll->sll_pkttype == PACKET_OUTGOING) {
			h->tp_status = TP_STATUS_KERNEL;
			continue;
		}
		printf(" frame %d: status user %d len %u snaplen %u mac %u net %u vlan %u time near %d\n", host++,
		       !!(h->tp_status & TP_STATUS_USER), h->tp_len, h->tp_snaplen, h->tp_mac, h->tp_net, h->tp_vlan_tci,
		       near_now(h->tp_sec));
		show_sll(ll);
		show_frame((unsigned char *)h + h->tp_mac, h->tp_snaplen, type == SOCK_RAW);
		h->tp_status = TP_STATUS_KERNEL;
	}
	printf("frames from lo: %d\n", host);
	/* Received by the UDP socket too: the ring is a copy. */
	char buf[32];
	T(recv_wait(rcv, buf, sizeof buf));
	T(recv_wait(rcv, buf, sizeof buf));
	struct tpacket_stats st;
	socklen_t l = sizeof st;
	getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &l);
	printf("stats: drops %u\n", st.tp_drops);
	munmap(m, 2 * PAGE);
	close(rcv), close(snd), close(s);
}

/* purge: setting up or removing an RX ring drops what the socket had
 * queued for recv(2). */
static void purge(void) {
	printf("-- purge\n");
	int s = packet_socket(SOCK_DGRAM, ETH_P_IP);
	int rcv, snd, port;
	udp_pair(&rcv, &snd, &port);
	char buf[64];
	send(snd, "queued", 6, 0);
	T(recv_wait(s, buf, sizeof buf));
	send(snd, "queued", 6, 0);
	usleep(100000);
	R(ring(s, PACKET_RX_RING, PAGE, 0, 0, 0));
	T(recv(s, buf, sizeof buf, MSG_DONTWAIT));
	send(snd, "queued", 6, 0);
	usleep(100000);
	R(ring(s, PACKET_RX_RING, PAGE, 1, 2048, 2));
	T(recv(s, buf, sizeof buf, MSG_DONTWAIT));
	send(snd, "queued", 6, 0);
	usleep(100000);
	R(ring(s, PACKET_RX_RING, 0, 0, 0, 0));
	T(recv(s, buf, sizeof buf, MSG_DONTWAIT));
	/* Without a ring, PACKET_STATISTICS counts what was queued. */
	for (int i = 0; i < 3; i++)
		send(snd, "counted", 7, 0);
	usleep(100000);
	struct tpacket_stats st;
	socklen_t l = sizeof st;
	R(getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &l));
	printf("stats: packets %u drops %u\n", st.tp_packets, st.tp_drops);
	close(rcv), close(snd), close(s);
}

/* overflow fills a ring of two frames with incoming datagrams only (a
 * SOCK_DGRAM socket that sees every IPv4 packet would see each twice on
 * lo: the first is skipped by counting). */
static void overflow(void) {
	printf("-- overflow\n");
	int s = packet_socket(SOCK_DGRAM, ETH_P_IP);
	R(setint(s, PACKET_VERSION, TPACKET_V1));
	R(ring(s, PACKET_RX_RING, PAGE, 1, 2048, 2));
	unsigned char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	int rcv, snd, port;
	udp_pair(&rcv, &snd, &port);
	for (int i = 0; i < 4; i++)
		send(snd, "x", 1, 0);
	struct pollfd p = {s, POLLIN};
	poll(&p, 1, 1000);
	for (int i = 0; i < 2; i++) {
		struct tpacket_hdr *h = (void *)(m + i * 2048);
		printf(" frame %d: user %d losing %d len %u mac %u net %u usec ok %d\n", i, !!(h->tp_status & TP_STATUS_USER),
		       !!(h->tp_status & TP_STATUS_LOSING), h->tp_len, h->tp_mac, h->tp_net, h->tp_usec < 1000000);
	}
	struct tpacket_stats st;
	socklen_t l = sizeof st;
	R(getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &l));
	printf("stats: packets %u drops %u (read clears: ", st.tp_packets, st.tp_drops);
	getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &l);
	printf("%u %u)\n", st.tp_packets, st.tp_drops);
	munmap(m, PAGE);
	close(rcv), close(snd), close(s);
}

static void rx_v3(void) {
	printf("-- V3 RX ring\n");
	int s = packet_socket(SOCK_DGRAM, ETH_P_IP);
	R(setint(s, PACKET_VERSION, TPACKET_V3));
	R(ring3(s, PACKET_RX_RING, PAGE, 2, 2048, 4, 20, 13, 0));
	unsigned char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	if (m == MAP_FAILED) {
		printf("mmap: %s\n", ename(errno));
		return;
	}
	struct tpacket_block_desc *b = (void *)m;
	printf("open block: version %u priv at %u status %u pkts %u first %u len %u seq %llu\n", b->version,
	       b->offset_to_priv, b->hdr.bh1.block_status, b->hdr.bh1.num_pkts, b->hdr.bh1.offset_to_first_pkt,
	       b->hdr.bh1.blk_len, (unsigned long long)b->hdr.bh1.seq_num);
	int rcv, snd, port;
	udp_pair(&rcv, &snd, &port);
	T(send(snd, "block one", 9, 0));
	T(send(snd, "block two!", 10, 0));
	struct pollfd p = {s, POLLIN};
	/* The block is retired by its timeout (20 ms). */
	int pr = poll(&p, 1, 2000);
	printf("poll: %d revents %#x\n", pr, p.revents);
	printf("block 0: user %d tmo %d pkts %u first %u len %u seq %llu ts near %d\n",
	       !!(b->hdr.bh1.block_status & TP_STATUS_USER), !!(b->hdr.bh1.block_status & TP_STATUS_BLK_TMO),
	       b->hdr.bh1.num_pkts, b->hdr.bh1.offset_to_first_pkt, b->hdr.bh1.blk_len,
	       (unsigned long long)b->hdr.bh1.seq_num, near_now(b->hdr.bh1.ts_last_pkt.ts_sec));
	struct tpacket3_hdr *h = (void *)(m + b->hdr.bh1.offset_to_first_pkt);
	for (unsigned i = 0; i < b->hdr.bh1.num_pkts && i < 8; i++) {
		struct sockaddr_ll *ll = (void *)((char *)h + TPACKET_ALIGN(sizeof *h));
		printf(" packet %u: next %u status user %d len %u snaplen %u mac %u net %u time near %d\n", i,
		       h->tp_next_offset, !!(h->tp_status & TP_STATUS_USER), h->tp_len, h->tp_snaplen, h->tp_mac, h->tp_net,
		       near_now(h->tp_sec));
		show_sll(ll);
		show_frame((unsigned char *)h + h->tp_mac, h->tp_snaplen, 0);
		h = (void *)((char *)h + h->tp_next_offset);
	}
	b->hdr.bh1.block_status = TP_STATUS_KERNEL;
	struct tpacket_block_desc *b1 = (void *)(m + PAGE);
	printf("block 1: status %u seq %llu first %u\n", b1->hdr.bh1.block_status, (unsigned long long)b1->hdr.bh1.seq_num,
	       b1->hdr.bh1.offset_to_first_pkt);
	struct tpacket_stats_v3 st;
	socklen_t l = sizeof st;
	R(getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &l));
	printf("stats len %d drops %u freezes %u\n", (int)l, st.tp_drops, st.tp_freeze_q_cnt);
	munmap(m, 2 * PAGE);
	close(rcv), close(snd), close(s);
}

/* rx_v3_full fills a V3 block: it is retired when the next packet does
 * not fit, long before its timeout, and the next block takes that one. */
static void rx_v3_full(void) {
	printf("-- V3 full block\n");
	int s = packet_socket(SOCK_DGRAM, ETH_P_IP);
	R(setint(s, PACKET_VERSION, TPACKET_V3));
	R(ring3(s, PACKET_RX_RING, PAGE, 2, 2048, 4, 10000, 0, 0));
	unsigned char *m = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	int rcv, snd, port;
	udp_pair(&rcv, &snd, &port);
	char msg[100];
	memset(msg, 'f', sizeof msg);
	for (int i = 0; i < 20; i++)
		send(snd, msg, sizeof msg, 0);
	struct pollfd p = {s, POLLIN};
	int pr = poll(&p, 1, 2000);
	struct tpacket_block_desc *b0 = (void *)m, *b1 = (void *)(m + PAGE);
	printf("poll %d; block 0: user %d tmo %d pkts %u len %u; block 1: status %u seq %llu\n", pr,
	       !!(b0->hdr.bh1.block_status & TP_STATUS_USER), !!(b0->hdr.bh1.block_status & TP_STATUS_BLK_TMO),
	       b0->hdr.bh1.num_pkts, b0->hdr.bh1.blk_len, b1->hdr.bh1.block_status, (unsigned long long)b1->hdr.bh1.seq_num);
	/* Both blocks the application's: the queue freezes, packets drop. */
	for (int i = 0; i < 40; i++)
		send(snd, msg, sizeof msg, 0);
	usleep(100000);
	printf("block 1: user %d pkts %u\n", !!(b1->hdr.bh1.block_status & TP_STATUS_USER), b1->hdr.bh1.num_pkts);
	struct tpacket_stats_v3 st;
	socklen_t l = sizeof st;
	R(getsockopt(s, SOL_PACKET, PACKET_STATISTICS, &st, &l));
	printf("stats: packets %u drops %u freezes %u\n", st.tp_packets, st.tp_drops, st.tp_freeze_q_cnt);
	/* Released, block 0 takes packets again. */
	b0->hdr.bh1.block_status = TP_STATUS_KERNEL;
	send(snd, msg, sizeof msg, 0);
	usleep(100000);
	printf("block 0: status %u pkts %u seq %llu\n", b0->hdr.bh1.block_status, b0->hdr.bh1.num_pkts,
	       (unsigned long long)b0->hdr.bh1.seq_num);
	munmap(m, 2 * PAGE);
	close(rcv), close(snd), close(s);
}

static unsigned short ipsum(const void *p, int n) {
	const unsigned short *w = p;
	unsigned long s = 0;
	for (int i = 0; i < n / 2; i++)
		s += w[i];
	s = (s >> 16) + (s & 0xffff);
	return ~(s + (s >> 16));
}

/* udp_frame builds an Ethernet frame of a UDP datagram to 127.0.0.1:port. */
static int udp_frame(unsigned char *f, int port, const char *msg) {
	int n = strlen(msg);
	memset(f, 0, 14);
	f[12] = 0x08, f[13] = 0x00;
	struct iphdr *ip = (void *)(f + 14);
	memset(ip, 0, 20);
	ip->version = 4, ip->ihl = 5, ip->tot_len = htons(20 + 8 + n), ip->ttl = 64, ip->protocol = IPPROTO_UDP;
	ip->saddr = ip->daddr = htonl(INADDR_LOOPBACK);
	ip->check = ipsum(ip, 20);
	struct udphdr *u = (void *)(f + 34);
	u->source = htons(9), u->dest = htons(port), u->len = htons(8 + n), u->check = 0;
	memcpy(f + 42, msg, n);
	return 42 + n;
}

/* watched prints the UDP payload of the next frame a watching packet
 * socket sees (a frame a packet socket sends to 127.0.0.1 is a martian
 * to Linux's IP input, so no UDP socket gets it). */
static void watched(int w) {
	unsigned char buf[128];
	int n = recv_wait(w, (char *)buf, sizeof buf);
	if (n < 0) {
		printf(" watched: %s\n", ename(errno));
		return;
	}
	printf(" watched:");
	show_frame(buf, n, 0);
}

static void tx(void) {
	printf("-- TX ring\n");
	int w = packet_socket(SOCK_DGRAM, ETH_P_IP);
	int s = packet_socket(SOCK_RAW, ETH_P_IP);
	R(setint(s, PACKET_VERSION, TPACKET_V2));
	R(ring(s, PACKET_TX_RING, PAGE, 1, 2048, 2));
	unsigned char *m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	if (m == MAP_FAILED) {
		printf("mmap: %s\n", ename(errno));
		return;
	}
	struct pollfd p = {s, POLLOUT};
	int pr = poll(&p, 1, 0);
	printf("poll: %d revents %#x\n", pr, p.revents);
	int rcv, snd, port;
	udp_pair(&rcv, &snd, &port);
	T(send(s, NULL, 0, 0));
	/* The buffer is never read: none, or one past any datagram. */
	T(send(s, (void *)4096, 100000, 0));
	for (int i = 0; i < 2; i++) {
		struct tpacket2_hdr *h = (void *)(m + i * 2048);
		char msg[32];
		snprintf(msg, sizeof msg, "tx frame %d", i);
		h->tp_len = udp_frame((unsigned char *)h + TPACKET2_HDRLEN - sizeof(struct sockaddr_ll), port, msg);
		h->tp_status = TP_STATUS_SEND_REQUEST;
	}
	T(send(s, NULL, 0, 0));
	for (int i = 0; i < 2; i++)
		printf(" frame %d status %u\n", i, ((struct tpacket2_hdr *)(m + i * 2048))->tp_status);
	for (int i = 0; i < 2; i++)
		watched(w);
	/* A frame longer than the frame can hold; then one cut short. */
	struct tpacket2_hdr *h = (void *)m;
	h->tp_len = 2048;
	h->tp_status = TP_STATUS_SEND_REQUEST;
	T(send(s, NULL, 0, 0));
	printf(" frame 0 status %u\n", h->tp_status);
	h->tp_len = 10;
	h->tp_status = TP_STATUS_SEND_REQUEST;
	T(send(s, NULL, 0, 0));
	printf(" frame 0 status %u\n", h->tp_status);
	/* To an interface named in sendto's address. */
	h->tp_len = udp_frame((unsigned char *)h + 32, port, "tx sendto");
	h->tp_status = TP_STATUS_SEND_REQUEST;
	struct sockaddr_ll to = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = 1, .sll_halen = 6};
	T(sendto(s, NULL, 0, 0, (void *)&to, sizeof to));
	watched(w);
	munmap(m, PAGE);
	close(s);

	/* SOCK_DGRAM, TPACKET_V1: the frame is the IP packet; the link
	 * header is made for it. */
	printf("-- TX ring, SOCK_DGRAM, V1\n");
	s = packet_socket(SOCK_DGRAM, ETH_P_IP);
	R(setint(s, PACKET_VERSION, TPACKET_V1));
	R(ring(s, PACKET_TX_RING, PAGE, 1, 2048, 2));
	m = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	struct tpacket_hdr *h1 = (void *)m;
	unsigned char f[128];
	int fl = udp_frame(f, port, "dgram v1");
	memcpy((char *)h1 + TPACKET_HDRLEN - sizeof(struct sockaddr_ll), f + 14, fl - 14);
	h1->tp_len = fl - 14;
	h1->tp_status = TP_STATUS_SEND_REQUEST;
	T(sendto(s, NULL, 0, 0, (void *)&to, sizeof to));
	printf(" frame 0 status %lu\n", h1->tp_status);
	watched(w);
	h1 = (void *)(m + 2048);
	fl = udp_frame(f, port, "dgram bound");
	memcpy((char *)h1 + 32, f + 14, fl - 14);
	h1->tp_len = fl - 14;
	h1->tp_status = TP_STATUS_SEND_REQUEST;
	T(send(s, NULL, 0, 0));
	watched(w);
	munmap(m, PAGE);
	close(s);

	/* RX then TX in one mapping. */
	printf("-- RX and TX\n");
	s = packet_socket(SOCK_RAW, ETH_P_IP);
	R(setint(s, PACKET_VERSION, TPACKET_V2));
	R(ring(s, PACKET_TX_RING, PAGE, 1, 2048, 2));
	R(ring(s, PACKET_RX_RING, 2 * PAGE, 1, 2048, 4));
	m = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	if (m == MAP_FAILED) {
		printf("mmap: %s\n", ename(errno));
		return;
	}
	h = (void *)(m + 2 * PAGE);
	h->tp_len = udp_frame((unsigned char *)h + 32, port, "both rings");
	h->tp_status = TP_STATUS_SEND_REQUEST;
	T(send(s, NULL, 0, 0));
	watched(w);
	p.events = POLLIN;
	poll(&p, 1, 1000);
	for (int i = 0; i < 4; i++) {
		struct tpacket2_hdr *r = (void *)(m + i * 2048);
		if (!(r->tp_status & TP_STATUS_USER))
			break;
		struct sockaddr_ll *ll = (void *)((char *)r + 32);
		printf(" rx frame %d: pkttype %d len %u\n", i, ll->sll_pkttype, r->tp_len);
		show_frame((unsigned char *)r + r->tp_mac, r->tp_snaplen, 1);
	}
	munmap(m, 3 * PAGE);
	close(s), close(rcv), close(snd), close(w);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (unshare(CLONE_NEWNET) < 0) {
		printf("unshare: %s\n", ename(errno));
		return 1;
	}
	T(set_lo(1));
	options();
	requests();
	rx_v2(SOCK_RAW);
	rx_v2(SOCK_DGRAM);
	purge();
	overflow();
	rx_v3();
	rx_v3_full();
	tx();
	return 0;
}
