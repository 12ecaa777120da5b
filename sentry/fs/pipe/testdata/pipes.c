// Pipes, FIFOs, poll, select and eventfd in one process (and across a
// fork, if fork works). Output must match a native run.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c) do { if (!(c)) { printf("FAIL line %d: %s (errno %s)\n", __LINE__, #c, strerrorname_np(errno)); } } while (0)

static void basics(void) {
	int p[2];
	CHECK(pipe(p) == 0);
	struct stat st;
	CHECK(fstat(p[0], &st) == 0);
	printf("fifo=%d\n", S_ISFIFO(st.st_mode));
	char link[64] = {0}, path[64];
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	CHECK(readlink(path, link, sizeof link - 1) > 0);
	printf("link prefix ok=%d\n", strncmp(link, "pipe:[", 6) == 0);
	CHECK(write(p[1], "hello", 5) == 5);
	int n = -1;
	CHECK(ioctl(p[0], FIONREAD, &n) == 0);
	printf("fionread=%d\n", n);
	char buf[16];
	printf("read=%zd\n", read(p[0], buf, sizeof buf));
	long off = lseek(p[0], 0, SEEK_CUR);
	printf("lseek=%ld errno=%s\n", off, strerrorname_np(errno));
	printf("getpipe=%d\n", fcntl(p[0], F_GETPIPE_SZ));
	printf("setpipe=%d\n", fcntl(p[0], F_SETPIPE_SZ, 5000));
	printf("setpipe0=%d\n", fcntl(p[1], F_SETPIPE_SZ, 0));
	CHECK(write(p[1], "x", 1) == 1);
	close(p[1]);
	printf("read=%zd\n", read(p[0], buf, sizeof buf));
	printf("eof=%zd\n", read(p[0], buf, sizeof buf));
	close(p[0]);
}

static void nonblocking(void) {
	int p[2];
	CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	printf("cloexec=%d nonblock=%d\n", fcntl(p[0], F_GETFD), !!(fcntl(p[1], F_GETFL) & O_NONBLOCK));
	char buf[8192] = {0};
	errno = 0;
	ssize_t rr = read(p[0], buf, 1);
	printf("empty read=%zd %s\n", rr, strerrorname_np(errno));
	long total = 0;
	ssize_t w;
	while ((w = write(p[1], buf, sizeof buf)) > 0) total += w;
	printf("filled=%ld %s\n", total, strerrorname_np(errno));
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	rr = write(p[1], buf, 1);
	printf("epipe=%zd %s\n", rr, strerrorname_np(errno));
	close(p[1]);
	int ret = pipe2(p, 0x1);
	printf("pipe2 bad=%d %s\n", ret, strerrorname_np(errno));
}

static void polling(void) {
	int p[2];
	CHECK(pipe(p) == 0);
	struct pollfd fds[3] = {{p[0], POLLIN, 0}, {p[1], POLLOUT, 0}, {999, POLLIN, 0}};
	int n = poll(fds, 3, 0);
	printf("poll=%d r=%#x w=%#x bad=%#x\n", n, fds[0].revents, fds[1].revents, fds[2].revents);
	printf("poll timeout=%d\n", poll(fds, 1, 30));
	write(p[1], "a", 1);
	n = poll(fds, 1, -1);
	printf("poll=%d r=%#x\n", n, fds[0].revents);
	struct timespec ts = {1, 0};
	n = ppoll(fds, 1, &ts, NULL);
	printf("ppoll=%d left<=1s=%d\n", n, ts.tv_sec < 1 || (ts.tv_sec == 1 && ts.tv_nsec == 0));
	fd_set r, w;
	FD_ZERO(&r); FD_ZERO(&w);
	FD_SET(p[0], &r); FD_SET(p[1], &w);
	struct timeval tv = {0, 0};
	n = select(p[1] + 1, &r, &w, NULL, &tv);
	printf("select=%d r=%d w=%d\n", n, FD_ISSET(p[0], &r), FD_ISSET(p[1], &w));
	char c;
	read(p[0], &c, 1);
	FD_ZERO(&r); FD_SET(p[0], &r);
	tv.tv_usec = 30000;
	n = select(p[0] + 1, &r, NULL, NULL, &tv);
	printf("select timeout=%d tv=%ld.%06ld\n", n, (long)tv.tv_sec, (long)tv.tv_usec);
	FD_ZERO(&r); FD_SET(500, &r);
	errno = 0;
	n = select(501, &r, NULL, NULL, &tv);
	printf("select bad=%d %s\n", n, strerrorname_np(errno));
	struct timespec z = {0, 0};
	FD_ZERO(&w); FD_SET(p[1], &w);
	printf("pselect=%d\n", pselect(p[1] + 1, NULL, &w, NULL, &z, NULL));
	close(p[1]);
	fds[0].events = POLLIN;
	n = poll(fds, 1, 0);
	printf("hup poll=%d r=%#x\n", n, fds[0].revents);
	close(p[0]);
	errno = 0;
	nfds_t big = 1 << 30;
	n = poll(fds, big, 0);
	printf("nfds too big=%d %s\n", n, strerrorname_np(errno));
}

