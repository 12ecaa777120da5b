/* Shared by the micro workloads: each program takes ITERATIONS (and an
 * optional ARG), runs a short untimed warm-up, times ITERATIONS operations
 * with CLOCK_MONOTONIC and prints two lines on stdout: "ns/op MEAN" and
 * "pct P50 P90 P99" (ns per operation). Any failure prints one line on
 * stderr and exits 1. Programs write only below /tmp, the one writable
 * place in the sandbox. */
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

/* A timed loop is cut into at most MAX_BATCHES batches of equal size, and
 * each batch's time per operation is one latency sample: one operation per
 * sample when n <= MAX_BATCHES (fork, exec, round trips), else batches, so
 * that a fast operation (getppid) is not timed with a clock read around
 * each call, which would cost as much as the call. */
#define MAX_BATCHES 1000

struct timed {
  long n, batch, done;
  double start, mark;
  double per_op[MAX_BATCHES];
  int samples;
};

static struct timed timer;

/* timed_start starts timing n operations; call timed_op after each. */
static void timed_start(long n) {
  timer.n = n;
  timer.batch = (n + MAX_BATCHES - 1) / MAX_BATCHES;
  timer.done = 0;
  timer.samples = 0;
  timer.start = timer.mark = now_ns();
}

static void timed_op(void) {
  if (++timer.done % timer.batch != 0 || timer.samples == MAX_BATCHES)
    return;
  double t = now_ns();
  timer.per_op[timer.samples++] = (t - timer.mark) / timer.batch;
  timer.mark = t;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* pct is the q-quantile of the sorted samples, by the nearest rank. */
static double pct(double q) {
  int i = (int)(q * timer.samples + 0.999999) - 1;
  return timer.per_op[i < 0 ? 0 : i];
}

/* timed_report prints the mean over all n operations and the percentiles
 * of the samples. */
static void timed_report(void) {
  double mean = (now_ns() - timer.start) / timer.n;
  printf("ns/op %.2f\n", mean);
  if (timer.samples == 0)
    return;
  qsort(timer.per_op, timer.samples, sizeof(double), cmp_double);
  printf("pct %.2f %.2f %.2f\n", pct(0.5), pct(0.9), pct(0.99));
}

/* BENCH_SIMPLE defines main for a workload whose operation needs no state
 * beyond what setup() prepares: warm up, then time op() n times. */
#define BENCH_SIMPLE(setup, op)                                                \
  int main(int argc, char **argv) {                                            \
    long n = iterations(argc, argv);                                           \
    setup(argc > 2 ? argv[2] : NULL);                                          \
    for (long i = warmup(n); i > 0; i--)                                       \
      op();                                                                    \
    timed_start(n);                                                            \
    for (long i = 0; i < n; i++) {                                             \
      op();                                                                    \
      timed_op();                                                              \
    }                                                                          \
    timed_report();                                                            \
    return 0;                                                                  \
  }
