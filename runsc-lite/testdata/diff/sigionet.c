/* Signal-driven I/O on Internet sockets and terminals, signal by signal
 * (sigio.c has the API): which si_codes arrive and how many, as Linux's
 * sk_wake_async and n_tty send them. UDP: POLL_IN per datagram, nothing
 * to a sender, POLL_ERR for an ICMP error on a connected socket. TCP:
 * POLL_IN per segment, nothing when the peer reads unless a send found
 * no room (then POLL_OUT), POLL_IN for the peer's half-close, POLL_ERR for
 * its reset, POLL_IN per connection on a listener. Pseudo-terminals: the
 * slave's owner hears of a line (canonical) or of bytes (raw) the
 * master wrote, the master's of the slave's output and echo. Signals
 * are the F_SETSIG signal, blocked and taken with sigtimedwait. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <termios.h>

/* settle waits until the sandbox and Linux have both delivered what a
 * step caused: signals are sent synchronously by the kernel, but the
 * sandbox's stack works on its own goroutines. */
static void settle(void) { usleep(100000); }

static const char *fdname[256];

/* signals takes the SIGRTMIN signals pending and prints, for each
 * descriptor, which si_codes came (not how many, nor in which order
 * between descriptors: the sandbox's stack coalesces notifications and
 * works on goroutines of its own). */
static void signals(const char *what) {
	static const int codes[] = {POLL_IN, POLL_OUT, POLL_ERR, POLL_HUP, POLL_PRI, POLL_MSG};
	unsigned seen[256] = {0};
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGRTMIN);
	struct timespec zero = {0, 0};
	siginfo_t si;
	while (sigtimedwait(&s, &si, &zero) >= 0) {
		for (int i = 0; i < 6; i++)
			if (si.si_code == codes[i] && si.si_fd >= 0 && si.si_fd < 256)
				seen[si.si_fd] |= 1u << i;
	}
	printf("%s:", what);
	int any = 0;
	for (int fd = 0; fd < 256; fd++) {
		if (!seen[fd])
			continue;
		printf(" %s", fdname[fd] ? fdname[fd] : "?");
		for (int i = 0; i < 6; i++)
			if (seen[fd] & (1u << i))
				printf(" %s", codename(codes[i]));
		any = 1;
	}
	printf("%s\n", any ? "" : " none");
}

static void arm(int fd, const char *name) {
	fdname[fd] = name;
	fcntl(fd, F_SETOWN, getpid());
	fcntl(fd, F_SETSIG, SIGRTMIN);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC);
}

static struct sockaddr_in loopback(int port) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	return a;
}

static void udp(void) {
	printf("-- udp\n");
	int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = loopback(0);
	socklen_t al = sizeof a;
	bind(r, (void *)&a, sizeof a);
	getsockname(r, (void *)&a, &al);
	arm(r, "r");
	arm(w, "w");
	for (int i = 0; i < 3; i++)
		sendto(w, "d", 1, 0, (void *)&a, sizeof a);
	settle();
	signals("three datagrams");
	char b[8];
	for (int i = 0; i < 3; i++)
		recv(r, b, sizeof b, MSG_DONTWAIT);
	settle();
	signals("receiver read them");

	/* A connected socket learns of a closed port (ICMP). */
	int u = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in closed = loopback(0);
	int tmp = socket(AF_INET, SOCK_DGRAM, 0);
	bind(tmp, (void *)&closed, sizeof closed);
	al = sizeof closed;
	getsockname(tmp, (void *)&closed, &al);
	close(tmp);
	connect(u, (void *)&closed, sizeof closed);
	arm(u, "u");
	send(u, "x", 1, 0);
	settle();
	signals("unreachable port");
	T(recv(u, b, sizeof b, MSG_DONTWAIT));
	close(u);
	close(r);
	close(w);
}

