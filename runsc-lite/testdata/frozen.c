// frozen.c: a parent that counts and a child that waits, for TestOCIPause.
// The parent writes "COUNT EVENTS SIGCHLDS" to /out/state every 10 ms:
// EVENTS are the stops and continues of the child that waitpid reported,
// SIGCHLDS the SIGCHLDs it got (SA_NOCLDSTOP unset). A freeze of the
// sandbox must stop the count and show neither.
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t chld;

static void on_chld(int sig) { chld++; }

int main(void) {
	struct sigaction sa = {0};
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	pid_t child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	long n = 0, events = 0;
	for (;;) {
		int st;
		n++;
		if (waitpid(child, &st, WUNTRACED | WCONTINUED | WNOHANG) > 0)
			events++;
		char buf[64];
		int len = snprintf(buf, sizeof buf, "%ld %ld %d\n", n, events, (int)chld);
		int fd = open("/out/state.tmp", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			write(fd, buf, len);
			close(fd);
			rename("/out/state.tmp", "/out/state");
		}
		usleep(10000);
	}
}
