/* Signal-driven I/O: F_SETOWN/F_GETOWN, F_SETOWN_EX/F_GETOWN_EX and
 * F_SETSIG/F_GETSIG with their errors; SIGIO (or the F_SETSIG signal with
 * si_code, si_fd and si_band) when O_ASYNC is armed by F_SETFL or FIOASYNC
 * (not by open) on pipes, FIFOs, Unix and TCP sockets, to a process, a
 * thread, a group, a child; SIGURG to a TCP socket's owner on MSG_OOB
 * data, O_ASYNC or not. Signals are blocked and taken with sigtimedwait. */
#include "common.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <limits.h>

static const char *signame(int s) {
	if (s == SIGRTMIN) return "SIGRTMIN";
	const char *n = sigabbrev_np(s);
	return n ? n : "?";
}

static int waitsig(int sig, siginfo_t *si, int ms) {
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	return sigtimedwait(&s, si, &ts);
}

/* expect waits up to 2s for sig and prints what came. */
static void expect(const char *what, int sig, int fd) {
	siginfo_t si;
	memset(&si, 0, sizeof si);
	if (waitsig(sig, &si, 2000) < 0) {
		printf("%s: no %s (%s)\n", what, signame(sig), ename(errno));
		return;
	}
	printf("%s: %s %s", what, signame(si.si_signo), codename(si.si_code));
	if (si.si_code != SI_KERNEL)
		printf(" si_fd_ok=%d band=%#lx", si.si_fd == fd, (long)si.si_band);
	printf("\n");
}

/* drain takes every pending sig at once and says how many there were. */
static int drain(int sig) {
	siginfo_t si;
	int n = 0;
	while (waitsig(sig, &si, 0) >= 0)
		n++;
	return n;
}

