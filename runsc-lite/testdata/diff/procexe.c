/* /proc/PID/exe is the file the process was executed from (mm->exe_file),
 * not a walk of the link's text: once the binary is unlinked, or replaced
 * by a rename over it, open, stat, execve and execveat through the link
 * still reach the original, whose path readlink shows with " (deleted)".
 * Another process's link needs ptrace read access with the caller's
 * filesystem IDs (proc_fd_access_allowed): EACCES without it (needs a
 * root host, to become uid 1000). */
#include "common.h"
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>

extern char **environ;

/* target is what readlink of path says after its last '/' (the work
 * directory's name must not show), or the errno. */
static const char *target(const char *path) {
	static char buf[4096];
	ssize_t n = readlink(path, buf, sizeof buf - 1);
	if (n < 0)
		return ename(errno);
	buf[n] = 0;
	char *s = strrchr(buf, '/');
	return s ? s + 1 : buf;
}

/* show prints what /proc/self/exe leads to: its link, and whether open
 * and stat through it reach an ELF file, with how many names it has. */
static void show(const char *when) {
	printf("%s: readlink %s", when, target("/proc/self/exe"));
	int fd = open("/proc/self/exe", O_RDONLY);
	if (fd < 0) {
		printf(", open %s\n", ename(errno));
		return;
	}
	char head[4] = {0};
	struct stat fst, st;
	read(fd, head, 4);
	fstat(fd, &fst);
	int r = stat("/proc/self/exe", &st);
	printf(", open ok (%s, nlink %ld), stat %s\n", memcmp(head, "\177ELF", 4) ? "not ELF" : "ELF",
	       (long)fst.st_nlink, r ? ename(errno) : st.st_ino == fst.st_ino && st.st_dev == fst.st_dev ? "same file" : "another file");
	close(fd);
}

/* reexec runs /proc/self/exe again with argument mode: by its path, or
 * by a descriptor open on it (execveat with AT_EMPTY_PATH) if byfd. */
static int reexec(char *mode, int byfd) {
	char *next[] = {"helper", mode, NULL};
	int fd = byfd ? open("/proc/self/exe", O_RDONLY | O_CLOEXEC) : -1;
	fflush(stdout);
	if (byfd)
		syscall(SYS_execveat, fd, "", next, environ, AT_EMPTY_PATH);
	else
		execve("/proc/self/exe", next, environ);
	printf("%s: %s\n", byfd ? "execveat" : "execve", ename(errno));
	return 1;
}

/* helper is what the copy of this program does, by its first argument. */
static int helper(const char *mode) {
	if (strcmp(mode, "-unlink") == 0) {
		show("before");
		T(unlink("helper"));
		show("unlinked");
		return reexec("-byfd", 0);
	}
	if (strcmp(mode, "-byfd") == 0) {
		show("after execve");
		return reexec("-done", 1);
	}
	if (strcmp(mode, "-replace") == 0) {
		show("before");
		int fd = open("new", O_WRONLY | O_CREAT | O_EXCL, 0755);
		T(write(fd, "#!/bin/sh\nexit 42\n", 18));
		close(fd);
		T(rename("new", "helper"));
		show("renamed over");
		return reexec("-done", 0);
	}
	show("after exec");
	return 7;
}

static void copy_self(void) {
	static char buf[1 << 16];
	int in = open("/proc/self/exe", O_RDONLY), out = open("helper", O_WRONLY | O_CREAT | O_TRUNC, 0755);
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		write(out, buf, n);
	close(in);
	close(out);
}

/* run runs path with argument arg and prints how it ended. */
static void run(const char *path, char *arg) {
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char *argv[] = {"helper", arg, NULL};
		execve(path, argv, environ);
		printf("execve %s: %s\n", path, ename(errno));
		_exit(1);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("%s %s: exit %d\n", path, arg ? arg : "", WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
}

static void become_user(void) {
	if (setgroups(0, NULL) || setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
		perror("setresuid");
		_exit(1);
	}
}

/* peek prints what readlink, open and stat of pid's exe give. */
static void peek(const char *who, pid_t pid) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/exe", pid);
	int fd = open(path, O_RDONLY);
	struct stat st;
	int r = stat(path, &st);
	printf("%s: readlink %s, open %s, stat %s\n", who, target(path), fd < 0 ? ename(errno) : "ok", r ? ename(errno) : "ok");
	if (fd >= 0)
		close(fd);
}

/* access_checks reads the links of other processes. */
static void access_checks(void) {
	pid_t root = getpid();
	fflush(stdout);
	if (fork() == 0) {
		become_user();
		peek("uid 1000, of root's process", root);
		fflush(stdout);
		_exit(0);
	}
	wait(NULL);
	if (fork() == 0) {
		/* Real IDs 0, effective and filesystem IDs 1000: the
		 * filesystem ones are those that count. */
		int p[2];
		pipe(p);
		pid_t user = fork();
		if (user == 0) {
			become_user();
			prctl(PR_SET_DUMPABLE, 1);
			write(p[1], "", 1);
			pause();
			_exit(0);
		}
		char c;
		read(p[0], &c, 1);
		if (setresgid(0, 1000, 0) || setresuid(0, 1000, 0))
			perror("setresuid");
		peek("fsuid 1000, of root's process", root);
		peek("fsuid 1000, of a uid 1000 process", user);
		kill(user, SIGKILL);
		waitpid(user, NULL, 0);
		fflush(stdout);
		_exit(0);
	}
	wait(NULL);
	if (fork() == 0) {
		/* Root, with CAP_SYS_PTRACE left out of its effective set:
		 * the target's capabilities are not among its own. */
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2];
		syscall(SYS_capget, &h, d);
		d[CAP_TO_INDEX(CAP_SYS_PTRACE)].effective &= ~CAP_TO_MASK(CAP_SYS_PTRACE);
		if (syscall(SYS_capset, &h, d))
			perror("capset");
		peek("root without CAP_SYS_PTRACE, of root's process", root);
		fflush(stdout);
		_exit(0);
	}
	wait(NULL);
	if (fork() == 0) {
		become_user();
		for (int dumpable = 1; dumpable >= 0; dumpable--) {
			prctl(PR_SET_DUMPABLE, dumpable);
			pid_t other = fork();
			if (other == 0) {
				pause();
				_exit(0);
			}
			printf("dumpable %d: ", dumpable);
			peek("uid 1000, of another uid 1000 process", other);
			kill(other, SIGKILL);
			waitpid(other, NULL, 0);
		}
		fflush(stdout);
		_exit(0);
	}
	wait(NULL);
}

int main(int argc, char **argv) {
	if (argc > 1 && argv[1][0] == '-')
		return helper(argv[1]);
	printf("-- unlinked\n");
	copy_self();
	run("./helper", "-unlink");
	printf("-- renamed over\n");
	copy_self();
	run("./helper", "-replace");
	run("./helper", NULL); /* the name now runs the script */
	printf("-- another process's link\n");
	access_checks();
	return 0;
}
