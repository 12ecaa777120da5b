/* dnotify: fcntl F_NOTIFY on directories: each DN_* event from the
 * operations that make it (on entries and on the directory itself),
 * single-shot and DN_MULTISHOT requests, masks that add up, F_NOTIFY 0
 * and close removing a request, SIGIO and F_SETSIG's signal with si_fd
 * and si_code, renames inside one directory (DN_RENAME) and across two
 * (DN_DELETE and DN_CREATE only), errors. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>

static volatile int sigio, rt, last_fd, last_code;

static void on_io(int sig) { sigio++; }

static void on_rt(int sig, siginfo_t *si, void *uc) {
	rt++;
	last_fd = si->si_fd;
	last_code = si->si_code;
}

/* got prints and clears the signals that arrived since the last call. */
static void got(const char *what) {
	printf("%-36s sigio=%d rt=%d", what, sigio, rt);
	if (rt)
		printf(" fd=%s code=%s", last_fd < 0 ? "?" : "ok", last_code == POLL_MSG ? "POLL_MSG" : "other");
	printf("\n");
	sigio = rt = 0;
	last_fd = -1;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	signal(SIGIO, on_io);
	struct sigaction sa = {0};
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 1, &sa, NULL);

	mkdir("d", 0755);
	mkdir("e", 0755);
	close(open("d/f", O_CREAT | O_RDWR, 0644));
	int file = open("d/f", O_RDWR);
	int path = open("d", O_PATH);
	printf("-- errors\n");
	T(fcntl(file, F_NOTIFY, DN_MODIFY));
	T(fcntl(path, F_NOTIFY, DN_MODIFY));
	T(fcntl(file, F_NOTIFY, 0));
	T(fcntl(-1, F_NOTIFY, DN_MODIFY));

	int d = open("d", O_RDONLY | O_DIRECTORY);
	printf("-- single shot, SIGIO\n");
	T(fcntl(d, F_NOTIFY, DN_CREATE));
	close(open("d/g", O_CREAT | O_WRONLY, 0644));
	got("create d/g");
	close(open("d/h", O_CREAT | O_WRONLY, 0644));
	got("create d/h (spent)");

	printf("-- multishot\n");
	T(fcntl(d, F_NOTIFY, DN_CREATE | DN_DELETE | DN_MULTISHOT));
	mkdir("d/sub", 0755);
	got("mkdir d/sub");
	unlink("d/h");
	got("unlink d/h");
	rmdir("d/sub");
	got("rmdir d/sub");
	symlink("f", "d/link");
	got("symlink d/link");
	write(file, "x", 1);
	got("write d/f (not asked)");
	T(fcntl(d, F_NOTIFY, DN_MODIFY | DN_MULTISHOT));
	write(file, "x", 1);
	got("write d/f (added)");
	unlink("d/link");
	got("unlink d/link (kept)");

	printf("-- F_SETSIG\n");
	T(fcntl(d, F_SETSIG, SIGRTMIN + 1));
	ftruncate(file, 0);
	got("ftruncate d/f");
	T(fcntl(d, F_NOTIFY, 0));
	write(file, "x", 1);
	got("write after F_NOTIFY 0");
	T(fcntl(d, F_NOTIFY, DN_ACCESS | DN_ATTRIB | DN_MULTISHOT));
	char c;
	pread(file, &c, 1, 0);
	got("read d/f");
	chmod("d/f", 0600);
	got("chmod d/f");
	chmod("d", 0700);
	got("chmod d itself");
	utimensat(AT_FDCWD, "d/g", NULL, 0);
	got("utimes d/g");

	printf("-- renames\n");
	T(fcntl(d, F_NOTIFY, DN_RENAME | DN_MULTISHOT));
	int e = open("e", O_RDONLY | O_DIRECTORY);
	T(fcntl(e, F_SETSIG, SIGRTMIN + 1));
	T(fcntl(e, F_NOTIFY, DN_RENAME | DN_MULTISHOT));
	rename("d/g", "d/g2");
	got("rename inside d");
	rename("d/g2", "e/g");
	got("rename d -> e");
	T(fcntl(e, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
	rename("e/g", "d/g");
	got("rename e -> d (e wants create)");
	T(fcntl(d, F_NOTIFY, DN_DELETE | DN_MULTISHOT));
	rename("d/g", "e/g");
	got("rename d -> e (d wants delete)");

	printf("-- close removes\n");
	close(d);
	close(open("d/k", O_CREAT | O_WRONLY, 0644));
	unlink("d/k");
	rename("d/f", "d/f2");
	got("after close of d");
	int d2 = open("d", O_RDONLY);
	int d3 = dup(d2);
	T(fcntl(d2, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
	close(d3);
	close(open("d/m", O_CREAT | O_WRONLY, 0644));
	got("after close of a dup");
	T(fcntl(d2, F_NOTIFY, DN_CREATE | DN_MULTISHOT));
	pid_t pid = fork();
	if (pid == 0) {
		/* The child's table is another: its close removes nothing. */
		close(d2);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	close(open("d/n", O_CREAT | O_WRONLY, 0644));
	got("after the child closed its copy");
	return 0;
}
