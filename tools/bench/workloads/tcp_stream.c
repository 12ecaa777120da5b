/* Throughput of one TCP stream on 127.0.0.1: a child writes 64 KiB
 * buffers, the parent reads them; an operation is one 64 KiB buffer
 * across (ns/op; 64 KiB / ns/op is the throughput). */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHUNK 65536

static char buf[CHUNK];

/* drain reads k whole buffers from fd. */
static void drain(int fd, long k) {
  long want = k * CHUNK;
  while (want > 0) {
    ssize_t r = read(fd, buf, want < CHUNK ? want : CHUNK);
    if (r <= 0)
      die("read");
    want -= r;
  }
}

int main(int argc, char **argv) {
  long n = iterations(argc, argv);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (l < 0 || bind(l, (void *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
      getsockname(l, (void *)&a, &len) != 0)
    die("listen");
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (void *)&a, sizeof a) != 0)
      _exit(1);
    for (long i = warmup(n) + n; i > 0; i--)
      for (size_t done = 0; done < CHUNK;) {
        ssize_t w = write(c, buf + done, CHUNK - done);
        if (w <= 0)
          _exit(1);
        done += w;
      }
    close(c);
    _exit(0);
  }
  int s = accept(l, NULL, NULL);
  if (s < 0)
    die("accept");
  drain(s, warmup(n));
  timed_start(n);
  for (long i = 0; i < n; i++) {
    drain(s, 1);
    timed_op();
  }
  timed_report();
  int status;
  if (waitpid(pid, &status, 0) != pid || status != 0)
    die("child");
  return 0;
}
