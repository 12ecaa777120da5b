/* Unix-domain sockets: socketpair, bind/listen/connect/accept on paths and
 * abstract names, datagrams, seqpackets, shutdown, peek, non-blocking
 * calls, poll readiness, SCM_RIGHTS across fork, SCM_CREDENTIALS, SIGPIPE
 * and error paths. */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

static volatile int sigpipes, sigusr1s;
static void on_sigpipe(int sig) { (void)sig; sigpipes++; }
static void on_sigusr1(int sig) { (void)sig; sigusr1s++; }

static socklen_t path_addr(struct sockaddr_un *a, const char *path) {
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	strcpy(a->sun_path, path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
}

/* abstract_addr makes a name unique to this run: the native runs of the
 * static and dynamic variants share the host's abstract namespace. */
static socklen_t abstract_addr(struct sockaddr_un *a, const char *name) {
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "runsc-lite-%s-%d", name, getpid());
	return offsetof(struct sockaddr_un, sun_path) + 1 + n;
}

static void show_poll(const char *what, int fd) {
	struct pollfd p = {fd, POLLIN | POLLOUT | POLLRDHUP, 0};
	int r = poll(&p, 1, 0);
	printf("%s: poll=%d in=%d out=%d hup=%d rdhup=%d err=%d\n", what, r, !!(p.revents & POLLIN),
	       !!(p.revents & POLLOUT), !!(p.revents & POLLHUP), !!(p.revents & POLLRDHUP), !!(p.revents & POLLERR));
}

static int intopt(int fd, int name) {
	int v = -1;
	socklen_t l = sizeof v;
	if (getsockopt(fd, SOL_SOCKET, name, &v, &l) < 0)
		return -errno;
	return v;
}

static void errors(void) {
	printf("-- errors\n");
	int sv[2];
	T(socket(1000, SOCK_STREAM, 0));
	T(socket(AF_UNIX, SOCK_STREAM | 0x100000, 0));
	T(socket(AF_UNIX, SOCK_STREAM, 5));
	T(socket(AF_UNIX, SOCK_RDM, 0));
	T(socket(AF_UNIX, 99, 0));
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, BAD));
	T(socketpair(1000, SOCK_STREAM, 0, sv));

	struct sockaddr_un a;
	socklen_t al = path_addr(&a, "x.sock");
	T(bind(99, (struct sockaddr *)&a, al));
	int file = open("plain", O_CREAT | O_RDWR, 0644);
	T(bind(file, (struct sockaddr *)&a, al));
	T(listen(file, 1));
	T(send(file, "x", 1, 0));
	int ov;
	T(getsockopt(file, SOL_SOCKET, SO_TYPE, &ov, &al));

	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	T(bind(s, (struct sockaddr *)&a, 200));
	T(bind(s, (struct sockaddr *)&a, -1));
	T(bind(s, BAD, al));
	a.sun_family = AF_INET;
	T(bind(s, (struct sockaddr *)&a, al));
	T(connect(s, (struct sockaddr *)&a, al));
	a.sun_family = AF_UNIX;
	T(bind(s, (struct sockaddr *)&a, 1));
	path_addr(&a, "missing.sock");
	T(connect(s, (struct sockaddr *)&a, al));
	path_addr(&a, "plain");
	T(connect(s, (struct sockaddr *)&a, sizeof a));
	T(accept(s, NULL, NULL));
	T(listen(s, 1));
	T(send(s, "x", 1, 0));
	T(recv(s, &al, 1, 0));
	T(getpeername(s, (struct sockaddr *)&a, &al));
	T(shutdown(s, 7));
	T(accept4(s, NULL, NULL, 0x4));
	T(getsockopt(s, SOL_SOCKET, 9999, &ov, &al));
	T(setsockopt(s, SOL_SOCKET, 9999, &ov, sizeof ov));
	T(getsockopt(s, 6 /* SOL_TCP */, 1, &ov, &al));
	int one = 1;
	T(setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, 2));
	al = sizeof ov;
	T(getsockopt(s, SOL_SOCKET, SO_TYPE, BAD, &al));
	close(s);

	s = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(listen(s, 1));
	T(accept(s, NULL, NULL));
	T(send(s, "x", 1, 0));
	char big[1];
	T(sendto(s, "x", 1, 0, (struct sockaddr *)&a, 1));
	abstract_addr(&a, "nobody");
	T(sendto(s, "x", 1, 0, (struct sockaddr *)&a, abstract_addr(&a, "nobody")));
	(void)big;
	close(s);
	close(file);
}

