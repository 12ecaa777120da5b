/* setgidstrip: a file made in a setgid directory by a caller outside the
 * directory's group does not keep a setgid, group-executable mode
 * (CVE-2018-13405), whatever the umask (CVE-2021-4037: the bit goes before
 * the umask applies); members of the group and CAP_FSETID keep it; mknod
 * and open(O_CREAT) alike; directories always inherit S_ISGID. Needs a
 * root host (chown, setresuid). */
#include "common.h"
#include <grp.h>
#include <sys/wait.h>

#define OUTSIDER 65534
#define DIRGROUP 4242

static void made(const char *what, const char *path) {
	struct stat st;
	if (stat(path, &st) != 0) {
		printf("%s: stat %s\n", what, ename(errno));
		return;
	}
	printf("%s: mode %04o gid %s\n", what, st.st_mode & 07777, st.st_gid == DIRGROUP ? "dir's" : "other");
	unlink(path);
	rmdir(path);
}

/* make creates files in d with mode 02777 (and a directory) under umask
 * mask as whoever runs it. */
static void make(const char *who, const char *d, mode_t mask) {
	char p[256], what[128];
	umask(mask);
	snprintf(p, sizeof p, "%s/creat", d);
	int fd = creat(p, 02777);
	close(fd);
	snprintf(what, sizeof what, "%s umask %03o creat", who, mask);
	made(what, p);
	snprintf(p, sizeof p, "%s/open", d);
	fd = open(p, O_CREAT | O_EXCL | O_RDWR, 02755);
	close(fd);
	snprintf(what, sizeof what, "%s umask %03o open 02755", who, mask);
	made(what, p);
	snprintf(p, sizeof p, "%s/fifo", d);
	T(mknod(p, S_IFIFO | 02770, 0));
	snprintf(what, sizeof what, "%s umask %03o mknod fifo", who, mask);
	made(what, p);
	snprintf(p, sizeof p, "%s/nox", d);
	fd = open(p, O_CREAT | O_EXCL | O_RDWR, 02666);
	close(fd);
	snprintf(what, sizeof what, "%s umask %03o open 02666", who, mask);
	made(what, p);
	snprintf(p, sizeof p, "%s/dir", d);
	T(mkdir(p, 0777));
	snprintf(what, sizeof what, "%s umask %03o mkdir", who, mask);
	made(what, p);
}

static void as(const char *who, uid_t uid, gid_t gid, gid_t extra, const char *d) {
	pid_t pid = fork();
	if (pid == 0) {
		gid_t groups[1] = {extra};
		if (setgroups(extra ? 1 : 0, groups) || setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
			_exit(1);
		make(who, d, 0);
		make(who, d, S_IXGRP);
		make(who, d, 022);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("%s: exit %d\n", who, st);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	char d[4096];
	/* The fresh directory's parents may be closed to others: make the
	 * shared one in /dev/shm. */
	snprintf(d, sizeof d, "/dev/shm/setgidstrip-%d", getpid());
	T(mkdir(d, 0777));
	T(chown(d, OUTSIDER, DIRGROUP));
	T(chmod(d, 02777));
	struct stat st;
	stat(d, &st);
	printf("dir mode %04o\n", st.st_mode & 07777);
	as("outsider", OUTSIDER, OUTSIDER, 0, d);
	as("member", OUTSIDER, OUTSIDER, DIRGROUP, d);
	as("owner-gid", OUTSIDER, DIRGROUP, 0, d);
	make("root", d, 0);
	make("root", d, S_IXGRP);
	T(rmdir(d));
	return 0;
}
