/* Permissions: chmod/fchmod/fchmodat/umask/access/faccessat, and the
 * credentials root may claim in SCM_CREDENTIALS, as root (the
 * sandbox runs as uid 0; the test skips this program when the host is not
 * root); then, in a child that became uid 1000, each kind of check a
 * non-root process meets: the walk, open, create, mkdir, mknod, symlink,
 * unlink and rename (sticky directories too), link, chmod, chown, utimes,
 * truncate, extended attributes, access with real and effective IDs,
 * the filesystem uid, chdir, execve, F_SETFL, kill, get_robust_list,
 * kcmp and pidfd_getfd. */
#include "common.h"
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/time.h>
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <grp.h>

/* The unprivileged user and its groups. */
#define USER 1000
#define GROUP 1000
#define OTHER_GROUP 2000

static void mode(const char *path) {
	struct stat st;
	if (lstat(path, &st))
		printf("mode %s: -1 %s\n", path, ename(errno));
	else
		printf("mode %s: %s %04o\n", path, ftype(st.st_mode), st.st_mode & 07777);
}

/* claims sends SCM_CREDENTIALS that only root (CAP_SYS_ADMIN) may claim:
 * another process's pid, but only one that exists (ESRCH). */
static void claims(void) {
	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	pid_t kid = fork();
	if (kid == 0) {
		pause();
		_exit(0);
	}
	/* one SCM_CREDENTIALS message: its header, then the ucred */
	struct {
		struct cmsghdr h;
		struct ucred cred;
	} ctl = {{CMSG_LEN(sizeof(struct ucred)), SOL_SOCKET, SCM_CREDENTIALS}};
	struct iovec iov = {"c", 1};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl, .msg_controllen = sizeof ctl};
	struct ucred claim[] = {{kid, 0, 0}, {-5, 0, 0}, {0, 0, 0}, {getpid(), 12345, 54321}};
	for (unsigned i = 0; i < sizeof claim / sizeof claim[0]; i++) {
		ctl.cred = claim[i];
		errno = 0;
		long r = sendmsg(sv[0], &m, 0);
		printf("SCM_CREDENTIALS claim %u: %ld %s\n", i, r, r < 0 ? ename(errno) : "");
	}
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	close(sv[0]);
	close(sv[1]);
}

/* made creates path as root with a mode and an owner; it prints only a
 * failure. */
static void made(const char *path, mode_t mode, uid_t uid, gid_t gid) {
	int ok = S_ISDIR(mode) ? mkdir(path, 0700) == 0 : close(open(path, O_CREAT | O_WRONLY, 0600)) == 0;
	if (!ok || chown(path, uid, gid) || chmod(path, mode & 07777))
		printf("made %s: %s\n", path, ename(errno));
}

/* copy copies the file from to to (this program, to execute it) with
 * mode; it prints only a failure. */
static void copy(const char *from, const char *to, mode_t mode) {
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	long n;
	if (in < 0 || out < 0) {
		printf("copy %s: %s\n", to, ename(errno));
		return;
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n)
			printf("copy %s: short write\n", to);
	close(in);
	close(out);
	if (chmod(to, mode))
		printf("copy %s: %s\n", to, ename(errno));
}

/* run executes path in a child and prints how it ended: the exit status
 * (this program exits 7 when run with --exit7), or execve's errno. */
static void run(const char *path) {
	int p[2], status, err = 0;
	if (pipe2(p, O_CLOEXEC))
		printf("pipe2: %s\n", ename(errno));
	pid_t pid = fork();
	if (pid == 0) {
		execl(path, path, "--exit7", (char *)NULL);
		err = errno;
		write(p[1], &err, sizeof err);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], &err, sizeof err) != sizeof err)
		err = 0;
	close(p[0]);
	waitpid(pid, &status, 0);
	if (err)
		printf("execve %s: -1 %s\n", path, ename(err));
	else
		printf("execve %s: exit %d\n", path, WEXITSTATUS(status));
}

/* unprivileged runs the checks of a non-root process in the directory u,
 * which root prepares. */
