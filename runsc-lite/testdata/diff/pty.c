/* pty: pseudo-terminals: posix_openpt/grantpt/unlockpt/ptsname, the locked
 * slave, ttyname, the line discipline (canonical input, echo, erase, kill,
 * end of file, ONLCR, raw mode and VMIN), packet mode, FIONREAD, ^C raising
 * SIGINT in the foreground group of the session the slave controls, the
 * window size and SIGWINCH, the hang-up when the master closes, and the
 * master's EIO when the last slave closes; VMIN and VTIME (timers, partial
 * and non-blocking reads, poll), TIOCGPTPEER, TIOCSTI (root only, and on
 * the master), IXON's ^S/^Q with IXANY, tcflow, and TCGETA/TCSETA*. */
#include "common.h"
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>

/* rdwait reads what fd has within wait_ms (the line discipline runs
 * asynchronously natively) and prints it escaped; rd waits a second, for
 * what must come, rd_none less, where nothing may. */
static void rdwait(const char *what, int fd, int wait_ms) {
	char buf[256], out[1024];
	struct pollfd p = {fd, POLLIN, 0};
	int n = 0;
	if (poll(&p, 1, wait_ms) > 0) {
		n = read(fd, buf, sizeof buf);
	}
	if (n < 0) {
		printf("%s: -1 %s\n", what, ename(errno));
		return;
	}
	int o = 0;
	for (int i = 0; i < n; i++) {
		unsigned char c = buf[i];
		if (c >= ' ' && c < 0x7f && c != '\\')
			out[o++] = c;
		else
			o += sprintf(out + o, "\\x%02x", c);
	}
	out[o] = 0;
	printf("%s: %d \"%s\"\n", what, n, out);
}

static void rd(const char *what, int fd) { rdwait(what, fd, 1000); }
static void rd_none(const char *what, int fd) { rdwait(what, fd, 200); }

static void wr(int fd, const char *s) { write(fd, s, strlen(s)); }

static volatile sig_atomic_t got;
static void on_sig(int s) { got = s; }

/* settle lets the native line discipline's worker run. */
static void settle(void) { usleep(100000); }

