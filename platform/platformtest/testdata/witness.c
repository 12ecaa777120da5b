/*
 * witness: a harmless native process that attack tests start next to a
 * sandbox and watch, to prove that nothing outside the sandbox was touched.
 *
 * It fills a buffer with a known pattern, counts every signal it gets, and
 * prints one line: "pid pattern-address pattern-length counters-address".
 * Then it sleeps until killed. The test reads the pattern and the counters
 * with process_vm_readv (Witness.Check in witness.go): a changed byte, a
 * counted signal, a stop or a tracer means an attack reached it.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PATTERN_LEN (4 * 4096)

static volatile uint8_t pattern[PATTERN_LEN] __attribute__((aligned(4096)));
/* counters[0] is the number of signals; counters[s] of signal s. */
static volatile uint64_t counters[65];

static void count(int sig)
{
	counters[0]++;
	if (sig > 0 && sig < 65)
		counters[sig]++;
}

int main(void)
{
	for (int i = 0; i < PATTERN_LEN; i++)
		pattern[i] = (uint8_t)(i * 7 + 13);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = count;
	sa.sa_flags = SA_RESTART;
	for (int s = 1; s < 65; s++)
		sigaction(s, &sa, NULL); /* SIGKILL, SIGSTOP and glibc's own fail */
	printf("%d %p %d %p\n", getpid(), (void *)pattern, PATTERN_LEN, (void *)counters);
	fflush(stdout);
	for (;;)
		pause();
}
