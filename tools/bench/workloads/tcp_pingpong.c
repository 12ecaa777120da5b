/* One byte there and back between two processes over a TCP connection on
 * 127.0.0.1 (TCP_NODELAY on both ends). */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

/* tcp_pair connects *client to *server over loopback. */
static void tcp_pair(int *client, int *server) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  if (l < 0 || bind(l, (void *)&a, sizeof a) != 0 || listen(l, 1) != 0 ||
      getsockname(l, (void *)&a, &len) != 0)
    die("listen");
  *client = socket(AF_INET, SOCK_STREAM, 0);
  if (*client < 0 || connect(*client, (void *)&a, sizeof a) != 0)
    die("connect");
  *server = accept(l, NULL, NULL);
  if (*server < 0)
    die("accept");
  close(l);
  int one = 1;
  setsockopt(*client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(*server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int c, s;

static void roundtrip(void) {
  char b = 'x';
  if (write(c, &b, 1) != 1)
    die("write ping");
  if (read(c, &b, 1) != 1)
    die("read pong");
}

int main(int argc, char **argv) {
  long n = iterations(argc, argv);
  tcp_pair(&c, &s);
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0) {
    char b;
    close(c);
    while (read(s, &b, 1) == 1)
      if (write(s, &b, 1) != 1)
        _exit(1);
    _exit(0);
  }
  close(s);
  for (long i = warmup(n); i > 0; i--)
    roundtrip();
  timed_start(n);
  for (long i = 0; i < n; i++) {
    roundtrip();
    timed_op();
  }
  timed_report();
  close(c);
  int status;
  if (waitpid(pid, &status, 0) != pid || status != 0)
    die("child");
  return 0;
}
