/* pread of 4 KiB at offset 0 of ARG, a file of at least 4 KiB. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

static int fd;
static char buf[4096];
static void setup(const char *arg) {
  fd = open(arg ? arg : "", O_RDONLY);
  if (fd < 0)
    die("open");
}
static void op(void) {
  if (pread(fd, buf, sizeof buf, 0) != sizeof buf)
    die("pread of 4 KiB");
}
BENCH_SIMPLE(setup, op)