static void owner_api(void) {
	int p[2];
	struct f_owner_ex ex = {7, 7};
	pipe(p);
	printf("-- owner api\n");
	T(syscall(SYS_fcntl, p[0], F_GETOWN));
	T(syscall(SYS_fcntl, p[0], F_GETOWN_EX, &ex));
	printf("fresh owner_ex type=%d pid=%d\n", ex.type, ex.pid);
	T(syscall(SYS_fcntl, p[0], F_GETSIG));
	T(syscall(SYS_fcntl, p[0], F_SETOWN, getpid()));
	CHECK(syscall(SYS_fcntl, p[0], F_GETOWN) == getpid());
	CHECK(fcntl(p[0], F_GETOWN) == getpid());
	T(syscall(SYS_fcntl, p[0], F_GETOWN_EX, &ex));
	printf("owner_ex type=%d pid_is_me=%d\n", ex.type, ex.pid == getpid());
	T(syscall(SYS_fcntl, p[1], F_GETOWN)); /* the other end: its own description */
	T(syscall(SYS_fcntl, p[0], F_SETOWN, -getpgrp()));
	/* Not the raw F_GETOWN: a group below 4096 (every one in the
	 * sandbox) reads as an error; glibc asks F_GETOWN_EX. */
	CHECK(fcntl(p[0], F_GETOWN) == -getpgrp());
	T(syscall(SYS_fcntl, p[0], F_GETOWN_EX, &ex));
	printf("owner_ex type=%d pid_is_pgrp=%d\n", ex.type, ex.pid == getpgrp());
	int d = dup(p[0]);
	CHECK(fcntl(d, F_GETOWN) == -getpgrp());
	close(d);
	T(syscall(SYS_fcntl, p[0], F_SETOWN, 0));
	T(syscall(SYS_fcntl, p[0], F_GETOWN_EX, &ex));
	printf("after F_SETOWN 0: type=%d pid=%d\n", ex.type, ex.pid);
	T(syscall(SYS_fcntl, p[0], F_SETOWN, INT_MIN));
	ex.type = F_OWNER_TID;
	ex.pid = syscall(SYS_gettid);
	T(syscall(SYS_fcntl, p[0], F_SETOWN_EX, &ex));
	ex.type = ex.pid = 9;
	T(syscall(SYS_fcntl, p[0], F_GETOWN_EX, &ex));
	printf("owner_ex type=%d pid_is_tid=%d\n", ex.type, ex.pid == syscall(SYS_gettid));
	ex.type = 5;
	T(syscall(SYS_fcntl, p[0], F_SETOWN_EX, &ex));
	ex.type = F_OWNER_PGRP;
	ex.pid = 0;
	T(syscall(SYS_fcntl, p[0], F_SETOWN_EX, &ex));
	T(syscall(SYS_fcntl, p[0], F_GETOWN_EX, &ex));
	printf("owner_ex type=%d pid=%d\n", ex.type, ex.pid);
	T(syscall(SYS_fcntl, p[0], F_SETOWN_EX, BAD));
	T(syscall(SYS_fcntl, p[0], F_GETOWN_EX, BAD));

	/* An ID no one has is ESRCH; an owner that has exited reads 0. */
	int c[2];
	pipe(c);
	pid_t kid = fork();
	if (kid == 0) {
		char b;
		read(c[0], &b, 1);
		_exit(0);
	}
	T(syscall(SYS_fcntl, p[0], F_SETOWN, kid));
	CHECK(syscall(SYS_fcntl, p[0], F_GETOWN) == kid);
	ex.type = F_OWNER_PID;
	ex.pid = kid;
	T(syscall(SYS_fcntl, p[1], F_SETOWN_EX, &ex));
	write(c[1], "x", 1);
	waitpid(kid, NULL, 0);
	T(syscall(SYS_fcntl, p[0], F_GETOWN));
	T(syscall(SYS_fcntl, p[1], F_GETOWN_EX, &ex));
	printf("gone owner_ex type=%d pid=%d\n", ex.type, ex.pid);
	T(syscall(SYS_fcntl, p[0], F_SETOWN, kid));
	T(syscall(SYS_fcntl, p[0], F_SETOWN, -kid));
	ex.type = F_OWNER_TID;
	T(syscall(SYS_fcntl, p[0], F_SETOWN_EX, &ex));

	int sigs[] = {-1, 0, 1, SIGIO, 64, 65, 1000};
	for (unsigned i = 0; i < sizeof sigs / sizeof *sigs; i++) {
		printf("F_SETSIG %d: ", sigs[i]);
		T(syscall(SYS_fcntl, p[0], F_SETSIG, sigs[i]));
		T(syscall(SYS_fcntl, p[0], F_GETSIG));
	}
	int o = open(".", O_PATH);
	T(syscall(SYS_fcntl, o, F_GETOWN));
	T(syscall(SYS_fcntl, o, F_SETSIG, SIGIO));
	close(o);
	close(p[0]);
	close(p[1]);
	close(c[0]);
	close(c[1]);
}

