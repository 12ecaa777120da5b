/* mappings: mappings of a host file made before its first write (in the
 * sandbox, before its copy up into memory) see the writes as mappings of
 * a file on disk do. copyup_test.go makes "data" in argv[1]: three pages
 * of 'a', 'b' and 'c'. A reader process maps it shared, as SQLite's
 * mmap_size readers do; this process maps it shared and private (one
 * private page written, one written and made read-only) and forks a
 * child that inherits them; another process then writes pages and
 * appends one; this process writes with
 * write(2). Shared mappings see every write, private ones every write to
 * the pages they did not write themselves, which keep their own copy;
 * the appended page is there too. */
#include "../diff/common.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define P 4096

/* show prints the first bytes of the four pages at m, the appended one
 * last (a SIGBUS if the mapping does not see the append). */
static void show(const char *what, const char *m) {
	printf("%s: %c %c %c", what, m[0], m[P], m[2 * P]);
	printf(" %c\n", m[3 * P]);
}

/* reap waits for pid and prints how it ended. */
static void reap(const char *who, pid_t pid) {
	int st;
	if (waitpid(pid, &st, 0) != pid)
		printf("%s: waitpid %s\n", who, ename(errno));
	else if (WIFSIGNALED(st))
		printf("%s: killed by signal %d\n", who, WTERMSIG(st));
	else
		printf("%s: exit %d\n", who, WEXITSTATUS(st));
}

/* reader maps the file in a process of its own before the writes, and
 * reads it again once told to. */
static pid_t reader(int *go, int *done) {
	int to[2], from[2];
	if (pipe(to) || pipe(from))
		exit(1);
	pid_t pid = fork();
	if (pid == 0) {
		close(to[1]); /* the parent's death is an end of file */
		close(from[0]);
		int fd = open("data", O_RDONLY);
		char *m = mmap(NULL, 4 * P, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED)
			_exit(1);
		char c = m[0] + m[P] + m[2 * P]; /* fault the pages in */
		if (write(from[1], &c, 1) != 1 || read(to[0], &c, 1) != 1)
			_exit(1);
		show("reader's shared mapping", m);
		_exit(0);
	}
	close(to[0]);
	close(from[1]);
	*go = to[1];
	*done = from[0];
	return pid;
}

/* writer writes pages 0 and 2 and appends page 3 from another process. */
static void writer(void) {
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("data", O_RDWR);
		if (fd < 0)
			_exit(1);
		char page[P];
		memset(page, 'E', P);
		if (pwrite(fd, "X", 1, 0) != 1 || pwrite(fd, "X", 1, 2 * P) != 1 || pwrite(fd, page, P, 3 * P) != P)
			_exit(2);
		_exit(0);
	}
	reap("writer", pid);
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (chdir(argv[1]) != 0)
		return 1;
	int go, done;
	pid_t rpid = reader(&go, &done);
	char c;
	if (read(done, &c, 1) != 1)
		return 1;
	int fd = open("data", O_RDONLY);
	char *sh = mmap(NULL, 4 * P, PROT_READ, MAP_SHARED, fd, 0);
	char *pv = mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *ro = mmap(NULL, P, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, P);
	if (sh == MAP_FAILED || pv == MAP_FAILED || ro == MAP_FAILED)
		return 1;
	c = sh[0] + sh[P] + sh[2 * P] + pv[0] + pv[P];
	pv[2 * P] = 'P';
	ro[0] = 'Q';
	T(mprotect(ro, P, PROT_READ));
	printf("before: %c %c %c, private %c %c %c, read-only private %c\n", sh[0], sh[P], sh[2 * P], pv[0], pv[P],
	       pv[2 * P], ro[0]);

	int hgo[2];
	if (pipe(hgo))
		return 1;
	pid_t heir = fork(); /* inherits the mappings */
	if (heir == 0) {
		close(hgo[1]);
		if (read(hgo[0], &c, 1) != 1)
			_exit(1);
		show("inherited shared", sh);
		show("inherited private", pv);
		printf("inherited read-only private: %c\n", ro[0]);
		_exit(0);
	}

	writer();
	if (write(hgo[1], "g", 1) != 1)
		return 1;
	reap("heir", heir);
	show("shared", sh);
	show("private", pv);
	printf("read-only private: %c\n", ro[0]);

	int w = open("data", O_RDWR);
	T(pwrite(w, "Y", 1, P));
	show("shared after write(2)", sh);
	show("private after write(2)", pv);
	printf("read-only private: %c\n", ro[0]);
	pv[P] = 'p';
	T(pwrite(w, "Z", 1, P));
	T(pwrite(w, "Z", 1, 2 * P));
	show("shared after private writes", sh);
	show("private after private writes", pv);

	char *late = mmap(NULL, 4 * P, PROT_READ, MAP_SHARED, fd, 0);
	show("mapped from the first descriptor now", late);
	T(madvise(pv, 4 * P, MADV_DONTNEED));
	show("private after MADV_DONTNEED", pv);

	if (write(go, "g", 1) != 1)
		return 1;
	reap("reader", rpid);
	return 0;
}
