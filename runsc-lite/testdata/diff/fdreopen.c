/* Opening /proc/self/fd/N is a jump to the open file's own inode
 * (proc_fd_link), not a walk of the link's text: a memfd, a pipe, a
 * deleted file, an O_PATH descriptor open again as the same file, with a
 * new open file description (its own offset and flags) and the access
 * asked for; seals and O_TRUNC apply; sockets and eventfds refuse (ENXIO);
 * openat2's RESOLVE_NO_MAGICLINKS, RESOLVE_BENEATH and RESOLVE_IN_ROOT
 * refuse the jump. */
#include "common.h"
#include <dirent.h>
#include <poll.h>
#include <linux/openat2.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <sys/wait.h>

static char path[64];

static const char *fdpath(int fd) {
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return path;
}

static long openat2_(int dir, const char *p, int flags, unsigned long long resolve) {
	struct open_how how = {.flags = flags, .resolve = resolve};
	return syscall(SYS_openat2, dir, p, &how, sizeof how);
}

static void same_inode(int a, int b) {
	struct stat sa, sb;
	fstat(a, &sa);
	fstat(b, &sb);
	CHECK(sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev);
}

static void memfd(void) {
	printf("-- memfd\n");
	int fd = memfd_create("reopen", MFD_ALLOW_SEALING);
	T(write(fd, "hello world", 11));
	int fd2 = open(fdpath(fd), O_RDWR);
	CHECK(fd2 >= 0);
	same_inode(fd, fd2);
	/* A new description: its own offset. */
	T(lseek(fd2, 0, SEEK_CUR));
	char buf[16] = {0};
	T(read(fd2, buf, 5));
	printf("read %s\n", buf);
	T(lseek(fd, 0, SEEK_CUR));
	/* Its own status flags. */
	int fd3 = open(fdpath(fd), O_RDONLY | O_NONBLOCK);
	printf("flags %#o %#o\n", fcntl(fd, F_GETFL) & ~O_LARGEFILE, fcntl(fd3, F_GETFL) & ~O_LARGEFILE);
	T(write(fd3, "x", 1));
	/* The readlink text. */
	char l[64] = {0};
	T(readlink(fdpath(fd2), l, sizeof l - 1));
	printf("link %s\n", l);
	/* Seals are the inode's: shared, and O_TRUNC meets them. */
	T(fcntl(fd2, F_ADD_SEALS, F_SEAL_SHRINK));
	T(fcntl(fd, F_GET_SEALS));
	T(open(fdpath(fd), O_RDWR | O_TRUNC));
	T(open(fdpath(fd), O_RDWR | O_CREAT | O_TRUNC, 0600));
	T(open(fdpath(fd), O_RDWR | O_CREAT | O_EXCL, 0600));
	T(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE));
	int fd4 = open(fdpath(fd), O_RDWR);
	CHECK(fd4 >= 0);
	T(write(fd4, "y", 1));
	close(fd4);
	/* Without seals, O_TRUNC truncates the memfd. */
	int m = memfd_create("trunc", 0);
	T(write(m, "abc", 3));
	int t = open(fdpath(m), O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(t >= 0);
	struct stat st;
	fstat(m, &st);
	printf("size after O_TRUNC %ld\n", (long)st.st_size);
	T(open(fdpath(m), O_RDONLY | O_DIRECTORY));
	/* stat and statfs through the link. */
	T(stat(fdpath(m), &st));
	CHECK(S_ISREG(st.st_mode));
	T(lstat(fdpath(m), &st));
	CHECK(S_ISLNK(st.st_mode));
	/* Intermediate: not a directory. */
	char sub[80];
	snprintf(sub, sizeof sub, "/proc/self/fd/%d/x", m);
	T(open(sub, O_RDONLY));
	/* openat2's restrictions on magic links. */
	T(openat2_(AT_FDCWD, fdpath(m), O_RDONLY, RESOLVE_NO_MAGICLINKS));
	T(openat2_(AT_FDCWD, fdpath(m), O_RDONLY, RESOLVE_NO_SYMLINKS));
	int proc = open("/proc", O_PATH | O_DIRECTORY);
	char rel[32];
	snprintf(rel, sizeof rel, "self/fd/%d", m);
	T(openat2_(proc, rel, O_RDONLY, RESOLVE_BENEATH));
	T(openat2_(proc, rel, O_RDONLY, RESOLVE_IN_ROOT));
	T(openat2_(proc, rel, O_RDONLY, RESOLVE_NO_XDEV));
	int ok = openat2_(proc, rel, O_RDONLY, 0);
	CHECK(ok >= 0);
	close(ok);
	close(proc);
	close(t);
	close(m);
	close(fd3);
	close(fd2);
	close(fd);
}

