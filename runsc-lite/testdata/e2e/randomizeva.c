/* randomizeva: root in the sandbox sets kernel.randomize_va_space, and
 * the next execs are laid out as it says: at 0 nothing moves from run to
 * run, at 1 the program (a PIE), the stack and the mmap area move but the
 * heap stays right after the program, at 2 the heap moves too. Values
 * outside 0..2 and text are EINVAL (proc_dointvec_minmax), another user
 * may read it but not open it for writing. Never run natively (it changes
 * the host's sysctl); randomizeva.out is what Linux's rules say. Build it
 * as a PIE (not -static). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "../diff/common.h"
#include "../diff/layout.h"

static const char *va = "/proc/sys/kernel/randomize_va_space";

/* put writes v into randomize_va_space: 0, or -1 with errno. */
static int put(const char *v) { return put_text(va, v) < 0 ? -1 : 0; }

/* layout says what moved in three runs at setting v. */
static void layout(const char *v) {
	printf("set %s: %s\n", v, put(v) == 0 ? "ok" : strerror(errno));
	struct where w[3];
	for (int i = 0; i < 3; i++)
		if (layout_run(-1, &w[i])) {
			printf("probe failed\n");
			return;
		}
#define MOVED(f) (w[0].f != w[1].f || w[0].f != w[2].f ? "moves" : "stays")
	printf("  program %s, stack %s, mmap area %s, heap %s\n", MOVED(base), MOVED(stack), MOVED(mmap), MOVED(heap));
}

static void show(void) {
	char buf[16] = {0};
	int fd = open(va, O_RDONLY);
	read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("randomize_va_space: %s", buf);
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "--probe") == 0)
		return layout_probe();
	setvbuf(stdout, NULL, _IOLBF, 0);
	show();
	layout("0");
	layout("1");
	layout("2");
	const char *bad[] = {"3", "-1", "x", "10000000000"};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		printf("set %s: %s\n", bad[i], put(bad[i]) == 0 ? "ok" : strerror(errno));
	show();
	pid_t c = fork();
	if (c == 0) {
		if (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(1);
		show();
		printf("nobody sets 0: %s\n", put("0") == 0 ? "ok" : strerror(errno));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	return 0;
}
