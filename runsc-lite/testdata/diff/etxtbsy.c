/* ETXTBSY: a running program's file may not be opened for writing or
 * truncated (the mm's exe_file holds deny_write_access on its inode, from
 * execve until the process image goes: at the next execve or at exit,
 * before it is reaped; a fork's copy holds its own), and a file open for
 * writing through a path (not a memfd's own descriptor, which never
 * counted as a writer) may not be executed, as a program, a script or a
 * script's interpreter, nor the ELF interpreter named by a program. The
 * ELF interpreter and shared libraries are denied only while execve loads
 * them (MAP_DENYWRITE is ignored): once the program runs, they may be
 * written. */
#include "common.h"
#include <elf.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>

extern char **environ;

/* SYNCFD is the descriptor that start's write end of its pipe stays open
 * as across one more execve, for a program that execs again. */
#define SYNCFD 100

static char buf[1 << 16];

/* copy copies the file from to a new executable file to. */
static void copy(const char *from, const char *to) {
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;
	if (in < 0 || out < 0)
		printf("copy %s: %s\n", to, ename(errno));
	while ((n = read(in, buf, sizeof buf)) > 0)
		write(out, buf, n);
	close(in);
	close(out);
}

/* write_file makes an executable file holding s. */
static void write_file(const char *path, const char *s) {
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	write(fd, s, strlen(s));
	close(fd);
}

/* set_interp makes path's PT_INTERP name interp (a relative name is the
 * caller's working directory's). */
static void set_interp(const char *path, const char *interp) {
	int fd = open(path, O_RDWR);
	Elf64_Ehdr eh;
	pread(fd, &eh, sizeof eh, 0);
	for (int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		pread(fd, &ph, sizeof ph, eh.e_phoff + (off_t)i * eh.e_phentsize);
		if (ph.p_type != PT_INTERP)
			continue;
		char name[256] = {0};
		if (strlen(interp) >= ph.p_filesz || ph.p_filesz > sizeof name)
			printf("set_interp: %s does not fit\n", interp);
		strcpy(name, interp);
		pwrite(fd, name, ph.p_filesz, ph.p_offset);
	}
	close(fd);
}

/* start runs argv[0] in a child and returns its pid once it has executed
 * (a close-on-exec pipe's end of file), or -1 after printing execve's
 * errno. With again, the pipe's write end is also SYNCFD, which the
 * program closes on its own execve: start returns after that one. */
