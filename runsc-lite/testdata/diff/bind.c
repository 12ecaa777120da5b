/* Bind mounts (mount(2) with MS_BIND): a directory or a file shown at a
 * second place, writes through either name, the mount's root in
 * /proc/self/mountinfo, submounts only with MS_REC, a read-only bind
 * remount that leaves the source writable, unmounting, errnos. Natively
 * the program first moves into a private mount namespace of its own
 * (mountns.h). Needs root. */
#include "common.h"
#include "mountns.h"
#include <sys/mount.h>

/* info prints the root and the mount options /proc/self/mountinfo gives
 * the mount at the absolute path dir (the last one there), or that none
 * is. */
static void info(const char *dir) {
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192], found[600] = "not mounted";
	while (f && fgets(line, sizeof line, f)) {
		char root[256], point[4096], opts[256];
		if (sscanf(line, "%*d %*d %*s %255s %4095s %255s", root, point, opts) == 3 && strcmp(point, dir) == 0)
			snprintf(found, sizeof found, "root %s opts %s", root, opts);
	}
	if (f)
		fclose(f);
	printf("mountinfo: %s\n", found);
}

/* create writes text to a new file. */
static int create(const char *file, const char *text) {
	int fd = open(file, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0)
		return -1;
	int r = write(fd, text, strlen(text));
	close(fd);
	return r;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (privateMounts() != 0)
		return 1;
	char path[4200];
	T(mkdir("t", 0755));
	T(mount("none", "t", "tmpfs", 0, NULL));
	T(mkdir("t/src", 0755));
	T(mkdir("t/src/sub", 0755));
	T(create("t/src/f", "first\n"));
	T(create("t/file", "a file\n"));
	T(create("t/file2", "another\n"));
	T(mkdir("t/dst", 0755));
	T(mkdir("t/rec", 0755));

	T(mount("t/src", "t/dst", NULL, MS_BIND, NULL));
	list("t/dst");
	snprintf(path, sizeof path, "%s/t/dst", argv[1]);
	info(path);
	T(create("t/dst/g", "through dst\n"));
	list("t/src");
	struct stat a, b;
	T(stat("t/src/g", &a));
	T(stat("t/dst/g", &b));
	printf("same inode: %d\n", a.st_ino == b.st_ino && a.st_dev == b.st_dev);

	/* A file on a file. */
	T(mount("t/file", "t/file2", NULL, MS_BIND, NULL));
	char buf[64] = "";
	int fd = open("t/file2", O_RDONLY);
	T(read(fd, buf, sizeof buf - 1));
	printf("file2 reads %s", buf);
	close(fd);
	/* A file that is a mount point is busy: unlinked, renamed, renamed
	 * over or exchanged (is_local_mountpoint), here in its own
	 * namespace. */
	T(create("t/other", "other\n"));
	T(unlink("t/file2"));
	T(rename("t/file2", "t/moved"));
	T(rename("t/other", "t/file2"));
	T(renameat2(AT_FDCWD, "t/other", AT_FDCWD, "t/file2", RENAME_EXCHANGE));
	T(renameat2(AT_FDCWD, "t/file2", AT_FDCWD, "t/other", RENAME_EXCHANGE));
	T(link("t/other", "t/file2"));
	T(unlink("t/other"));
	T(umount("t/file2"));
	T(unlink("t/file2"));

	/* Submounts: only with MS_REC. */
	T(mount("none", "t/src/sub", "tmpfs", 0, NULL));
	T(create("t/src/sub/inner", "inner\n"));
	T(umount("t/dst"));
	T(mount("t/src", "t/dst", NULL, MS_BIND, NULL));
	list("t/dst/sub");
	T(mount("t/src", "t/rec", NULL, MS_BIND | MS_REC, NULL));
	list("t/rec/sub");
	snprintf(path, sizeof path, "%s/t/rec/sub", argv[1]);
	info(path);
	T(umount("t/rec"));
	T(umount("t/rec/sub"));
	T(umount("t/rec"));
	list("t/rec");

	/* Read-only by a bind remount: the source stays writable. */
	T(mount(NULL, "t/dst", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL));
	snprintf(path, sizeof path, "%s/t/dst", argv[1]);
	info(path);
	T(open("t/dst/h", O_CREAT | O_WRONLY, 0644));
	T(close(open("t/src/h", O_CREAT | O_WRONLY, 0644)));
	T(umount("t/dst"));
	list("t/dst");

	/* Errors. */
	T(mount("t/src", "t/file", NULL, MS_BIND, NULL));
	T(mount("t/file", "t/dst", NULL, MS_BIND, NULL));
	T(mount("t/missing", "t/dst", NULL, MS_BIND, NULL));
	T(mount("t/src", "t/missing", NULL, MS_BIND, NULL));
	T(mount(NULL, "t/dst", NULL, MS_BIND, NULL));
	T(umount("t/src/sub"));
	T(umount("t"));
	return 0;
}
