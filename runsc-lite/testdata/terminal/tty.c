/* tty: a program on a terminal, run natively and in the sandbox with a
 * pseudo-terminal as its stdio and controlling terminal (terminal_test.go).
 * argv[1] picks a scenario; output must be the same in both runs.
 *   basic: isatty, tcgetpgrp, tcgetsid, /dev/tty, TIOCSPGRP errors,
 *          setsid losing the terminal, a background read (SIGTTIN, EIO).
 *   intr:  a child in its own foreground group; the test types Ctrl-C.
 *   quit:  the same with Ctrl-\, which the child does not handle.
 *   stop:  the same; the test types Ctrl-Z, then the parent continues it.
 *   winch: the same; the test resizes the terminal (SIGWINCH).
 *   sigio: F_SETOWN, F_SETSIG and O_ASYNC on stdin and poll on it: no
 *          input yet, then the test types a line: one POLL_IN signal
 *          (si_fd 0), stdin readable, the line read. */
#include "../diff/common.h"
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

static void status(const char *what, int st) {
	if (WIFEXITED(st))
		printf("%s: exited %d\n", what, WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		printf("%s: killed by %s\n", what, sigabbrev_np(WTERMSIG(st)));
	else if (WIFSTOPPED(st))
		printf("%s: stopped by %s\n", what, sigabbrev_np(WSTOPSIG(st)));
	else if (WIFCONTINUED(st))
		printf("%s: continued\n", what);
	fflush(stdout);
}

static void basic(void) {
	CHECK(isatty(0) == 1);
	CHECK(isatty(1) == 1);
	CHECK(tcgetpgrp(0) == getpgrp());
	CHECK(tcgetsid(0) == getsid(0));
	int fd = open("/dev/tty", O_RDWR);
	CHECK(fd >= 0);
	CHECK(isatty(fd) == 1);
	CHECK(tcgetpgrp(fd) == getpgrp());
	close(fd);
	T(tcsetpgrp(0, -1));
	T(tcsetpgrp(0, 999999));
	T(tcsetpgrp(0, getpgrp()));
	T(ioctl(0, TIOCSCTTY, 0));
	fflush(stdout);

	/* A child in a new session has no controlling terminal. */
	pid_t pid = fork();
	if (pid == 0) {
		setsid();
		CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO);
		T(tcgetpgrp(0));
		T(ioctl(0, TIOCNOTTY));
		CHECK(isatty(0) == 1);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	status("setsid child", st);

	/* A background child: TIOCSPGRP to another session's group, reads
	 * that stop it (SIGTTIN) or fail (ignored: EIO). */
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		CHECK(tcgetpgrp(0) != getpgrp());
		signal(SIGTTIN, SIG_IGN);
		char c;
		T(read(0, &c, 1));
		signal(SIGTTIN, SIG_DFL);
		fflush(stdout);
		read(0, &c, 1);
		_exit(0);
	}
	waitpid(pid, &st, WUNTRACED);
	status("background reader", st);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	status("background reader", st);

	/* TIOCNOTTY by a process that is not the session leader. */
	pid = fork();
	if (pid == 0) {
		T(ioctl(0, TIOCNOTTY));
		T(tcgetpgrp(0));
		CHECK(open("/dev/tty", O_RDWR) == -1 && errno == ENXIO);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	status("notty child", st);
	CHECK(tcgetpgrp(0) == getpgrp());
}

static int ready[2], resumed[2];

static void on_int(int sig) {
	static const char msg[] = "child: got SIGINT\n";
	write(1, msg, sizeof msg - 1);
	_exit(3);
}

static void on_winch(int sig) {
	struct winsize ws;
	ioctl(0, TIOCGWINSZ, &ws);
	char msg[64];
	int n = snprintf(msg, sizeof msg, "child: got SIGWINCH, %dx%d\n", ws.ws_col, ws.ws_row);
	write(1, msg, n);
	_exit(4);
}

static void on_cont(int sig) { write(resumed[1], "c", 1); }

/* foreground starts a child in its own group and makes it the terminal's
 * foreground; the child says when it waits for signals, in pause() or, if
 * reading, blocked reading the terminal (a shell at its prompt). */
static pid_t foreground(int reading) {
	pipe(ready);
	pipe(resumed);
	pid_t pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGINT, on_int);
		signal(SIGCONT, on_cont);
		signal(SIGWINCH, on_winch);
		write(ready[1], "r", 1);
		if (reading) {
			/* Read only once in the foreground: a background read
			 * would stop the child with SIGTTIN. */
			while (tcgetpgrp(0) != getpgrp())
				usleep(1000);
			char c;
			read(0, &c, 1);
			_exit(5);
		}
		for (;;)
			pause();
	}
	setpgid(pid, pid);
	T(tcsetpgrp(0, pid));
	char c;
	read(ready[0], &c, 1);
	CHECK(tcgetpgrp(0) == pid);
	CHECK(tcgetpgrp(0) != getpgrp());
	printf("ready\n");
	fflush(stdout);
	return pid;
}

