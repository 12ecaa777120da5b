/* File descriptors: dup/dup2/dup3/fcntl/close_range/pipe2, what an
 * O_PATH descriptor may be used for (fdget against fdget_raw), and tee and
 * vmsplice between pipes and memory. */
#include "common.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/statfs.h>

static void fl(int fd) {
	errno = 0;
	long r = fcntl(fd, F_GETFL);
	if (r < 0) {
		printf("F_GETFL %d: -1 %s\n", fd, ename(errno));
		return;
	}
	printf("F_GETFL %d: acc=%ld append=%d nonblock=%d\n", fd, r & O_ACCMODE,
	       !!(r & O_APPEND), !!(r & O_NONBLOCK));
}

/* syncFlags: O_SYNC and O_DSYNC stay in F_GETFL and in fdinfo's flags,
 * and F_SETFL changes neither (they are not in SETFL_MASK). */
static void syncFlags(void) {
	int sy = open("sync", O_CREAT | O_WRONLY | O_SYNC, 0644);
	int dsy = open("sync", O_RDONLY | O_DSYNC);
	T(fcntl(sy, F_GETFL) & (O_SYNC | O_DSYNC));
	T(fcntl(dsy, F_GETFL) & (O_SYNC | O_DSYNC));
	T(fcntl(dsy, F_SETFL, O_APPEND | O_SYNC));
	T(fcntl(dsy, F_GETFL) & (O_SYNC | O_DSYNC | O_APPEND));
	T(fcntl(sy, F_SETFL, 0));
	T(fcntl(sy, F_GETFL) & (O_SYNC | O_DSYNC));
	char path[64], info[512] = {0};
	snprintf(path, sizeof path, "/proc/self/fdinfo/%d", sy);
	int in = open(path, O_RDONLY);
	read(in, info, sizeof info - 1);
	close(in);
	char *flags = strstr(info, "flags:");
	printf("fdinfo %.*s\n", flags ? (int)strcspn(flags, "\n") : 0, flags ? flags : "");
	close(sy);
	close(dsy);
	unlink("sync");
}

/* pipeCopies: tee duplicates a pipe's bytes into another without taking
 * them; vmsplice writes memory into a pipe and reads a pipe into memory. */