static void pipes(void) {
	int p[2];
	char b[8];
	printf("-- pipes\n");
	pipe(p);
	fcntl(p[0], F_SETOWN, getpid());
	write(p[1], "a", 1);
	printf("owner, no O_ASYNC: %d SIGIO\n", drain(SIGIO));
	T(fcntl(p[0], F_SETFL, O_ASYNC));
	CHECK((fcntl(p[0], F_GETFL) & O_ASYNC) != 0);
	write(p[1], "b", 1);
	expect("write to an O_ASYNC read end", SIGIO, p[0]);
	read(p[0], b, sizeof b);
	printf("after the read: %d SIGIO\n", drain(SIGIO));

	T(fcntl(p[0], F_SETSIG, SIGRTMIN));
	write(p[1], "c", 1);
	expect("F_SETSIG", SIGRTMIN, p[0]);
	printf("more: %d\n", drain(SIGRTMIN));
	write(p[1], "d", 1);
	write(p[1], "e", 1);
	expect("two writes, first", SIGRTMIN, p[0]);
	expect("two writes, second", SIGRTMIN, p[0]);
	printf("more: %d\n", drain(SIGRTMIN));
	read(p[0], b, sizeof b);

	/* Signals whose si_codes mean something else get SI_SIGIO. */
	T(fcntl(p[0], F_SETSIG, SIGCHLD));
	write(p[1], "f", 1);
	expect("F_SETSIG SIGCHLD", SIGCHLD, p[0]);
	read(p[0], b, sizeof b);

	/* The write end hears of room when the read end reads. */
	T(fcntl(p[0], F_SETSIG, 0));
	T(fcntl(p[0], F_SETFL, 0));
	fcntl(p[1], F_SETOWN, getpid());
	fcntl(p[1], F_SETSIG, SIGRTMIN);
	int on = 1;
	T(ioctl(p[1], FIOASYNC, &on));
	CHECK((fcntl(p[1], F_GETFL) & O_ASYNC) != 0);
	write(p[1], "g", 1);
	printf("the writer's own write: %d\n", drain(SIGRTMIN));
	read(p[0], b, sizeof b);
	expect("read from the other end", SIGRTMIN, p[1]);
	printf("more: %d\n", drain(SIGRTMIN));
	on = 0;
	T(ioctl(p[1], FIOASYNC, &on));
	write(p[1], "h", 1);
	read(p[0], b, sizeof b);
	printf("FIOASYNC off: %d\n", drain(SIGRTMIN));

	/* The read end hears of the last writer's close. */
	fcntl(p[0], F_SETSIG, SIGRTMIN);
	fcntl(p[0], F_SETFL, O_ASYNC);
	close(p[1]);
	expect("writer closed", SIGRTMIN, p[0]);
	printf("more: %d\n", drain(SIGRTMIN));
	close(p[0]);

	/* O_ASYNC given to open shows but arms nothing, and F_SETFL with
	 * it already set does not arm either. */
	mkfifo("fifo", 0600);
	int f = open("fifo", O_RDWR | O_NONBLOCK | O_ASYNC);
	CHECK((fcntl(f, F_GETFL) & O_ASYNC) != 0);
	fcntl(f, F_SETOWN, getpid());
	write(f, "i", 1);
	printf("open(O_ASYNC): %d SIGIO\n", drain(SIGIO));
	fcntl(f, F_SETFL, O_ASYNC | O_NONBLOCK);
	write(f, "j", 1);
	printf("F_SETFL(O_ASYNC) again: %d SIGIO\n", drain(SIGIO));
	close(f);
	f = open("fifo", O_RDWR | O_NONBLOCK);
	fcntl(f, F_SETOWN, getpid());
	fcntl(f, F_SETFL, O_ASYNC | O_NONBLOCK);
	write(f, "k", 1);
	expect("FIFO armed by F_SETFL", SIGIO, f);
	close(f);

	/* A regular file takes the flag and never signals. */
	int r = open("reg", O_RDWR | O_CREAT, 0600);
	fcntl(r, F_SETOWN, getpid());
	T(fcntl(r, F_SETFL, O_ASYNC));
	CHECK((fcntl(r, F_GETFL) & O_ASYNC) != 0);
	write(r, "l", 1);
	printf("regular file: %d SIGIO\n", drain(SIGIO));
	int on1 = 1;
	T(ioctl(r, FIOASYNC, &on1));
	close(r);
	/* Opened with O_ASYNC: F_SETFL and FIOASYNC cannot clear it. */
	f = open("fifo", O_RDWR | O_NONBLOCK | O_ASYNC);
	T(fcntl(f, F_SETFL, O_NONBLOCK));
	CHECK((fcntl(f, F_GETFL) & O_ASYNC) != 0);
	on1 = 0;
	T(ioctl(f, FIOASYNC, &on1));
	CHECK((fcntl(f, F_GETFL) & O_ASYNC) != 0);
	close(f);
}

