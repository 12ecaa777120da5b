/* hostpipe: the sandbox's stdin and stdout as pipes from the host, as an
 * event loop sees them (hostpipe_test.go drives the other ends). "in":
 * poll, select and epoll find no input while the host writes none, a
 * non-blocking read says EAGAIN, input and the end of it are seen as
 * they come. "out": a non-blocking writer fills the pipe and gets EAGAIN,
 * poll then finds no room, and blocking writes go on once the host reads.
 * Results go to stderr, one line each. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

static void in(void) {
	struct pollfd p = {0, POLLIN, 0};
	fprintf(stderr, "poll: %d\n", poll(&p, 1, 200));
	fd_set s;
	FD_ZERO(&s);
	FD_SET(0, &s);
	struct timeval tv = {0, 200000};
	fprintf(stderr, "select: %d\n", select(1, &s, NULL, NULL, &tv));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN};
	epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
	fprintf(stderr, "epoll_wait: %d\n", epoll_wait(ep, &ev, 1, 200));
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	char b[16] = {0};
	ssize_t n = read(0, b, sizeof b);
	fprintf(stderr, "non-blocking read: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "");
	fprintf(stderr, "ready\n");
	int r = epoll_wait(ep, &ev, 1, -1);
	fprintf(stderr, "epoll_wait for input: %d %#x\n", r, ev.events);
	n = read(0, b, sizeof b - 1);
	fprintf(stderr, "read: %zd %s", n, b);
	r = poll(&p, 1, -1);
	fprintf(stderr, "poll for the end: %d %#x\n", r, p.revents);
	fprintf(stderr, "read at the end: %zd\n", read(0, b, sizeof b));
}

static void out(void) {
	static char chunk[4096];
	memset(chunk, 'x', sizeof chunk);
	fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
	long filled = 0;
	ssize_t n;
	while ((n = write(1, chunk, sizeof chunk)) > 0)
		filled += n;
	fprintf(stderr, "non-blocking writes: %s after %s\n", strerrorname_np(errno),
		filled >= 4096 ? "at least a page" : "less than a page");
	struct pollfd p = {1, POLLOUT, 0};
	fprintf(stderr, "poll for room: %d\n", poll(&p, 1, 0));
	fprintf(stderr, "full\n");
	fcntl(1, F_SETFL, fcntl(1, F_GETFL) & ~O_NONBLOCK);
	long more = 0;
	for (int i = 0; i < 1024; i++) {
		if ((n = write(1, chunk, sizeof chunk)) > 0)
			more += n;
	}
	fprintf(stderr, "blocking writes: %ld bytes\n", more);
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "in") == 0)
		in();
	else
		out();
	return 0;
}
