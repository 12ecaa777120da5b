// Signal stacks, waiting for signals and children, epoll with a mask, for
// the strace comparison (strace_test.go): every call here shows the same
// line under strace(1) and under --strace. SIGCHLD stays blocked, so no
// --- SIGCHLD --- line (strace sees it generated, --strace delivered).
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
	close(-42); // the marker: the comparison starts here
	stack_t ss = {.ss_sp = malloc(65536), .ss_size = 65536, .ss_flags = 0}, old;
	sigaltstack(&ss, &old);
	sigaltstack(NULL, &old);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGCHLD);
	sigprocmask(SIG_BLOCK, &set, NULL);
	struct timespec ts = {0, 0};
	siginfo_t si;
	sigtimedwait(&set, &si, &ts);
	kill(getpid(), SIGUSR1);
	sigtimedwait(&set, &si, &ts);
	pid_t p = fork();
	if (p == 0)
		_exit(3);
	waitid(P_PID, p, &si, WEXITED);
	waitid(P_ALL, 0, &si, WEXITED | WNOHANG);
	int fds[2];
	pipe(fds);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = 7}, out[2];
	epoll_ctl(ep, EPOLL_CTL_ADD, fds[1], &ev);
	epoll_pwait(ep, out, 2, 0, &set);
	return 0;
}
