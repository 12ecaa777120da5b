/* HTTP requests per second: a server process answers each GET with a
 * small HTTP/1.0 response and closes; the client opens a new TCP
 * connection on 127.0.0.1 per request (as ab without -k), sends the
 * request and reads the response to its end. One op is one request:
 * requests per second is 1e9 / ns per op. */
#include "bench.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static const char request[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";
static const char response[] =
    "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n";

static struct sockaddr_in addr;

static void serve(int l) {
  char buf[1024];
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c < 0)
      _exit(1);
    size_t got = 0;
    while (got < sizeof buf) { /* to the end of the request's headers */
      ssize_t n = read(c, buf + got, sizeof buf - got);
      if (n <= 0)
        break;
      got += n;
      if (memmem(buf, got, "\r\n\r\n", 4))
        break;
    }
    if (write(c, response, sizeof response - 1) != sizeof response - 1)
      _exit(1);
    close(c);
  }
}

static void one_request(void) {
  char buf[1024];
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (c < 0 || connect(c, (void *)&addr, sizeof addr) != 0)
    die("connect");
  if (write(c, request, sizeof request - 1) != sizeof request - 1)
    die("write request");
  size_t got = 0;
  ssize_t n;
  while ((n = read(c, buf + got, sizeof buf - got)) > 0)
    got += n;
  if (n < 0 || got != sizeof response - 1)
    die("read response");
  close(c);
}

int main(int argc, char **argv) {
  long n = iterations(argc, argv);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  socklen_t len = sizeof addr;
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (l < 0 || bind(l, (void *)&addr, sizeof addr) != 0 || listen(l, 128) != 0 ||
      getsockname(l, (void *)&addr, &len) != 0)
    die("listen");
  pid_t pid = fork();
  if (pid < 0)
    die("fork");
  if (pid == 0)
    serve(l);
  close(l);
  for (long i = warmup(n); i > 0; i--)
    one_request();
  timed_start(n);
  for (long i = 0; i < n; i++) {
    one_request();
    timed_op();
  }
  timed_report();
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return 0;
}
