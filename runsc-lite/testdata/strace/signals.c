// Signals and processes, for the strace comparison (strace_test.go):
// handlers, masks, a child that exits and one a signal kills, and the
// SIGCHLD of each, delivered at a known point (while unblocking it).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void handler(int sig) { (void)sig; }

int main(void) {
	close(-42); // the marker: the comparison starts here
	struct sigaction sa = {0};
	sa.sa_handler = handler;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGCHLD, &sa, NULL);
	sigset_t usr2, chld;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	sigprocmask(SIG_BLOCK, &usr2, NULL);
	kill(getpid(), SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &usr2, NULL);
	signal(SIGUSR2, SIG_IGN);

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	int status;
	if (fork() == 0)
		_exit(3);
	wait4(-1, &status, 0, NULL);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);

	sigprocmask(SIG_BLOCK, &chld, NULL);
	if (fork() == 0) {
		kill(getpid(), SIGTERM);
		_exit(0);
	}
	wait4(-1, &status, 0, NULL);
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
	return 0;
}