static void pipes(void) {
	printf("-- pipe\n");
	int p[2];
	pipe(p);
	/* The write end opened again through the read end's link. */
	int w = open(fdpath(p[0]), O_WRONLY);
	CHECK(w >= 0);
	same_inode(w, p[1]);
	T(write(w, "ab", 2));
	close(w);
	char buf[4] = {0};
	T(read(p[0], buf, 2));
	printf("read %s\n", buf);
	int r = open(fdpath(p[1]), O_RDONLY | O_NONBLOCK);
	CHECK(r >= 0);
	T(write(p[1], "c", 1));
	T(read(r, buf, 2));
	close(r);
	close(p[0]);
	close(p[1]);

	/* Unlike a FIFO's, a pipe's open never waits for the other side nor
	 * fails for want of one (bash's process substitution, cat
	 * /dev/stdin): a blocking read end opened after the writer left
	 * reads what was left, then the end, and sees POLLHUP; a
	 * non-blocking write end opened after the reader left opens, and
	 * writing to it is EPIPE. */
	pipe(p);
	write(p[1], "left", 4);
	close(p[1]);
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[0]);
	r = open(path, O_RDONLY);
	CHECK(r >= 0);
	struct pollfd pf = {r, POLLIN, 0};
	T(poll(&pf, 1, 0));
	printf("revents %#x\n", pf.revents);
	T(read(r, buf, 4));
	T(read(r, buf, 4));
	close(r);
	close(p[0]);
	pipe(p);
	close(p[0]);
	snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
	w = open(path, O_WRONLY | O_NONBLOCK);
	CHECK(w >= 0);
	signal(SIGPIPE, SIG_IGN);
	T(write(w, "x", 1));
	signal(SIGPIPE, SIG_DFL);
	close(w);
	close(p[1]);
}

static void deleted(void) {
	printf("-- deleted file\n");
	int fd = open("gone", O_RDWR | O_CREAT, 0644);
	T(write(fd, "data", 4));
	T(unlink("gone"));
	int fd2 = open(fdpath(fd), O_RDONLY);
	CHECK(fd2 >= 0);
	same_inode(fd, fd2);
	char buf[8] = {0};
	T(read(fd2, buf, 4));
	printf("read %s\n", buf);
	struct stat st;
	fstat(fd2, &st);
	printf("nlink %ld\n", (long)st.st_nlink);
	close(fd2);
	close(fd);
}

static void opath(void) {
	printf("-- O_PATH\n");
	int fd = open("file", O_RDWR | O_CREAT, 0644);
	T(write(fd, "xyz", 3));
	close(fd);
	int pfd = open("file", O_PATH);
	T(read(pfd, path, 1));
	int rfd = open(fdpath(pfd), O_RDONLY);
	CHECK(rfd >= 0);
	char buf[4] = {0};
	T(read(rfd, buf, 3));
	printf("read %s\n", buf);
	close(rfd);
	/* An O_PATH descriptor of a symlink: the jump lands on the link. */
	T(symlink("file", "lnk"));
	int lfd = open("lnk", O_PATH | O_NOFOLLOW);
	T(open(fdpath(lfd), O_RDONLY));
	int l2 = open(fdpath(lfd), O_PATH);
	CHECK(l2 >= 0);
	struct stat st;
	fstat(l2, &st);
	CHECK(S_ISLNK(st.st_mode));
	close(l2);
	close(lfd);
	close(pfd);
	/* A directory reached through the link, then a name in it. */
	mkdir("d", 0755);
	int dfd = open("d", O_RDONLY | O_DIRECTORY);
	char sub[80];
	snprintf(sub, sizeof sub, "/proc/self/fd/%d/inner", dfd);
	int in = open(sub, O_WRONLY | O_CREAT, 0600);
	CHECK(in >= 0);
	close(in);
	T(access("d/inner", F_OK));
	close(dfd);
}

static void others(void) {
	printf("-- others\n");
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	T(open(fdpath(sv[0]), O_RDWR));
	int e = eventfd(0, 0);
	T(open(fdpath(e), O_RDWR));
	close(e);
	close(sv[0]);
	close(sv[1]);
}

/* fexecve of a memfd holding this program: execveat of the memfd
 * itself, and execve of /proc/self/fd/N. */
