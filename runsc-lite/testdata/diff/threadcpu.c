#define _GNU_SOURCE
/* Per-thread CPU time: one thread spins about 200 ms of its own CPU, one
 * sleeps. Each reads its own CLOCK_THREAD_CPUTIME_ID, getrusage
 * RUSAGE_THREAD and /proc/self/task/TID/stat, and the other's clock through
 * pthread_getcpuclockid; the bounds are wide (at least 100 ms for the
 * spinner, under 50 ms for the sleeper) so that a busy host cannot move
 * them. The process's clock covers both. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL

static sem_t ready, spun, seen, read_both;
static clockid_t spinner_clock, sleeper_clock;

static long long clock_ns(clockid_t c) {
  struct timespec ts;
  if (clock_gettime(c, &ts) != 0) {
    perror("clock_gettime");
    return -1;
  }
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static long long rusage_thread_ns(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_THREAD, &ru) != 0) {
    perror("getrusage");
    return -1;
  }
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000LL +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000LL;
}

/* utime+stime of /proc/self/task/TID/stat, in nanoseconds. */
static long long proc_stat_ns(const char *path) {
  char buf[1024];
  FILE *f = fopen(path, "r");
  if (!f) {
    perror(path);
    return -1;
  }
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  unsigned long long ut, st;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (long long)(ut + st) * 1000000000LL / sysconf(_SC_CLK_TCK);
}

static long long task_stat_ns(void) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%ld/stat", (long)syscall(SYS_gettid));
  return proc_stat_ns(path);
}

static void *spinner(void *arg) {
  (void)arg;
  sem_wait(&ready);
  while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < 200 * MS)
    ;
  sem_post(&spun);
  sem_wait(&seen);
  long long self = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  long long other = clock_ns(sleeper_clock);
  sem_post(&read_both); /* the sleeper's clock is gone once it exits */
  printf("spinner: own clock >= 100ms: %d\n", self >= 100 * MS);
  printf("spinner: sleeper's clock < 50ms: %d\n", other >= 0 && other < 50 * MS);
  printf("spinner: own > sleeper's: %d\n", self > other);
  printf("spinner: RUSAGE_THREAD >= 100ms: %d\n", rusage_thread_ns() >= 100 * MS);
  printf("spinner: task stat >= 100ms: %d\n", task_stat_ns() >= 100 * MS);
  return NULL;
}

static void *sleeper(void *arg) {
  (void)arg;
  sem_wait(&ready);
  sem_wait(&spun);
  long long self = clock_ns(CLOCK_THREAD_CPUTIME_ID);
  long long other = clock_ns(spinner_clock);
  printf("sleeper: own clock < 50ms: %d\n", self >= 0 && self < 50 * MS);
  printf("sleeper: spinner's clock >= 100ms: %d\n", other >= 100 * MS);
  printf("sleeper: spinner's > own: %d\n", other > self);
  long long ru = rusage_thread_ns();
  printf("sleeper: RUSAGE_THREAD < 50ms: %d\n", ru >= 0 && ru < 50 * MS);
  long long st = task_stat_ns();
  printf("sleeper: task stat < 50ms: %d\n", st >= 0 && st < 50 * MS);
  fflush(stdout);
  sem_post(&seen);
  sem_wait(&read_both);
  return NULL;
}

int main(void) {
  pthread_t a, b;
  sem_init(&ready, 0, 0);
  sem_init(&spun, 0, 0);
  sem_init(&seen, 0, 0);
  sem_init(&read_both, 0, 0);
  if (pthread_create(&a, NULL, spinner, NULL) || pthread_create(&b, NULL, sleeper, NULL)) {
    fprintf(stderr, "pthread_create failed\n");
    return 1;
  }
  if (pthread_getcpuclockid(a, &spinner_clock) || pthread_getcpuclockid(b, &sleeper_clock)) {
    fprintf(stderr, "pthread_getcpuclockid failed\n");
    return 1;
  }
  sem_post(&ready);
  sem_post(&ready);
  pthread_join(a, NULL);
  pthread_join(b, NULL);
  long long proc = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
  printf("process clock >= 100ms: %d\n", proc >= 100 * MS);
  printf("main: own clock < 50ms: %d\n", clock_ns(CLOCK_THREAD_CPUTIME_ID) < 50 * MS);
  printf("main: RUSAGE_THREAD < 50ms: %d\n", rusage_thread_ns() < 50 * MS);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("RUSAGE_SELF >= 100ms: %d\n", (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL +
                                           ru.ru_utime.tv_usec + ru.ru_stime.tv_usec >= 100000LL);
  printf("process stat >= 100ms: %d\n", proc_stat_ns("/proc/self/stat") >= 100 * MS);
  return 0;
}
