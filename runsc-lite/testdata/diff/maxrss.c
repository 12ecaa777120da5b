/* High-water marks of memory: ru_maxrss (getrusage, wait4, waitid) and
 * /proc/self/status's VmHWM and VmPeak. Absolute sizes differ between a
 * native run and the sandbox's, so only comparisons are printed: a peak
 * at least what was touched, a mark kept after munmap, a forked child's
 * marks starting again, a child's peak reaching its parent only through
 * wait, the largest child's and not a sum, a grandchild's through its
 * parent, the process's marks kept across execve while the new program's
 * VmHWM and VmPeak start again. */
#include "common.h"
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#define MiB (1L << 20)
#define KiB(b) ((b) / 1024)

/* vm is the Vm lines of one read of /proc/self/status, in kB (-1: none). */
struct vm {
	long peak, size, hwm, rss;
};

static struct vm status(void) {
	struct vm v = {-1, -1, -1, -1};
	struct {
		const char *name;
		long *at;
	} lines[] = {{"VmPeak:", &v.peak}, {"VmSize:", &v.size}, {"VmHWM:", &v.hwm}, {"VmRSS:", &v.rss}};
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		for (int i = 0; i < 4; i++)
			if (!strncmp(line, lines[i].name, strlen(lines[i].name)))
				*lines[i].at = strtol(line + strlen(lines[i].name), NULL, 10);
	if (f)
		fclose(f);
	return v;
}

static long maxrss(int who) {
	struct rusage ru;
	if (getrusage(who, &ru) < 0)
		return -1;
	return ru.ru_maxrss;
}

/* touch maps bytes of anonymous memory and writes every page, keeping it
 * mapped; release unmaps it. */
static char *touch(long bytes) {
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		printf("mmap: %s\n", ename(errno));
		exit(1);
	}
	memset(p, 1, bytes);
	return p;
}

/* child runs fn in a child and returns its pid. */
static pid_t child(void (*fn)(long), long arg) {
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		fn(arg);
		fflush(stdout);
		_exit(0);
	}
	return pid;
}

static void touch_and_exit(long bytes) { munmap(touch(bytes), bytes); }

/* fresh_marks runs in a child forked after its parent's 32 MiB went:
 * a forked mm's marks start at what it has (dup_mm). */
static void fresh_marks(long unused) {
	struct vm v = status();
	CHECK(v.hwm < KiB(32 * MiB));
	CHECK(v.peak < v.size + KiB(32 * MiB));
	CHECK(maxrss(RUSAGE_SELF) < KiB(32 * MiB));
}

/* parent_of touches nothing itself: its child touches bytes, and it waits
 * for it, so its own RUSAGE_CHILDREN holds the grandchild's peak. */
static void parent_of(long bytes) {
	int st;
	pid_t pid = child(touch_and_exit, bytes);
	waitpid(pid, &st, 0);
	CHECK(maxrss(RUSAGE_CHILDREN) >= KiB(bytes));
}

/* after_exec runs in the program execve'd by the first one, which touched
 * 32 MiB and waited for children up to 80 MiB. */
static void after_exec(void) {
	CHECK(maxrss(RUSAGE_SELF) >= KiB(32 * MiB));
	CHECK(maxrss(RUSAGE_CHILDREN) >= KiB(80 * MiB));
	struct vm v = status();
	CHECK(v.hwm < KiB(32 * MiB));
	CHECK(v.hwm >= v.rss);
	CHECK(v.peak < KiB(32 * MiB));
	CHECK(v.peak >= v.size);
}

int main(int argc, char **argv) {
	if (argc > 2 && !strcmp(argv[2], "execed")) {
		after_exec();
		return 0;
	}
	CHECK(maxrss(RUSAGE_SELF) > 0);
	CHECK(maxrss(RUSAGE_CHILDREN) == 0);
	struct vm v = status();
	CHECK(v.hwm > 0);
	CHECK(v.hwm >= v.rss);
	CHECK(v.peak >= v.size);

	/* The process's own peak: while mapped, and after munmap. */
	char *p = touch(32 * MiB);
	CHECK(maxrss(RUSAGE_SELF) >= KiB(32 * MiB));
	struct vm mapped = status();
	CHECK(mapped.hwm >= KiB(32 * MiB));
	CHECK(mapped.peak >= mapped.size);
	munmap(p, 32 * MiB);
	v = status();
	CHECK(v.rss < KiB(32 * MiB));
	CHECK(v.hwm >= KiB(32 * MiB));
	CHECK(v.hwm >= v.rss);
	CHECK(v.peak >= mapped.size);
	CHECK(v.peak >= v.size + KiB(32 * MiB));
	CHECK(maxrss(RUSAGE_SELF) >= KiB(32 * MiB));
	CHECK(maxrss(RUSAGE_THREAD) >= KiB(32 * MiB));
	CHECK(maxrss(RUSAGE_SELF) < KiB(48 * MiB));

	int st;
	pid_t pid = child(fresh_marks, 0);
	waitpid(pid, &st, 0);

	/* A child's peak: wait4's rusage, then RUSAGE_CHILDREN; not the
	 * parent's own. */
	struct rusage ru;
	pid = child(touch_and_exit, 64 * MiB);
	CHECK(wait4(pid, &st, 0, &ru) == pid);
	CHECK(ru.ru_maxrss >= KiB(64 * MiB));
	CHECK(maxrss(RUSAGE_CHILDREN) >= KiB(64 * MiB));
	CHECK(maxrss(RUSAGE_SELF) < KiB(48 * MiB));

	/* waitid's rusage (the raw syscall's fifth argument). */
	pid = child(touch_and_exit, 64 * MiB);
	siginfo_t si;
	memset(&ru, 0, sizeof ru);
	CHECK(syscall(SYS_waitid, P_PID, pid, &si, WEXITED, &ru) == 0);
	CHECK(ru.ru_maxrss >= KiB(64 * MiB));

	/* A grandchild's peak reaches the parent through its own parent's
	 * wait: the largest, not the sum. */
	pid = child(parent_of, 80 * MiB);
	memset(&ru, 0, sizeof ru);
	CHECK(wait4(pid, &st, 0, &ru) == pid);
	CHECK(ru.ru_maxrss >= KiB(80 * MiB));
	CHECK(maxrss(RUSAGE_CHILDREN) >= KiB(80 * MiB));
	CHECK(maxrss(RUSAGE_CHILDREN) < KiB(128 * MiB));

	/* A child not waited for counts nothing. */
	pid = child(touch_and_exit, 96 * MiB);
	CHECK(waitid(P_PID, pid, &si, WEXITED | WNOWAIT) == 0);
	CHECK(maxrss(RUSAGE_CHILDREN) < KiB(96 * MiB));
	waitpid(pid, &st, 0);
	CHECK(maxrss(RUSAGE_CHILDREN) >= KiB(96 * MiB));

	/* execve keeps the process's marks; the new program's VmHWM and
	 * VmPeak are its own. */
	fflush(stdout);
	char *args[] = {argv[0], argv[1], "execed", NULL};
	execv("/proc/self/exe", args);
	printf("execv: %s\n", ename(errno));
	return 1;
}
