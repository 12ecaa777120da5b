/* System: uname/getrandom/rlimits/sched_getaffinity/prctl/sysinfo/sysfs/ustat. */
#include "common.h"
#include <sched.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
	setup(argc, argv);
	struct utsname u;
	T(uname(&u));
	printf("sysname=%s machine=%s\n", u.sysname, u.machine);
	CHECK(strlen(u.release) > 0 && strlen(u.nodename) > 0);
	T(uname(BAD));

	/* getrandom */
	unsigned char r1[64] = {0}, r2[64] = {0};
	T(getrandom(r1, sizeof r1, 0));
	T(getrandom(r2, sizeof r2, GRND_NONBLOCK));
	CHECK(memcmp(r1, r2, sizeof r1) != 0);
	int zeros = 0;
	for (int i = 0; i < 64; i++)
		zeros += r1[i] == 0;
	CHECK(zeros < 16);
	T(getrandom(r1, 0, 0));
	T(getrandom(r1, 16, GRND_RANDOM));
	T(getrandom(r1, 16, 0x100));
	T(getrandom(BAD, 16, 0));

	/* rlimits */
	struct rlimit rl, old;
	T(getrlimit(RLIMIT_NOFILE, &rl));
	CHECK(rl.rlim_cur <= rl.rlim_max);
	CHECK(rl.rlim_cur >= 64);
	T(prlimit(0, RLIMIT_NOFILE, NULL, &old));
	CHECK(old.rlim_cur == rl.rlim_cur && old.rlim_max == rl.rlim_max);
	struct rlimit low = {64, rl.rlim_max};
	T(setrlimit(RLIMIT_NOFILE, &low));
	T(getrlimit(RLIMIT_NOFILE, &rl));
	printf("NOFILE soft = %ld\n", (long)rl.rlim_cur);
	int last = -1;
	for (;;) {
		int fd = dup(0);
		if (fd < 0) {
			printf("dup until failure: last=%d errno=%s\n", last, ename(errno));
			break;
		}
		last = fd;
	}
	T(open("/etc/passwd", O_RDONLY));
	for (int fd = 3; fd <= last; fd++)
		close(fd);
	struct rlimit inverted = {rl.rlim_max, 10};
	T(setrlimit(RLIMIT_NOFILE, &inverted));
	struct rlimit higher = {rl.rlim_max, rl.rlim_max};
	T(prlimit(0, RLIMIT_NOFILE, &higher, &old));
	printf("old soft = %ld\n", (long)old.rlim_cur);
	T(getrlimit(99, &rl));
	T(getrlimit(RLIMIT_NOFILE, BAD));
	T(setrlimit(RLIMIT_NOFILE, BAD));
	T(prlimit(0x3fffffff, RLIMIT_NOFILE, NULL, &old));
	T(getrlimit(RLIMIT_STACK, &rl));
	CHECK(rl.rlim_cur > 0);
	struct rlimit cpu;
	T(getrlimit(RLIMIT_CPU, &cpu));
	CHECK(cpu.rlim_cur == RLIM_INFINITY);

	/* scheduling */
	cpu_set_t set;
	CPU_ZERO(&set);
	T(sched_getaffinity(0, sizeof set, &set) == 0);
	CHECK(CPU_COUNT(&set) > 0);
	T(syscall(SYS_sched_getaffinity, 0, sizeof set, &set) > 0);
	T(syscall(SYS_sched_getaffinity, 0, 0, &set));
	T(syscall(SYS_sched_getaffinity, 0, 3, &set));
	T(syscall(SYS_sched_getaffinity, 0, sizeof set, BAD));
	T(syscall(SYS_sched_getaffinity, 0x3fffffff, sizeof set, &set));
	/* A mask of one CPU is kept: getaffinity reads it back, getcpu(2)
	 * answers that CPU, a child inherits it, /proc/self/status shows it;
	 * a mask of CPUs the machine lacks is EINVAL. */
	int lastcpu = CPU_COUNT(&set) - 1;
	cpu_set_t one, back;
	CPU_ZERO(&one);
	CPU_SET(lastcpu, &one);
	T(sched_setaffinity(0, sizeof one, &one));
	CPU_ZERO(&back);
	T(sched_getaffinity(0, sizeof back, &back));
	printf("kept one CPU: %d\n", CPU_EQUAL(&one, &back));
	unsigned cpuid = ~0u, node = ~0u;
	T(syscall(SYS_getcpu, &cpuid, &node, NULL));
	printf("getcpu: the last CPU %d, node %u\n", cpuid == (unsigned)lastcpu, node);
	T(syscall(SYS_getcpu, BAD, NULL, NULL));
	fflush(stdout);
	if (fork() == 0) {
		CPU_ZERO(&back);
		sched_getaffinity(0, sizeof back, &back);
		printf("child inherits it: %d\n", CPU_EQUAL(&one, &back));
		_exit(0);
	}
	wait(NULL);
	FILE *status = fopen("/proc/self/status", "r");
	char line[256], want[64];
	snprintf(want, sizeof want, "Cpus_allowed_list:\t%d\n", lastcpu);
	int shown = 0;
	while (status && fgets(line, sizeof line, status))
		shown |= strcmp(line, want) == 0;
	if (status)
		fclose(status);
	printf("status shows it: %d\n", shown);
	CPU_ZERO(&one);
	CPU_SET(1000, &one);
	T(sched_setaffinity(0, sizeof one, &one));
	T(sched_setaffinity(0, sizeof set, &set));
	T(sched_yield());
	T(sched_getscheduler(0));
	CHECK(sysconf(_SC_NPROCESSORS_ONLN) > 0);

	/* prctl */
	char name[32] = {0};
	T(prctl(PR_SET_NAME, "difftest-name-that-is-long"));
	T(prctl(PR_GET_NAME, name));
	printf("name = %s\n", name);
	T(prctl(PR_GET_DUMPABLE));
	T(prctl(0x7fffffff));
	T(prctl(PR_GET_NAME, BAD));
	/* Timer slack: per thread; a child starts with its parent's, which
	 * is also what 0 restores there (the default is the host's 50 us
	 * natively, which the harness's own slack could change). */
	long slack0 = prctl(PR_GET_TIMERSLACK);
	T(prctl(PR_SET_TIMERSLACK, 200000));
	T(prctl(PR_GET_TIMERSLACK));
	pid_t slackchild = fork();
	if (slackchild == 0) {
		T(prctl(PR_GET_TIMERSLACK));
		T(prctl(PR_SET_TIMERSLACK, 7));
		T(prctl(PR_GET_TIMERSLACK));
		T(prctl(PR_SET_TIMERSLACK, 0));
		T(prctl(PR_GET_TIMERSLACK));
		exit(0);
	}
	waitpid(slackchild, NULL, 0);
	T(prctl(PR_SET_TIMERSLACK, 0));
	CHECK(prctl(PR_GET_TIMERSLACK) == slack0);

	/* sysinfo */
	struct sysinfo si;
	T(sysinfo(&si));
	CHECK(si.totalram > 0 && si.mem_unit > 0 && si.uptime > 0);
	T(sysinfo(BAD));
	T(umask(027) == 022);
	T(umask(022));
	/* sysfs(2): names and indexes of the filesystem types agree; ustat(2)
	 * of the working directory's device. */
	long types = syscall(SYS_sysfs, 3);
	CHECK(types > 0);
	int agree = 1;
	for (long i = 0; i < types; i++) {
		char name[64] = "";
		if (syscall(SYS_sysfs, 2, i, name) != 0 || syscall(SYS_sysfs, 1, name) != i)
			agree = 0;
	}
	CHECK(agree);
	T(syscall(SYS_sysfs, 1, "nosuchfs"));
	char tname[64];
	T(syscall(SYS_sysfs, 2, types, tname));
	T(syscall(SYS_sysfs, 2, 0, BAD));
	T(syscall(SYS_sysfs, 1, BAD));
	T(syscall(SYS_sysfs, 4));
	struct stat dst;
	T(stat(".", &dst));
	char ust[32];
	T(syscall(SYS_ustat, (unsigned)dst.st_dev, ust));
	T(syscall(SYS_ustat, (unsigned)dst.st_dev, BAD));
	T(syscall(SYS_ustat, 0xfffff, ust));
	return 0;
}
