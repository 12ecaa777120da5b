/* open(ARG, O_RDONLY) then close. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

static const char *path;
static void setup(const char *arg) {
  if (arg == NULL) {
    fprintf(stderr, "open_close: missing FILE argument\n");
    exit(2);
  }
  path = arg;
}
static void op(void) {
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    die(path);
  close(fd);
}
BENCH_SIMPLE(setup, op)