static void tcp(void) {
	printf("-- tcp\n");
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = loopback(0);
	socklen_t al = sizeof a;
	bind(l, (void *)&a, sizeof a);
	getsockname(l, (void *)&a, &al);
	listen(l, 4);
	arm(l, "listener");
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (void *)&a, sizeof a);
	settle();
	signals("listener, one connection");
	int s = accept(l, NULL, NULL);
	int one = 1;
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	arm(s, "s");
	arm(c, "c");
	settle();
	signals("armed, nothing sent");

	for (int i = 0; i < 2; i++) {
		send(c, "d", 1, 0);
		settle();
		signals("one segment");
	}
	char b[65536];
	recv(s, b, sizeof b, MSG_DONTWAIT);
	settle();
	signals("receiver read");

	/* Fill c's send buffer and s's receive buffer, then read it all:
	 * room again, after a send found none, is POLL_OUT. */
	fcntl(c, F_SETFL, fcntl(c, F_GETFL) | O_NONBLOCK);
	long sent = 0;
	for (;;) {
		ssize_t n = send(c, b, sizeof b, 0);
		if (n < 0)
			break;
		sent += n;
	}
	printf("send until full: %s\n", ename(errno));
	settle();
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&rt, NULL, &zero) >= 0)
		; /* s's POLL_INs while filling: their count is the stack's */
	/* Netstack may have sent c's POLL_OUT already (drained above): its
	 * receiver's buffer grows as it fills (auto-tuning), so the sender's
	 * queue can fall below half after the first EAGAIN. Fill again, so
	 * that the last send found no room (Linux: still none). */
	for (;;) {
		ssize_t n = send(c, b, sizeof b, 0);
		if (n < 0)
			break;
		sent += n;
	}
	settle();
	while (sigtimedwait(&rt, NULL, &zero) >= 0)
		;
	long got = 0;
	for (int i = 0; i < 2000 && got < sent; i++) {
		ssize_t n = recv(s, b, sizeof b, MSG_DONTWAIT);
		if (n > 0)
			got += n;
		else
			usleep(1000);
	}
	printf("read all: %d\n", got == sent);
	settle();
	int out = 0, other = 0;
	siginfo_t si;
	while (sigtimedwait(&rt, &si, &zero) >= 0) {
		if (si.si_code == POLL_OUT && si.si_fd == c)
			out++;
		else if (!(si.si_code == POLL_IN && si.si_fd == s))
			other++;
	}
	printf("room again: sender POLL_OUT %s, other %d\n", out ? "yes" : "no", other);

	shutdown(c, SHUT_WR);
	settle();
	signals("c shut down writing");
	shutdown(s, SHUT_WR);
	settle();
	signals("s shut down writing too");
	close(c);
	close(s);

	/* A reset: POLL_ERR. */
	c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (void *)&a, sizeof a);
	s = accept(l, NULL, NULL);
	settle();
	signals("listener, another connection");
	arm(s, "s");
	struct linger lg = {1, 0};
	setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
	close(c);
	settle();
	signals("peer's reset");
	close(s);
	close(l);
}

static void pty(void) {
	printf("-- pty\n");
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	grantpt(m);
	unlockpt(m);
	int sl = open(ptsname(m), O_RDWR | O_NOCTTY);
	struct termios t;
	tcgetattr(sl, &t);
	t.c_lflag &= ~ECHO;
	tcsetattr(sl, TCSANOW, &t);
	arm(sl, "slave");
	settle();
	signals("slave armed");
	write(m, "ab", 2);
	settle();
	signals("canonical, no newline");
	write(m, "\n", 1);
	settle();
	signals("canonical, a newline");
	char b[64];
	read(sl, b, sizeof b);
	settle();
	signals("slave read the line");

	t.c_lflag &= ~ICANON;
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	tcsetattr(sl, TCSANOW, &t);
	settle();
	signals("raw mode set");
	write(m, "c", 1);
	settle();
	signals("raw, one byte");
	read(sl, b, sizeof b);

	/* The master hears of the slave's output and of echo. */
	arm(m, "master");
	write(sl, "out", 3);
	settle();
	signals("slave output");
	read(m, b, sizeof b);
	settle();
	signals("master read it");
	t.c_lflag |= ECHO;
	tcsetattr(sl, TCSANOW, &t);
	settle();
	signals("echo on");
	write(m, "e", 1);
	settle();
	signals("an echoed byte");
	read(sl, b, sizeof b);
	read(m, b, sizeof b);
	settle();
	signals("both read");

	/* Plain SIGIO to the slave's owner without F_SETSIG. */
	fcntl(sl, F_SETSIG, 0);
	sigset_t io;
	sigemptyset(&io);
	sigaddset(&io, SIGIO);
	struct timespec zero = {0, 0};
	while (sigtimedwait(&io, NULL, &zero) >= 0)
		;
	write(m, "f", 1);
	settle();
	int n = 0;
	while (sigtimedwait(&io, NULL, &zero) >= 0)
		n++;
	printf("plain SIGIO to the slave's owner: %s\n", n ? "yes" : "no");
	close(sl);
	close(m);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	setpgid(0, 0);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGIO);
	sigaddset(&s, SIGURG);
	sigaddset(&s, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &s, NULL);
	udp();
	tcp();
	pty();
	return 0;
}
