/* Inode attribute flags (chattr(1), lsattr(1)) on tmpfs, as Linux has them
 * since 6.0: FS_IOC_GETFLAGS and FS_IOC_SETFLAGS, FS_IOC_FSGETXATTR and
 * FS_IOC_FSSETXATTR, statx's attributes, and what an immutable or
 * append-only file or directory refuses (open, truncate, unlink, rename,
 * link, chmod, chown, utimes, setxattr, fallocate, F_SETFL), and who may
 * change the flags (the owner, CAP_LINUX_IMMUTABLE for +i and +a).
 * Natively everything happens on a tmpfs the program mounts in a mount
 * namespace of its own with private propagation (the sandbox refuses the
 * unshare with EINVAL and has the mount to itself), and every flag set is
 * cleared before the exit, so nothing stays immutable. Needs root. */
#include "common.h"
#include "mountns.h"
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <sys/mman.h>
#include <linux/capability.h>

static int getfl(const char *path) {
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	int fl = 0, r = ioctl(fd, FS_IOC_GETFLAGS, &fl);
	int e = errno;
	close(fd);
	return r < 0 ? -e : fl;
}

static int setfl(const char *path, int fl) {
	int fd = open(path, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	int r = ioctl(fd, FS_IOC_SETFLAGS, &fl);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static void show(const char *path) {
	struct statx sx;
	int fl = getfl(path);
	if (fl < 0)
		printf("%s: flags %s\n", path, ename(-fl));
	else
		printf("%s: flags %#x\n", path, fl);
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) != 0) {
		printf("%s: statx %s\n", path, ename(errno));
		return;
	}
	const unsigned long long bits = STATX_ATTR_APPEND | STATX_ATTR_IMMUTABLE | STATX_ATTR_NODUMP;
	printf("%s: attributes %#llx mask %#llx\n", path, (unsigned long long)sx.stx_attributes & bits,
	       (unsigned long long)sx.stx_attributes_mask & bits);
}

static void fsx(const char *path) {
	int fd = open(path, O_RDONLY);
	struct fsxattr x;
	memset(&x, 0x55, sizeof x);
	errno = 0;
	int r = ioctl(fd, FS_IOC_FSGETXATTR, &x);
	if (r < 0)
		printf("%s: FSGETXATTR %s\n", path, ename(errno));
	else
		printf("%s: xflags %#x extsize %u nextents %u projid %u cowextsize %u\n", path, x.fsx_xflags,
		       x.fsx_extsize, x.fsx_nextents, x.fsx_projid, x.fsx_cowextsize);
	close(fd);
}

static int fssetx(const char *path, unsigned xflags, unsigned extsize, unsigned projid) {
	int fd = open(path, O_RDONLY);
	struct fsxattr x = {.fsx_xflags = xflags, .fsx_extsize = extsize, .fsx_projid = projid};
	int r = ioctl(fd, FS_IOC_FSSETXATTR, &x);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

static int dropcap(int cap) {
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) != 0)
		return -1;
	d[cap / 32].effective &= ~(1u << (cap % 32));
	return syscall(SYS_capset, &h, d);
}

static void immutableFile(void) {
	printf("-- immutable file\n");
	int wfd = open("f", O_WRONLY);
	T(setfl("f", FS_IMMUTABLE_FL));
	show("f");
	fsx("f");
	T(open("f", O_WRONLY));
	T(open("f", O_RDWR));
	T(open("f", O_RDONLY | O_TRUNC));
	T(open("f", O_WRONLY | O_APPEND));
	int fd = open("f", O_RDONLY);
	CHECK(fd >= 0);
	close(fd);
	T(truncate("f", 1));
	T(unlink("f"));
	T(rename("f", "g"));
	T(close(open("other", O_CREAT | O_WRONLY, 0644)));
	T(rename("other", "f"));
	T(link("f", "f2"));
	T(chmod("f", 0600));
	T(chown("f", 1, 1));
	T(utimes("f", NULL));
	struct timespec ts[2] = {{1, 0}, {2, 0}};
	T(utimensat(AT_FDCWD, "f", ts, 0));
	T(setxattr("f", "user.x", "1", 1, 0));
	T(access("f", W_OK));
	T(access("f", R_OK));
	T(fallocate(wfd, 0, 0, 4096));
	/* A descriptor opened before still truncates (nothing checks it),
	 * but copy_file_range refuses to write through it. */
	T(ftruncate(wfd, 3));
	int src = open("other", O_RDONLY);
	T(copy_file_range(src, NULL, wfd, NULL, 1, 0));
	close(src);
	T(setfl("f", 0));
	close(wfd);
	show("f");
	T(unlink("other"));
}

