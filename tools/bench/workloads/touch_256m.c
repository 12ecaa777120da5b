/* mmap 256 MiB of fresh anonymous memory, write one byte per page (65,536
 * page faults), munmap: one operation is the whole 256 MiB. */
#include "bench.h"
#include <sys/mman.h>

#define SIZE (256L << 20)
static void setup(const char *arg) { (void)arg; }
static void op(void) {
  volatile char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    die("mmap 256 MiB");
  for (long off = 0; off < SIZE; off += 4096)
    p[off] = 1;
  if (munmap((void *)p, SIZE) != 0)
    die("munmap");
}
BENCH_SIMPLE(setup, op)