static void stream_pair(void) {
	printf("-- stream pair\n");
	int sv[2];
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	struct stat st;
	fstat(sv[0], &st);
	printf("fstat type: %s\n", ftype(st.st_mode));
	printf("SO_TYPE=%d SO_DOMAIN=%d SO_ACCEPTCONN=%d SO_ERROR=%d SO_PASSCRED=%d\n", intopt(sv[0], SO_TYPE),
	       intopt(sv[0], SO_DOMAIN), intopt(sv[0], SO_ACCEPTCONN), intopt(sv[0], SO_ERROR), intopt(sv[0], SO_PASSCRED));
	struct ucred uc;
	socklen_t ul = sizeof uc;
	T(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul));
	printf("peercred len=%d pid ok=%d uid ok=%d gid ok=%d\n", ul, uc.pid == getpid(), uc.uid == getuid(), uc.gid == getgid());
	int v = 8192;
	T(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v));
	printf("SO_SNDBUF after 8192: %d\n", intopt(sv[0], SO_SNDBUF));
	T(setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v));
	printf("SO_RCVBUF after 8192: %d\n", intopt(sv[0], SO_RCVBUF));
	T(setsockopt(sv[0], SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
	printf("SO_REUSEADDR: %d\n", intopt(sv[0], SO_REUSEADDR));
	show_poll("fresh pair", sv[0]);

	T(write(sv[0], "hello ", 6));
	T(send(sv[0], "world", 5, 0));
	show_poll("with data", sv[1]);
	int n = 0;
	T(ioctl(sv[1], FIONREAD, &n));
	printf("FIONREAD=%d\n", n);
	char buf[64] = {0};
	T(recv(sv[1], buf, 3, MSG_PEEK));
	printf("peeked %.3s\n", buf);
	T(read(sv[1], buf, sizeof buf));
	printf("read %.11s\n", buf);

	struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
	T(writev(sv[1], iov, 2));
	char x[2], y[8] = {0};
	struct iovec riov[2] = {{x, 2}, {y, 8}};
	T(readv(sv[0], riov, 2));
	printf("readv %.2s|%s\n", x, y);

	T(send(sv[0], "abcdef", 6, 0));
	T(recv(sv[1], buf, 6, MSG_WAITALL));

	T(shutdown(sv[0], SHUT_WR));
	show_poll("after peer SHUT_WR", sv[1]);
	T(read(sv[1], buf, sizeof buf));
	T(write(sv[1], "back", 4));
	T(read(sv[0], buf, sizeof buf));
	T(shutdown(sv[0], SHUT_RD));
	show_poll("after SHUT_RDWR", sv[0]);
	close(sv[0]);
	close(sv[1]);

	/* peer close */
	T(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	printf("cloexec=%d\n", fcntl(sv[0], F_GETFD) & FD_CLOEXEC);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = 7};
	epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev);
	T(epoll_wait(ep, &ev, 1, 0));
	close(sv[1]);
	T(epoll_wait(ep, &ev, 1, 1000));
	printf("epoll events in=%d rdhup=%d hup=%d\n", !!(ev.events & EPOLLIN), !!(ev.events & EPOLLRDHUP),
	       !!(ev.events & EPOLLHUP));
	show_poll("peer closed", sv[0]);
	T(read(sv[0], buf, sizeof buf));
	signal(SIGPIPE, on_sigpipe);
	T(write(sv[0], "x", 1));
	printf("SIGPIPEs after write: %d\n", sigpipes);
	T(send(sv[0], "x", 1, MSG_NOSIGNAL));
	printf("SIGPIPEs after MSG_NOSIGNAL: %d\n", sigpipes);
	signal(SIGPIPE, SIG_IGN);
	T(send(sv[0], "x", 1, 0));
	printf("SIGPIPEs ignored: %d\n", sigpipes);
	close(sv[0]);
	close(ep);

	/* unread data when the peer closes: ECONNRESET, then end of file */
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	write(sv[0], "unread", 6);
	close(sv[1]);
	show_poll("reset", sv[0]);
	T(read(sv[0], buf, sizeof buf));
	T(read(sv[0], buf, sizeof buf));
	close(sv[0]);
}