static void unprivileged(const char *self) {
	T(mkdir("u", 0777));
	T(chmod("u", 0777));
	copy(self, "u/x711", 0711);
	copy(self, "u/x744", 0744);
	T(chdir("u"));
	made("root644", S_IFREG | 0644, 0, 0);
	made("root600", S_IFREG | 0600, 0, 0);
	made("root666", S_IFREG | 0666, 0, 0);
	made("grp640", S_IFREG | 0640, 0, OTHER_GROUP);
	made("usergrp0", S_IFREG | 0644, USER, 0);
	made("private", S_IFDIR | 0700, 0, 0);
	made("private/f", S_IFREG | 0644, 0, 0);
	made("ro", S_IFDIR | 0555, 0, 0);
	made("ro/f", S_IFREG | 0666, 0, 0);
	made("sticky", S_IFDIR | 01777, 0, 0);
	made("sticky/rootf", S_IFREG | 0666, 0, 0);
	made("sub", S_IFDIR | 0777, 0, 0);
	made("rootdir", S_IFDIR | 0755, 0, 0);

	pid_t pid = fork();
	if (pid == 0) {
		gid_t groups[] = {OTHER_GROUP};
		/* Real uid USER, effective 0: access checks the real one. */
		/* A new effective or filesystem ID forgets the parent-death
		 * signal; supplementary groups and the real ID do not. */
		int pdeath = -1;
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		T(setgroups(1, groups));
		T(setresuid(0, 0, 0));
		prctl(PR_GET_PDEATHSIG, &pdeath);
		printf("pdeath after no change: %d\n", pdeath);
		T(setresgid(GROUP, GROUP, GROUP));
		prctl(PR_GET_PDEATHSIG, &pdeath);
		printf("pdeath after setresgid: %d\n", pdeath);
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		T(setfsgid(GROUP));
		prctl(PR_GET_PDEATHSIG, &pdeath);
		printf("pdeath after setfsgid to the same: %d\n", pdeath);
		T(setfsgid(0));
		prctl(PR_GET_PDEATHSIG, &pdeath);
		printf("pdeath after setfsgid: %d\n", pdeath);
		T(setfsgid(GROUP));
		T(setresuid(USER, 0, 0));
		T(access("root600", R_OK));
		T(faccessat(AT_FDCWD, "root600", R_OK, AT_EACCESS));
		/* The filesystem uid: with it USER, files are checked as USER's,
		 * and without the filesystem capabilities, although the
		 * effective uid is 0; -1 only asks. */
		T(setfsuid(USER));
		T(open("root600", O_RDONLY));
		T(setfsuid(-1));
		T(setfsuid(0));
		T(close(open("root600", O_RDONLY)));
		T(setfsuid(-1));
		T(setresuid(USER, USER, USER));
		T(setfsuid(0));
		T(setfsuid(-1));
		T(geteuid());

		/* the walk and open */
		T(open("private/f", O_RDONLY));
		T(open("private", O_RDONLY | O_DIRECTORY));
		T(chdir("private"));
		T(open("root600", O_RDONLY));
		T(open("root644", O_WRONLY));
		T(open("root644", O_RDONLY | O_TRUNC));
		T(open("root644", O_RDONLY | O_NOATIME));
		int fd = open("root644", O_RDONLY);
		CHECK(fd >= 0);
		T(fcntl(fd, F_SETFL, O_NOATIME));
		T(close(fd));
		T(close(open("grp640", O_RDONLY)));
		T(open("grp640", O_WRONLY));

		/* names in directories */
		T(open("ro/new", O_CREAT | O_WRONLY, 0644));
		T(close(open("ro/f", O_CREAT | O_WRONLY, 0644)));
		T(mkdir("ro/d", 0755));
		T(mkfifo("ro/p", 0644));
		/* a device node: the directory's permission first, then
		 * CAP_MKNOD */
		T(mknod("ro/c", S_IFCHR | 0644, makedev(240, 77)));
		T(mknod("devnode", S_IFCHR | 0644, makedev(240, 77)));
		T(symlink("x", "ro/l"));
		T(unlink("ro/f"));
		T(rename("ro/f", "moved"));
		T(unlink("sticky/rootf"));
		T(rename("sticky/rootf", "moved"));
		T(close(open("sticky/mine", O_CREAT | O_WRONLY, 0644)));
		T(rename("sticky/mine", "sticky/mine2"));
		T(unlink("sticky/mine2"));
		T(rename("rootdir", "sub/rootdir"));
		T(rename("rootdir", "rootdir2"));
		T(link("root666", "hard"));
		T(unlink("hard"));
		T(unlink("root644"));
		T(close(open("root644", O_CREAT | O_WRONLY, 0644)));
		mode("root644");

		/* attributes */
		T(close(open("mine", O_CREAT | O_WRONLY, 0644)));
		T(chmod("root666", 0777));
		T(chmod("mine", 0600));
		T(chown("mine", 0, -1));
		T(chown("mine", -1, 0));
		T(chown("mine", USER, OTHER_GROUP));
		T(chown("mine", -1, GROUP));
		T(chmod("usergrp0", 02755));
		mode("usergrp0");
		T(chmod("mine", 02755));
		mode("mine");
		struct timeval tv[2] = {{1, 0}, {2, 0}};
		T(utimes("root666", tv));
		T(utimes("root666", NULL));
		T(utimes("grp640", NULL));
		T(utimes("mine", tv));
		T(truncate("grp640", 0));
		T(truncate("root666", 0));
		T(truncate(".", 0));
		T(setxattr("grp640", "user.x", "v", 1, 0));
		T(setxattr("mine", "trusted.x", "v", 1, 0));
		T(getxattr("mine", "trusted.x", NULL, 0));

		/* signals: another user's process is EPERM, even for signal
		 * 0, but SIGCONT reaches the session */
		T(kill(getppid(), 0));
		T(kill(getppid(), SIGUSR1));
		T(syscall(SYS_tgkill, getppid(), getppid(), 0));
		T(kill(getppid(), SIGCONT));
		T(kill(getpid(), 0));

		/* ptrace access modes: another user's process may not be
		 * inspected (get_robust_list) nor have its files taken
		 * (pidfd_getfd); its own may */
		void *head;
		size_t len;
		T(syscall(SYS_get_robust_list, getppid(), &head, &len));
		T(syscall(SYS_get_robust_list, 0, &head, &len));
		T(syscall(SYS_kcmp, getpid(), getppid(), 1, 0, 0));
		int pfd = syscall(SYS_pidfd_open, getppid(), 0);
		T(syscall(SYS_pidfd_getfd, pfd, 0, 0));
		int own = syscall(SYS_pidfd_open, getpid(), 0);
		int got = syscall(SYS_pidfd_getfd, own, 0, 0);
		CHECK(got >= 0);
		close(got);
		close(own);
		close(pfd);

		/* access and execution */
		T(access("root600", R_OK));
		T(access("root600", F_OK));
		T(access("x711", X_OK));
		T(access("x711", R_OK));
		T(access("private/f", F_OK));
		run("./x711");
		run("./x744");
		run("./root666");
		run("./sub");
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("unprivileged child: exit %d\n", WEXITSTATUS(status));
}

int main(int argc, char **argv) {
	if (argc > 1 && !strcmp(argv[1], "--exit7"))
		return 7;
	setup(argc, argv);
	T(umask(022));
	T(umask(022));
	T(close(creat("f755", 0777)));
	mode("f755");
	T(mkdir("d755", 0777));
	mode("d755");
	T(umask(077));
	T(close(open("f700", O_CREAT | O_WRONLY, 0777)));
	mode("f700");
	T(umask(0));
	T(close(open("f666", O_CREAT | O_WRONLY, 0666)));
	mode("f666");
	T(umask(0777 | 01000));
	T(umask(022));

	/* Device nodes, which root may make (CAP_MKNOD); the number is
	 * one no driver has, so opening it is ENXIO. */
	T(mknod("chr", S_IFCHR | 0644, makedev(240, 77)));
	T(mknod("blk", S_IFBLK | 0600, makedev(240, 78)));
	struct stat dst;
	T(lstat("chr", &dst));
	printf("chr: %s %o %u:%u\n", ftype(dst.st_mode), dst.st_mode & 07777, major(dst.st_rdev), minor(dst.st_rdev));
	T(lstat("blk", &dst));
	printf("blk: %s %o %u:%u\n", ftype(dst.st_mode), dst.st_mode & 07777, major(dst.st_rdev), minor(dst.st_rdev));
	T(open("chr", O_RDONLY));
	T(open("blk", O_RDWR));
	T(chmod("chr", 0600));
	T(mknod("chr", S_IFCHR | 0644, makedev(240, 77)));
	/* A node opens the device its numbers name, wherever it is. */
	T(mknod("mynull", S_IFCHR | 0666, makedev(1, 3)));
	T(mknod("myzero", S_IFCHR | 0666, makedev(1, 5)));
	int nfd = open("mynull", O_RDWR);
	T(write(nfd, "abc", 3));
	char zb[4] = "xyz";
	T(read(nfd, zb, sizeof zb));
	close(nfd);
	nfd = open("myzero", O_RDONLY);
	T(read(nfd, zb, sizeof zb));
	CHECK(zb[0] == 0 && zb[3] == 0);
	close(nfd);
	T(unlink("mynull"));
	T(unlink("myzero"));
	T(unlink("chr"));
	T(unlink("blk"));

	/* chmod family */
	T(chmod("f755", 0600));
	mode("f755");
	T(chmod("f755", 04755));
	mode("f755");
	T(chmod("f755", 07777));
	mode("f755");
	T(chmod("f755", 0170644)); /* type bits are ignored */
	mode("f755");
	T(chmod("nonexistent", 0644));
	T(chmod("f755/x", 0644));
	T(chmod(BAD, 0644));
	int fd = open("f700", O_RDONLY);
	T(fchmod(fd, 0444));
	mode("f700");
	T(fchmod(99, 0644));
	T(fchmodat(AT_FDCWD, "f666", 0640, 0));
	mode("f666");
	T(syscall(SYS_fchmodat, 99, "f666", 0644));
	T(symlink("f666", "link"));
	T(chmod("link", 0600)); /* follows the link */
	mode("f666");
	mode("link");

	/* access as root: read and write always, execute if any x bit */
	T(chmod("f755", 0));
	T(access("f755", F_OK));
	T(access("f755", R_OK | W_OK));
	T(access("f755", X_OK));
	T(chmod("f755", 0010));
	T(access("f755", X_OK));
	T(access("d755", X_OK));
	T(chmod("d755", 0));
	T(access("d755", R_OK | W_OK | X_OK));
	T(access("nonexistent", F_OK));
	T(access("f755/x", F_OK));
	T(access("f755", 0100));
	T(access(BAD, F_OK));
	T(access("/etc/passwd", R_OK));
	T(access("/bin/sh", X_OK));
	T(faccessat(AT_FDCWD, "f755", R_OK, AT_EACCESS));
	T(faccessat(AT_FDCWD, "link", F_OK, AT_SYMLINK_NOFOLLOW));
	T(syscall(SYS_faccessat, AT_FDCWD, "f755", R_OK));
	T(syscall(SYS_faccessat2, AT_FDCWD, "f755", R_OK, 0x8000));
	T(syscall(SYS_faccessat, 99, "f755", R_OK));

	/* root opens a mode-0 file for writing */
	T(chmod("f755", 0));
	fd = open("f755", O_RDWR);
	CHECK(fd >= 0);
	T(write(fd, "ok", 2));
	T(close(fd));

	/* chown drops the set-user-ID bit of a file, even root's chown to
	 * itself, and the set-group-ID bit of a group-executable one; a
	 * directory keeps both */
	T(chmod("f755", 06755));
	T(chown("f755", 0, 0));
	mode("f755");
	T(chmod("f755", 02745));
	T(chown("f755", 0, 0));
	mode("f755");
	T(chmod("d755", 06755));
	T(chown("d755", 0, 0));
	mode("d755");

	claims();

	fflush(stdout);
	unprivileged(argv[0]);
	return 0;
}
