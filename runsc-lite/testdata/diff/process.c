/* Processes: fork/vfork/wait4/waitid/execve/pipe between parent and child,
 * exit statuses. No signal delivery beyond a child's exit. */
#include "common.h"
#include <sched.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <linux/kcmp.h>

#define WAIT(what, pid) do { int _st = 0; pid_t _r = waitpid(pid, &_st, 0); status(what, _r, pid, _st); } while (0)

static volatile int usr1;
static void count_usr1(int sig) { usr1++; }

/* clone3_fails tries clone3 with arguments Linux refuses, and prints the
 * errno; a child that is made anyway exits at once. */
static void clone3_fails(const char *what, void *args, size_t size) {
	errno = 0;
	long r = syscall(SYS_clone3, args, size);
	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid(r, NULL, __WALL);
	printf("clone3 %s: %s\n", what, r < 0 ? ename(errno) : "a child");
}

static void status(const char *what, pid_t r, pid_t want, int st) {
	if (r < 0) {
		printf("%s: -1 %s\n", what, ename(errno));
		return;
	}
	printf("%s: %s exited=%d code=%d signaled=%d\n", what, r == want ? "child" : "OTHER",
	       WIFEXITED(st), WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st));
}

/* exec_comm runs cat /proc/self/comm in a child, execed as path relative
 * to dirfd with flags (execveat), and prints the name the program got:
 * Linux's is the last component of the path given (bprm->filename), not
 * of a symlink's target; with AT_EMPTY_PATH, the name of the file open
 * (since Linux 6.14; "N" of "/dev/fd/N" before). */
