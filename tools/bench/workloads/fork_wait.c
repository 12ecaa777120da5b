/* fork, the child exits at once, the parent waits for it. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

static void setup(const char *arg) { (void)arg; }
static void op(void) {
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0)
    _exit(0);
  int status;
  if (waitpid(pid, &status, 0) != pid || status != 0)
    die("waitpid");
}
BENCH_SIMPLE(setup, op)
