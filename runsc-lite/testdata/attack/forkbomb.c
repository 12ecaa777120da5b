#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
/* Forks until fork fails; every process keeps forking. The first process
 * reports how fork failed, then kills the whole group. */
int main(void) {
	int pipefd[2];
	pipe(pipefd);
	setpgid(0, 0);
	pid_t leader = getpid();
	for (;;) {
		pid_t p = fork();
		if (p < 0) {
			int e = errno;
			if (getpid() == leader) {
				printf("fork: %s\n", strerror(e));
				fflush(stdout);
				kill(0, SIGKILL); /* the whole group, leader included */
			}
			char c = e == EAGAIN ? 'A' : 'X';
			write(pipefd[1], &c, 1);
			pause();
		}
		if (p == 0)
			continue;
	}
}
