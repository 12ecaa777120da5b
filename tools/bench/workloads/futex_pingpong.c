/* Two threads hand a turn back and forth with FUTEX_WAIT and FUTEX_WAKE;
 * one operation is a round trip. */
#include "bench.h"
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int turn; /* 0: main's turn, 1: the partner's */
static long rounds;

static void wait_for(int want) {
  int v;
  while ((v = atomic_load(&turn)) != want)
    syscall(SYS_futex, &turn, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void pass_to(int who) {
  atomic_store(&turn, who);
  syscall(SYS_futex, &turn, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *partner(void *arg) {
  (void)arg;
  for (long i = 0; i < rounds; i++) {
    wait_for(1);
    pass_to(0);
  }
  return NULL;
}

static void roundtrip(void) {
  pass_to(1);
  wait_for(0);
}

int main(int argc, char **argv) {
  long n = iterations(argc, argv);
  rounds = warmup(n) + n;
  pthread_t t;
  int err = pthread_create(&t, NULL, partner, NULL);
  if (err != 0) {
    errno = err;
    die("pthread_create");
  }
  for (long i = warmup(n); i > 0; i--)
    roundtrip();
  timed_start(n);
  for (long i = 0; i < n; i++) {
    roundtrip();
    timed_op();
  }
  timed_report();
  pthread_join(t, NULL);
  return 0;
}
