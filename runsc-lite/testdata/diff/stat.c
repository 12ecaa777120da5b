/* stat family: stat/fstat/lstat/fstatat/statx. Prints type, permission bits,
 * size and link count, never inode numbers, devices or times; of statx's
 * birth times only which files have one and how they compare with the
 * file's other times. */
#include "common.h"
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>

static long long ns(struct statx_timestamp t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

/* birth prints whether statx gives fd/path a birth time (STATX_BTIME
 * asked for), and, with order, its place among the other times. */
static void birth_at(const char *what, int dirfd, const char *path, int flags, int order) {
	struct statx sx;
	if (statx(dirfd, path, flags, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) {
		printf("btime %s: %s\n", what, ename(errno));
		return;
	}
	if (!(sx.stx_mask & STATX_BTIME)) {
		printf("btime %s: none\n", what);
		return;
	}
	if (!order) {
		printf("btime %s: given\n", what);
		return;
	}
	long long b = ns(sx.stx_btime), c = ns(sx.stx_ctime), m = ns(sx.stx_mtime);
	printf("btime %s: %s ctime, %s mtime\n", what, b == c ? "=" : b < c ? "<" : ">", b == m ? "=" : b < m ? "<" : ">");
}

static void birth(const char *what, int dirfd, const char *path, int flags) { birth_at(what, dirfd, path, flags, 1); }

static long long btime_of(const char *path) {
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) != 0 || !(sx.stx_mask & STATX_BTIME))
		return -1;
	return ns(sx.stx_btime);
}

/* births: new files of every type have their creation time (ext4,
 * tmpfs and the sandbox's memory), kept by writes, renames and links;
 * host files have the host's; pseudo-files none; and none unless asked. */
static void births(const char *self) {
	int fd = open("born", O_CREAT | O_RDWR, 0600);
	birth("new file", AT_FDCWD, "born", 0);
	mkdir("borndir", 0700);
	birth("new directory", AT_FDCWD, "borndir", 0);
	symlink("born", "bornlink");
	birth("new symlink", AT_FDCWD, "bornlink", AT_SYMLINK_NOFOLLOW);
	mkfifo("bornfifo", 0600);
	birth("new fifo", AT_FDCWD, "bornfifo", 0);
	long long b0 = btime_of("born");
	struct timespec pause = {0, 20000000};
	nanosleep(&pause, NULL);
	write(fd, "x", 1);
	fchmod(fd, 0640);
	birth("written file", fd, "", AT_EMPTY_PATH);
	link("born", "bornlink2");
	rename("born", "reborn");
	printf("btime kept by write, chmod, link and rename: %s\n",
	       b0 >= 0 && btime_of("reborn") == b0 && btime_of("bornlink2") == b0 ? "yes" : "no");
	struct statx sx;
	statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx);
	printf("btime without STATX_BTIME: %s\n", sx.stx_mask & STATX_BTIME ? "given" : "none");
	close(fd);
	int tfd = open(".", O_TMPFILE | O_RDWR, 0600);
	birth("O_TMPFILE file", tfd, "", AT_EMPTY_PATH);
	close(tfd);
	char shm[64];
	snprintf(shm, sizeof shm, "/dev/shm/stat-btime-%d", getpid());
	close(open(shm, O_CREAT | O_RDWR, 0600));
	birth("new /dev/shm file", AT_FDCWD, shm, 0);
	unlink(shm);
	int mfd = memfd_create("born", 0);
	birth_at("memfd", mfd, "", AT_EMPTY_PATH, 0);
	close(mfd);
	birth("this program (a host file)", AT_FDCWD, self, 0);
	birth("/etc/passwd", AT_FDCWD, "/etc/passwd", 0);
	/* devtmpfs's nodes: made at boot, changed since by the host */
	birth_at("/dev/null", AT_FDCWD, "/dev/null", 0, 0);
	birth_at("/dev/ptmx", AT_FDCWD, "/dev/ptmx", 0, 0);
	birth("/dev/pts/ptmx", AT_FDCWD, "/dev/pts/ptmx", 0);
	birth("/proc/self/status", AT_FDCWD, "/proc/self/status", 0);
	birth("/sys/class", AT_FDCWD, "/sys/class", 0);
	int p[2];
	pipe(p);
	birth("pipe", p[0], "", AT_EMPTY_PATH);
	int so = socket(AF_UNIX, SOCK_STREAM, 0);
	birth("socket", so, "", AT_EMPTY_PATH);
}

