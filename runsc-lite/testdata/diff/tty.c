/* tty: the terminal ioctls and /dev/tty where there is no terminal: pipes,
 * files and /dev/null are not terminals (ENOTTY), and a process in a new
 * session has no controlling terminal (/dev/tty is ENXIO). The terminal
 * itself is tested on a pseudo-terminal by terminal_test.go. */
#include "common.h"
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>

int main(int argc, char **argv) {
	setup(argc, argv);
	int p[2];
	pipe(p);
	int f = open("file", O_RDWR | O_CREAT, 0644);
	int n = open("/dev/null", O_RDWR);
	pid_t pg = getpgrp();
	T(isatty(p[0]));
	T(isatty(f));
	T(isatty(n));
	T(tcgetpgrp(p[0]));
	T(tcgetpgrp(f));
	T(tcgetpgrp(n));
	T(tcsetpgrp(p[1], pg));
	T(tcsetpgrp(f, pg));
	T(ioctl(n, TIOCSPGRP, &pg));
	T(tcgetsid(p[0]));
	T(ioctl(p[0], TIOCSCTTY, 0));
	T(ioctl(f, TIOCNOTTY));
	struct winsize ws = {24, 80, 0, 0};
	T(ioctl(p[1], TIOCSWINSZ, &ws));
	T(ioctl(f, TIOCGWINSZ, &ws));

	/* A new session has no controlling terminal, whatever the caller's. */
	pid_t pid = fork();
	if (pid == 0) {
		T(setsid() > 0);
		T(open("/dev/tty", O_RDWR));
		T(open("/dev/tty", O_RDONLY | O_NOCTTY));
		T(ioctl(n, TIOCSCTTY, 0));
		_exit(0);
	}
	int st;
	T(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	return 0;
}
