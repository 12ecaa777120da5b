/* Per-user pipe buffer accounting with Linux's default limits (needs a
 * root host to become an unprivileged uid; changes no sysctl): the
 * /proc/sys/fs/pipe-* defaults; an unprivileged user's 1024 pipes of 16
 * pages reach pipe-user-pages-soft, and its next pipes and FIFOs get
 * PIPE_MIN_DEF_BUFFERS (2) pages, which a write of two pages fills;
 * F_SETPIPE_SZ may shrink but not grow a pipe while over the limit, nor
 * go above pipe-max-size; closing pipes gives their pages back. The uid
 * is one of its own per process (runs in parallel must not share a
 * user's count). */
#include "common.h"
#include <grp.h>
#include <sys/resource.h>

#define NPIPES 1100

static int fds[NPIPES][2];

static void sysctl(const char *name) {
	char path[128], buf[64] = "";
	snprintf(path, sizeof path, "/proc/sys/fs/%s", name);
	FILE *f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof buf, f))
		printf("%s: %s\n", name, ename(errno));
	else
		printf("%s = %s", name, buf);
	if (f)
		fclose(f);
}

static int size(int fd) { return fcntl(fd, F_GETPIPE_SZ); }

int main(int argc, char **argv) {
	sysctl("pipe-max-size");
	sysctl("pipe-user-pages-soft");
	sysctl("pipe-user-pages-hard");

	struct rlimit rl = {4096, 4096};
	T(setrlimit(RLIMIT_NOFILE, &rl));
	T(mkfifo("fifo", 0666));
	T(chmod("fifo", 0666));
	T(chmod(".", 0777));
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	uid_t uid = 100000 + getpid();
	if (setgroups(0, NULL) || setresgid(uid, uid, uid) || setresuid(uid, uid, uid)) {
		perror("setresuid");
		return 1;
	}

	/* Under the soft limit (16384 pages) pipes have 16 pages. */
	int n = 0;
	for (; n < NPIPES; n++) {
		if (pipe(fds[n])) {
			printf("pipe %d: %s\n", n, ename(errno));
			return 1;
		}
		if (size(fds[n][1]) != 65536)
			break;
	}
	if (n >= NPIPES - 2) {
		printf("no small pipe after %d pipes\n", n);
		return 1;
	}
	printf("pipes of 65536 bytes: %d, the next has %d\n", n, size(fds[n][0]));
	int small = n;
	n++;
	T(size(fds[small][1]));
	int more;
	T(pipe((more = n, fds[n++])));
	T(size(fds[more][0]));

	/* A FIFO opened now is small too. */
	int fifo;
	T((fifo = openat(dir, "fifo", O_RDWR | O_NONBLOCK)) >= 0);
	T(size(fifo));

	/* Two pages fill a small pipe. */
	static char buf[65536];
	int w = fds[small][1];
	T(fcntl(w, F_SETFL, O_NONBLOCK));
	T(write(w, buf, 8192));
	T(write(w, buf, 1));
	T(read(fds[small][0], buf, sizeof buf));

	/* Over the soft limit: growth is EPERM, shrinking is fine. */
	T(fcntl(w, F_SETPIPE_SZ, 65536));
	T(fcntl(w, F_SETPIPE_SZ, 16384));
	T(fcntl(w, F_SETPIPE_SZ, 4096));
	T(fcntl(fds[0][1], F_SETPIPE_SZ, 4096));
	/* 15 pages freed: back to 16 is one page over; 8 fits. */
	T(fcntl(fds[0][1], F_SETPIPE_SZ, 65536));
	T(fcntl(fds[0][1], F_SETPIPE_SZ, 32768));
	T(size(fds[0][1]));
	/* Above pipe-max-size: EPERM whatever the count; above 2^31 EINVAL. */
	T(fcntl(fds[0][1], F_SETPIPE_SZ, 2 << 20));
	T(fcntl(fds[0][1], F_SETPIPE_SZ, 0x80000001u));
	T(fcntl(fds[0][1], F_SETPIPE_SZ, 0));
	T(size(fds[0][1]));

	/* Closing pipes gives their pages back: new pipes are large again. */
	for (int i = 1; i <= 8; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
	int p[2];
	T(pipe(p));
	T(size(p[0]));
	T(fcntl(w, F_SETPIPE_SZ, 65536));
	T(size(w));
	close(fifo);
	T((fifo = openat(dir, "fifo", O_RDWR | O_NONBLOCK)) >= 0);
	T(size(fifo));
	return 0;
}
