/* write of one byte to /dev/null. */
#include "bench.h"
#include <fcntl.h>
#include <unistd.h>

static int fd;
static void setup(const char *arg) {
  (void)arg;
  fd = open("/dev/null", O_WRONLY);
  if (fd < 0)
    die("open /dev/null");
}
static void op(void) {
  if (write(fd, "x", 1) != 1)
    die("write /dev/null");
}
BENCH_SIMPLE(setup, op)
