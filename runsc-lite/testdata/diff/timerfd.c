/* timerfd: create/settime/gettime, reads of the expiration count, poll and
 * epoll readiness, absolute and periodic timers. What depends on how long
 * the program took to run (how much of a timer is left, how many periods
 * passed) is checked against bounds from the clock read around it, so the
 * output is the same on a loaded machine. */
#include "common.h"
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>

#define MS 1000000L

static struct itimerspec its(long value_ns, long interval_ns) {
	struct itimerspec s = {
		.it_interval = {interval_ns / 1000000000L, interval_ns % 1000000000L},
		.it_value = {value_ns / 1000000000L, value_ns % 1000000000L},
	};
	return s;
}

static long ns(struct timespec ts) { return ts.tv_sec * 1000000000L + ts.tv_nsec; }

/* now reads clock in nanoseconds. */
static long now_ns(clockid_t clock) {
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ns(ts);
}

static void msleep(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * MS};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	uint64_t n = 0;
	struct itimerspec cur, old;

	T(timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0));
	T(timerfd_create(12345, 0));
	T(timerfd_create(CLOCK_MONOTONIC, 1 << 20));

	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	CHECK((fcntl(fd, F_GETFL) & (O_NONBLOCK | O_ACCMODE)) == (O_NONBLOCK | O_RDWR));
	struct stat st;
	T(fstat(fd, &st));
	printf("type %s perms %o size %ld\n", ftype(st.st_mode), st.st_mode & 07777, (long)st.st_size);
	char link[64] = {0}, path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	T(readlink(path, link, sizeof link - 1));
	printf("link %s\n", link);

	/* disarmed */
	T(read(fd, &n, sizeof n));
	T(read(fd, &n, 4));
	T(write(fd, &n, sizeof n));
	T(timerfd_gettime(fd, &cur));
	printf("disarmed: value %ld interval %ld\n", ns(cur.it_value), ns(cur.it_interval));
	T(lseek(fd, 0, SEEK_SET));

	/* bad arguments */
	struct itimerspec s = its(10 * MS, 0);
	T(timerfd_settime(fd, 1 << 5, &s, NULL));
	T(timerfd_settime(99, 0, &s, NULL));
	int p[2];
	pipe(p);
	T(timerfd_settime(p[0], 0, &s, NULL));
	T(timerfd_gettime(p[0], &cur));
	T(timerfd_gettime(fd, BAD));
	T(timerfd_settime(fd, 0, BAD, NULL));
	struct itimerspec bad = its(0, 0);
	bad.it_value.tv_nsec = 1000000000L;
	T(timerfd_settime(fd, 0, &bad, NULL));
	bad = its(0, 0);
	bad.it_interval.tv_sec = -1;
	T(timerfd_settime(fd, 0, &bad, NULL));

	/* one-shot, relative */
	s = its(30 * MS, 0);
	long armed = now_ns(CLOCK_MONOTONIC);
	T(timerfd_settime(fd, 0, &s, &old));
	printf("old: value %ld interval %ld\n", ns(old.it_value), ns(old.it_interval));
	T(timerfd_gettime(fd, &cur));
	long since = now_ns(CLOCK_MONOTONIC) - armed;
	/* what is left is at most the value, and at least the value less the
	 * time since it was set (zero once it expired) */
	CHECK(ns(cur.it_value) <= 30 * MS && ns(cur.it_value) >= 30 * MS - since);
	CHECK(ns(cur.it_interval) == 0);
	struct pollfd pfd = {fd, POLLIN, 0};
	int ready = poll(&pfd, 1, 0);
	since = now_ns(CLOCK_MONOTONIC) - armed;
	CHECK(ready == 0 || (ready == 1 && since >= 30 * MS));
	T(poll(&pfd, 1, 5000));
	printf("revents %#x\n", pfd.revents);
	T(read(fd, &n, sizeof n));
	printf("expirations %llu\n", (unsigned long long)n);
	T(read(fd, &n, sizeof n));
	T(timerfd_gettime(fd, &cur));
	printf("expired: value %ld interval %ld\n", ns(cur.it_value), ns(cur.it_interval));

	/* periodic */
	s = its(10 * MS, 10 * MS);
	armed = now_ns(CLOCK_MONOTONIC);
	T(timerfd_settime(fd, 0, &s, NULL));
	msleep(65);
	T(read(fd, &n, sizeof n));
	since = now_ns(CLOCK_MONOTONIC) - armed;
	/* at least the periods of the sleep, at most those since arming */
	CHECK(n >= 4 && (long)n <= since / (10 * MS));
	T(timerfd_gettime(fd, &cur));
	/* 0 when the period ended and the host's timer has not fired yet
	 * (timerfd_get_remaining clamps at 0): seen natively under load */
	CHECK(ns(cur.it_value) >= 0 && ns(cur.it_value) <= 10 * MS);
	printf("interval %ld\n", ns(cur.it_interval));
	s = its(0, 0);
	T(timerfd_settime(fd, 0, &s, &old));
	CHECK(ns(old.it_value) >= 0 && ns(old.it_value) <= 10 * MS);
	printf("old interval %ld\n", ns(old.it_interval));
	T(timerfd_gettime(fd, &cur));
	printf("disarmed again: value %ld interval %ld\n", ns(cur.it_value), ns(cur.it_interval));

	/* re-arming drops unread expirations */
	s = its(1 * MS, 0);
	T(timerfd_settime(fd, 0, &s, NULL));
	msleep(20);
	s = its(10000 * MS, 0);
	T(timerfd_settime(fd, 0, &s, NULL));
	T(read(fd, &n, sizeof n));
	close(fd);

	/* absolute, in the past, with an interval: expirations since then */
	fd = timerfd_create(CLOCK_REALTIME, 0);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	s = its(0, 100 * MS);
	s.it_value = now;
	s.it_value.tv_sec -= 1;
	T(timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, NULL));
	T(read(fd, &n, sizeof n));
	since = now_ns(CLOCK_REALTIME) - ns(now);
	/* the first expiry a second ago and one each 100 ms since */
	CHECK(n >= 10 && (long)n <= 1 + (1000 * MS + since) / (100 * MS));
	close(fd);

	/* absolute, in the future, blocking read */
	fd = timerfd_create(CLOCK_BOOTTIME, 0);
	clock_gettime(CLOCK_BOOTTIME, &now);
	s = its(0, 0);
	s.it_value = now;
	s.it_value.tv_nsec += 30 * MS;
	if (s.it_value.tv_nsec >= 1000000000L) {
		s.it_value.tv_sec++;
		s.it_value.tv_nsec -= 1000000000L;
	}
	T(timerfd_settime(fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &s, NULL));
	T(read(fd, &n, sizeof n));
	printf("blocking read: %llu\n", (unsigned long long)n);
	close(fd);

	/* epoll */
	fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42}, out[2];
	T(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	T(epoll_wait(ep, out, 2, 0));
	s = its(20 * MS, 0);
	T(timerfd_settime(fd, 0, &s, NULL));
	T(epoll_wait(ep, out, 2, 5000));
	printf("event %#x data %llu\n", out[0].events, (unsigned long long)out[0].data.u64);
	T(read(fd, &n, sizeof n));
	T(epoll_wait(ep, out, 2, 0));
	close(ep);
	close(fd);
	return 0;
}
