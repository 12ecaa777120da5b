/* epoll: instances watching instances (readiness through the chain, the
 * depth limit and loops refused with ELOOP, as ep_loop_check does),
 * EPOLLEXCLUSIVE's rules, EPOLL_CTL_MOD's effect on a blocked wait, a
 * watched file's close, and the errors of epoll_ctl. */
#include "common.h"
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

static int add(int ep, int fd, unsigned events) {
	struct epoll_event ev = {.events = events, .data.fd = fd};
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static int ready(int ep) {
	struct epoll_event ev;
	return epoll_wait(ep, &ev, 1, 0);
}

/* blockedSignal: a signal that epoll_pwait's mask blocks does not end
 * the wait (LTP epoll_pwait01); once the mask is restored, the handler
 * runs. */
static volatile int usr1;
static void onUsr1(int sig) { usr1++; }
static void blockedSignal(void) {
	int p[2];
	pipe(p);
	int ep = epoll_create1(0);
	struct epoll_event e = {.events = EPOLLIN};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e);
	struct sigaction sa = {.sa_handler = onUsr1};
	sigaction(SIGUSR1, &sa, NULL);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	pid_t c = fork();
	if (c == 0) {
		usleep(100000);
		kill(getppid(), SIGUSR1);
		usleep(100000);
		write(p[1], "w", 1);
		_exit(0);
	}
	T(epoll_pwait(ep, &e, 1, -1, &mask));
	waitpid(c, NULL, 0);
	printf("handler ran %d time(s)\n", usr1);
	close(p[0]);
	close(p[1]);
	close(ep);
}

/* Level-triggered files ready together take turns when a wait has
 * fewer slots than there are ready files (ep_send_events moves what it
 * reported to the end of the ready list); an EPOLLEXCLUSIVE interest
 * cannot be modified. */
static void rotation(void) {
	printf("-- rotation\n");
	enum { N = 7, SLOTS = 3 };
	int ep = epoll_create1(0), p[N][2], count[N] = {0};
	for (int i = 0; i < N; i++) {
		pipe(p[i]);
		write(p[i][1], "x", 1);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
		epoll_ctl(ep, EPOLL_CTL_ADD, p[i][0], &ev);
	}
	for (int round = 0; round < N; round++) {
		struct epoll_event got[SLOTS];
		int n = epoll_wait(ep, got, SLOTS, 0);
		for (int j = 0; j < n; j++)
			count[got[j].data.u32]++;
	}
	printf("counts:");
	for (int i = 0; i < N; i++)
		printf(" %d", count[i]);
	printf("\n");
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
	int q[2];
	pipe(q);
	T(epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev));
	ev.events = EPOLLIN;
	T(epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ev));
	T(epoll_ctl(ep, EPOLL_CTL_DEL, q[0], &ev));
	close(ep);
}

/* awaitChild waits up to 5 s for an event of ep, which child c brings
 * about, and prints it. */
static void awaitChild(int ep, pid_t c, const char *what) {
	struct epoll_event ev = {0};
	T(epoll_wait(ep, &ev, 1, 5000));
	printf("%s: events %#x\n", what, ev.events);
	waitpid(c, NULL, 0);
	close(ep);
}

/* modified: EPOLL_CTL_MOD changes what wakes a blocked wait, not only
 * what a wait reports (ep_poll_callback reads the interest's events at
 * each wake-up). PostgreSQL's backends add their client's socket for
 * output and modify it for input before they wait for the first message;
 * here a pipe is watched so, and its write end the other way round, for
 * input and then for output, while it is full and until it is drained. */
static void modified(void) {
	printf("-- modified\n");
	int p[2];
	pipe(p);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLOUT, .data.fd = p[0]};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	ev.events = EPOLLIN;
	T(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev));
	pid_t c = fork();
	if (c == 0) {
		usleep(100000);
		write(p[1], "w", 1);
		_exit(0);
	}
	awaitChild(ep, c, "read end");

	fcntl(p[1], F_SETFL, O_NONBLOCK);
	while (write(p[1], "fill", 4) > 0)
		;
	ep = epoll_create1(0);
	ev = (struct epoll_event){.events = EPOLLIN, .data.fd = p[1]};
	epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev);
	ev.events = EPOLLOUT;
	T(epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev));
	T(epoll_wait(ep, &ev, 1, 0));
	c = fork();
	if (c == 0) {
		usleep(100000);
		char buf[4096];
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		while (read(p[0], buf, sizeof buf) > 0)
			;
		_exit(0);
	}
	awaitChild(ep, c, "write end");
	close(p[0]);
	close(p[1]);
}

/* closedWatched: closing the last descriptor of a file in an epoll set
 * closes the file; the set holds no reference to it and forgets it
 * (eventpoll_release). Java's asynchronous channels close sockets so,
 * without EPOLL_CTL_DEL, and their peers wait for the end of the
 * stream. A duplicate keeps the file, and the interest, alive. */
