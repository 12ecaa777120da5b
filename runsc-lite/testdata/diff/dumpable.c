/* PR_SET_DUMPABLE keeps a process of the same user out (needs a root host
 * to become uid 1000): with it 0, another uid-1000 process's ptrace attach
 * and process_vm_readv are EPERM, kill still works; set back to 1, they
 * work again, and its /proc/PID/mem and pagemap are root's while it is 0.
 * PR_GET_DUMPABLE reports the setting; fork keeps it. */
#define _GNU_SOURCE
#include "common.h"
#include <grp.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

static long secret = 0x5ec7e7;

static void become_user(void) {
	if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
		perror("setresuid");
		_exit(1);
	}
}

static const char *capeff(void) {
	static char line[128];
	FILE *f = fopen("/proc/self/status", "r");
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "CapEff:", 7) == 0) {
			line[strcspn(line, "\n")] = 0;
			fclose(f);
			return line + 8;
		}
	return "?";
}

/* probe tries, as another uid-1000 process, to reach target. */
static void probe(pid_t target, const char *state) {
	pid_t p = fork();
	if (p == 0) {
		become_user();
		printf("%s: CapEff of the prober %s\n", state, capeff());
		long got = 0;
		struct iovec local = {&got, sizeof got}, remote = {&secret, sizeof secret};
		errno = 0;
		ssize_t n = process_vm_readv(target, &local, 1, &remote, 1, 0);
		printf("%s: process_vm_readv = %zd %s%s\n", state, n, n < 0 ? ename(errno) : "",
		       n > 0 && got == secret ? "(the secret)" : "");
		errno = 0;
		long r = ptrace(PTRACE_ATTACH, target, 0, 0);
		printf("%s: PTRACE_ATTACH = %ld %s\n", state, r, r < 0 ? ename(errno) : "");
		if (r == 0) {
			int st;
			waitpid(target, &st, 0);
			ptrace(PTRACE_DETACH, target, 0, 0);
		}
		printf("%s: kill(0) = %d\n", state, kill(target, 0));
		const char *files[] = {"mem", "pagemap"};
		for (int i = 0; i < 2; i++) {
			char path[64];
			struct stat sb;
			snprintf(path, sizeof path, "/proc/%d/%s", target, files[i]);
			if (stat(path, &sb) != 0)
				printf("%s: stat %s: %s\n", state, files[i], ename(errno));
			else
				printf("%s: %s owned by %s\n", state, files[i],
				       sb.st_uid == 0 ? "root" : sb.st_uid == getuid() ? "the user" : "another");
		}
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
}

int main(void) {
	setvbuf(stdout, NULL, _IONBF, 0);
	int cmd[2], ack[2];
	if (pipe(cmd) || pipe(ack))
		return 1;
	pid_t a = fork();
	if (a == 0) {
		close(cmd[1]);
		close(ack[0]);
		become_user();
		prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY); /* for a host with YAMA */
		char c;
		while (read(cmd[0], &c, 1) == 1) {
			int r = prctl(PR_SET_DUMPABLE, c - '0');
			char out = (char)('0' + prctl(PR_GET_DUMPABLE));
			if (r)
				out = 'E';
			write(ack[1], &out, 1);
		}
		_exit(0);
	}
	const char *states[] = {"1", "0", "1"};
	for (int i = 0; i < 3; i++) {
		char c = states[i][0], got;
		write(cmd[1], &c, 1);
		read(ack[0], &got, 1);
		char name[32];
		snprintf(name, sizeof name, "dumpable %c (reads %c)", c, got);
		probe(a, name);
	}
	int r2 = prctl(PR_SET_DUMPABLE, 2);
	printf("PR_SET_DUMPABLE 2: %d %s\n", r2, ename(errno));
	prctl(PR_SET_DUMPABLE, 0);
	pid_t f = fork();
	if (f == 0)
		_exit(prctl(PR_GET_DUMPABLE));
	int st;
	waitpid(f, &st, 0);
	printf("a forked child of a non-dumpable process reads %d\n", WEXITSTATUS(st));
	prctl(PR_SET_DUMPABLE, 1);
	close(cmd[1]);
	waitpid(a, &st, 0);
	return 0;
}