static void show(const char *what, int r, struct stat *st) {
	if (r != 0) {
		printf("%s = -1 %s\n", what, ename(errno));
		return;
	}
	/* a directory's size is up to its file system: not printed */
	long size = S_ISDIR(st->st_mode) ? -1 : (long)st->st_size;
	printf("%s = 0: %s %04o size=%ld nlink=%ld\n", what, ftype(st->st_mode),
	       st->st_mode & 07777, size, (long)st->st_nlink);
}

#define S(call) do { errno = 0; int _r = call; show(#call, _r, &st); } while (0)

int main(int argc, char **argv) {
	setup(argc, argv);
	umask(022);
	struct stat st;
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;

	int fd = open("file", O_CREAT | O_RDWR, 0640);
	write(fd, "0123456789", 10);
	mkdir("dir", 0751);
	mkdir("dir/sub", 0700);
	symlink("file", "link");
	symlink("nowhere", "dangling");
	link("file", "hard");

	S(stat("file", &st));
	S(lstat("file", &st));
	S(stat("link", &st));
	S(lstat("link", &st));
	S(stat("dangling", &st));
	S(lstat("dangling", &st));
	S(stat("dir", &st));
	S(stat("dir/sub", &st));
	S(stat("dir/sub/", &st));
	S(stat("file/", &st));
	S(stat(".", &st));
	S(stat("/", &st));
	S(stat("/etc/passwd", &st));
	S(stat("/dev/null", &st));
	printf("/dev/null rdev = %u:%u\n", major(st.st_rdev), minor(st.st_rdev));
	S(stat("/dev/zero", &st));
	printf("/dev/zero rdev = %u:%u\n", major(st.st_rdev), minor(st.st_rdev));
	S(fstat(fd, &st));
	int p[2];
	pipe(p);
	S(fstat(p[0], &st));
	S(fstat(1 + 98, &st));
	S(fstat(-1, &st));

	int dfd = open("dir", O_RDONLY | O_DIRECTORY);
	S(fstatat(dfd, "sub", &st, 0));
	S(fstatat(dfd, "..", &st, 0));
	S(fstatat(AT_FDCWD, "link", &st, AT_SYMLINK_NOFOLLOW));
	S(fstatat(AT_FDCWD, "link", &st, 0));
	S(fstatat(fd, "", &st, AT_EMPTY_PATH));
	S(fstatat(dfd, "", &st, AT_EMPTY_PATH));
	S(fstatat(dfd, "", &st, 0));
	S(fstatat(fd, "x", &st, 0));
	S(fstatat(99, "x", &st, 0));
	S(fstatat(99, "/etc/passwd", &st, 0));
	S(fstatat(AT_FDCWD, "file", &st, 0x12345));

	/* error paths */
	S(stat("nonexistent", &st));
	S(stat("nonexistent/x", &st));
	S(stat("file/x", &st));
	S(stat("", &st));
	S(stat(longname, &st));
	S(stat(BAD, &st));
	S(stat("file", BAD));
	S(fstat(fd, BAD));
	S(lstat(BAD, &st));

	/* statx */
	struct statx sx;
	unsigned basic = STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_SIZE;
#define SX(call) do { errno = 0; int _r = call; \
	if (_r) printf("%s = -1 %s\n", #call, ename(errno)); \
	else printf("%s = 0: %s %04o size=%lld nlink=%u basic=%s\n", #call, \
	ftype(sx.stx_mode), sx.stx_mode & 07777, \
	S_ISDIR(sx.stx_mode) ? -1LL : (long long)sx.stx_size, \
	sx.stx_nlink, (sx.stx_mask & basic) == basic ? "yes" : "no"); } while (0)
	SX(statx(AT_FDCWD, "file", 0, STATX_BASIC_STATS, &sx));
	SX(statx(AT_FDCWD, "link", 0, STATX_BASIC_STATS, &sx));
	SX(statx(AT_FDCWD, "link", AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx));
	SX(statx(AT_FDCWD, "dir", 0, STATX_BASIC_STATS, &sx));
	SX(statx(fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx));
	SX(statx(AT_FDCWD, "nonexistent", 0, STATX_BASIC_STATS, &sx));
	SX(statx(AT_FDCWD, "file", 0, STATX__RESERVED, &sx));
	SX(statx(AT_FDCWD, "file", 0x7000000, STATX_BASIC_STATS, &sx));
	SX(statx(AT_FDCWD, "file", 0, STATX_BASIC_STATS, BAD));

	/* mount roots: statx always answers STATX_ATTR_MOUNT_ROOT (mask), set
	 * for the root of a mount only */
	const char *roots[] = {"/", "/proc", "/proc/self", "/sys", "/etc", "dir", "file"};
	for (unsigned i = 0; i < sizeof roots / sizeof *roots; i++) {
		if (statx(AT_FDCWD, roots[i], 0, STATX_BASIC_STATS, &sx) != 0) {
			printf("statx %s: %s\n", roots[i], ename(errno));
			continue;
		}
		printf("statx %s: mount root %d, in mask %d\n", roots[i], !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT),
		       !!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT));
	}
	/* the mount ID: mountinfo's line of that ID has the file's device,
	 * and fdinfo's mnt_id is the same */
	const char *ids[] = {"/", "/proc", "/proc/self/status", "/sys", "file"};
	for (unsigned i = 0; i < sizeof ids / sizeof *ids; i++) {
		int ffd = open(ids[i], O_RDONLY);
		if (ffd < 0 || statx(ffd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) != 0) {
			printf("mnt_id %s: %s\n", ids[i], ename(errno));
			continue;
		}
		int found = 0;
		char line[4096];
		FILE *mi = fopen("/proc/self/mountinfo", "r");
		while (mi && fgets(line, sizeof line, mi)) {
			unsigned long long id;
			unsigned mj, mn;
			if (sscanf(line, "%llu %*d %u:%u", &id, &mj, &mn) == 3 && id == sx.stx_mnt_id)
				found = mj == sx.stx_dev_major && mn == sx.stx_dev_minor ? 1 : 2;
		}
		if (mi)
			fclose(mi);
		char path[64];
		unsigned long long fdinfo = ~0ULL;
		snprintf(path, sizeof path, "/proc/self/fdinfo/%d", ffd);
		FILE *fi = fopen(path, "r");
		while (fi && fgets(line, sizeof line, fi))
			sscanf(line, "mnt_id: %llu", &fdinfo);
		if (fi)
			fclose(fi);
		printf("mnt_id %s: in mask %d, in mountinfo %s, fdinfo's %s\n", ids[i], !!(sx.stx_mask & STATX_MNT_ID),
		       found == 1 ? "with its device" : found ? "with another device" : "no", fdinfo == sx.stx_mnt_id ? "same" : "differs");
		close(ffd);
	}
	int pfd[2];
	if (pipe(pfd) == 0 && statx(pfd[0], "", AT_EMPTY_PATH, STATX_BASIC_STATS, &sx) == 0)
		printf("statx of a pipe: mount root %d, in mask %d\n", !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT),
		       !!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT));

	/* sizes follow writes and truncation */
	write(fd, "abc", 3);
	S(stat("hard", &st));
	ftruncate(fd, 4);
	S(stat("file", &st));
	unlink("hard");
	S(fstat(fd, &st));
	unlink("file");
	S(fstat(fd, &st));
	births(argv[0]);
	return 0;
}