static pid_t start(char *const argv[], int again) {
	int p[2];
	pipe2(p, O_CLOEXEC);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (again)
			dup2(p[1], SYNCFD);
		execve(argv[0], argv, environ);
		int e = errno;
		write(p[1], &e, sizeof e);
		_exit(127);
	}
	close(p[1]);
	int e = 0;
	ssize_t n = read(p[0], &e, sizeof e);
	close(p[0]);
	if (n > 0) {
		printf("  execve %s: %s\n", argv[0], ename(e));
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

/* stop kills and reaps pid. */
static void stop(pid_t pid) {
	if (pid <= 0)
		return;
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* try prints what open(path, flags) gives, as what, and closes it. */
static void try(const char *what, const char *path, int flags) {
	int fd = open(path, flags);
	printf("  %s: %s\n", what, fd < 0 ? ename(errno) : "ok");
	if (fd >= 0)
		close(fd);
}

/* size is path's size, or -errno. */
static long size(const char *path) {
	struct stat st;
	return stat(path, &st) ? -errno : (long)st.st_size;
}

/* running checks what may be done to a running program's file. */
static void running(void) {
	printf("-- a running program\n");
	copy("/bin/sleep", "sleep");
	long before = size("sleep");
	char *argv[] = {"./sleep", "100", NULL};
	pid_t pid = start(argv, 0);
	try("O_WRONLY", "sleep", O_WRONLY);
	try("O_RDWR", "sleep", O_RDWR);
	try("O_WRONLY|O_TRUNC", "sleep", O_WRONLY | O_TRUNC);
	try("O_RDONLY|O_TRUNC", "sleep", O_RDONLY | O_TRUNC);
	try("O_WRONLY|O_APPEND", "sleep", O_WRONLY | O_APPEND);
	try("O_RDONLY", "sleep", O_RDONLY);
	try("O_PATH", "sleep", O_PATH);
	T(truncate("sleep", 0));
	T(truncate("sleep", before));
	CHECK(size("sleep") == before);
	T(link("sleep", "hardlink"));
	try("O_WRONLY by a hard link", "hardlink", O_WRONLY);
	char exe[64];
	snprintf(exe, sizeof exe, "/proc/%d/exe", pid);
	try("O_WRONLY by /proc/PID/exe", exe, O_WRONLY);
	pid_t second = start(argv, 0);
	printf("  a second run: %s\n", second > 0 ? "runs" : "fails");
	stop(second);
	try("O_WRONLY with one of two runs gone", "sleep", O_WRONLY);
	T(kill(pid, SIGKILL));
	siginfo_t si;
	T(waitid(P_PID, pid, &si, WEXITED | WNOWAIT));
	try("O_WRONLY once it exited, not yet reaped", "sleep", O_WRONLY);
	waitpid(pid, NULL, 0);
	try("O_WRONLY once it was reaped", "sleep", O_WRONLY);
	T(truncate("sleep", before));
	try("O_WRONLY by the hard link", "hardlink", O_WRONLY);
	try("this program's /proc/self/exe O_WRONLY", "/proc/self/exe", O_WRONLY);
}

/* writers checks execve of files open for writing. */
static void writers(void) {
	printf("-- execve of a file open for writing\n");
	char *argv[] = {"./sleep", "100", NULL};
	static const int modes[] = {O_WRONLY, O_RDWR, O_WRONLY | O_CLOEXEC, O_RDONLY};
	static const char *names[] = {"O_WRONLY", "O_RDWR", "O_WRONLY|O_CLOEXEC", "O_RDONLY"};
	for (int i = 0; i < 4; i++) {
		int fd = open("sleep", modes[i]);
		printf(" open %s, execve\n", names[i]);
		stop(start(argv, 0));
		close(fd);
	}
	printf(" closed, execve\n");
	stop(start(argv, 0));

	int fd = open("sleep", O_WRONLY);
	pid_t holder = fork();
	if (holder == 0) {
		pause();
		_exit(0);
	}
	close(fd);
	printf(" open for writing in another process only, execve\n");
	stop(start(argv, 0));
	stop(holder);
	printf(" that process gone, execve\n");
	stop(start(argv, 0));

	fd = open("sleep", O_RDWR);
	void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	printf(" closed, still mapped (private) from an O_RDWR descriptor, execve\n");
	stop(start(argv, 0));
	fflush(stdout);
	pid_t keeper = fork();
	if (keeper == 0) {
		pause();
		_exit(0);
	}
	munmap(m, 4096);
	printf(" unmapped, a fork's copy still mapped, execve\n");
	stop(start(argv, 0));
	stop(keeper);
	printf(" that fork gone, execve\n");
	stop(start(argv, 0));

	fd = open("sleep", O_WRONLY);
	T(syscall(SYS_execveat, AT_FDCWD, "sleep", argv, environ, 0));
	close(fd);

	write_file("junk", "not a program\n");
	char *junk[] = {"./junk", NULL};
	printf(" not a program, execve\n");
	stop(start(junk, 0));
	try("  its O_WRONLY after", "junk", O_WRONLY);
}

/* memfds checks execveat of memfds and of an O_TMPFILE file, and a
 * running memfd. */
static void memfds(void) {
	printf("-- memfds and O_TMPFILE\n");
	int m = memfd_create("sleep", 0);
	int in = open("sleep", O_RDONLY);
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		write(m, buf, n);
	close(in);
	char self[64];
	snprintf(self, sizeof self, "/proc/self/fd/%d", m);
	char *argv[] = {self, "100", NULL};
	printf(" the memfd's own O_RDWR descriptor open, execve\n");
	pid_t pid = start(argv, 0);
	try("O_RDWR by /proc/self/fd while it runs", self, O_RDWR);
	stop(pid);
	int w = open(self, O_RDWR);
	printf(" reopened O_RDWR by /proc/self/fd, execve\n");
	stop(start(argv, 0));
	close(w);
	printf(" that closed, execve\n");
	stop(start(argv, 0));
	close(m);

	int t = open(".", O_TMPFILE | O_RDWR, 0755);
	in = open("sleep", O_RDONLY);
	while ((n = read(in, buf, sizeof buf)) > 0)
		write(t, buf, n);
	close(in);
	snprintf(self, sizeof self, "/proc/self/fd/%d", t);
	printf(" an O_TMPFILE file open O_RDWR, execve\n");
	stop(start(argv, 0));
	char name[64];
	snprintf(name, sizeof name, "/proc/self/fd/%d", t);
	T(linkat(AT_FDCWD, name, AT_FDCWD, "tmpfile", AT_SYMLINK_FOLLOW));
	close(t);
	char *named[] = {"./tmpfile", "100", NULL};
	printf(" linked and closed, execve\n");
	stop(start(named, 0));
}

/* scripts checks a script and its interpreter. */
static void scripts(void) {
	printf("-- scripts\n");
	copy("/bin/sh", "sh");
	T(mkfifo("fifo", 0600));
	write_file("script", "#!./sh\nread x < ./fifo\n");
	char *argv[] = {"./script", NULL};
	pid_t pid = start(argv, 0);
	try("the script O_WRONLY while it runs", "script", O_WRONLY);
	try("its interpreter O_WRONLY", "sh", O_WRONLY);
	int f = open("fifo", O_WRONLY);
	close(f);
	int st;
	waitpid(pid, &st, 0);
	printf("  script: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	int fd = open("script", O_WRONLY);
	printf(" the script open for writing, execve\n");
	stop(start(argv, 0));
	close(fd);
	fd = open("sh", O_WRONLY);
	printf(" its interpreter open for writing, execve\n");
	stop(start(argv, 0));
	close(fd);
}

/* interpreters checks the ELF interpreter and shared libraries. */
static void interpreters(void) {
	printf("-- the ELF interpreter and libraries\n");
	copy("/lib64/ld-linux-x86-64.so.2", "ld.so");
	copy("/bin/sleep", "dsleep");
	set_interp("dsleep", "./ld.so");
	char *argv[] = {"./dsleep", "100", NULL};
	pid_t pid = start(argv, 0);
	try("the interpreter O_WRONLY while the program runs", "ld.so", O_WRONLY);
	try("the program O_WRONLY", "dsleep", O_WRONLY);
	stop(pid);
	int fd = open("ld.so", O_WRONLY);
	printf(" the interpreter open for writing, execve\n");
	stop(start(argv, 0));
	close(fd);

	char *direct[] = {"./ld.so", "./sleep", "100", NULL};
	pid = start(direct, 0);
	try("ld.so run as the program, O_WRONLY", "ld.so", O_WRONLY);
	try("the program it loaded O_WRONLY", "sleep", O_WRONLY);
	stop(pid);

	copy("/lib/x86_64-linux-gnu/libc.so.6", "libc.so.6");
	char *lib[] = {"./ld.so", "--library-path", ".", "./sleep", "100", NULL};
	pid = start(lib, 0);
	try("a shared library O_WRONLY while mapped", "libc.so.6", O_WRONLY);
	stop(pid);
}

/* images checks when a process image lets go of its file: at execve, and
 * not while a fork of it runs. */
static void images(void) {
	printf("-- execve again, fork\n");
	copy("/proc/self/exe", "self");
	char *again[] = {"./self", "-exec", NULL};
	pid_t pid = start(again, 1);
	try("after it executed another program, O_WRONLY", "self", O_WRONLY);
	try("the other program O_WRONLY", "sleep", O_WRONLY);
	stop(pid);

	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		printf("PR_SET_CHILD_SUBREAPER: %s\n", ename(errno));
	char *forks[] = {"./self", "-fork", NULL};
	pid = start(forks, 0);
	int st;
	waitpid(pid, &st, 0);
	printf("  forker: exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	try("its forked child alive, O_WRONLY", "self", O_WRONLY);
	pid_t child = -1;
	FILE *f = fopen("child", "r");
	if (f) {
		fscanf(f, "%d", &child);
		fclose(f);
	}
	stop(child);
	try("the child gone, O_WRONLY", "self", O_WRONLY);
}

/* helper is what the copy of this program does, by its argument. */
static int helper(const char *mode) {
	if (strcmp(mode, "-exec") == 0) {
		fcntl(SYNCFD, F_SETFD, FD_CLOEXEC);
		char *argv[] = {"./sleep", "100", NULL};
		execve(argv[0], argv, environ);
		return 1;
	}
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	FILE *f = fopen("child", "w");
	fprintf(f, "%d\n", child);
	fclose(f);
	return 0;
}

int main(int argc, char **argv) {
	if (argc > 1 && argv[1][0] == '-')
		return helper(argv[1]);
	if (argc > 1 && chdir(argv[1]))
		return 1;
	running();
	writers();
	memfds();
	scripts();
	interpreters();
	images();
	return 0;
}