static double now(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* newpair opens an unlocked pair whose slave is raw with vmin, vtime. */
static void newpair(int *m, int *s, int vmin, int vtime) {
	*m = posix_openpt(O_RDWR | O_NOCTTY);
	unlockpt(*m);
	*s = open(ptsname(*m), O_RDWR | O_NOCTTY);
	struct termios t;
	tcgetattr(*s, &t);
	cfmakeraw(&t);
	t.c_cc[VMIN] = vmin;
	t.c_cc[VTIME] = vtime;
	tcsetattr(*s, TCSANOW, &t);
}

static void setmin(int s, int vmin, int vtime) {
	struct termios t;
	tcgetattr(s, &t);
	t.c_cc[VMIN] = vmin;
	t.c_cc[VTIME] = vtime;
	tcsetattr(s, TCSANOW, &t);
}

/* timed reads fd and says what came and whether it took at least a
 * tenth of a second less than want_ds tenths (VTIME's unit); no upper
 * bound, the machine may be loaded. */
static void timed(const char *what, int fd, int want_ds) {
	char buf[16];
	double t0 = now();
	errno = 0;
	ssize_t n = read(fd, buf, sizeof buf);
	double dt = now() - t0;
	printf("%s: %zd %s waited: %s\n", what, n, n < 0 ? ename(errno) : "",
	       want_ds == 0 ? (dt < 0.1 * 5 ? "no" : "YES") : (dt >= 0.1 * (want_ds - 1) ? "yes" : "NO"));
}

static void vmin_vtime(void) {
	int m, s;
	newpair(&m, &s, 0, 2);
	timed("VMIN 0 VTIME 2, nothing", s, 2);
	wr(m, "ab");
	settle();
	timed("VMIN 0 VTIME 2, two there", s, 0);
	setmin(s, 3, 2);
	wr(m, "cd");
	settle();
	timed("VMIN 3 VTIME 2, two there", s, 2);
	struct pollfd p = {s, POLLIN, 0};
	wr(m, "e");
	settle();
	printf("poll VMIN 3 VTIME 2, one there: %d\n", poll(&p, 1, 0));
	setmin(s, 3, 0);
	printf("poll VMIN 3 VTIME 0, one there: %d\n", poll(&p, 1, 0));
	wr(m, "fgh");
	settle();
	printf("poll VMIN 3 VTIME 0, four there: %d\n", poll(&p, 1, 0));
	timed("VMIN 3 VTIME 0, four there", s, 0);
	fcntl(s, F_SETFL, O_NONBLOCK);
	wr(m, "i");
	settle();
	timed("non-blocking VMIN 3, one there", s, 0);
	timed("non-blocking VMIN 3, nothing", s, 0);
	setmin(s, 0, 0);
	timed("non-blocking VMIN 0 VTIME 0, nothing", s, 0);
	setmin(s, 0, 5);
	timed("non-blocking VMIN 0 VTIME 5, nothing", s, 0);
	fcntl(s, F_SETFL, 0);
	setmin(s, 0, 0);
	timed("VMIN 0 VTIME 0, nothing", s, 0);
	close(s);
	close(m);
}

static void peer_sti(void) {
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	T(ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY)); /* locked */
	unlockpt(m);
	int p = ioctl(m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	CHECK(p >= 0);
	char *tn = ttyname(p);
	CHECK(tn && strcmp(tn, ptsname(m)) == 0);
	printf("peer cloexec: %d\n", fcntl(p, F_GETFD) & FD_CLOEXEC);
	T(ioctl(p, TIOCGPTPEER, O_RDWR)); /* not a master: EIO */
	wr(m, "peer\n");
	settle();
	rd("peer", p);
	settle();
	rd("echo", m);

	/* TIOCSTI: typed input on the slave, processed as typed (echo,
	 * ICRNL); on the master, what the master reads. */
	const char *typed = "sti\r";
	for (const char *c = typed; *c; c++)
		T(ioctl(p, TIOCSTI, c));
	settle();
	rd("slave after TIOCSTI", p);
	settle();
	rd("echo", m);
	T(ioctl(m, TIOCSTI, "z"));
	settle();
	rd("master after TIOCSTI", m);
	T(ioctl(p, TIOCSTI, NULL));
	pid_t pid = fork();
	if (pid == 0) {
		/* Not root and not the caller's controlling terminal: refused
		 * (EPERM, or EIO where TIOCSTI is root's only). */
		setgid(65534);
		setuid(65534);
		printf("TIOCSTI as nobody fails: %d\n", ioctl(p, TIOCSTI, "x") == -1);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	rd_none("slave after refused TIOCSTI", p);
	close(p);
	close(m);
}

static void flow_control(void) {
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	unlockpt(m);
	int s = open(ptsname(m), O_RDWR | O_NOCTTY | O_NONBLOCK);
	struct termios t;
	tcgetattr(s, &t);
	CHECK(t.c_iflag & IXON);
	printf("VSTOP %d VSTART %d\n", t.c_cc[VSTOP], t.c_cc[VSTART]);

	/* The System V settings (struct termio): the low 16 bits. */
	struct termio tio;
	T(ioctl(s, TCGETA, &tio));
	CHECK(tio.c_lflag == (t.c_lflag & 0xffff) && tio.c_iflag == (t.c_iflag & 0xffff));
	CHECK(tio.c_cc[VINTR] == t.c_cc[VINTR] && tio.c_cc[VEOF] == t.c_cc[VEOF]);
	tio.c_lflag &= ~ECHOE;
	T(ioctl(s, TCSETAW, &tio));
	struct termios t2;
	tcgetattr(s, &t2);
	CHECK(!(t2.c_lflag & ECHOE) && (t2.c_lflag & ECHO));
	T(ioctl(s, TCGETA, NULL));
	T(ioctl(s, TCSETAF, (void *)1));
	tcsetattr(s, TCSANOW, &t);
	struct pollfd p = {s, POLLOUT, 0};
	wr(m, "\x13");
	settle();
	T(write(s, "x", 1));
	printf("poll POLLOUT while stopped: %d\n", poll(&p, 1, 0));
	wr(m, "ab\n");
	rd_none("echo while stopped", m);
	wr(m, "\x11");
	rd("echo after ^Q", m);
	T(write(s, "y", 1));
	settle();
	rd("master after ^Q", m);
	rd("slave line without ^S ^Q", s);
	t.c_iflag |= IXANY;
	tcsetattr(s, TCSANOW, &t);
	wr(m, "\x13");
	settle();
	T(write(s, "x", 1));
	wr(m, "q");
	settle();
	T(write(s, "w", 1));
	settle();
	rd("master after IXANY", m);
	T(tcflow(s, TCOOFF));
	T(write(s, "x", 1));
	wr(m, "\x11");
	settle();
	T(write(s, "x", 1));
	T(tcflow(s, TCOON));
	T(write(s, "v", 1));
	settle();
	rd("master after TCOON", m);
	T(tcflow(s, TCIOFF));
	T(tcflow(s, TCION));
	settle();
	rd("master after TCIOFF TCION", m);
	T(tcflow(m, TCIOFF)); /* the slave's input gets ^S */
	settle();
	T(write(s, "x", 1));
	T(tcflow(m, TCION));
	settle();
	T(write(s, "u", 1));
	settle();
	rd("master after the master's tcflow", m);
	T(tcflow(s, 99));
	rd_none("slave", s);
	close(s);
	close(m);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	CHECK(m >= 0);
	T(grantpt(m));
	char *name = ptsname(m);
	CHECK(name && strncmp(name, "/dev/pts/", 9) == 0);
	char sname[64];
	strcpy(sname, name);
	T(open(sname, O_RDWR | O_NOCTTY)); /* still locked */
	T(unlockpt(m));
	int s = open(sname, O_RDWR | O_NOCTTY);
	CHECK(s >= 0);
	T(isatty(s));
	T(isatty(m));
	char *tn = ttyname(s);
	CHECK(tn && strcmp(tn, sname) == 0);
	struct stat st1, st2;
	stat(sname, &st1);
	fstat(s, &st2);
	CHECK(S_ISCHR(st2.st_mode) && st1.st_rdev == st2.st_rdev && st1.st_ino == st2.st_ino);
	int ptn = -1;
	T(ioctl(m, TIOCGPTN, &ptn));
	char num[16];
	snprintf(num, sizeof num, "%d", ptn);
	CHECK(strcmp(sname + 9, num) == 0);
	T(ioctl(s, TIOCGPTN, &ptn));

	struct termios t;
	T(tcgetattr(s, &t));
	CHECK(t.c_lflag & ICANON);
	CHECK(t.c_lflag & ECHO);
	CHECK(t.c_lflag & ISIG);
	CHECK(t.c_oflag & ONLCR);
	CHECK(t.c_iflag & ICRNL);
	printf("VINTR %d VERASE %d VKILL %d VEOF %d VMIN %d\n", t.c_cc[VINTR], t.c_cc[VERASE], t.c_cc[VKILL], t.c_cc[VEOF], t.c_cc[VMIN]);
	struct termios mt;
	T(tcgetattr(m, &mt));
	CHECK(mt.c_lflag == t.c_lflag);

	/* Canonical input and its echo. */
	wr(m, "hello\n");
	rd("slave", s);
	rd("echo", m);
	wr(m, "abc\x7f" "d\r");
	rd("slave erase+cr", s);
	rd("echo", m);
	wr(m, "xyz\x15ok\n");
	rd("slave kill", s);
	rd("echo", m);
	wr(m, "par");
	settle();
	int n = -1;
	T(ioctl(s, FIONREAD, &n));
	printf("FIONREAD partial line: %d\n", n);
	wr(m, "tial\n");
	settle();
	T(ioctl(s, FIONREAD, &n));
	printf("FIONREAD line: %d\n", n);
	rd("slave", s);
	rd("echo", m);
	wr(m, "\x04");
	rd("slave eof", s);
	rd_none("echo eof", m);
	/* A short read leaves the rest of the line. */
	wr(m, "0123456789\n");
	settle();
	char small[4];
	T(read(s, small, sizeof small));
	rd("rest", s);
	rd("echo", m);

	/* Output processing. */
	wr(s, "out\nput\n");
	settle();
	rd("master", m);
	t.c_oflag &= ~ONLCR;
	T(tcsetattr(s, TCSANOW, &t));
	wr(s, "raw\n");
	settle();
	rd("master no onlcr", m);

	/* Raw mode. */
	struct termios raw = t;
	cfmakeraw(&raw);
	T(tcsetattr(s, TCSANOW, &raw));
	wr(m, "a\rb\x03");
	rd("slave raw", s);
	rd_none("echo raw", m);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	T(tcsetattr(s, TCSANOW, &raw));
	T(read(s, small, sizeof small));
	raw.c_lflag |= ECHO;
	T(tcsetattr(s, TCSANOW, &raw));
	wr(m, "e");
	rd("slave raw echo", s);
	rd("echo", m);

	/* Packet mode. */
	int one = 1;
	T(ioctl(m, TIOCPKT, &one));
	wr(s, "pk");
	settle();
	rd("master packet", m);
	int zero = 0;
	T(ioctl(m, TIOCPKT, &zero));
	T(tcsetattr(s, TCSANOW, &t));

	/* The window size. */
	struct winsize ws = {0};
	T(ioctl(s, TIOCGWINSZ, &ws));
	printf("winsize %d %d\n", ws.ws_row, ws.ws_col);

	/* A child in a session of its own takes the slave as its controlling
	 * terminal; ^C and a resize reach it. */
	int ready[2];
	pipe(ready);
	pid_t pid = fork();
	if (pid == 0) {
		close(m);
		close(s);
		setsid();
		int c = open(sname, O_RDWR);
		struct sigaction sa = {0};
		sa.sa_handler = on_sig;
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGWINCH, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		printf("child: tcgetpgrp is mine: %d\n", tcgetpgrp(c) == getpid());
		printf("child: tcgetsid is mine: %d\n", tcgetsid(c) == getpid());
		int tty = open("/dev/tty", O_RDWR);
		printf("child: /dev/tty opens: %d\n", tty >= 0);
		got = 0;
		write(ready[1], "r", 1);
		while (!got)
			usleep(1000);
		printf("child: signal %s\n", sigabbrev_np(got));
		got = 0;
		write(ready[1], "r", 1);
		while (!got)
			usleep(1000);
		printf("child: signal %s\n", sigabbrev_np(got));
		struct winsize w;
		ioctl(c, TIOCGWINSZ, &w);
		printf("child: winsize %d %d\n", w.ws_row, w.ws_col);
		got = 0;
		write(ready[1], "r", 1);
		while (!got)
			usleep(1000);
		printf("child: signal %s\n", sigabbrev_np(got));
		char buf[8];
		printf("child: read after hang-up: %zd\n", read(c, buf, sizeof buf));
		errno = 0;
		ssize_t w1 = write(c, "x", 1);
		printf("child: write after hang-up: %zd %s\n", w1, ename(errno));
		errno = 0;
		int t1 = open("/dev/tty", O_RDWR);
		printf("child: /dev/tty after hang-up: %d %s\n", t1, ename(errno));
		_exit(0);
	}
	char b;
	read(ready[0], &b, 1);
	pid_t fg = -1;
	T(ioctl(m, TIOCGPGRP, &fg));
	CHECK(fg == pid);
	wr(m, "\x03");
	read(ready[0], &b, 1);
	rd("echo ^C", m);
	struct winsize nw = {30, 100, 0, 0};
	int r = ioctl(m, TIOCSWINSZ, &nw);
	read(ready[0], &b, 1);
	printf("TIOCSWINSZ: %d\n", r);
	/* The hang-up: the parent's slave goes too, so that the master's
	 * reads see EIO. */
	close(s);
	close(m);
	int status;
	T(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	T(open(sname, O_RDWR | O_NOCTTY));

	/* The master reads EIO once the last slave closed. */
	m = posix_openpt(O_RDWR | O_NOCTTY);
	unlockpt(m);
	s = open(ptsname(m), O_RDWR | O_NOCTTY);
	wr(s, "bye\n");
	close(s);
	settle();
	rd("master after slave close", m);
	settle();
	rd("master after slave close", m);
	close(m);

	vmin_vtime();
	peer_sti();
	flow_control();
	return 0;
}
