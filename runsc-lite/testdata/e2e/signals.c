#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <sys/wait.h>
static sigjmp_buf env;
static volatile int got;
static void on_usr1(int s, siginfo_t *si, void *uc) { (void)uc; got = s + si->si_code * 0; }
static void on_segv(int s) { siglongjmp(env, s); }
static void on_fpe(int s) { siglongjmp(env, s); }
int main(void) {
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_usr1; sa.sa_flags = SA_SIGINFO; sigaction(SIGUSR1, &sa, 0);
  kill(getpid(), SIGUSR1); printf("usr1 handled: %d\n", got);
  signal(SIGSEGV, on_segv);
  int r = sigsetjmp(env, 1);
  if (r == 0) { *(volatile int*)16 = 1; printf("no fault?\n"); } else printf("recovered from signal %d\n", r);
  signal(SIGFPE, on_fpe);
  r = sigsetjmp(env, 1);
  volatile int zero = 0;
  if (r == 0) { printf("%d\n", 10 / zero); } else printf("recovered from signal %d\n", r);
  sigset_t set; sigemptyset(&set); sigaddset(&set, SIGUSR2); sigprocmask(SIG_BLOCK, &set, 0);
  raise(SIGUSR2); sigset_t pend; sigpending(&pend); printf("usr2 pending: %d\n", sigismember(&pend, SIGUSR2));
  int sig; sigwait(&set, &sig); printf("sigwait got %d\n", sig);
  pid_t pid = fork();
  if (pid == 0) { pause(); _exit(0); }
  kill(pid, SIGTERM); int st; waitpid(pid, &st, 0);
  printf("child killed by %d\n", WIFSIGNALED(st) ? WTERMSIG(st) : -1);
  signal(SIGPIPE, SIG_IGN);
  return 7;
}