static void execmemfd(char *argv0) {
	printf("-- exec of a memfd\n");
	int src = open("/proc/self/exe", O_RDONLY);
	int m = memfd_create("prog", MFD_CLOEXEC);
	char buf[65536];
	long n;
	while ((n = read(src, buf, sizeof buf)) > 0)
		write(m, buf, n);
	close(src);
	for (int how = 0; how < 2; how++) {
		pid_t pid = fork();
		if (pid == 0) {
			char *args[] = {argv0, ".", "child", NULL};
			char *env[] = {NULL};
			if (how == 0)
				syscall(SYS_execveat, m, "", args, env, AT_EMPTY_PATH);
			else {
				/* Not close-on-exec through the path: drop the flag. */
				fcntl(m, F_SETFD, 0);
				execve(fdpath(m), args, env);
			}
			printf("exec %d: %s\n", how, ename(errno));
			_exit(1);
		}
		int status;
		waitpid(pid, &status, 0);
		printf("child %d exit %d\n", how, WEXITSTATUS(status));
	}
	close(m);
}

/* linkModes: a /proc/self/fd link's permission shows how its file is
 * open (lsof's r, w and u): r-x, -wx, rwx, none for O_PATH. */
static void linkModes(void) {
	printf("-- link modes\n");
	int p[2];
	pipe(p);
	int fds[] = {open("modes", O_RDONLY | O_CREAT, 0600), open("modes", O_WRONLY), open("modes", O_RDWR),
		     open("modes", O_PATH), p[0], p[1]};
	for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		struct stat st;
		CHECK(lstat(fdpath(fds[i]), &st) == 0);
		printf("link %u: %o\n", i, st.st_mode);
		close(fds[i]);
	}
	unlink("modes");
}

/* listedModes: listing /proc/self/fd shows the listing directory's own
 * descriptor too, with its mode (closefrom and bwrap list their
 * descriptors this way); the listing must not wait on that descriptor. */
static void listedModes(void) {
	printf("-- listed link modes\n");
	DIR *d = opendir("/proc/self/fd");
	CHECK(d != NULL);
	char self[16];
	snprintf(self, sizeof self, "%d", dirfd(d));
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		if (strcmp(e->d_name, self) != 0)
			continue;
		CHECK(fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0);
		printf("listing's own link: %o\n", st.st_mode);
	}
	closedir(d);
}

/* reopenAs opens fd's link with each access mode and prints the errno
 * names: the target file's permission decides, never the link's. */
static void reopenAs(const char *what, int fd) {
	static const struct {
		const char *name;
		int flags;
	} modes[] = {{"O_RDONLY", O_RDONLY}, {"O_WRONLY", O_WRONLY}, {"O_RDWR", O_RDWR}};
	struct stat st;
	if (lstat(fdpath(fd), &st) != 0) {
		printf("%s: lstat %s\n", what, ename(errno));
		return;
	}
	printf("%s: link %o;", what, st.st_mode);
	for (unsigned i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		int r = open(fdpath(fd), modes[i].flags);
		printf(" %s %s", modes[i].name, r >= 0 ? "ok" : ename(errno));
		if (r >= 0)
			close(r);
	}
	printf("\n");
}

/* reopenModes: as an unprivileged user, reopening through the link of a
 * descriptor open for reading, writing, both or O_PATH checks the file's
 * mode (0666, 0444, 0222) and not the link's r-x, -wx, rwx or none
 * (may_open on the target after nd_jump_link). The descriptors are opened
 * as root, so that each file has each kind. */
static void reopenModes(void) {
	printf("-- reopen through the link\n");
	static const struct {
		const char *name;
		int flags;
	} kinds[] = {{"r", O_RDONLY}, {"w", O_WRONLY}, {"rw", O_RDWR}, {"path", O_PATH}};
	static const mode_t perms[] = {0666, 0444, 0222};
	int fds[3][4], opened = 1;
	for (unsigned f = 0; f < 3; f++) {
		char name[16];
		snprintf(name, sizeof name, "perm%o", perms[f]);
		int c = open(name, O_CREAT | O_WRONLY, 0600);
		opened &= c >= 0 && fchmod(c, perms[f]) == 0;
		close(c);
		for (unsigned k = 0; k < 4; k++)
			opened &= (fds[f][k] = open(name, kinds[k].flags)) >= 0;
	}
	CHECK(opened);
	pid_t pid = fork();
	if (pid == 0) {
		CHECK(setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0);
		prctl(PR_SET_DUMPABLE, 1);
		for (unsigned f = 0; f < 3; f++)
			for (unsigned k = 0; k < 4; k++) {
				char what[32];
				snprintf(what, sizeof what, "%o %s", perms[f], kinds[k].name);
				reopenAs(what, fds[f][k]);
			}
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child exit %d\n", WEXITSTATUS(status));
	for (unsigned f = 0; f < 3; f++)
		for (unsigned k = 0; k < 4; k++)
			close(fds[f][k]);
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "child") == 0) {
		printf("child runs\n");
		return 3;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	memfd();
	pipes();
	deleted();
	opath();
	others();
	linkModes();
	listedModes();
	reopenModes();
	execmemfd(argv[0]);
	return 0;
}