static void pipeCopies(void) {
	int a[2], b[2], c[2];
	T(pipe(a));
	T(pipe(b));
	T(pipe(c));
	T(write(a[1], "hello world", 11));
	T(tee(a[0], b[1], 5, 0));
	T(tee(a[0], c[1], 100, SPLICE_F_NONBLOCK));
	char buf[32] = "";
	T(read(b[0], buf, sizeof buf));
	printf("b: %.5s\n", buf);
	T(read(c[0], buf, sizeof buf));
	printf("c: %.11s\n", buf);
	T(read(a[0], buf, sizeof buf));
	/* errors: the same pipe, not pipes, wrong ends, flags, empty */
	T(tee(a[0], b[1], 5, SPLICE_F_NONBLOCK));
	T(tee(a[0], a[1], 5, 0));
	int f = open("teefile", O_CREAT | O_RDWR, 0644);
	T(tee(f, b[1], 5, 0));
	T(tee(a[0], f, 5, 0));
	T(tee(a[1], b[1], 5, 0));
	T(tee(a[0], b[0], 5, 0));
	T(tee(99, b[1], 5, 0));
	T(tee(a[0], b[1], 5, 0x100));
	T(tee(a[0], b[1], 0, 0));
	T(tee(99, b[1], 0, 0));
	/* a full pipe takes nothing more without waiting */
	T(fcntl(c[1], F_SETPIPE_SZ, 4096));
	char page[4096];
	memset(page, 'x', sizeof page);
	T(write(c[1], page, sizeof page));
	T(write(a[1], "more", 4));
	T(tee(a[0], c[1], 4, SPLICE_F_NONBLOCK));
	close(a[1]);
	T(read(a[0], buf, sizeof buf));
	T(tee(a[0], b[1], 4, 0));

	/* at an offset, a pipe is ESPIPE before its end's mode is EBADF */
	T(pwrite(b[0], "x", 1, 0));
	T(pread(b[1], buf, 1, 0));
	struct iovec one = {buf, 1};
	T(pwritev2(b[0], &one, 1, 0, 0));
	T(pwritev2(b[0], &one, 1, -1, 0));

	/* vmsplice */
	struct iovec iov[2] = {{"abc", 3}, {"defg", 4}};
	T(vmsplice(b[1], iov, 2, 0));
	char r1[4] = "", r2[8] = "";
	struct iovec out[2] = {{r1, 2}, {r2, 8}};
	T(vmsplice(b[0], out, 2, 0));
	printf("vmsplice read %.2s %.5s\n", r1, r2);
	T(vmsplice(b[0], out, 2, SPLICE_F_NONBLOCK));
	T(vmsplice(c[1], iov, 2, SPLICE_F_NONBLOCK));
	T(vmsplice(f, iov, 2, 0));
	T(vmsplice(99, iov, 2, 0));
	T(vmsplice(b[1], iov, 2, 0x100));
	T(vmsplice(b[1], BAD, 2, 0));
	T(vmsplice(b[1], iov, 0, 0));
	T(vmsplice(b[1], iov, 2000, 0));
	/* more than the pipe holds: what fits, without waiting for a reader */
	static char big[1 << 17];
	struct iovec bigv = {big, sizeof big};
	int d[2];
	T(pipe(d));
	long moved = vmsplice(d[1], &bigv, 1, 0);
	CHECK(moved > 60000 && moved <= 65536);
	close(d[0]);
	close(d[1]);
	int path = open(".", O_PATH);
	T(vmsplice(path, iov, 2, 0));
	close(path);

	/* splice from an empty pipe into a file without splice_write, or an
	 * appending file: EINVAL at once, no wait for the pipe */
	int ep = epoll_create1(0), ev = eventfd(0, 0);
	int app = open("appended", O_CREAT | O_WRONLY | O_APPEND, 0644);
	T(splice(b[0], NULL, ep, NULL, 1, 0));
	T(splice(b[0], NULL, ev, NULL, 1, 0));
	T(splice(b[0], NULL, app, NULL, 1, 0));
	T(splice(ev, NULL, b[1], NULL, 1, 0));
	/* a directory has no splice_read either */
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	T(splice(dir, NULL, b[1], NULL, 1, 0));
	close(dir);
	close(ep);
	close(ev);
	close(app);
	close(f);
	close(a[0]);
	close(b[0]);
	close(b[1]);
	close(c[0]);
	close(c[1]);
}

static void onUsr1(int sig) {}

/* blockedLocks: a child blocked in flock and in F_SETLKW returns EINTR
 * when a handler without SA_RESTART runs. */
static void blockedLocks(void) {
	int a = open("locked", O_CREAT | O_RDWR, 0644), b = open("locked", O_RDWR);
	T(flock(a, LOCK_EX));
	struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	T(fcntl(a, F_SETLK, &lk));
	pid_t child = fork();
	if (child == 0) {
		struct sigaction sa = {.sa_handler = onUsr1};
		sigaction(SIGUSR1, &sa, NULL);
		int r1 = flock(b, LOCK_EX), e1 = errno;
		int r2 = fcntl(b, F_SETLKW, &lk), e2 = errno;
		_exit((r1 == -1 && e1 == EINTR ? 1 : 0) | (r2 == -1 && e2 == EINTR ? 2 : 0));
	}
	for (int i = 0; i < 2; i++) {
		usleep(200000);
		kill(child, SIGUSR1);
	}
	int ws;
	waitpid(child, &ws, 0);
	printf("flock interrupted: %s, F_SETLKW interrupted: %s\n", WEXITSTATUS(ws) & 1 ? "EINTR" : "no", WEXITSTATUS(ws) & 2 ? "EINTR" : "no");
	close(a);
	close(b);
}

/* sharedChild runs in a child made with CLONE_FILES (and CLONE_FS): it
 * unshares as *arg says, closes fd 3 or sets its close-on-exec flag, and
 * changes its umask; the parent then looks at what it still shares. */