static void nonblocking(void) {
	printf("-- nonblocking\n");
	int sv[2];
	T(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv));
	char buf[4096];
	T(read(sv[0], buf, sizeof buf));
	T(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
	memset(buf, 'z', sizeof buf);
	long total = 0;
	int r;
	while ((r = write(sv[0], buf, sizeof buf)) > 0)
		total += r;
	printf("filled: %s, some written %d\n", ename(errno), total > 0);
	struct pollfd p = {sv[0], POLLOUT, 0};
	printf("poll out when full: %d\n", poll(&p, 1, 0));
	long got = 0;
	while ((r = read(sv[1], buf, sizeof buf)) > 0)
		got += r;
	printf("drained: %s, all read %d\n", ename(errno), got == total);
	show_poll("drained", sv[0]);
	close(sv[0]);
	close(sv[1]);

	T(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	T(recv(sv[0], buf, 1, MSG_DONTWAIT));
	close(sv[0]);
	close(sv[1]);
}

static void dgram_pair(void) {
	printf("-- dgram pair\n");
	int sv[2];
	T(socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
	printf("SO_TYPE=%d\n", intopt(sv[0], SO_TYPE));
	show_poll("fresh dgram", sv[0]);
	T(send(sv[0], "one", 3, 0));
	T(send(sv[0], "two!", 4, 0));
	T(send(sv[0], "", 0, 0));
	T(send(sv[0], "truncated", 9, 0));
	int n = 0;
	T(ioctl(sv[1], FIONREAD, &n));
	printf("FIONREAD=%d\n", n);
	char buf[64] = {0};
	T(recv(sv[1], buf, sizeof buf, 0));
	T(read(sv[1], buf, sizeof buf));
	printf("second: %.4s\n", buf);
	T(recv(sv[1], buf, sizeof buf, 0));
	struct iovec iov = {buf, 4};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	T(recvmsg(sv[1], &m, MSG_PEEK));
	printf("peek flags trunc=%d\n", !!(m.msg_flags & MSG_TRUNC));
	T(recv(sv[1], buf, 4, MSG_TRUNC));
	T(send(sv[0], "x", 1, 0));
	T(recvmsg(sv[1], &m, 0));
	printf("flags trunc=%d namelen=%d\n", !!(m.msg_flags & MSG_TRUNC), m.msg_namelen);
	char large[300000];
	memset(large, 0, sizeof large);
	T(send(sv[0], large, sizeof large, 0));
	T(shutdown(sv[1], SHUT_RD));
	T(send(sv[0], "x", 1, 0));
	T(recv(sv[1], buf, sizeof buf, 0));
	close(sv[0]);
	close(sv[1]);
}

static void seqpacket_pair(void) {
	printf("-- seqpacket pair\n");
	int sv[2];
	T(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
	T(send(sv[0], "rec1", 4, 0));
	T(send(sv[0], "record2", 7, 0));
	char buf[64] = {0};
	struct iovec iov = {buf, 3};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	T(recvmsg(sv[1], &m, 0));
	printf("trunc=%d %.3s\n", !!(m.msg_flags & MSG_TRUNC), buf);
	T(recv(sv[1], buf, sizeof buf, 0));
	close(sv[0]);
	show_poll("seqpacket peer closed", sv[1]);
	T(recv(sv[1], buf, sizeof buf, 0));
	signal(SIGPIPE, on_sigpipe);
	sigpipes = 0;
	T(send(sv[1], "x", 1, 0));
	printf("SIGPIPEs from seqpacket: %d\n", sigpipes);
	signal(SIGPIPE, SIG_IGN);
	close(sv[1]);

	int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	T(send(s, "x", 1, 0));
	T(recv(s, buf, 1, 0));
	show_poll("unconnected seqpacket", s);
	close(s);
}

static void paths(void) {
	printf("-- paths\n");
	struct sockaddr_un a, b;
	socklen_t al = path_addr(&a, "srv.sock"), bl;
	int srv = socket(AF_UNIX, SOCK_STREAM, 0);
	show_poll("unconnected stream", srv);
	int cli = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	T(connect(cli, (struct sockaddr *)&a, al));
	T(bind(srv, (struct sockaddr *)&a, al));
	struct stat st;
	T(lstat("srv.sock", &st));
	printf("node type: %s\n", ftype(st.st_mode));
	T(open("srv.sock", O_RDONLY));
	int other = socket(AF_UNIX, SOCK_STREAM, 0);
	T(bind(other, (struct sockaddr *)&a, al));
	path_addr(&b, "other.sock");
	T(bind(srv, (struct sockaddr *)&b, sizeof b));
	T(access("other.sock", F_OK));
	T(connect(cli, (struct sockaddr *)&a, al));
	T(listen(srv, 0));
	printf("SO_ACCEPTCONN=%d\n", intopt(srv, SO_ACCEPTCONN));
	show_poll("listening, nothing pending", srv);
	T(accept4(srv, NULL, NULL, SOCK_NONBLOCK | 0x8000000));
	bl = sizeof b;
	T(getsockname(srv, (struct sockaddr *)&b, &bl));
	printf("server name: len=%d %s\n", bl, b.sun_path);
	T(connect(cli, (struct sockaddr *)&a, al));
	T(connect(cli, (struct sockaddr *)&a, al));
	int cli2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	T(connect(cli2, (struct sockaddr *)&a, al));
	show_poll("listening, one pending", srv);
	bl = sizeof b;
	T(getpeername(cli, (struct sockaddr *)&b, &bl));
	printf("client's peer: len=%d %s\n", bl, b.sun_path);
	bl = sizeof b;
	T(getsockname(cli, (struct sockaddr *)&b, &bl));
	printf("client's name: len=%d\n", bl);
	T(write(cli, "before accept", 13));
	bl = sizeof b;
	int conn = accept(srv, (struct sockaddr *)&b, &bl);
	printf("accepted: %d addrlen=%d\n", conn >= 0, bl);
	T(connect(cli2, (struct sockaddr *)&a, al));
	bl = sizeof b;
	T(getsockname(conn, (struct sockaddr *)&b, &bl));
	printf("accepted socket's name: len=%d %s\n", bl, b.sun_path);
	char buf[64] = {0};
	T(read(conn, buf, sizeof buf));
	printf("got: %s\n", buf);
	struct ucred uc;
	socklen_t ul = sizeof uc;
	T(getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &uc, &ul));
	printf("peercred pid ok=%d\n", uc.pid == getpid());
	int dg = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(connect(dg, (struct sockaddr *)&a, al));
	close(dg);
	close(conn);
	close(cli);
	close(cli2);
	close(other);
	close(srv);
	T(connect(socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, al));
	T(unlink("srv.sock"));

	/* datagrams between named and unnamed sockets */
	int ds = socket(AF_UNIX, SOCK_DGRAM, 0);
	al = path_addr(&a, "dg.sock");
	T(bind(ds, (struct sockaddr *)&a, al));
	int dc = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(sendto(dc, "anon", 4, 0, (struct sockaddr *)&a, al));
	bl = sizeof b;
	memset(&b, 0, sizeof b);
	T(recvfrom(ds, buf, sizeof buf, 0, (struct sockaddr *)&b, &bl));
	printf("from unnamed: addrlen=%d\n", bl);
	path_addr(&b, "dgc.sock");
	T(bind(dc, (struct sockaddr *)&b, sizeof b));
	T(connect(dc, (struct sockaddr *)&a, al));
	T(send(dc, "named", 5, 0));
	bl = sizeof b;
	memset(&b, 0, sizeof b);
	T(recvfrom(ds, buf, sizeof buf, 0, (struct sockaddr *)&b, &bl));
	printf("from named: addrlen=%d %s\n", bl, b.sun_path);
	bl = 3;
	T(send(dc, "short", 5, 0));
	T(recvfrom(ds, buf, sizeof buf, 0, (struct sockaddr *)&b, &bl));
	printf("short addrlen buffer: addrlen=%d\n", bl);
	int third = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(sendto(third, "x", 1, 0, (struct sockaddr *)&a, al));
	T(connect(ds, (struct sockaddr *)&b, sizeof b));
	T(sendto(third, "x", 1, 0, (struct sockaddr *)&a, al));
	close(third);
	close(dc);
	T(recv(ds, buf, sizeof buf, MSG_DONTWAIT));
	T(recv(ds, buf, sizeof buf, MSG_DONTWAIT));
	close(ds);
}

static void abstract(void) {
	printf("-- abstract\n");
	struct sockaddr_un a, b;
	socklen_t al = abstract_addr(&a, "srv"), bl = sizeof b;
	int srv = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	T(bind(srv, (struct sockaddr *)&a, al));
	T(getsockname(srv, (struct sockaddr *)&b, &bl));
	printf("name: len ok=%d abstract=%d same=%d\n", bl == al, b.sun_path[0] == 0, memcmp(&a, &b, al) == 0);
	int other = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	T(bind(other, (struct sockaddr *)&a, al));
	T(listen(srv, 5));
	int cli = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	int st = socket(AF_UNIX, SOCK_STREAM, 0);
	T(connect(st, (struct sockaddr *)&a, al));
	T(connect(cli, (struct sockaddr *)&a, al));
	int conn = accept4(srv, NULL, NULL, SOCK_CLOEXEC);
	printf("accepted: %d cloexec=%d\n", conn >= 0, fcntl(conn, F_GETFD) & FD_CLOEXEC);
	T(send(cli, "rec", 3, 0));
	char buf[16];
	T(recv(conn, buf, sizeof buf, 0));
	close(conn);
	close(cli);
	close(st);
	close(other);
	close(srv);

	/* autobind */
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	sa_family_t fam = AF_UNIX;
	T(bind(s, (struct sockaddr *)&fam, sizeof fam));
	bl = sizeof b;
	T(getsockname(s, (struct sockaddr *)&b, &bl));
	printf("autobind: len=%d abstract=%d\n", bl, b.sun_path[0] == 0);
	T(bind(s, (struct sockaddr *)&fam, sizeof fam));
	int c = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(sendto(c, "hi", 2, 0, (struct sockaddr *)&b, bl));
	T(recv(s, buf, sizeof buf, 0));
	close(c);
	close(s);
}

/* send_fd sends fd with one byte of data. */
static int send_fd(int sock, int fd) {
	char byte = 'F';
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof fd);
	return sendmsg(sock, &m, 0);
}

static void rights(void) {
	printf("-- SCM_RIGHTS\n");
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		int p[2];
		pipe(p);
		write(p[1], "through a passed pipe", 21);
		close(p[1]);
		int r = send_fd(sv[1], p[0]);
		close(p[0]);
		_exit(r == 1 ? 0 : 1);
	}
	close(sv[1]);
	char byte = 0;
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	T(recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC));
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	printf("byte=%c controllen=%d ctrunc=%d\n", byte, (int)m.msg_controllen, !!(m.msg_flags & MSG_CTRUNC));
	if (c) {
		int fd;
		memcpy(&fd, CMSG_DATA(c), sizeof fd);
		printf("cmsg level=%d type=%d len=%d cloexec=%d\n", c->cmsg_level, c->cmsg_type, (int)c->cmsg_len,
		       fcntl(fd, F_GETFD) & FD_CLOEXEC);
		char buf[64] = {0};
		T(read(fd, buf, sizeof buf));
		printf("read through passed fd: %s\n", buf);
		close(fd);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	printf("child exit=%d\n", WEXITSTATUS(st));
	close(sv[0]);

	/* a control buffer too small, a bad descriptor, a datagram with
	 * descriptors read by read(2) */
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	T(send_fd(sv[0], 1));
	char small[CMSG_LEN(0)];
	m.msg_control = small;
	m.msg_controllen = sizeof small;
	m.msg_flags = 0;
	T(recvmsg(sv[1], &m, 0));
	printf("small buffer: controllen=%d ctrunc=%d\n", (int)m.msg_controllen, !!(m.msg_flags & MSG_CTRUNC));
	T(send_fd(sv[0], 99));
	T(send_fd(sv[0], 1));
	T(read(sv[1], &byte, 1));
	int fds_before = 0;
	for (int fd = 0; fd < 64; fd++)
		fds_before += fcntl(fd, F_GETFD) >= 0;
	T(send_fd(sv[0], sv[0]));
	m.msg_control = u.buf;
	m.msg_controllen = sizeof u.buf;
	T(recvmsg(sv[1], &m, MSG_PEEK));
	int peeked;
	memcpy(&peeked, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof peeked);
	close(peeked);
	m.msg_controllen = sizeof u.buf;
	T(recvmsg(sv[1], &m, 0));
	int got;
	memcpy(&got, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof got);
	struct stat s1, s2;
	fstat(got, &s1);
	fstat(sv[0], &s2);
	printf("received self: same=%d\n", s1.st_ino == s2.st_ino && s1.st_dev == s2.st_dev);
	close(got);
	int fds_after = 0;
	for (int fd = 0; fd < 64; fd++)
		fds_after += fcntl(fd, F_GETFD) >= 0;
	printf("no descriptor leaked: %d\n", fds_before == fds_after);
	close(sv[0]);
	close(sv[1]);
}

