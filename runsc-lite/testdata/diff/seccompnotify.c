/* seccomp user notification (seccomp_unotify(2)): a thread installs a
 * filter with SECCOMP_FILTER_FLAG_NEW_LISTENER and makes syscalls it
 * answers with SECCOMP_RET_USER_NOTIF; the main thread, sharing its
 * descriptors, is the supervisor: poll, RECV (and its zeroed-struct rule),
 * ID_VALID, SEND with a value, an error and CONTINUE, ADDFD with and
 * without SEND and SETFD, the ioctls' errnos, a signal ending the wait and
 * the syscall notified again after SA_RESTART, the listener's close
 * (ENOSYS), one listener per chain (EBUSY), POLLHUP once the thread is
 * gone, and the flag rules. */
#include "common.h"
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#define NR offsetof(struct seccomp_data, nr)

static long sc(unsigned op, unsigned flags, void *args) { return syscall(SYS_seccomp, op, flags, args); }

/* notify_filter installs, on the calling thread, a filter that notifies
 * getppid, uname and getpgid and allows the rest. */
static long notify_filter(unsigned flags) {
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NR),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 3, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_uname, 2, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpgid, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog p = {.len = sizeof f / sizeof f[0], .filter = f};
	return sc(SECCOMP_SET_MODE_FILTER, flags, &p);
}

static int listener = -1, listener2 = -1;
static pid_t real_ppid;
static pid_t target_tid;
static int step[2], done[2];
static volatile int usr1;

static void on_usr1(int sig) { (void)sig; usr1++; }

/* next waits for the supervisor's go-ahead. */
static char next(void) {
	char c = 0;
	if (read(step[0], &c, 1) != 1)
		return 0;
	return c;
}

static void *target(void *arg) {
	(void)arg;
	target_tid = gettid();
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	listener = notify_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER);
	write(done[1], "i", 1);
	for (char c; (c = next()) != 'q';) {
		errno = 0;
		long r;
		struct utsname u;
		switch (c) {
		case 'p':
			r = syscall(SYS_getppid);
			printf("target: getppid = %ld%s%s\n", r, r < 0 ? " " : "", r < 0 ? ename(errno) : "");
			break;
		case 'P':
			r = syscall(SYS_getppid);
			printf("target: getppid is the real one: %s\n", r == real_ppid ? "yes" : "NO");
			break;
		case 'u':
			r = uname(&u);
			printf("target: uname = %ld%s%s\n", r, r < 0 ? " " : "", r < 0 ? ename(errno) : "");
			break;
		case 'g':
			r = syscall(SYS_getpgid, 0);
			printf("target: getpgid is a descriptor: %s\n", r >= 0 && fcntl(r, F_GETFD) >= 0 ? "yes" : "NO");
			break;
		case 'b':
			/* A second listener while the first is open, then
			 * after it is closed. */
			T(notify_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER));
			break;
		case 'B':
			listener2 = notify_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER);
			printf("target: second listener after the close: %s\n", listener2 >= 0 ? "yes" : ename(errno));
			break;
		}
		fflush(stdout);
		write(done[1], "d", 1);
	}
	return NULL;
}

/* go tells the target to run step c; wait_done waits for it to finish. */
static void go(char c) { write(step[1], &c, 1); }
static void wait_done(void) {
	char c;
	read(done[0], &c, 1);
}

/* answered returns r once the target has finished its step: what the
 * target prints comes before what the supervisor prints of r. */
static long answered(long r) {
	wait_done();
	return r;
}

static short poll_now(int fd, short events, int timeout) {
	struct pollfd p = {.fd = fd, .events = events};
	if (poll(&p, 1, timeout) < 0)
		return -1;
	return p.revents;
}

/* recv waits for a notification and receives it. */
static int recv(struct seccomp_notif *n) {
	poll_now(listener, POLLIN, -1);
	memset(n, 0, sizeof *n);
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, n);
}

static long send(__u64 id, __s64 val, __s32 error, __u32 flags) {
	struct seccomp_notif_resp r = {.id = id, .val = val, .error = error, .flags = flags};
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

static long id_valid(__u64 id) { return ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id); }

static long addfd(__u64 id, __u32 flags, int src, __u32 newfd, __u32 newfd_flags) {
	struct seccomp_notif_addfd a = {.id = id, .flags = flags, .srcfd = src, .newfd = newfd, .newfd_flags = newfd_flags};
	return ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
}

