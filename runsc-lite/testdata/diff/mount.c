/* mount(2) and umount2(2) of tmpfs: options, the size bound, read-only
 * remounts and what they refuse (EROFS), stacking, busy and lazy
 * unmounts, noexec, errors and privilege; proc and devpts mounts (a new
 * devpts instance each, its uid= and gid= in the mounter's user
 * namespace). The program first moves into a mount namespace of its own,
 * with private propagation (mountns.h), so the host's mount table is never
 * touched; a failure there stops it before it mounts. Needs root. */
#include "common.h"
#include "mountns.h"
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <utime.h>

/* mountOpts prints the type and options /proc/self/mounts gives the mount
 * at the absolute path dir, without the kernel's inode32/inode64. */
static void mountOpts(const char *dir) {
	FILE *f = fopen("/proc/self/mounts", "r");
	char src[256], point[4096], type[64], opts[256], found[512] = "not mounted";
	while (f && fscanf(f, "%255s %4095s %63s %255s %*d %*d", src, point, type, opts) == 4)
		if (strcmp(point, dir) == 0) {
			char *p = strstr(opts, ",inode64");
			if (p)
				memmove(p, p + 8, strlen(p + 8) + 1);
			snprintf(found, sizeof found, "%s %s", type, opts);
		}
	if (f)
		fclose(f);
	printf("mounts: %s\n", found);
}