static void appendFile(void) {
	printf("-- append-only file\n");
	int wfd = open("f", O_WRONLY);
	T(setfl("f", FS_APPEND_FL));
	show("f");
	fsx("f");
	T(open("f", O_WRONLY));
	T(open("f", O_RDWR | O_TRUNC | O_APPEND));
	int fd = open("f", O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	T(write(fd, "d", 1));
	T(fcntl(fd, F_SETFL, 0));
	T(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK));
	T(ftruncate(fd, 0));
	T(fallocate(fd, 0, 0, 8192));
	T(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 16384));
	T(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 1));
	close(fd);
	fd = open("f", O_RDWR | O_APPEND);
	void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	printf("mmap shared of a writable descriptor: %s\n", p == MAP_FAILED ? ename(errno) : "mapped");
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	printf("mmap private: %s\n", p == MAP_FAILED ? ename(errno) : "mapped");
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
	fd = open("f", O_RDONLY);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	printf("mmap shared of a read-only descriptor: %s\n", p == MAP_FAILED ? ename(errno) : "mapped");
	if (p != MAP_FAILED)
		munmap(p, 4096);
	close(fd);
	T(fcntl(wfd, F_SETFL, O_APPEND));
	close(wfd);
	T(truncate("f", 1));
	T(unlink("f"));
	T(rename("f", "g"));
	T(link("f", "f2"));
	T(chmod("f", 0600));
	T(chown("f", 0, 0));
	T(utimes("f", NULL));
	struct timespec ts[2] = {{1, 0}, {2, 0}};
	T(utimensat(AT_FDCWD, "f", ts, 0));
	struct timespec nowOmit[2] = {{0, UTIME_NOW}, {0, UTIME_OMIT}};
	T(utimensat(AT_FDCWD, "f", nowOmit, 0));
	T(setxattr("f", "user.x", "1", 1, 0));
	T(access("f", W_OK));
	T(setfl("f", 0));
	struct stat st;
	stat("f", &st);
	printf("size %ld\n", (long)st.st_size);
}

static void dirs(void) {
	printf("-- immutable directory\n");
	T(mkdir("d", 0755));
	T(close(open("d/x", O_CREAT | O_WRONLY, 0644)));
	T(setfl("d", FS_IMMUTABLE_FL));
	show("d");
	T(open("d/y", O_CREAT | O_WRONLY, 0644));
	T(mkdir("d/sub", 0755));
	T(symlink("x", "d/l"));
	T(unlink("d/x"));
	T(rename("d/x", "d/z"));
	T(rename("d/x", "moved"));
	T(rename("f", "d/f"));
	T(link("f", "d/f"));
	T(rmdir("d"));
	T(rename("d", "e"));
	int fd = open("d/x", O_WRONLY);
	CHECK(fd >= 0);
	T(write(fd, "x", 1));
	close(fd);
	T(setfl("d", FS_APPEND_FL));
	printf("-- append-only directory\n");
	show("d");
	T(close(open("d/y", O_CREAT | O_WRONLY, 0644)));
	T(mkdir("d/sub", 0755));
	T(unlink("d/y"));
	T(rmdir("d/sub"));
	T(rename("d/y", "d/z"));
	T(rename("f", "d/f"));
	T(rename("d/f", "f"));
	T(setfl("d", 0));
	T(rename("d/f", "f"));
}

