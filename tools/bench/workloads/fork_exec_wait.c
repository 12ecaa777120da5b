/* fork, the child execs ARG (a program that exits 0), the parent waits. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;
static char *prog;
static void setup(const char *arg) { prog = (char *)(arg ? arg : "/bin/true"); }
static void op(void) {
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    char *argv[] = {prog, NULL};
    execve(prog, argv, environ);
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid)
    die("waitpid");
  if (status != 0) {
    fprintf(stderr, "fork_exec_wait: %s: wait status %#x\n", prog, status);
    exit(1);
  }
}
BENCH_SIMPLE(setup, op)