static void fsInfo(const char *dir) {
	struct statfs s;
	if (statfs(dir, &s) != 0) {
		printf("statfs: %s\n", ename(errno));
		return;
	}
	printf("statfs: tmpfs %d size %ld ro %d nosuid %d noexec %d\n", s.f_type == 0x01021994,
	       (long)(s.f_blocks * s.f_bsize), !!(s.f_flags & ST_RDONLY), !!(s.f_flags & ST_NOSUID),
	       !!(s.f_flags & ST_NOEXEC));
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (privateMounts() != 0)
		return 1;
	char m[4096], sub[4200];
	snprintf(m, sizeof m, "%s/m", argv[1]);
	snprintf(sub, sizeof sub, "%s/sub", m);
	T(mkdir("m", 0755));

	/* /proc/self/mounts polls EPOLLPRI|EPOLLERR once after each change
	 * of the mount table (mounts_poll); epoll may watch it. */
	int mfd = open("/proc/self/mounts", O_RDONLY);
	int ep = epoll_create1(0);
	struct epoll_event mev = {.events = EPOLLPRI};
	T(epoll_ctl(ep, EPOLL_CTL_ADD, mfd, &mev));
	T(epoll_wait(ep, &mev, 1, 0));
	T(mount("none", "m", "tmpfs", 0, NULL));
	T(epoll_wait(ep, &mev, 1, 1000));
	printf("events %#x\n", mev.events);
	T(epoll_wait(ep, &mev, 1, 0));
	T(umount("m"));
	struct pollfd pfd = {.fd = mfd, .events = POLLPRI};
	T(poll(&pfd, 1, 1000));
	printf("revents %#x\n", pfd.revents);
	T(poll(&pfd, 1, 0));
	close(ep);
	close(mfd);
	int reg = open("m", O_RDONLY | O_DIRECTORY);
	ep = epoll_create1(0);
	T(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &mev));
	close(reg);
	close(ep);

	/* A bounded tmpfs with a mode. */
	T(mount("none", "m", "tmpfs", 0, "size=64k,mode=700"));
	struct stat st;
	T(stat("m", &st));
	printf("mode %o\n", st.st_mode & 07777);
	mountOpts(m);
	fsInfo("m");
	char buf[65536 + 4096];
	memset(buf, 'x', sizeof buf);
	int fd = open("m/f", O_CREAT | O_RDWR, 0644);
	T(write(fd, buf, 65536));
	T(write(fd, "y", 1));
	T(ftruncate(fd, 4096));
	T(write(fd, "y", 1));
	T(ftruncate(fd, 1 << 20));
	T(fallocate(fd, 0, 0, 1 << 20));
	close(fd);
	/* Space fallocated before the filesystem filled up is still there. */
	T(unlink("m/f"));
	fd = open("m/f", O_CREAT | O_RDWR, 0644);
	T(fallocate(fd, 0, 0, 16384));
	int fill = open("m/fill", O_CREAT | O_RDWR, 0644);
	T(write(fill, buf, 65536));
	T(write(fill, buf, 65536));
	T(write(fd, buf, 16384));
	T(write(fd, buf, 1));
	T(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
	T(write(fill, buf, 8192));
	close(fill);
	T(unlink("m/fill"));
	T(ftruncate(fd, 0));
	T(write(fd, buf, 8192));
	close(fd);

	/* Read-only. */
	T(mount("none", "m", "tmpfs", MS_REMOUNT | MS_RDONLY, NULL));
	mountOpts(m);
	fsInfo("m");
	fd = open("m/f", O_RDONLY);
	T(fd >= 0);
	T(close(fd));
	T(open("m/f", O_WRONLY));
	T(open("m/f", O_RDONLY | O_TRUNC));
	T(open("m/g", O_CREAT | O_WRONLY, 0644));
	T(mkdir("m/d", 0755));
	T(mknod("m/p", S_IFIFO | 0644, 0));
	T(symlink("f", "m/l"));
	T(link("m/f", "m/h"));
	T(unlink("m/f"));
	T(unlink("m/missing"));
	T(rmdir("m/missing"));
	T(rename("m/f", "m/g"));
	T(chmod("m/f", 0600));
	T(chown("m/f", 1, 1));
	T(truncate("m/f", 0));
	T(truncate("m", 0));
	T(utime("m/f", NULL));
	T(setxattr("m/f", "user.x", "1", 1, 0));
	T(access("m/f", W_OK));
	T(access("m/f", R_OK));
	T(access("m", W_OK));
	T(mount("none", "m", "tmpfs", MS_REMOUNT, NULL));
	mountOpts(m);
	T(unlink("m/f"));

	/* Stacked mounts, and mounts below a mount. */
	T(mount("second", "m", "tmpfs", MS_NOSUID | MS_NOEXEC, NULL));
	mountOpts(m);
	fsInfo("m");
	T(close(open("m/script", O_CREAT | O_WRONLY, 0755)));
	fd = open("m/script", O_WRONLY);
	T(write(fd, "#!/bin/sh\nexit 3\n", 17));
	close(fd);
	T(execl("m/script", "script", (char *)NULL));
	T(mkdir("m/sub", 0755));
	T(mount("third", "m/sub", "tmpfs", 0, NULL));
	T(umount("m"));
	T(umount2("m", MNT_DETACH));
	mountOpts(sub);
	mountOpts(m);
	T(umount("m"));
	mountOpts(m);
	T(umount("m"));
	T(access("m/script", F_OK));

	/* Errors. */
	T(mount("none", "m", "nosuchfs", 0, NULL));
	T(mount("none", "m", "tmpfs", 0, "bogus=1"));
	T(mount("none", "m", "tmpfs", 0, "size=12q"));
	T(mount("none", "m", NULL, 0, NULL));
	T(close(open("file", O_CREAT | O_WRONLY, 0644)));
	T(mount("none", "file", "tmpfs", 0, NULL));
	T(mount("none", "missing", "tmpfs", 0, NULL));
	T(mount("none", "m", "tmpfs", MS_REMOUNT, NULL));
	T(umount("m"));
	T(umount("missing"));
	T(umount2("m", 0x100));
	T(umount2("m", MNT_EXPIRE | MNT_DETACH));
	T(mount("none", BAD, "tmpfs", 0, NULL));
	T(mount("none", "m", BAD, 0, NULL));
	T(mount("none", "m", "tmpfs", MS_PRIVATE, NULL));
	T(mount(NULL, "/", NULL, MS_PRIVATE, NULL));

	/* proc mounted again (a chroot's /proc): the same processes. */
	T(mount("proc", "m", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL));
	mountOpts(m);
	char self[64] = "", there[64] = "";
	T(readlink("/proc/self/ns/mnt", self, sizeof self - 1));
	T(readlink("m/self/ns/mnt", there, sizeof there - 1));
	printf("same namespace link: %d\n", strcmp(self, there) == 0);
	struct stat pst;
	T(stat("m/1", &pst));
	T(umount("m"));

	/* devpts: every mount a new instance, with its own options and
	 * pseudo-terminals. */
	T(mount("devpts", "m", "devpts", 0, "bogus"));
	T(mount("devpts", "m", "devpts", 0, "newinstance,ptmxmode=0666,mode=620"));
	mountOpts(m);
	struct stat ptst;
	T(stat("m/ptmx", &ptst));
	printf("ptmx mode %o\n", ptst.st_mode);
	int master = open("m/ptmx", O_RDWR | O_NOCTTY);
	int ptn = -1, unlock = 0;
	T(ioctl(master, TIOCGPTN, &ptn));
	printf("first pty of the instance: %d\n", ptn);
	T(ioctl(master, TIOCSPTLCK, &unlock));
	char slavePath[64];
	snprintf(slavePath, sizeof slavePath, "m/%d", ptn);
	T(stat(slavePath, &ptst));
	printf("slave mode %o gid %d\n", ptst.st_mode, (int)ptst.st_gid);
	int slave = open(slavePath, O_RDWR | O_NOCTTY);
	T(write(master, "hello\n", 6));
	char line[16] = "";
	T(read(slave, line, sizeof line - 1));
	printf("slave read %s", line);
	close(slave);
	close(master);
	T(stat(slavePath, &ptst));
	T(umount("m"));

	/* devpts's uid= and gid= are IDs of the mounter's user namespace
	 * (make_kuid): unmapped ones are EINVAL, and /proc/PID/mounts shows
	 * the kernel's. */
	int go[2], back[2];
	pipe(go), pipe(back);
	fflush(stdout);
	pid_t ns = fork();
	if (ns == 0) {
		char c;
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
			_exit(1);
		write(back[1], "x", 1), read(go[0], &c, 1); /* the maps are written */
		T(mount("devpts", "m", "devpts", 0, "uid=5"));
		T(mount("devpts", "m", "devpts", 0, "uid=0,gid=0,mode=600,ptmxmode=666"));
		mountOpts(m);
		int master = open("m/ptmx", O_RDWR | O_NOCTTY), unlock = 0, n = -1;
		ioctl(master, TIOCSPTLCK, &unlock), ioctl(master, TIOCGPTN, &n);
		char path[64];
		snprintf(path, sizeof path, "m/%d", n);
		struct stat st;
		T(stat(path, &st));
		printf("slave owner inside: %d:%d\n", (int)st.st_uid, (int)st.st_gid);
		fflush(stdout);
		_exit(0);
	}
	char c;
	read(back[0], &c, 1);
	char map[64];
	snprintf(map, sizeof map, "/proc/%d/uid_map", ns);
	T(put_text(map, "0 1000 1"));
	snprintf(map, sizeof map, "/proc/%d/gid_map", ns);
	T(put_text(map, "0 1000 1"));
	write(go[1], "x", 1);
	int nst;
	T(waitpid(ns, &nst, 0) == ns);
	T(nst);

	/* Only CAP_SYS_ADMIN mounts. */
	pid_t pid = fork();
	if (pid == 0) {
		if (setuid(65534) != 0)
			_exit(1);
		T(mount("none", "m", "tmpfs", 0, NULL));
		T(umount("/"));
		_exit(0);
	}
	int ws;
	T(waitpid(pid, &ws, 0) == pid);
	T(ws);
	return 0;
}