static void inherit(void) {
	printf("-- inherited flags\n");
	T(mkdir("n", 0755));
	T(setfl("n", FS_NODUMP_FL | FS_NOATIME_FL));
	show("n");
	T(close(open("n/f", O_CREAT | O_WRONLY, 0644)));
	T(mkdir("n/sub", 0755));
	show("n/f");
	show("n/sub");
	T(setfl("n/sub", FS_NOATIME_FL));
	show("n/sub");
}

static void unsupported(void) {
	printf("-- what tmpfs does not keep\n");
	T(setfl("f", FS_SYNC_FL));
	T(setfl("f", FS_DAX_FL));
	T(setfl("f", FS_NODUMP_FL | 0x00000100));
	T(setfl("f", FS_IMMUTABLE_FL | FS_SYNC_FL));
	show("f");
	T(fssetx("f", FS_XFLAG_IMMUTABLE | FS_XFLAG_NODUMP, 0, 0));
	show("f");
	fsx("f");
	T(fssetx("f", 0, 4096, 0));
	T(fssetx("f", 0, 0, 7));
	T(fssetx("f", FS_XFLAG_DAX, 0, 0));
	T(fssetx("f", FS_XFLAG_REALTIME, 0, 0));
	show("f");
	T(fssetx("f", 0, 0, 0));
	show("f");
	int p[2];
	pipe(p);
	int fl;
	T(ioctl(p[0], FS_IOC_GETFLAGS, &fl));
	T(ioctl(p[0], FS_IOC_FSGETXATTR, &fl));
	close(p[0]);
	close(p[1]);
	int m = memfd_create("m", 0);
	fl = -1;
	T(ioctl(m, FS_IOC_GETFLAGS, &fl));
	printf("memfd flags %#x\n", fl);
	fl = FS_NODUMP_FL;
	T(ioctl(m, FS_IOC_SETFLAGS, &fl));
	T(ioctl(m, FS_IOC_GETFLAGS, &fl));
	printf("memfd flags %#x\n", fl);
	close(m);
	int o = open("f", O_PATH);
	T(ioctl(o, FS_IOC_GETFLAGS, &fl));
	close(o);
}

static void privilege(void) {
	printf("-- privilege\n");
	pid_t pid = fork();
	if (pid == 0) {
		T(dropcap(CAP_LINUX_IMMUTABLE));
		T(setfl("f", FS_NODUMP_FL));
		T(setfl("f", FS_IMMUTABLE_FL));
		T(setfl("f", FS_APPEND_FL | FS_NODUMP_FL));
		T(setfl("f", 0));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	T(setfl("f", FS_APPEND_FL));
	pid = fork();
	if (pid == 0) {
		T(dropcap(CAP_LINUX_IMMUTABLE));
		T(setfl("f", FS_APPEND_FL | FS_NODUMP_FL));
		T(setfl("f", 0));
		T(setuid(65534));
		T(setfl("f", FS_APPEND_FL));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	show("f");
	T(setfl("f", 0));
	T(chown("f", 65534, 65534));
	pid = fork();
	if (pid == 0) {
		T(setuid(65534));
		T(setfl("f", FS_NODUMP_FL));
		T(setfl("f", FS_APPEND_FL));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	show("f");
}

/* clearAll clears every flag this program may have set. */
static void clearAll(void) {
	const char *paths[] = {"f", "d", "n", "n/f", "n/sub", "other"};
	for (unsigned i = 0; i < sizeof paths / sizeof *paths; i++)
		setfl(paths[i], 0);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (privateMounts() != 0)
		return 1;
	if (mkdir("m", 0755) != 0 || mount("tmpfs", "m", "tmpfs", 0, "mode=1777") != 0 || chdir("m") != 0) {
		printf("cannot mount a tmpfs: %s\n", ename(errno));
		return 1;
	}
	int fd = open("f", O_CREAT | O_WRONLY, 0644);
	T(write(fd, "abc", 3));
	close(fd);
	show("f");
	fsx("f");
	show(".");
	immutableFile();
	appendFile();
	dirs();
	inherit();
	unsupported();
	privilege();
	clearAll();
	T(chdir(".."));
	T(umount("m"));
	return 0;
}