/* takeBack makes the parent, now in the background, the foreground again:
 * SIGTTOU is blocked, as shells do. */
static void take_back(void) {
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGTTOU);
	sigprocmask(SIG_BLOCK, &s, NULL);
	T(tcsetpgrp(0, getpgrp()));
	CHECK(tcgetpgrp(0) == getpgrp());
}

static void sigio(void) {
	int sig = SIGRTMIN + 1;
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, sig);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	T(fcntl(0, F_SETOWN, getpid()));
	T(fcntl(0, F_SETSIG, sig));
	T(fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_ASYNC));
	printf("O_ASYNC set: %d\n", !!(fcntl(0, F_GETFL) & O_ASYNC));
	struct pollfd p = {0, POLLIN};
	T(poll(&p, 1, 0));
	printf("ready\n");
	fflush(stdout);
	siginfo_t si;
	struct timespec wait = {10, 0};
	int got = sigtimedwait(&set, &si, &wait);
	if (got == sig)
		printf("signal: %s fd %d band %#lx\n", codename(si.si_code), si.si_fd, (long)si.si_band);
	else
		printf("no signal: %d\n", got);
	T(poll(&p, 1, 1000));
	printf("revents %#x\n", p.revents);
	char line[64] = "";
	ssize_t n = read(0, line, sizeof line - 1);
	printf("read %zd: %s", n, n > 0 ? line : "\n");
	struct timespec zero = {0, 0};
	int more = 0;
	while (sigtimedwait(&set, &si, &zero) > 0)
		more++;
	printf("more signals: %d\n", more);
	T(fcntl(0, F_SETFL, fcntl(0, F_GETFL) & ~O_ASYNC));
}

int main(int argc, char **argv) {
	/* No echo: the test's keystrokes must not show in the output. */
	struct termios t;
	tcgetattr(0, &t);
	t.c_lflag &= ~ECHO;
	tcsetattr(0, TCSANOW, &t);
	setvbuf(stdout, NULL, _IOFBF, 4096);
	const char *mode = argc > 1 ? argv[1] : "basic";
	int st;
	if (strcmp(mode, "basic") == 0) {
		basic();
	} else if (strcmp(mode, "sigio") == 0) {
		sigio();
	} else if (strcmp(mode, "intr") == 0 || strcmp(mode, "quit") == 0 ||
		   strcmp(mode, "winch") == 0 || strcmp(mode, "intr-read") == 0) {
		pid_t pid = foreground(strcmp(mode, "intr-read") == 0);
		waitpid(pid, &st, 0);
		status("child", st);
		take_back();
	} else if (strcmp(mode, "stop") == 0) {
		pid_t pid = foreground(0);
		waitpid(pid, &st, WUNTRACED);
		status("child", st);
		take_back();
		kill(pid, SIGCONT);
		waitpid(pid, &st, WCONTINUED);
		status("child", st);
		char c;
		CHECK(read(resumed[0], &c, 1) == 1);
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		status("child", st);
	}
	printf("parent: done\n");
	return 0;
}
