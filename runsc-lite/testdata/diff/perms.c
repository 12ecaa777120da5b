/* Permissions: chmod/fchmod/fchmodat/umask/access/faccessat, and the
 * credentials root may claim in SCM_CREDENTIALS, as root (the
 * sandbox runs as uid 0; the test skips this program when the host is not
 * root). */
#include "common.h"
#include <signal.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

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

int main(int argc, char **argv) {
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
	claims();
	return 0;
}