/* owners: a thread, the process group, a child. */
static void owners(void) {
	int p[2];
	char b[8];
	struct f_owner_ex ex;
	printf("-- owners\n");
	pipe(p);
	fcntl(p[0], F_SETFL, O_ASYNC);
	fcntl(p[0], F_SETSIG, SIGRTMIN);
	ex.type = F_OWNER_TID;
	ex.pid = syscall(SYS_gettid);
	fcntl(p[0], F_SETOWN_EX, &ex);
	write(p[1], "a", 1);
	expect("thread owner", SIGRTMIN, p[0]);
	read(p[0], b, sizeof b);
	fcntl(p[0], F_SETOWN, -getpgrp());
	write(p[1], "b", 1);
	expect("group owner", SIGRTMIN, p[0]);
	read(p[0], b, sizeof b);
	fcntl(p[0], F_SETOWN, 0);
	write(p[1], "c", 1);
	printf("no owner: %d\n", drain(SIGRTMIN));
	read(p[0], b, sizeof b);

	int go[2];
	pipe(go);
	pid_t kid = fork();
	if (kid == 0) {
		siginfo_t si;
		char x;
		write(go[1], "r", 1);
		int r = waitsig(SIGRTMIN, &si, 3000);
		_exit(r < 0 ? 1 : si.si_code == POLL_IN ? 0 : 2);
	}
	read(go[0], b, 1);
	fcntl(p[0], F_SETOWN, kid);
	write(p[1], "d", 1);
	int st;
	waitpid(kid, &st, 0);
	printf("child owner: exit %d\n", WEXITSTATUS(st));
	printf("parent: %d\n", drain(SIGRTMIN));
	close(p[0]);
	close(p[1]);
	close(go[0]);
	close(go[1]);
}

static void unixsock(void) {
	int sv[2];
	char b[8];
	printf("-- unix sockets\n");
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	fcntl(sv[1], F_SETOWN, getpid());
	fcntl(sv[1], F_SETSIG, SIGRTMIN);
	T(fcntl(sv[1], F_SETFL, O_ASYNC));
	write(sv[0], "a", 1);
	expect("stream data", SIGRTMIN, sv[1]);
	read(sv[1], b, sizeof b);
	write(sv[1], "b", 1);
	read(sv[0], b, sizeof b);
	printf("own write, peer reads: %d\n", drain(SIGRTMIN));
	/* Room to write is told only after a send found none. */
	fcntl(sv[1], F_SETFL, O_ASYNC | O_NONBLOCK);
	static char big[4096];
	int sent = 0;
	while (write(sv[1], big, sizeof big) > 0)
		sent++;
	printf("filled: %s\n", sent > 0 && errno == EAGAIN ? "EAGAIN" : ename(errno));
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	while (read(sv[0], big, sizeof big) > 0)
		;
	expect("room again", SIGRTMIN, sv[1]);
	printf("more: %d\n", drain(SIGRTMIN));
	/* A half-close is POLL_IN, the peer's close POLL_HUP. */
	shutdown(sv[0], SHUT_WR);
	expect("peer shut down writing", SIGRTMIN, sv[1]);
	close(sv[0]);
	expect("peer closed", SIGRTMIN, sv[1]);
	printf("more: %d\n", drain(SIGRTMIN));
	close(sv[1]);

	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	fcntl(sv[1], F_SETOWN, getpid());
	T(fcntl(sv[1], F_SETFL, O_ASYNC));
	send(sv[0], "a", 1, 0);
	expect("datagram", SIGIO, sv[1]);
	drain(SIGIO);
	close(sv[1]);
	close(sv[0]);
}

