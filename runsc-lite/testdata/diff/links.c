/* Links and names: link/symlink/readlink/unlink/rename/renameat2. */
#include "common.h"
#include <linux/fs.h>

static void content(const char *path) {
	char buf[64] = {0};
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("content %s: -1 %s\n", path, ename(errno));
		return;
	}
	int n = read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("content %s: %d \"%s\"\n", path, n, buf);
}

static long nlink(const char *path) {
	struct stat st;
	return lstat(path, &st) ? -1 : (long)st.st_nlink;
}

static void mk(const char *path, const char *s) {
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	write(fd, s, strlen(s));
	close(fd);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	char buf[256];
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;
	mk("a", "AAA");
	mkdir("dir", 0755);

	/* hard links */
	T(link("a", "b"));
	T(nlink("a"));
	T(link("a", "b"));
	T(link("nonexistent", "c"));
	T(link("dir", "dirlink"));
	T(link("a", "nonexistent/c"));
	T(link("a", "a/c"));
	T(link("a", longname));
	T(link(BAD, "c"));
	T(linkat(AT_FDCWD, "a", AT_FDCWD, "c", 0x4000));
	content("b");

	/* symbolic links */
	T(symlink("a", "s"));
	T(symlink("x", "s"));
	T(symlink("nowhere", "dangling"));
	T(symlink("loop", "loop"));
	T(symlink("dir", "sdir"));
	T(symlink("", "empty"));
	memset(buf, 0, sizeof buf);
	T(readlink("s", buf, sizeof buf));
	printf("readlink s: \"%s\"\n", buf);
	T(readlink("s", buf, 0));
	memset(buf, 0, sizeof buf);
	T(readlink("dangling", buf, 3));
	printf("truncated: \"%s\"\n", buf);
	T(readlink("a", buf, sizeof buf));
	T(readlink("dir", buf, sizeof buf));
	T(readlink("nonexistent", buf, sizeof buf));
	T(readlink("s", BAD, sizeof buf));
	T(readlink("sdir/", buf, sizeof buf));
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	T(readlinkat(dfd, "s", buf, sizeof buf));
	T(symlinkat("a", dfd, "s2"));
	content("s");
	content("s2");
	content("dangling");
	content("loop");
	T(open("s", O_RDONLY | O_NOFOLLOW));
	T(open("loop/x", O_RDONLY));
	T(access("sdir/", F_OK));
	T(linkat(AT_FDCWD, "s", AT_FDCWD, "hs", 0));
	T(linkat(AT_FDCWD, "s", AT_FDCWD, "hf", AT_SYMLINK_FOLLOW));
	T(nlink("s"));
	T(nlink("a"));

	/* unlink */
	T(unlink("b"));
	T(unlink("b"));
	T(unlink("dir"));
	T(unlink("a/x"));
	T(unlink("sdir"));
	T(unlink(""));
	T(unlinkat(dfd, "hs", 0));
	T(unlinkat(dfd, "hf", AT_REMOVEDIR));
	T(unlinkat(dfd, "hf", 0x1234));
	T(unlinkat(dfd, "hf", 0));
	T(nlink("a"));
	mkdir("dir/sub", 0755);
	T(unlinkat(dfd, "dir/sub", AT_REMOVEDIR));

	/* rename */
	mk("x", "XXX");
	mk("y", "YYY");
	T(rename("x", "z"));
	T(access("x", F_OK));
	content("z");
	T(rename("z", "y"));
	content("y");
	T(rename("y", "y"));
	T(rename("nonexistent", "w"));
	mkdir("d1", 0755);
	mkdir("d2", 0755);
	mk("d2/f", "F");
	T(rename("d1", "d2"));
	T(rename("d2", "d1"));
	T(access("d1/f", F_OK));
	T(rename("y", "d1"));
	T(rename("d1", "y"));
	T(rename("d1", "d1/sub"));
	T(rename(".", "q"));
	T(rename("y", "nonexistent/y"));
	T(rename("y", longname));
	T(rename("y", BAD));
	T(rename("s", "s3"));
	content("s3");

	/* renameat2 */
	mk("p", "PPP");
	mk("q", "QQQ");
	T(renameat2(AT_FDCWD, "p", AT_FDCWD, "q", RENAME_NOREPLACE));
	T(renameat2(AT_FDCWD, "p", AT_FDCWD, "r", RENAME_NOREPLACE));
	T(renameat2(AT_FDCWD, "r", AT_FDCWD, "q", RENAME_EXCHANGE));
	content("r");
	content("q");
	T(renameat2(AT_FDCWD, "r", AT_FDCWD, "nonexistent", RENAME_EXCHANGE));
	T(renameat2(AT_FDCWD, "r", AT_FDCWD, "q", RENAME_EXCHANGE | RENAME_NOREPLACE));
	T(renameat2(AT_FDCWD, "r", AT_FDCWD, "q", 0x100));
	T(renameat2(dfd, "r", dfd, "r2", 0));
	content("r2");
	return 0;
}
