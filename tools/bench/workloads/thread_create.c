/* pthread_create of a thread that returns at once, then pthread_join. */
#include "bench.h"
#include <pthread.h>

static void *nothing(void *arg) { return arg; }
static void setup(const char *arg) { (void)arg; }
static void op(void) {
  pthread_t t;
  int err = pthread_create(&t, NULL, nothing, NULL);
  if (err != 0) {
    errno = err;
    die("pthread_create");
  }
  pthread_join(t, NULL);
}
BENCH_SIMPLE(setup, op)
