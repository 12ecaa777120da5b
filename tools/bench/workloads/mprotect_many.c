/* Among 10,000 mappings, make one page read-only (it merges with the
 * read-only page before it) and writable again (a split): the cost of a
 * mapping change in a process with many mappings (a JVM's, a browser's). */
#include "bench.h"
#include <sys/mman.h>

#define MAPPINGS 10000
static char *maps[MAPPINGS];
static long next;

static void setup(const char *arg) {
  (void)arg;
  for (int i = 0; i < MAPPINGS; i++) {
    maps[i] = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (maps[i] == MAP_FAILED)
      die("mmap");
    if (mprotect(maps[i], 4096, PROT_READ) != 0)
      die("mprotect");
  }
}

static void op(void) {
  char *p = maps[(next++ * 7919) % MAPPINGS] + 4096;
  if (mprotect(p, 4096, PROT_READ) != 0)
    die("mprotect read-only");
  if (mprotect(p, 4096, PROT_READ | PROT_WRITE) != 0)
    die("mprotect writable");
}
BENCH_SIMPLE(setup, op)
