// forkloop: N processes, each in a session of its own, fork and reap
// children without end; the first process exits after a moment, which
// ends the sandbox while they are forking (the tmux server's case).
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	int n = argc > 1 ? atoi(argv[1]) : 4;
	for (int i = 0; i < n; i++) {
		if (fork() == 0) {
			setsid();
			for (;;) {
				pid_t p = fork();
				if (p == 0)
					_exit(0);
				if (p > 0)
					waitpid(p, 0, 0);
			}
		}
	}
	struct timespec ts = {0, 200 * 1000 * 1000};
	nanosleep(&ts, 0);
	puts("leaving");
	return 0;
}
