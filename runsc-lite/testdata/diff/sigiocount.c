/* How many signals signal-driven I/O queues (F_SETSIG to a real-time
 * signal, which queue one by one): one per wakeup, as Linux's
 * kill_fasync runs once per event. Three UDP datagrams arriving one after
 * the other are three POLL_IN signals (sock_def_readable per datagram),
 * whether or not the first was read; the same for writes to a pipe
 * (pipe_write), Unix datagrams and stream writes, and a pty's lines. Each
 * signal's si_code, si_fd and si_band are printed. */
#include "common.h"
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pty.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>

#define SIG (SIGRTMIN + 1)

/* drain prints the queued signals, one line each, and how many came. */
static void drain(const char *step, int fd) {
	struct timespec zero = {0, 0};
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIG);
	sigaddset(&set, SIGIO);
	int n = 0;
	siginfo_t si;
	while (sigtimedwait(&set, &si, &zero) > 0) {
		n++;
		printf("  %s: %s %s fd %s band %#lx\n", step, si.si_signo == SIG ? "SIG" : "SIGIO", codename(si.si_code),
		       si.si_fd == fd ? "ok" : "other", (long)si.si_band);
	}
	printf("%s: %d signals\n", step, n);
}

static void arm(int fd) {
	T(fcntl(fd, F_SETOWN, getpid()));
	T(fcntl(fd, F_SETSIG, SIG));
	T(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC | O_NONBLOCK));
}

static void udp(void) {
	char buf[64];
	int r = socket(AF_INET, SOCK_DGRAM, 0), w = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	bind(r, (void *)&a, sizeof a);
	getsockname(r, (void *)&a, &al);
	arm(r);
	for (int i = 0; i < 3; i++)
		sendto(w, "abc", 3, 0, (void *)&a, sizeof a);
	drain("udp: three datagrams", r);
	sendto(w, "d", 1, 0, (void *)&a, sizeof a);
	drain("udp: one more, none read", r);
	int got = 0;
	while (recv(r, buf, sizeof buf, 0) > 0)
		got++;
	printf("udp: read %d datagrams\n", got);
	T(recv(r, buf, sizeof buf, 0));
	struct pollfd p = {r, POLLIN};
	printf("udp: poll %d\n", poll(&p, 1, 0));
	for (int i = 0; i < 2; i++)
		sendto(w, "ef", 2, 0, (void *)&a, sizeof a);
	drain("udp: two more", r);
	int n = -1;
	T(ioctl(r, FIONREAD, &n));
	printf("udp: FIONREAD %d\n", n);
	struct sockaddr_in from;
	socklen_t fl = sizeof from;
	T(recvfrom(r, buf, sizeof buf, MSG_PEEK, (void *)&from, &fl));
	printf("udp: from loopback %d\n", from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	T(recv(r, buf, 1, MSG_TRUNC));
	T(recv(r, buf, sizeof buf, 0));
	T(recv(r, buf, sizeof buf, 0));
	/* Disarmed: nothing more. */
	T(fcntl(r, F_SETFL, fcntl(r, F_GETFL) & ~O_ASYNC));
	sendto(w, "g", 1, 0, (void *)&a, sizeof a);
	drain("udp: disarmed", r);
	T(recv(r, buf, sizeof buf, 0));
	close(r);
	close(w);
}

static void pipes(void) {
	int p[2];
	char buf[64];
	pipe(p);
	arm(p[0]);
	for (int i = 0; i < 3; i++)
		write(p[1], "x", 1);
	drain("pipe: three writes", p[0]);
	T(read(p[0], buf, sizeof buf));
	close(p[0]);
	close(p[1]);
}

static void unixdgram(void) {
	int s[2];
	char buf[64];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, s);
	arm(s[0]);
	for (int i = 0; i < 3; i++)
		send(s[1], "y", 1, 0);
	drain("unix dgram: three", s[0]);
	close(s[0]);
	close(s[1]);
	socketpair(AF_UNIX, SOCK_STREAM, 0, s);
	arm(s[0]);
	for (int i = 0; i < 3; i++)
		send(s[1], "z", 1, 0);
	drain("unix stream: three", s[0]);
	T(read(s[0], buf, sizeof buf));
	close(s[0]);
	close(s[1]);
}

static void pty(void) {
	int m, s;
	char buf[64];
	if (openpty(&m, &s, NULL, NULL, NULL) != 0) {
		printf("openpty: %s\n", ename(errno));
		return;
	}
	struct termios t;
	tcgetattr(s, &t);
	t.c_lflag &= ~ECHO;
	tcsetattr(s, TCSANOW, &t);
	arm(s);
	/* The line discipline runs apart from the writer (flush_to_ldisc):
	 * each line is waited for, so that three lines are three commits. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIG);
	struct timespec second = {1, 0};
	int n = 0;
	for (int i = 0; i < 3; i++) {
		write(m, "line\n", 5);
		siginfo_t si;
		if (sigtimedwait(&set, &si, &second) == SIG && si.si_code == POLL_IN && si.si_fd == s)
			n++;
	}
	printf("pty slave: %d of three lines signalled\n", n);
	drain("pty slave: after three lines", s);
	close(m);
	close(s);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIG);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	udp();
	pipes();
	unixdgram();
	pty();
	return 0;
}
