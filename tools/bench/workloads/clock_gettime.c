/* clock_gettime(CLOCK_MONOTONIC): the vDSO natively, so no syscall at all
 * unless the sandbox has no vDSO. */
#include "bench.h"

static struct timespec ts;
static void setup(const char *arg) { (void)arg; }
static void op(void) {
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    die("clock_gettime");
}
BENCH_SIMPLE(setup, op)