static void credentials(void) {
	printf("-- SCM_CREDENTIALS\n");
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	int one = 1;
	T(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
	printf("SO_PASSCRED=%d\n", intopt(sv[1], SO_PASSCRED));
	T(send(sv[0], "c", 1, 0));
	char byte;
	struct iovec iov = {&byte, 1};
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred))];
		struct cmsghdr align;
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
	T(recvmsg(sv[1], &m, 0));
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	if (c) {
		struct ucred uc;
		memcpy(&uc, CMSG_DATA(c), sizeof uc);
		printf("cmsg type=%d len=%d pid ok=%d uid ok=%d gid ok=%d\n", c->cmsg_type, (int)c->cmsg_len,
		       uc.pid == getpid(), uc.uid == getuid(), uc.gid == getgid());
	}
	/* explicit credentials: our own are always allowed */
	struct ucred mine = {getpid(), getuid(), getgid()};
	m.msg_controllen = sizeof u.buf;
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_CREDENTIALS;
	c->cmsg_len = CMSG_LEN(sizeof mine);
	memcpy(CMSG_DATA(c), &mine, sizeof mine);
	T(sendmsg(sv[0], &m, 0));
	c->cmsg_len = CMSG_LEN(sizeof mine) - 1;
	T(sendmsg(sv[0], &m, 0));
	c->cmsg_len = CMSG_LEN(sizeof mine);
	c->cmsg_type = 77;
	T(sendmsg(sv[0], &m, 0));
	c->cmsg_len = 4;
	T(sendmsg(sv[0], &m, 0));
	/* IDs that name no one are EINVAL for anyone (what root may claim
	 * is in perms.c, which needs a root host) */
	c->cmsg_len = CMSG_LEN(sizeof mine);
	c->cmsg_type = SCM_CREDENTIALS;
	struct ucred noone[] = {{getpid(), -1, getgid()}, {getpid(), getuid(), -1}};
	for (unsigned i = 0; i < 2; i++) {
		memcpy(CMSG_DATA(c), &noone[i], sizeof noone[i]);
		T(sendmsg(sv[0], &m, 0));
	}
	/* without a name, the name length is not looked at */
	struct msghdr noname = {.msg_iov = &iov, .msg_iovlen = 1, .msg_namelen = -1};
	T(sendmsg(sv[0], &noname, 0));
	noname.msg_name = &mine;
	T(sendmsg(sv[0], &noname, 0));
	close(sv[0]);
	close(sv[1]);
}