static void closedWatched(void) {
	printf("-- closed while watched\n");
	int sv[2], ep = epoll_create1(0);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	T(add(ep, sv[0], EPOLLIN));
	T(close(sv[0]));
	char c;
	T(read(sv[1], &c, 1));
	T(send(sv[1], "x", 1, MSG_NOSIGNAL));
	T(ready(ep));
	close(sv[1]);

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	T(add(ep, sv[0], EPOLLIN));
	int copy = dup(sv[0]);
	T(close(sv[0]));
	T(write(sv[1], "x", 1));
	T(ready(ep));
	T(close(copy));
	T(ready(ep));
	close(sv[1]);
	close(ep);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	rotation();
	blockedSignal();
	modified();
	closedWatched();
	int p[2];
	T(pipe(p));

	/* Devices without a poll are refused, the random ones taken. */
	int dev = epoll_create1(0);
	const char *devs[] = {"/dev/null", "/dev/zero", "/dev/full", "/dev/urandom", "/dev/random"};
	for (int i = 0; i < 5; i++) {
		int fd = open(devs[i], O_RDONLY);
		struct epoll_event dev_ev = {.events = EPOLLIN};
		errno = 0;
		int r = epoll_ctl(dev, EPOLL_CTL_ADD, fd, &dev_ev);
		printf("epoll_ctl ADD %s = %d %s\n", devs[i], r, r ? ename(errno) : "");
		close(fd);
	}
	close(dev);

	/* A chain of 5 instances over a pipe: the deepest Linux allows. */
	int chain[6], below = p[0];
	for (int i = 0; i < 5; i++) {
		chain[i] = epoll_create1(0);
		printf("level %d: ", i);
		T(add(chain[i], below, EPOLLIN));
		below = chain[i];
	}
	printf("empty pipe, top ready: %d\n", ready(chain[4]));
	T(write(p[1], "x", 1));
	printf("full pipe, top ready: %d, bottom ready: %d\n", ready(chain[4]), ready(chain[0]));
	/* A sixth level is too deep, above and below the chain. */
	chain[5] = epoll_create1(0);
	T(add(chain[5], chain[4], EPOLLIN));
	int under = epoll_create1(0);
	T(add(under, p[0], EPOLLIN));
	T(add(chain[0], under, EPOLLIN));
	/* The chain closed into a loop, and a two-instance cycle. */
	T(epoll_ctl(chain[0], EPOLL_CTL_DEL, p[0], NULL));
	T(add(chain[0], chain[4], EPOLLIN));
	T(add(chain[1], chain[3], EPOLLIN));
	int a = epoll_create1(0), b = epoll_create1(0);
	T(add(a, b, EPOLLIN));
	T(add(b, a, EPOLLIN));
	T(add(a, a, EPOLLIN));
	/* Once a watches b no more, b may watch a. */
	T(epoll_ctl(a, EPOLL_CTL_DEL, b, NULL));
	T(add(b, a, EPOLLIN));
	/* Closing the watchers of an instance lifts the limit above it. */
	for (int i = 4; i >= 1; i--)
		close(chain[i]);
	int fresh = epoll_create1(0);
	T(add(fresh, chain[0], EPOLLIN));
	/* A diamond: two paths to one instance is no loop. */
	int top = epoll_create1(0), l = epoll_create1(0), r = epoll_create1(0), bottom = epoll_create1(0);
	T(add(l, bottom, EPOLLIN));
	T(add(r, bottom, EPOLLIN));
	T(add(top, l, EPOLLIN));
	T(add(top, r, EPOLLIN));
	T(add(bottom, top, EPOLLIN));

	/* EPOLLEXCLUSIVE */
	int ex = epoll_create1(0), q[2];
	T(pipe(q));
	T(add(ex, q[0], EPOLLIN | EPOLLEXCLUSIVE));
	struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE};
	T(epoll_ctl(ex, EPOLL_CTL_MOD, q[0], &ev));
	T(epoll_ctl(ex, EPOLL_CTL_MOD, 999, &ev));
	T(add(ex, q[1], EPOLLOUT | EPOLLEXCLUSIVE | EPOLLONESHOT));
	T(add(ex, a, EPOLLIN | EPOLLEXCLUSIVE));

	/* errors */
	T(add(ex, q[0], EPOLLIN));
	T(epoll_ctl(ex, EPOLL_CTL_DEL, q[1], NULL));
	T(epoll_ctl(ex, 99, q[0], &ev));
	T(add(q[0], q[1], EPOLLIN));
	T(add(ex, 999, EPOLLIN));
	T(add(999, q[0], EPOLLIN));
	int reg = open("file", O_CREAT | O_RDWR, 0600);
	T(add(ex, reg, EPOLLIN));
	int path = open(".", O_PATH);
	T(add(ex, path, EPOLLIN));
	T(add(path, q[0], EPOLLIN));
	T(epoll_ctl(ex, EPOLL_CTL_ADD, q[1], BAD));
	return 0;
}
