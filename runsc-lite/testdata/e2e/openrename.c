/* openrename: an open file's attributes after a rename, in the directory
 * argv[1] (a read-write volume in the sandbox): fstat, fchmod, fchown,
 * futimens and ftruncate act on the open file, wherever it now is and
 * whatever now has its old name, and after it is unlinked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fd;

static void show(const char *when) {
	struct stat st;
	if (fstat(fd, &st) != 0) {
		printf("%-34s fstat: %s\n", when, strerror(errno));
		return;
	}
	printf("%-34s size %lld mode %o links %ld mtime set: %s\n", when, (long long)st.st_size, st.st_mode & 07777,
	       (long)st.st_nlink, st.st_mtime == 1000000000 ? "yes" : "no");
}

int main(int argc, char **argv) {
	if (argc < 2 || chdir(argv[1]) != 0)
		return 1;
	fd = open("a", O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, "hello", 5) != 5)
		return 1;
	show("written");
	rename("a", "b");
	show("renamed");
	int other = open("a", O_RDWR | O_CREAT | O_TRUNC, 0600);
	write(other, "xy", 2);
	close(other);
	show("another file at its old name");
	mkdir("d", 0755);
	rename("b", "d/b");
	show("moved to another directory");
	printf("fchmod 0640: %d\n", fchmod(fd, 0640));
	printf("ftruncate 3: %d\n", ftruncate(fd, 3));
	printf("fchown, no change: %d\n", fchown(fd, -1, -1));
	struct timespec ts[2] = {{1000000000, 0}, {1000000000, 0}};
	printf("futimens: %d\n", futimens(fd, ts));
	show("changed through the descriptor");
	struct stat a;
	stat("a", &a);
	printf("the other file: size %lld mode %o\n", (long long)a.st_size, a.st_mode & 07777);
	unlink("d/b");
	show("unlinked");
	unlink("a");
	rmdir("d");
	return 0;
}
