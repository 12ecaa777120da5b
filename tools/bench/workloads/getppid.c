/* One syscall round trip: getppid, which no libc caches. */
#include "bench.h"
#include <sys/syscall.h>
#include <unistd.h>

static void setup(const char *arg) { (void)arg; }
static void op(void) { syscall(SYS_getppid); }
BENCH_SIMPLE(setup, op)
