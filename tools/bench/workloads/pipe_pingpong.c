/* One byte there and back between two processes over two pipes. */
#include "bench.h"
#include <sys/wait.h>
#include <unistd.h>

static int ping[2], pong[2];

static void roundtrip(void) {
  char c = 'x';
  if (write(ping[1], &c, 1) != 1)
    die("write ping");
  if (read(pong[0], &c, 1) != 1)
    die("read pong");
}

int main(int argc, char **argv) {
  long n = iterations(argc, argv);
  if (pipe(ping) != 0 || pipe(pong) != 0)
    die("pipe");
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    char c;
    close(ping[1]); /* else the read below never sees end of file */
    close(pong[0]);
    while (read(ping[0], &c, 1) == 1)
      if (write(pong[1], &c, 1) != 1)
        _exit(1);
    _exit(0);
  }
  close(ping[0]);
  close(pong[1]);
  for (long i = warmup(n); i > 0; i--)
    roundtrip();
  timed_start(n);
  for (long i = 0; i < n; i++) {
    roundtrip();
    timed_op();
  }
  timed_report();
  close(ping[1]);
  int status;
  if (waitpid(pid, &status, 0) != pid || status != 0)
    die("child");
  return 0;
}
