/* kill(getpid(), SIGUSR1) delivered to a handler and returned from. */
#include "bench.h"
#include <signal.h>
#include <unistd.h>

static volatile sig_atomic_t delivered;
static void handler(int sig) { (void)sig; delivered++; }
static void setup(const char *arg) {
  (void)arg;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  if (sigaction(SIGUSR1, &sa, NULL) != 0)
    die("sigaction");
}
static void op(void) {
  sig_atomic_t before = delivered;
  if (kill(getpid(), SIGUSR1) != 0)
    die("kill");
  if (delivered != before + 1) {
    fprintf(stderr, "signal_self: the handler did not run before kill returned\n");
    exit(1);
  }
}
BENCH_SIMPLE(setup, op)