static int sharedChild(void *arg) {
	int how = *(int *)arg;
	switch (how) {
	case 0: T(close_range(40, 40, CLOSE_RANGE_UNSHARE)); break;
	case 1: T(close_range(40, 40, CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC)); break;
	case 2: T(unshare(CLONE_FILES)); T(close(40)); break;
	case 3: T(close(40)); break;
	case 4: T(unshare(CLONE_FS)); umask(077); break;
	case 5: umask(077); break;
	}
	fflush(stdout);
	return 0;
}

/* unsharing: close_range(CLOSE_RANGE_UNSHARE) and unshare(2) give the
 * caller its own table (or fs context), so that what it does next is not
 * seen by the task it shared it with (LTP close_range02). */
static void unsharing(void) {
	static char stack[64 << 10];
	for (int how = 0; how < 6; how++) {
		int fd = open(".", O_PATH);
		dup2(fd, 40);
		close(fd);
		mode_t old = umask(022);
		pid_t c = clone(sharedChild, stack + sizeof stack, CLONE_FILES | CLONE_FS | SIGCHLD, &how);
		waitpid(c, NULL, 0);
		int fl = fcntl(40, F_GETFD);
		mode_t now = umask(old);
		printf("after child %d: fd 40 %s, umask %03o\n", how, fl < 0 ? ename(errno) : fl & FD_CLOEXEC ? "cloexec" : "open", now);
		close(40);
	}
	T(unshare(CLONE_NEWNET << 1 | 1)); /* unknown flags */
	T(unshare(0x100)); /* CLONE_VM: a single-threaded process has nothing to unshare */
	T(unshare(CLONE_THREAD | CLONE_SIGHAND | CLONE_SYSVSEM | CLONE_FILES | CLONE_FS));
}

/* lockOrder: F_GETLK reports the first conflicting lock in the order
 * Linux keeps them: by owner, then by start, not in the order they were
 * set (LTP fcntl11, fcntl21). */
