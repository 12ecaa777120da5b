/* openat2 and fchmodat2: open_how's size and strict flag checks, the
 * RESOLVE_* restrictions (symlinks, magic links, mounts, beneath, in
 * root, cached), and fchmodat2's flags (a symlink's own mode, empty paths
 * on O_PATH descriptors). */
#include "common.h"
#include <linux/openat2.h>

#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static long openat2(int dirfd, const char *path, struct open_how *how, size_t size) {
	return syscall(SYS_openat2, dirfd, path, how, size);
}

static const char *show(long fd) {
	static char b[32];
	if (fd >= 0) {
		close(fd);
		return "opened";
	}
	snprintf(b, sizeof b, "-1 %s", ename(errno));
	return b;
}

#define O2(dfd, path, fl, md, res)                                                          \
	do {                                                                                \
		struct open_how h = {.flags = (fl), .mode = (md), .resolve = (res)};         \
		printf("openat2(%s, %s, %s) = %s\n", #path, #fl, #res, show(openat2(dfd, path, &h, sizeof h))); \
	} while (0)

int main(int argc, char **argv) {
	setup(argc, argv);
	T(mkdir("dir", 0755));
	T(mkdir("dir/sub", 0755));
	int fd = open("dir/file", O_CREAT | O_WRONLY, 0644);
	close(fd);
	T(symlink("file", "dir/rel"));
	T(symlink("/proc/version", "dir/abs"));
	T(symlink("../file", "dir/sub/up"));
	int dir = open("dir", O_PATH | O_DIRECTORY);

	/* open_how's size and checks. */
	struct open_how how = {.flags = O_RDONLY};
	errno = 0;
	printf("size 0: %s\n", show(openat2(dir, "file", &how, 0)));
	printf("size 23: %s\n", show(openat2(dir, "file", &how, 23)));
	printf("size 24: %s\n", show(openat2(dir, "file", &how, 24)));
	char big[4097] = {0};
	memcpy(big, &how, sizeof how);
	printf("size 32 zeroed: %s\n", show(openat2(dir, "file", (struct open_how *)big, 32)));
	big[30] = 1;
	printf("size 32 not zeroed: %s\n", show(openat2(dir, "file", (struct open_how *)big, 32)));
	printf("size 4097: %s\n", show(openat2(dir, "file", (struct open_how *)big, 4097)));
	O2(dir, "file", O_RDONLY, 0644, 0);
	O2(dir, "new", O_RDWR | O_CREAT, 0x10000, 0);
	O2(dir, "file", O_RDONLY | (1ULL << 40), 0, 0);
	O2(dir, "file", O_PATH | O_RDWR, 0, 0);
	O2(dir, "file", O_RDONLY, 0, 0x40);
	O2(dir, "file", O_RDONLY, 0, RESOLVE_BENEATH | RESOLVE_IN_ROOT);
	O2(dir, NULL, O_RDONLY, 0, 0);
	O2(-1, "file", O_RDONLY, 0, 0);

	/* Symlinks and magic links. */
	O2(dir, "rel", O_RDONLY, 0, 0);
	O2(dir, "rel", O_RDONLY, 0, RESOLVE_NO_SYMLINKS);
	O2(dir, "rel", O_RDONLY | O_CREAT, 0644, RESOLVE_NO_SYMLINKS);
	O2(dir, "rel", O_PATH | O_NOFOLLOW, 0, RESOLVE_NO_SYMLINKS);
	O2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, 0);
	O2(AT_FDCWD, "/proc/self/exe", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
	O2(AT_FDCWD, "/proc/self/cwd/dir/file", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
	O2(AT_FDCWD, "/proc/self/fd/0", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);
	O2(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, RESOLVE_NO_MAGICLINKS);

	/* Mounts. */
	O2(AT_FDCWD, "/proc/version", O_RDONLY, 0, RESOLVE_NO_XDEV);
	O2(dir, "abs", O_RDONLY, 0, RESOLVE_NO_XDEV);
	O2(dir, "sub/up", O_RDONLY, 0, RESOLVE_NO_XDEV);
	int proc = open("/proc", O_PATH | O_DIRECTORY);
	O2(proc, "version", O_RDONLY, 0, RESOLVE_NO_XDEV);
	O2(proc, "..", O_PATH, 0, RESOLVE_NO_XDEV);

	/* Beneath and in root. */
	O2(dir, "sub/up", O_RDONLY, 0, RESOLVE_BENEATH);
	O2(dir, "sub/../file", O_RDONLY, 0, RESOLVE_BENEATH);
	O2(dir, "../dir/file", O_RDONLY, 0, RESOLVE_BENEATH);
	O2(dir, "abs", O_RDONLY, 0, RESOLVE_BENEATH);
	O2(dir, "/proc/version", O_RDONLY, 0, RESOLVE_BENEATH);
	O2(dir, "/file", O_RDONLY, 0, RESOLVE_IN_ROOT);
	O2(dir, "../../../file", O_RDONLY, 0, RESOLVE_IN_ROOT);
	O2(dir, "abs", O_RDONLY, 0, RESOLVE_IN_ROOT);
	O2(dir, "/proc/version", O_RDONLY, 0, RESOLVE_IN_ROOT);

	/* Cached. */
	O2(dir, "file", O_RDONLY, 0, RESOLVE_CACHED);
	O2(dir, "file", O_RDWR | O_TRUNC, 0, RESOLVE_CACHED);
	O2(dir, "cached", O_RDWR | O_CREAT, 0644, RESOLVE_CACHED);

	/* fchmodat2. */
	struct stat st;
	T(syscall(SYS_fchmodat2, dir, "file", 0600, 0));
	T(fstatat(dir, "file", &st, 0));
	printf("mode %o\n", st.st_mode & 07777);
	T(syscall(SYS_fchmodat2, dir, "rel", 0640, 0));
	T(fstatat(dir, "file", &st, 0));
	printf("mode through the link %o\n", st.st_mode & 07777);
	T(syscall(SYS_fchmodat2, dir, "rel", 0600, AT_SYMLINK_NOFOLLOW));
	T(syscall(SYS_fchmodat2, dir, "file", 0644, AT_SYMLINK_NOFOLLOW));
	int sub = open("dir/sub", O_PATH | O_DIRECTORY);
	T(syscall(SYS_fchmodat2, sub, "", 0700, AT_EMPTY_PATH));
	T(fstatat(dir, "sub", &st, 0));
	printf("sub mode %o\n", st.st_mode & 07777);
	T(syscall(SYS_fchmodat2, sub, "", 0700, 0));
	T(syscall(SYS_fchmodat2, dir, "file", 0644, 0x8000));
	T(syscall(SYS_fchmodat2, -1, "file", 0644, 0));
	T(syscall(SYS_fchmodat2, dir, "missing", 0644, 0));
	return 0;
}
