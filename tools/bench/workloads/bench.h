/* Shared by the micro workloads: each program takes ITERATIONS (and an
 * optional ARG), runs a short untimed warm-up, times ITERATIONS operations
 * with CLOCK_MONOTONIC and prints one line "ns/op VALUE" on stdout. Any
 * failure prints one line on stderr and exits 1. Programs write only below
 * /tmp, the one writable place in the sandbox. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define die(what)                                                              \
  do {                                                                         \
    fprintf(stderr, "%s: %s\n", what, strerror(errno));                        \
    exit(1);                                                                   \
  } while (0)

static long iterations(int argc, char **argv) {
  long n = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
  if (n <= 0) {
    fprintf(stderr, "usage: %s ITERATIONS [ARG]\n", argv[0]);
    exit(2);
  }
  return n;
}

/* warmup is how many untimed operations precede the timed ones: none when
 * there are fewer than 10, as for touching 256 MiB, where the first touch of
 * fresh memory is the point. */
static long warmup(long n) { return n / 10; }

static double now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    die("clock_gettime");
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void report(double start, long n) {
  printf("ns/op %.2f\n", (now_ns() - start) / n);
}

/* BENCH_SIMPLE defines main for a workload whose operation needs no state
 * beyond what setup() prepares: warm up, then time op() n times. */
#define BENCH_SIMPLE(setup, op)                                                \
  int main(int argc, char **argv) {                                            \
    long n = iterations(argc, argv);                                           \
    setup(argc > 2 ? argv[2] : NULL);                                          \
    for (long i = warmup(n); i > 0; i--)                                       \
      op();                                                                    \
    double start = now_ns();                                                   \
    for (long i = 0; i < n; i++)                                               \
      op();                                                                    \
    report(start, n);                                                          \
    return 0;                                                                  \
  }