static void lockOrder(void) {
	int fd = open("ordered", O_CREAT | O_RDWR, 0644);
	struct flock w = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 5};
	struct flock r = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 5};
	struct flock r2 = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 15, .l_len = 3};
	T(fcntl(fd, F_SETLK, &w));
	T(fcntl(fd, F_SETLK, &r));
	T(fcntl(fd, F_SETLK, &r2)); /* merges with nothing: a write lock lies between */
	pid_t parent = getpid(), child = fork();
	if (child == 0) {
		static const int starts[] = {0, 6, 12, 15, 18};
		for (unsigned i = 0; i < sizeof starts / sizeof starts[0]; i++) {
			struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = starts[i]};
			fcntl(fd, F_GETLK, &q);
			printf("F_GETLK from %d: type %d start %ld len %ld ours %d\n", starts[i], q.l_type, (long)q.l_start,
			       (long)q.l_len, q.l_pid == parent);
		}
		fflush(stdout);
		_exit(0);
	}
	waitpid(child, NULL, 0);
	close(fd);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	char buf[64];
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	printf("fd = %d\n", fd);
	T(dup(fd));
	T(dup(99));
	T(dup(-1));
	T(dup2(fd, 10));
	T(dup2(fd, fd));
	T(dup2(99, 11));
	T(dup2(99, 99));
	T(dup2(fd, -1));
	T(dup2(fd, 1 << 20));
	T(dup3(fd, fd, 0));
	T(dup3(fd, 11, O_CLOEXEC));
	T(fcntl(11, F_GETFD));
	T(dup3(fd, 12, 0x1234));
	T(dup3(99, 12, 0));

	/* dup'd descriptors share the offset and status flags */
	T(write(fd, "abcdef", 6));
	T(lseek(4, 0, SEEK_CUR));
	T(lseek(10, 2, SEEK_SET));
	T(read(fd, buf, 2));
	T(fcntl(10, F_SETFL, O_APPEND));
	fl(fd);
	T(fcntl(10, F_SETFL, 0));

	/* fcntl */
	T(fcntl(fd, F_GETFD));
	T(fcntl(fd, F_SETFD, FD_CLOEXEC));
	T(fcntl(fd, F_GETFD));
	T(fcntl(4, F_GETFD)); /* per descriptor, not shared */
	T(fcntl(fd, F_SETFD, 0));
	T(fcntl(fd, F_GETFD));
	fl(fd);
	T(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY));
	fl(fd);
	T(fcntl(fd, F_SETFL, 0));
	fl(fd);
	syncFlags();
	T(fcntl(fd, F_DUPFD, 20));
	T(fcntl(fd, F_DUPFD, 20));
	T(fcntl(fd, F_DUPFD_CLOEXEC, 30));
	T(fcntl(31 - 1, F_GETFD));
	T(fcntl(fd, F_DUPFD, 0));
	T(fcntl(fd, F_DUPFD, -1));
	T(fcntl(fd, F_DUPFD, 1 << 30));
	T(fcntl(99, F_GETFD));
	T(fcntl(99, F_DUPFD, 0));
	T(fcntl(fd, 9999));
	int ro = open("f", O_RDONLY);
	int wo = open("f", O_WRONLY);
	fl(ro);
	fl(wo);
	int p[2];
	T(pipe2(p, O_CLOEXEC | O_NONBLOCK));
	fl(p[0]);
	fl(p[1]);
	T(fcntl(p[0], F_GETFD));
	T(read(p[0], buf, 1));
	T(pipe2(p, 0x4));
	T(pipe2(BAD, 0));

	/* close_range */
	T(close_range(20, 30, 0));
	T(fcntl(20, F_GETFD));
	T(fcntl(30, F_GETFD));
	T(fcntl(10, F_GETFD));
	T(close_range(10, 11, CLOSE_RANGE_CLOEXEC));
	T(fcntl(10, F_GETFD));
	T(fcntl(11, F_GETFD));
	T(close_range(10, ~0U, 0));
	T(fcntl(10, F_GETFD));
	T(close_range(5, 3, 0));
	T(close_range(3, 5, 0x80));
	T(close_range(100, 200, 0));

	/* lowest free descriptor */
	T(close(4));
	T(dup(fd));
	T(close(0));
	T(dup(fd));
	T(close(99));

	/* RLIMIT_NOFILE bounds descriptor numbers */
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	T(dup2(fd, rl.rlim_cur));
	T(dup2(fd, rl.rlim_cur - 1) == (long)rl.rlim_cur - 1);
	T(fcntl(fd, F_DUPFD, rl.rlim_cur));

	/* O_PATH: fstat, fstatfs, fchdir, dup and fcntl's descriptor
	 * commands take it; everything else is EBADF. */
	int op = open("f", O_PATH), dop = open(".", O_PATH | O_DIRECTORY);
	struct stat st;
	struct statfs sfs;
	struct flock lk = {.l_type = F_RDLCK};
	T(fstat(op, &st));
	T(fstatfs(op, &sfs));
	T(fchdir(dop));
	T(dup(op) > 0);
	T(fcntl(op, F_DUPFD_CLOEXEC, 0) > 0);
	T(fcntl(op, F_SETFD, FD_CLOEXEC));
	T(fcntl(op, F_GETFD));
	T(fcntl(op, F_GETFL) == (O_PATH | O_RDONLY));
	T(fcntl(op, F_SETFL, O_NONBLOCK));
	T(fcntl(op, F_GETLK, &lk));
	T(fcntl(op, F_GETPIPE_SZ));
	T(read(op, buf, 1));
	T(write(op, "x", 1));
	T(pread(op, buf, 1, 0));
	T(lseek(op, 0, SEEK_SET));
	T(fsync(op));
	T(ftruncate(op, 0));
	T(fchmod(op, 0600));
	T(fchown(op, -1, -1));
	T(flock(op, LOCK_SH));
	T(ioctl(op, FIONREAD, &lk));
	T(posix_fadvise(op, 0, 0, POSIX_FADV_NORMAL) == EBADF);
	T(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, op, 0) == MAP_FAILED);
	T(accept(op, NULL, NULL));
	T(getdents64(dop, buf, sizeof buf));
	struct pollfd pfd = {.fd = op, .events = POLLIN};
	T(poll(&pfd, 1, 0));
	printf("poll revents %#x\n", pfd.revents);
	pipeCopies();
	blockedLocks();
	lockOrder();
	unsharing();
	return 0;
}