static void msgs(void) {
	printf("-- sendmmsg/recvmmsg, EFAULT\n");
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	struct iovec iov[3] = {{"a", 1}, {"bb", 2}, {"ccc", 3}};
	struct mmsghdr mm[3];
	memset(mm, 0, sizeof mm);
	for (int i = 0; i < 3; i++) {
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	T(sendmmsg(sv[0], mm, 3, 0));
	char bufs[3][8];
	struct iovec riov[3] = {{bufs[0], 8}, {bufs[1], 8}, {bufs[2], 8}};
	for (int i = 0; i < 3; i++)
		mm[i].msg_hdr.msg_iov = &riov[i];
	T(recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL));
	printf("lens %d %d %d\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
	T(recvmmsg(sv[1], mm, 3, MSG_DONTWAIT, NULL));
	T(sendmmsg(sv[0], mm, 2, 0));
	struct timespec ts = {5, 0};
	T(recvmmsg(sv[1], mm, 3, MSG_WAITFORONE, &ts));
	printf("timeout written back: %d\n", ts.tv_sec <= 5 && ts.tv_nsec >= 0 && ts.tv_nsec < 1000000000);
	ts.tv_nsec = -1;
	T(recvmmsg(sv[1], mm, 3, 0, &ts));

	T(send(sv[0], BAD, 4, 0));
	T(sendmsg(sv[0], BAD, 0));
	T(recvmsg(sv[1], BAD, 0));
	struct msghdr m = {.msg_iov = BAD, .msg_iovlen = 1};
	T(sendmsg(sv[0], &m, 0));
	m.msg_iovlen = 5000;
	T(sendmsg(sv[0], &m, 0));
	T(send(sv[0], "data", 4, 0));
	T(recv(sv[1], BAD, 4, 0));
	close(sv[0]);
	close(sv[1]);
}

static void interrupted(void) {
	printf("-- EINTR\n");
	struct sigaction sa = {.sa_handler = on_sigusr1};
	sigaction(SIGUSR1, &sa, NULL);
	int sv[2], ready[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pipe(ready);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		read(ready[0], &c, 1);
		usleep(100000);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	write(ready[1], "g", 1);
	char buf[4];
	T(recv(sv[0], buf, sizeof buf, 0));
	printf("handler ran: %d\n", sigusr1s);
	waitpid(pid, NULL, 0);
	close(sv[0]);
	close(sv[1]);
	close(ready[0]);
	close(ready[1]);

	/* SO_RCVTIMEO */
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	struct timeval tv = {0, 50000};
	T(setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
	T(recv(sv[0], buf, sizeof buf, 0));
	close(sv[0]);
	close(sv[1]);

	/* under SA_RESTART, a receive restarts, unless it has a timeout */
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	for (int timed = 0; timed < 2; timed++) {
		socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
		struct timeval long_tv = {5, 0};
		if (timed)
			setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &long_tv, sizeof long_tv);
		pid = fork();
		if (pid == 0) {
			usleep(100000);
			kill(parent, SIGUSR1);
			usleep(100000);
			write(sv[1], "late", 4);
			_exit(0);
		}
		printf("SA_RESTART, timeout %d:\n", timed);
		T(recv(sv[0], buf, sizeof buf, 0));
		waitpid(pid, NULL, 0);
		close(sv[0]);
		close(sv[1]);
	}
	printf("handler ran: %d\n", sigusr1s);
}

/* abs_shown is how /proc/net/unix shows procnet's abstract name, which
 * holds the pid: proc_line prints whether an abstract path is that. */
static char abs_shown[128];

/* proc_line prints fd's line of /proc/net/unix without the kernel address
 * and the inode (matched against fstat's); with fd -1, the line of inode
 * 0 whose path is path (a connection not accepted yet). */
static void proc_line(const char *what, int fd, const char *path) {
	struct stat st = {0};
	if (fd >= 0)
		fstat(fd, &st);
	FILE *f = fopen("/proc/net/unix", "r");
	if (!f) {
		printf("%s: /proc/net/unix: %s\n", what, ename(errno));
		return;
	}
	char line[512];
	int found = 0;
	if (fgets(line, sizeof line, f))
		printf("header: %s", line);
	while (fgets(line, sizeof line, f)) {
		char num[64], name[256] = "";
		unsigned ref, proto, flags, type, state;
		unsigned long ino;
		int n = sscanf(line, "%63s %x %x %x %x %x %lu %255s", num, &ref, &proto, &flags, &type, &state, &ino, name);
		if (n < 7 || ino != (unsigned long)st.st_ino || (fd < 0 && strcmp(name, path) != 0))
			continue;
		if (name[0] == '@')
			printf("%s: ref=%u proto=%u flags=%#x type=%u st=%u abstract path as expected: %s\n", what, ref,
			       proto, flags, type, state, strcmp(name, abs_shown) == 0 ? "yes" : "NO");
		else
			printf("%s: ref=%u proto=%u flags=%#x type=%u st=%u path=%s\n", what, ref, proto, flags, type,
			       state, name);
		found++;
	}
	fclose(f);
	if (!found)
		printf("%s: not listed\n", what);
}

/* procnet lists sockets of every kind in /proc/net/unix. */
static void procnet(void) {
	printf("-- /proc/net/unix\n");
	int u = socket(AF_UNIX, SOCK_STREAM, 0);
	proc_line("unbound", u, "");
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	proc_line("stream pair", sv[0], "");
	int dv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, dv);
	proc_line("dgram pair", dv[1], "");
	int qv[2];
	socketpair(AF_UNIX, SOCK_SEQPACKET, 0, qv);
	proc_line("seqpacket pair", qv[0], "");
	struct sockaddr_un a;
	socklen_t al = path_addr(&a, "procsock");
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	bind(l, (void *)&a, al);
	proc_line("bound", l, "");
	listen(l, 4);
	proc_line("listening", l, "");
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	T(connect(c, (void *)&a, al));
	proc_line("connecting", c, "");
	proc_line("queued", -1, "procsock");
	int s = accept(l, NULL, NULL);
	proc_line("accepted", s, "");
	close(s);
	proc_line("peer closed", c, "");
	struct sockaddr_un b;
	socklen_t bl = abstract_addr(&b, "proc");
	memcpy(b.sun_path + bl - offsetof(struct sockaddr_un, sun_path), "\0abs", 4); /* a NUL inside */
	snprintf(abs_shown, sizeof abs_shown, "@%s@abs", b.sun_path + 1);
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(bind(d, (void *)&b, bl + 4));
	proc_line("abstract", d, "");
	int e = socket(AF_UNIX, SOCK_DGRAM, 0);
	T(connect(e, (void *)&b, bl + 4));
	proc_line("dgram connected to", d, "");
	close(e);
	close(d);
	close(c);
	close(l);
	close(u);
	unlink("procsock");
	for (int i = 0; i < 2; i++) {
		close(sv[i]);
		close(dv[i]);
		close(qv[i]);
	}
	proc_line("closed", u, "");
}

int main(int argc, char **argv) {
	setup(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	errors();
	stream_pair();
	nonblocking();
	dgram_pair();
	seqpacket_pair();
	paths();
	abstract();
	rights();
	credentials();
	msgs();
	interrupted();
	procnet();
	return 0;
}
