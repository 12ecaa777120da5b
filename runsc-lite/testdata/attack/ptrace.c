/* ptrace attacks, for TestAttackPtrace: a tracer inside the sandbox tries
 * to reach what is not the application's through its tracee (the stub's
 * image and the memory it shares with the sentry, kernel addresses in the
 * registers, a host process by its pid), and an unprivileged tracer tries
 * to attach outside YAMA's scope 1. argv[1] is a host pid (the witness),
 * argv[2] and argv[3] the stub's image and shared region, in hex.
 * Each line is "what: result". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static void res(const char *what, long r) {
	if (r == -1)
		printf("%s: %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static pid_t traced_child(void) {
	pid_t pid = fork();
	if (pid == 0) {
		ptrace(PTRACE_TRACEME, 0, 0, 0);
		raise(SIGSTOP);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return pid;
}

static void reach(pid_t pid, const char *name, unsigned long addr) {
	char what[128], path[64];
	errno = 0;
	long v = ptrace(PTRACE_PEEKDATA, pid, addr, 0);
	snprintf(what, sizeof what, "peek %s", name);
	res(what, v == -1 && errno ? -1 : 0);
	snprintf(what, sizeof what, "poke %s", name);
	res(what, ptrace(PTRACE_POKEDATA, pid, addr, 0xcc));
	snprintf(path, sizeof path, "/proc/%d/mem", pid);
	int fd = open(path, O_RDWR);
	long w = 0xcc;
	snprintf(what, sizeof what, "mem read %s", name);
	res(what, pread(fd, &w, 8, addr));
	snprintf(what, sizeof what, "mem write %s", name);
	res(what, pwrite(fd, &w, 8, addr));
	close(fd);
}

/* unprivileged: attaching as nobody to a sibling, to a sibling that allowed
 * it, to one's own child, and to init. */
static void unprivileged(void) {
	if (setgid(65534) || setuid(65534)) {
		printf("setuid: %s\n", strerrorname_np(errno));
		return;
	}
	int p[2];
	pipe(p);
	pid_t sib = fork();
	if (sib == 0) {
		char b;
		read(p[0], &b, 1);
		_exit(0);
	}
	pid_t open_sib = fork();
	if (open_sib == 0) {
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
		char b;
		read(p[0], &b, 1);
		_exit(0);
	}
	usleep(200000);
	pid_t attacker = fork();
	if (attacker == 0) {
		res("attach sibling", ptrace(PTRACE_ATTACH, sib, 0, 0));
		res("attach sibling that allowed any", ptrace(PTRACE_SEIZE, open_sib, 0, 0));
		res("attach init", ptrace(PTRACE_ATTACH, 1, 0, 0));
		res("open init's mem", open("/proc/1/mem", O_RDONLY));
		char path[64];
		snprintf(path, sizeof path, "/proc/%d/mem", sib);
		res("open sibling's mem", open(path, O_RDONLY));
		pid_t c = fork();
		if (c == 0) {
			pause();
			_exit(0);
		}
		res("attach own child", ptrace(PTRACE_ATTACH, c, 0, 0));
		kill(c, SIGKILL);
		_exit(0);
	}
	waitpid(attacker, NULL, 0);
	write(p[1], "xx", 2);
	waitpid(sib, NULL, 0);
	waitpid(open_sib, NULL, 0);
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4)
		return 2;
	pid_t host = atoi(argv[1]);
	unsigned long image = strtoul(argv[2], NULL, 16), region = strtoul(argv[3], NULL, 16);
	res("attach host pid", ptrace(PTRACE_ATTACH, host, 0, 0));
	res("seize host pid", ptrace(PTRACE_SEIZE, host, 0, 0));
	res("kill host pid", kill(host, 0));

	pid_t pid = traced_child();
	reach(pid, "stub image", image);
	reach(pid, "stub region", region);
	reach(pid, "kernel", 0xffffffff81000000ul);
	struct user_regs_struct r, r2;
	ptrace(PTRACE_GETREGS, pid, 0, &r);
	r2 = r;
	r2.cs = 0x10;
	r2.ss = 0x18;
	res("setregs kernel segments", ptrace(PTRACE_SETREGS, pid, 0, &r2));
	ptrace(PTRACE_GETREGS, pid, 0, &r2);
	printf("segments kept: %d\n", r2.cs == r.cs && r2.ss == r.ss);
	r2 = r;
	r2.fs_base = 0xffff800000000000ul;
	res("setregs kernel fs_base", ptrace(PTRACE_SETREGS, pid, 0, &r2));
	res("pokeuser debug register", ptrace(PTRACE_POKEUSER, pid, offsetof(struct user, u_debugreg[7]), 1));
	/* The tracee jumps into the stub's image: a fault it dies of, not
	 * the stub's code running for it. */
	r2 = r;
	r2.rip = image;
	ptrace(PTRACE_SETREGS, pid, 0, &r2);
	ptrace(PTRACE_CONT, pid, 0, 0);
	int st;
	waitpid(pid, &st, 0);
	if (WIFSTOPPED(st)) {
		printf("tracee at the stub's image: stopped %s\n", sigabbrev_np(WSTOPSIG(st)));
		ptrace(PTRACE_KILL, pid, 0, 0);
		waitpid(pid, &st, 0);
	}
	printf("tracee ended: %s\n", WIFSIGNALED(st) ? sigabbrev_np(WTERMSIG(st)) : "exited");
	pid_t u = fork();
	if (u == 0) {
		unprivileged();
		_exit(0);
	}
	waitpid(u, NULL, 0);
	return 0;
}