static int same_file(int a, int b) {
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	real_ppid = getppid();
	printf("NEW_LISTENER|TSYNC: %s\n", notify_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_TSYNC) < 0 ? ename(errno) : "installed");
	printf("WAIT_KILLABLE_RECV alone: %s\n", notify_filter(SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV) < 0 ? ename(errno) : "installed");
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigaction(SIGUSR1, &sa, NULL);
	CHECK(pipe(step) == 0 && pipe(done) == 0);
	pthread_t th;
	pthread_create(&th, NULL, target, NULL);
	wait_done();
	CHECK(listener >= 0);
	printf("close-on-exec: %s\n", fcntl(listener, F_GETFD) == FD_CLOEXEC ? "yes" : "no");
	char link[64], want[64];
	snprintf(want, sizeof want, "/proc/self/fd/%d", listener);
	ssize_t n = readlink(want, link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	printf("link: %s\n", link);
	printf("poll with nothing waiting: %#x\n", poll_now(listener, POLLIN | POLLOUT, 0));
	printf("the main thread is not filtered: getppid is the real one: %s\n", syscall(SYS_getppid) == real_ppid ? "yes" : "NO");

	/* A value. */
	struct seccomp_notif nf;
	go('p');
	printf("poll: %#x\n", poll_now(listener, POLLIN | POLLOUT, -1));
	memset(&nf, 0, sizeof nf);
	nf.pid = 1;
	T(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &nf));
	T(recv(&nf));
	printf("pid is the target's tid: %s, nr getppid: %s, arch: %s\n", nf.pid == target_tid ? "yes" : "NO",
	       nf.data.nr == SYS_getppid ? "yes" : "NO", nf.data.arch == AUDIT_ARCH_X86_64 ? "yes" : "NO");
	printf("poll once received: %#x\n", poll_now(listener, POLLIN | POLLOUT, 0));
	T(id_valid(nf.id));
	T(id_valid(nf.id + 1000));
	T(send(nf.id, 0, 0, 2));
	T(send(nf.id, 1, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE));
	T(send(nf.id + 1000, 1, 0, 0));
	T(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV + 0x10, &nf));
	T(answered(send(nf.id, 4242, 0, 0)));

	/* An error, then "run it". */
	go('u');
	T(recv(&nf));
	printf("nr uname: %s\n", nf.data.nr == SYS_uname ? "yes" : "NO");
	T(answered(send(nf.id, 0, -EPERM, 0)));
	go('P');
	T(recv(&nf));
	T(answered(send(nf.id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE)));

	/* A descriptor added, and the answer with it. */
	int src[2];
	CHECK(pipe(src) == 0);
	go('g');
	poll_now(listener, POLLIN, -1);
	__u64 pending;
	{
		/* Not yet received: EINPROGRESS (the id is the last one's
		 * next). */
		T(addfd(nf.id + 1, 0, src[0], 0, 0));
	}
	T(recv(&nf));
	pending = nf.id;
	T(addfd(pending, 4, src[0], 0, 0));
	T(addfd(pending, 0, src[0], 0, O_NONBLOCK));
	T(addfd(pending, 0, src[0], 100, 0));
	T(addfd(pending, 0, 999, 0, 0));
	long a = addfd(pending, SECCOMP_ADDFD_FLAG_SETFD, src[0], 100, O_CLOEXEC);
	printf("addfd SETFD 100: %ld, same pipe: %s, close-on-exec: %s\n", a, same_file(100, src[0]) ? "yes" : "NO",
	       fcntl(100, F_GETFD) == FD_CLOEXEC ? "yes" : "no");
	a = answered(addfd(pending, SECCOMP_ADDFD_FLAG_SEND, src[1], 0, 0));
	printf("addfd SEND: same pipe: %s, close-on-exec: %s\n", same_file(a, src[1]) ? "yes" : "NO", fcntl(a, F_GETFD) ? "yes" : "no");
	T(send(pending, 1, 0, 0));

	/* A signal ends the wait; SA_RESTART makes the syscall again. */
	go('p');
	T(recv(&nf));
	__u64 first = nf.id;
	syscall(SYS_tgkill, getpid(), target_tid, SIGUSR1);
	T(recv(&nf));
	printf("notified again: %s, old id valid: %s\n", nf.id != first ? "yes" : "NO", id_valid(first) == 0 ? "yes" : "no");
	T(send(first, 1, 0, 0));
	T(answered(send(nf.id, 5, 0, 0)));
	printf("handler ran: %d\n", usr1);

	/* One listener per chain. */
	go('b');
	wait_done();

	/* The listener closed: ENOSYS for the waiting syscall and later
	 * ones. */
	go('p');
	poll_now(listener, POLLIN, -1);
	close(listener);
	wait_done();
	go('u');
	wait_done();
	go('B');
	wait_done();
	go('q');
	pthread_join(th, NULL);
	if (listener2 >= 0)
		printf("poll once the target is gone: %#x\n", poll_now(listener2, POLLIN | POLLOUT | POLLHUP, -1));
	return 0;
}
