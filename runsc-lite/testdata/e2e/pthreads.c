#include <pthread.h>
#include <stdio.h>
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long counter, turn;
static void *work(void *arg) {
  long id = (long)arg;
  for (int i = 0; i < 2000; i++) {
    pthread_mutex_lock(&mu);
    counter++;
    if (i % 100 == 0) { turn++; pthread_cond_broadcast(&cv); }
    pthread_mutex_unlock(&mu);
  }
  pthread_mutex_lock(&mu);
  while (turn < 20) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return (void*)id;
}
int main(void) {
  pthread_t th[8]; long sum = 0;
  for (long i = 0; i < 8; i++) pthread_create(&th[i], 0, work, (void*)i);
  for (int i = 0; i < 8; i++) { void *r; pthread_join(th[i], &r); sum += (long)r; }
  printf("counter=%ld sum=%ld\n", counter, sum);
  return 0;
}