static void events(void) {
	int e = eventfd(2, EFD_NONBLOCK | EFD_SEMAPHORE);
	uint64_t v;
	int n;
	ssize_t rr = read(e, &v, 8);
	printf("ev read=%zd v=%lu\n", rr, (unsigned long)v);
	read(e, &v, 8);
	errno = 0;
	rr = read(e, &v, 8);
	printf("ev empty=%zd %s\n", rr, strerrorname_np(errno));
	struct pollfd pf = {e, POLLIN | POLLOUT, 0};
	n = poll(&pf, 1, 0);
	printf("ev poll=%d %#x\n", n, pf.revents);
	v = 7;
	write(e, &v, 8);
	n = poll(&pf, 1, 0);
	printf("ev poll=%d %#x\n", n, pf.revents);
	close(e);
	e = eventfd(0, 0);
	v = 3; write(e, &v, 8); write(e, &v, 8);
	read(e, &v, 8);
	printf("ev sum=%lu\n", (unsigned long)v);
	close(e);
}

static void fifo(void) {
	unlink("/tmp/pipes-test-fifo");
	CHECK(mkfifo("/tmp/pipes-test-fifo", 0600) == 0);
	errno = 0;
	int bad = open("/tmp/pipes-test-fifo", O_WRONLY | O_NONBLOCK);
	printf("fifo wronly nonblock=%d %s\n", bad, strerrorname_np(errno));
	int r = open("/tmp/pipes-test-fifo", O_RDONLY | O_NONBLOCK);
	CHECK(r >= 0);
	int w = open("/tmp/pipes-test-fifo", O_WRONLY);
	CHECK(w >= 0);
	write(w, "fifo!", 5);
	char buf[8] = {0};
	printf("fifo read=%zd %s\n", read(r, buf, sizeof buf), buf);
	close(w);
	close(r);
	int rw = open("/tmp/pipes-test-fifo", O_RDWR);
	write(rw, "rw", 2);
	printf("fifo rw read=%zd\n", read(rw, buf, sizeof buf));
	close(rw);
	unlink("/tmp/pipes-test-fifo");
}

static void forked(void) {
	int p[2];
	CHECK(pipe(p) == 0);
	pid_t pid = fork();
	if (pid < 0) { printf("fork failed\n"); return; }
	if (pid == 0) {
		close(p[0]);
		usleep(50000);
		char buf[1000];
		memset(buf, 'z', sizeof buf);
		for (int i = 0; i < 300; i++) write(p[1], buf, sizeof buf);
		_exit(0);
	}
	close(p[1]);
	struct pollfd pf = {p[0], POLLIN, 0};
	int pn = poll(&pf, 1, 5000);
	printf("fork poll=%d %#x\n", pn, pf.revents);
	long total = 0;
	ssize_t n;
	char buf[777];
	while ((n = read(p[0], buf, sizeof buf)) > 0) total += n;
	printf("fork total=%ld\n", total);
	int st;
	waitpid(pid, &st, 0);
	printf("child status=%d\n", st);
	close(p[0]);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	basics();
	nonblocking();
	polling();
	events();
	fifo();
	forked();
	return 0;
}