static void exec_comm(int dirfd, const char *path, int flags) {
	pid_t pid = fork();
	if (pid == 0) {
		dup2(open("comm.out", O_CREAT | O_TRUNC | O_WRONLY, 0644), 1);
		char *args[] = {"cat", "/proc/self/comm", NULL};
		syscall(SYS_execveat, dirfd, path, args, (char *[]){NULL}, flags);
		printf("execveat: %s\n", ename(errno));
		fflush(stdout);
		_exit(99);
	}
	waitpid(pid, NULL, 0);
	char buf[64] = {0};
	int fd = open("comm.out", O_RDONLY);
	read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("comm of %s: %s", *path ? path : "(fd)", buf);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	int st = 0;
	T(wait(&st));
	T(waitpid(-1, &st, WNOHANG));
	T(waitpid(-2147483647 - 1, &st, 0));
	T(waitpid(-2147483647, &st, WNOHANG));

	/* fork: the child sees a copy of memory; its writes stay its own */
	int shared = 1;
	pid_t pid = fork();
	if (pid == 0) {
		shared = 2;
		_exit(shared + 40);
	}
	WAIT("fork/wait", pid);
	printf("parent's copy = %d\n", shared);
	T(waitpid(pid, &st, 0));

	/* a pipe between parent and child */
	int p[2];
	pipe(p);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		char msg[64];
		int n = snprintf(msg, sizeof msg, "child getppid matches: %d", getppid() > 0);
		write(p[1], msg, n);
		_exit(0);
	}
	close(p[1]);
	char buf[128] = {0};
	int n = 0, r;
	while ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
		n += r;
	printf("from child: %s (eof %d)\n", buf, r);
	close(p[0]);
	WAIT("pipe child", pid);

	/* files written by a child are visible to the parent */
	pid = fork();
	if (pid == 0) {
		int fd = open("from-child", O_CREAT | O_WRONLY, 0644);
		write(fd, "child data", 10);
		_exit(fd == 3 ? 0 : 1);
	}
	WAIT("file child", pid);
	int fd = open("from-child", O_RDONLY);
	memset(buf, 0, sizeof buf);
	T(read(fd, buf, sizeof buf));
	printf("read: %s\n", buf);
	close(fd);

	/* execve in a child, its output through a pipe */
	pipe(p);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		char *args[] = {"/bin/echo", "exec", "works", NULL};
		execve(args[0], args, (char *[]){NULL});
		_exit(99);
	}
	close(p[1]);
	memset(buf, 0, sizeof buf);
	n = 0;
	while ((r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
		n += r;
	printf("exec output: %s", buf);
	close(p[0]);
	WAIT("exec child", pid);

	/* the name an execed program takes */
	T(symlink("/bin/cat", "catlink"));
	T(symlink("/bin/cat", "a-symlink-with-a-long-name"));
	exec_comm(AT_FDCWD, "catlink", 0);
	exec_comm(AT_FDCWD, "./a-symlink-with-a-long-name", 0);
	exec_comm(AT_FDCWD, "/bin/cat", 0);
	int dot = open(".", O_RDONLY | O_DIRECTORY);
	exec_comm(dot, "catlink", 0);
	close(dot);
	T(dup2(open("catlink", O_RDONLY), 42));
	exec_comm(42, "", AT_EMPTY_PATH);
	close(42);

	/* setpgid of a child: allowed until it runs execve, EACCES after
	 * (LTP setpgid03) */
	for (int execs = 0; execs < 2; execs++) {
		int in[2], ready[2];
		pipe(in);
		pipe2(ready, O_CLOEXEC);
		pid = fork();
		if (pid == 0) {
			dup2(in[0], 0);
			close(in[1]);
			if (execs) {
				char *args[] = {"/bin/sh", "-c", "read x", NULL};
				execve(args[0], args, (char *[]){NULL});
			} else {
				close(ready[1]); /* as execve would */
				read(0, buf, 1);
			}
			_exit(0);
		}
		close(in[0]);
		close(ready[1]);
		read(ready[0], buf, 1); /* EOF once the child closed it */
		printf("%s: ", execs ? "after execve" : "before execve");
		T(setpgid(pid, pid));
		printf("%s: ", execs ? "after execve" : "before execve");
		T(setpgid(pid, 0));
		close(in[1]);
		close(ready[0]);
		WAIT("setpgid child", pid);
	}

	/* execve failures in the child */
	pid = fork();
	if (pid == 0) {
		char *args[] = {"x", NULL};
		int e1 = execve("/nonexistent", args, NULL) ? errno : 0;
		int e2 = execve("/usr", args, NULL) ? errno : 0;
		int e3 = execve("from-child", args, NULL) ? errno : 0; /* 0644 */
		chmod("from-child", 0755);
		int e4 = execve("from-child", args, NULL) ? errno : 0; /* not ELF */
		printf("execve errors: %s %s %s %s\n", ename(e1), ename(e2), ename(e3), ename(e4));
		fflush(stdout);
		_exit(7);
	}
	WAIT("failing exec", pid);

	/* vfork + _exit, and several children reaped in any order */
	pid = vfork();
	if (pid == 0)
		_exit(5);
	WAIT("vfork", pid);
	int codes = 0;
	for (int i = 0; i < 3; i++)
		if (fork() == 0)
			_exit(10 + i);
	for (int i = 0; i < 3; i++) {
		if (wait(&st) > 0 && WIFEXITED(st))
			codes += WEXITSTATUS(st);
	}
	printf("sum of three children's codes = %d\n", codes);
	T(wait(&st));

	/* waitid */
	pid = fork();
	if (pid == 0)
		_exit(3);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	T(waitid(P_PID, pid, &si, WEXITED));
	printf("waitid: code=%s status=%d pid matches=%d\n", si.si_code == CLD_EXITED ? "CLD_EXITED" : "?",
	       si.si_status, si.si_pid == pid);
	T(waitid(P_ALL, 0, &si, 0));
	T(waitid(P_ALL, 0, &si, WEXITED));
	T(waitpid(pid, BAD, 0));

	/* clone3's checks of struct clone_args (fields: flags, pidfd,
	 * child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid,
	 * set_tid_size, cgroup), none of which makes a child */
	unsigned long long ca[16] = {0}, tid = 1;
	static char stk[4096];
#define ARGS(fl, sig, st, ss, settid, nsettid)                                              \
	(memset(ca, 0, sizeof ca), ca[0] = (fl), ca[4] = (sig), ca[5] = (unsigned long long)(st), \
	 ca[6] = (ss), ca[8] = (unsigned long long)(settid), ca[9] = (nsettid), (void *)ca)
	clone3_fails("size 4097", ARGS(0, SIGCHLD, 0, 0, 0, 0), 4097);
	clone3_fails("size 63", ARGS(0, SIGCHLD, 0, 0, 0, 0), 63);
	((char *)ARGS(0, 65, 0, 0, 0, 0))[100] = 1;
	clone3_fails("unknown field set, bad signal", ca, 128);
	clone3_fails("CLONE_DETACHED", ARGS(CLONE_DETACHED, SIGCHLD, 0, 0, 0, 0), 64);
	clone3_fails("signal in flags", ARGS(SIGCHLD, 0, 0, 0, 0, 0), 64);
	clone3_fails("signal 65", ARGS(0, 65, 0, 0, 0, 0), 64);
	clone3_fails("signal upper bits", ARGS(0, (1ULL << 32) | SIGCHLD, 0, 0, 0, 0), 64);
	clone3_fails("CLONE_PARENT with a signal", ARGS(CLONE_PARENT, SIGCHLD, 0, 0, 0, 0), 64);
	clone3_fails("stack size without stack", ARGS(0, SIGCHLD, 0, 4096, 0, 0), 64);
	clone3_fails("stack without size", ARGS(0, SIGCHLD, stk, 0, 0, 0), 64);
	clone3_fails("stack past the top", ARGS(0, SIGCHLD, 0x7fffffffe000ULL, 0x2000, 0, 0), 64);
	clone3_fails("stack wrapping", ARGS(0, SIGCHLD, -4096LL, 0x2000, 0, 0), 64);
	clone3_fails("set_tid_size 33", ARGS(0, SIGCHLD, 0, 0, &tid, 33), 80);
	clone3_fails("set_tid_size without set_tid", ARGS(0, SIGCHLD, 0, 0, 0, 1), 80);
	clone3_fails("set_tid without set_tid_size", ARGS(0, SIGCHLD, 0, 0, &tid, 0), 80);
	clone3_fails("CLONE_SIGHAND with CLONE_CLEAR_SIGHAND", ARGS(CLONE_SIGHAND | 0x100000000ULL, SIGCHLD, 0, 0, 0, 0), 64);
	clone3_fails("CLONE_INTO_CGROUP in 64 bytes", ARGS(0x200000000ULL, SIGCHLD, 0, 0, 0, 0), 64);
	clone3_fails("bad address", BAD, 64);

	/* a CLONE_PARENT sibling ends with its creator's exit signal
	 * (SIGCHLD), not the one asked for: a plain wait reaps both */
	signal(SIGUSR1, count_usr1);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (syscall(SYS_clone, CLONE_PARENT | SIGUSR1, 0, 0, 0, 0) == 0)
			_exit(7);
		_exit(0);
	}
	int reaped = 0, sevens = 0;
	while (waitpid(-1, &st, 0) > 0) {
		reaped++;
		sevens += WIFEXITED(st) && WEXITSTATUS(st) == 7;
	}
	printf("CLONE_PARENT: %d reaped by a plain wait, %d of them the sibling, %d SIGUSR1\n", reaped, sevens, usr1);

	/* a child whose exit signal is not SIGCHLD is a "clone" child: only
	 * __WCLONE or __WALL waits see it */
	fflush(stdout);
	pid = syscall(SYS_clone, SIGUSR1, 0, 0, 0, 0);
	if (pid == 0)
		_exit(5);
	T(waitpid(-1, &st, 0));
	T(waitpid(pid, &st, WNOHANG));
	siginfo_t wi;
	T(waitid(P_PID, pid, &wi, WEXITED | WNOHANG));
	int got = waitpid(pid, &st, __WCLONE) == pid;
	printf("__WCLONE reaps it: %d, status %d\n", got, WEXITSTATUS(st));
	printf("SIGUSR1 on its exit: %d\n", usr1);
	pid = syscall(SYS_clone, 0, 0, 0, 0, 0);
	if (pid == 0)
		_exit(6);
	got = waitpid(-1, &st, __WALL) == pid;
	printf("__WALL reaps one with no exit signal: %d, status %d\n", got, WEXITSTATUS(st));
	pid = fork();
	if (pid == 0)
		_exit(8);
	T(waitpid(-1, &st, __WCLONE | WNOHANG));
	got = waitpid(-1, &st, 0) == pid;
	printf("a plain child is not a clone child: %d, status %d\n", got, WEXITSTATUS(st));

	/* a zombie (exited, not reaped) is still found by its PID */
	pid = fork();
	if (pid == 0)
		_exit(0);
	T(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	struct sched_param sp = {.sched_priority = 7};
	T(sched_getparam(pid, &sp));
	printf("zombie's priority: %d\n", sp.sched_priority);
	T(sched_getscheduler(pid));
	T(sched_setparam(pid, &(struct sched_param){0}));
	errno = 0;
	printf("zombie's nice: %d %s\n", getpriority(PRIO_PROCESS, pid), ename(errno));
	T(setpriority(PRIO_PROCESS, pid, 1));
	printf("zombie's process group and session are its parent's: %d %d\n", getpgid(pid) == getpgrp(), getsid(pid) == getsid(0));
	cpu_set_t cpus;
	T(sched_getaffinity(pid, sizeof cpus, &cpus));
	struct timespec slice;
	T(sched_rr_get_interval(pid, &slice));
	T(syscall(SYS_tgkill, pid, pid, 0));
	T(syscall(SYS_tgkill, pid, pid, SIGUSR1));
	void *robust;
	size_t robust_len;
	T(syscall(SYS_get_robust_list, pid, &robust, &robust_len));
	struct rlimit zl = {.rlim_cur = 64, .rlim_max = 128};
	T(prlimit(pid, RLIMIT_NOFILE, &zl, NULL));
	T(prlimit(pid, RLIMIT_NOFILE, NULL, &zl));
	printf("zombie's RLIMIT_NOFILE: %ld %ld\n", (long)zl.rlim_cur, (long)zl.rlim_max);
	T(syscall(SYS_kcmp, pid, pid, KCMP_VM, 0, 0));
	T(syscall(SYS_kcmp, getpid(), pid, KCMP_FS, 0, 0) != 0);
	T(syscall(SYS_kcmp, pid, pid, KCMP_FILE, 0, 0));
	T(syscall(SYS_kcmp, getpid(), pid, KCMP_SIGHAND, 0, 0) != 0);
	T(setpgid(pid, pid));
	printf("zombie's own group: %d\n", getpgid(pid) == pid);
	T(waitpid(pid, &st, 0) == pid);
	T(sched_getparam(pid, &sp));
	T(getpgid(pid));
	/* a process group of zombies only is found too */
	pid = fork();
	if (pid == 0) {
		setpgid(0, 0);
		_exit(0);
	}
	T(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	T(kill(-pid, 0));
	T(kill(-pid, SIGUSR1));
	T(kill(-pid, 99));
	errno = 0;
	printf("nice of the zombies' group: %d %s\n", getpriority(PRIO_PGRP, pid), ename(errno));
	/* another child may join it */
	pid_t joiner = fork();
	if (joiner == 0) {
		pause();
		_exit(0);
	}
	T(setpgid(joiner, pid));
	printf("joined the zombies' group: %d\n", getpgid(joiner) == pid);
	/* another process's limits: as root, or as its owner only */
	struct rlimit jl = {.rlim_cur = 100, .rlim_max = 200};
	T(prlimit(joiner, RLIMIT_NOFILE, &jl, NULL));
	T(prlimit(joiner, RLIMIT_NOFILE, NULL, &jl));
	printf("its RLIMIT_NOFILE: %ld %ld\n", (long)jl.rlim_cur, (long)jl.rlim_max);
	T(prlimit(99999999, RLIMIT_NOFILE, NULL, &jl));
	pid_t other = fork();
	if (other == 0) {
		if (setresuid(1000, 1000, 1000) == 0) {
			T(prlimit(joiner, RLIMIT_NOFILE, NULL, &jl));
			T(prlimit(0, RLIMIT_NOFILE, NULL, &jl));
		}
		fflush(stdout);
		_exit(0);
	}
	T(waitpid(other, &st, 0) == other);
	kill(joiner, SIGKILL);
	T(waitpid(joiner, &st, 0) == joiner);
	T(waitpid(pid, &st, 0) == pid);
	T(kill(-pid, 0));
	fflush(stdout);
	return 0;
}