/* A lease makes its taker the owner; its break is POLL_MSG. */
static void lease(void) {
	printf("-- lease\n");
	close(open("leased", O_RDWR | O_CREAT, 0600));
	int fd = open("leased", O_RDONLY);
	T(fcntl(fd, F_SETSIG, SIGRTMIN));
	T(fcntl(fd, F_SETLEASE, F_RDLCK));
	CHECK(fcntl(fd, F_GETOWN) == getpid());
	T(open("leased", O_WRONLY | O_NONBLOCK));
	expect("lease break", SIGRTMIN, fd);
	T(fcntl(fd, F_SETLEASE, F_UNLCK));
	close(fd);
}

/* A pseudo-terminal's master hears of the slave's output. */
static void pty(void) {
	printf("-- pty\n");
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	grantpt(m);
	unlockpt(m);
	int sl = open(ptsname(m), O_RDWR | O_NOCTTY);
	fcntl(m, F_SETOWN, getpid());
	fcntl(m, F_SETSIG, SIGRTMIN);
	T(fcntl(m, F_SETFL, O_ASYNC));
	write(sl, "x", 1);
	expect("slave output", SIGRTMIN, m);
	drain(SIGRTMIN);
	close(m);
	close(sl);
}

static void tcp(void) {
	printf("-- tcp\n");
	int l = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	bind(l, (void *)&a, sizeof a);
	getsockname(l, (void *)&a, &al);
	listen(l, 4);
	fcntl(l, F_SETOWN, getpid());
	fcntl(l, F_SETSIG, SIGRTMIN);
	T(fcntl(l, F_SETFL, O_ASYNC));
	int c = socket(AF_INET, SOCK_STREAM, 0);
	T(connect(c, (void *)&a, sizeof a));
	expect("listener, a connection", SIGRTMIN, l);
	int s = accept(l, NULL, NULL);
	drain(SIGRTMIN);

	/* SIGURG goes to the owner, O_ASYNC or not. */
	fcntl(s, F_SETOWN, getpid());
	send(c, "x", 1, MSG_OOB);
	expect("urgent data, no O_ASYNC", SIGURG, s);
	printf("more: %d\n", drain(SIGURG));
	printf("no SIGIO: %d\n", drain(SIGIO));
	char b[8];
	T(recv(s, b, 1, MSG_OOB));

	fcntl(s, F_SETSIG, SIGRTMIN);
	T(fcntl(s, F_SETFL, O_ASYNC));
	send(c, "d", 1, 0);
	expect("data", SIGRTMIN, s);
	struct pollfd pf = {s, POLLIN};
	poll(&pf, 1, 1000);
	T(read(s, b, sizeof b));
	drain(SIGRTMIN);

	send(c, "y", 1, MSG_OOB);
	expect("urgent data, O_ASYNC", SIGURG, s);
	int pri = 0, in = 0, other = 0;
	siginfo_t si;
	while (waitsig(SIGRTMIN, &si, 500) >= 0) {
		if (si.si_code == POLL_PRI)
			pri++;
		else if (si.si_code == POLL_IN)
			in++;
		else
			other++;
	}
	printf("F_SETSIG signals: POLL_PRI %s, POLL_IN %s, other %d\n", pri ? "yes" : "no", in ? "yes" : "no", other);
	T(recv(s, b, 1, MSG_OOB));

	/* A client that has no owner gets nothing. */
	send(s, "z", 1, MSG_OOB);
	poll(&(struct pollfd){c, POLLPRI}, 1, 1000);
	printf("no owner: %d SIGURG\n", drain(SIGURG));
	close(c);
	close(s);
	close(l);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	/* Group owners below signal the whole group: make it ours alone
	 * (natively the caller's shell would be in it). */
	setpgid(0, 0);
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGIO);
	sigaddset(&s, SIGURG);
	sigaddset(&s, SIGRTMIN);
	sigaddset(&s, SIGCHLD);
	sigprocmask(SIG_BLOCK, &s, NULL);
	owner_api();
	drain(SIGCHLD);
	pipes();
	owners();
	drain(SIGCHLD);
	unixsock();
	lease();
	pty();
	tcp();
	return 0;
}
