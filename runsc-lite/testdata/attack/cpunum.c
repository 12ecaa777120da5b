/* cpunum: the CPU numbers a program can learn (getcpu through the vDSO
 * and as a system call, sched_getaffinity) against the CPUs it is told it
 * has. Run in a sandbox started inside a host cpuset that does not begin
 * at CPU 0: the host's numbering must not show. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
	long conf = sysconf(_SC_NPROCESSORS_CONF);
	cpu_set_t set;
	int top = -1;
	if (sched_getaffinity(0, sizeof set, &set) == 0)
		for (int i = 0; i < CPU_SETSIZE; i++)
			if (CPU_ISSET(i, &set))
				top = i;
	unsigned most = 0;
	for (int i = 0; i < 1000; i++) {
		unsigned v = ~0u, s = ~0u;
		getcpu(&v, NULL);
		syscall(SYS_getcpu, &s, NULL, NULL);
		most = v > most ? v : most;
		most = s > most ? s : most;
	}
	printf("cpus %ld, highest allowed %d, highest getcpu %u\n", conf, top, most);
	return most < conf && top < conf ? 0 : 1;
}
