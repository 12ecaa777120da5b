/* open(2)'s O_TMPFILE: an unnamed regular file in a directory's file
 * system, linked into it later (linkat through /proc/self/fd, or
 * AT_EMPTY_PATH) unless O_EXCL; linkat of a file whose last name is gone
 * (ENOENT); and how /proc/PID/fd, maps and exe name such files. */
#include "common.h"
#include <dirent.h>
#include <sys/wait.h>
#include <linux/openat2.h>
#include <sys/mman.h>

static char dir[4096];

/* fdlink prints what /proc/self/fd/FD names, without the directory's own
 * name or the inode number: "DIR/#N (deleted)" for an unnamed file. */
static void shown(const char *what, const char *buf) {
	size_t dl = strlen(dir);
	const char *rest = strncmp(buf, dir, dl) == 0 ? buf + dl : "(elsewhere)";
	const char *hash = strchr(rest, '#');
	if (hash != NULL) {
		const char *end = hash + 1;
		while (*end >= '0' && *end <= '9')
			end++;
		printf("%s: %.*s#INO%s\n", what, (int)(hash - rest), rest, end);
	} else {
		printf("%s: %s\n", what, rest);
	}
}

static void fdlink(const char *what, int fd) {
	char p[64], buf[4096 + 64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	ssize_t n = readlink(p, buf, sizeof buf - 1);
	if (n < 0) {
		printf("%s: readlink -1 %s\n", what, ename(errno));
		return;
	}
	buf[n] = 0;
	shown(what, buf);
}

/* mapname prints the name /proc/self/maps shows for the mapping at addr,
 * as fdlink does. */
static void mapname(const char *what, void *addr) {
	char line[4096 + 256];
	FILE *f = fopen("/proc/self/maps", "r");
	while (fgets(line, sizeof line, f) != NULL) {
		unsigned long start;
		if (sscanf(line, "%lx-", &start) == 1 && start == (unsigned long)addr) {
			line[strcspn(line, "\n")] = 0;
			char *name = strchr(line, '/');
			shown(what, name != NULL ? name : "(none)");
		}
	}
	fclose(f);
}

static void fstats(const char *what, int fd) {
	struct stat st;
	if (fstat(fd, &st) < 0) {
		printf("%s: fstat -1 %s\n", what, ename(errno));
		return;
	}
	printf("%s: mode %o nlink %ld size %ld\n", what, st.st_mode, (long)st.st_nlink, (long)st.st_size);
}

static void stats(const char *path) {
	struct stat st;
	if (stat(path, &st) < 0) {
		printf("stat %s: -1 %s\n", path, ename(errno));
		return;
	}
	printf("stat %s: mode %o nlink %ld size %ld\n", path, st.st_mode, (long)st.st_nlink, (long)st.st_size);
}

/* linkfd links fd's file at name through /proc/self/fd. */
static int linkfd(int fd, const char *name) {
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
	return linkat(AT_FDCWD, p, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
}

/* deletedExe runs a copy of this program, removes the copy, and shows
 * what /proc/PID/exe and the first line of /proc/PID/maps name. */
static void deletedExe(char **argv) {
	char buf[1 << 16];
	int in = open("/proc/self/exe", O_RDONLY), out = open("exe-copy", O_CREAT | O_WRONLY, 0755);
	for (ssize_t n; (n = read(in, buf, sizeof buf)) > 0;)
		write(out, buf, n);
	close(in);
	close(out);
	pid_t kid = fork();
	if (kid == 0) {
		execl("./exe-copy", "exe-copy", argv[1], "pause", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 10000 && access("ready", F_OK) != 0; i++)
		usleep(1000); /* until the copy runs */
	unlink("ready");
	char p[64], link[4096 + 64];
	snprintf(p, sizeof p, "/proc/%d/exe", kid);
	T(unlink("exe-copy"));
	ssize_t n = readlink(p, link, sizeof link - 1);
	link[n > 0 ? n : 0] = 0;
	shown("exe of a removed program", link);
	snprintf(p, sizeof p, "/proc/%d/maps", kid);
	FILE *f = fopen(p, "r");
	if (f != NULL && fgets(link, sizeof link, f) != NULL) {
		link[strcspn(link, "\n")] = 0;
		char *name = strchr(link, '/');
		shown("its first mapping", name != NULL ? name : "(none)");
	}
	if (f != NULL)
		fclose(f);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "pause") == 0) {
		close(open("ready", O_CREAT | O_WRONLY, 0644));
		pause();
		return 0;
	}
	setup(argc, argv);
	if (getcwd(dir, sizeof dir) == NULL)
		return 1;
	umask(022);
	close(open("file", O_CREAT | O_WRONLY, 0644));
	mkdir("sub", 0755);
	symlink("sub", "tosub");

	/* Errors: the access mode, O_CREAT, the path. */
	T(open(".", O_TMPFILE | O_RDONLY, 0600));
	T(open(".", O_TMPFILE | O_RDWR | O_CREAT, 0600));
	T(open(".", O_TMPFILE | O_PATH, 0600));
	T(open("file", O_TMPFILE | O_RDWR, 0600));
	T(open("missing", O_TMPFILE | O_RDWR, 0600));
	T(open("missing/x", O_TMPFILE | O_RDWR, 0600));
	T(open(".", O_TMPFILE | O_RDWR, 0600) >= 0);
	T(open("tosub", O_TMPFILE | O_WRONLY, 0600) >= 0);
	T(open("tosub", O_TMPFILE | O_WRONLY | O_NOFOLLOW, 0600));

	/* openat2 checks its mode strictly: O_DIRECTORY alone makes
	 * nothing. */
	struct open_how how = {.flags = O_TMPFILE | O_RDWR, .mode = 0600};
	T(syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how) >= 0);
	how.flags = O_DIRECTORY | O_RDONLY;
	T(syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how));
	how.flags = O_TMPFILE | O_PATH;
	T(syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how));
	how.flags = O_TMPFILE | O_RDWR;
	how.mode = 010000;
	T(syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how));

	/* An unnamed file: no link, the umask applied, readable and
	 * writable, mappable, shown as deleted. */
	int fd = open(".", O_TMPFILE | O_RDWR, 0666);
	fstats("tmpfile", fd);
	printf("F_GETFL %o\n", fcntl(fd, F_GETFL));
	fdlink("tmpfile", fd);
	T(write(fd, "hello", 5));
	char buf[16] = {0};
	T(pread(fd, buf, 5, 0));
	printf("read \"%s\"\n", buf);
	T(ftruncate(fd, 4096));
	char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m != MAP_FAILED) {
		memcpy(m, "HE", 2);
		mapname("tmpfile mapped", m);
		munmap(m, 4096);
	}
	T(pread(fd, buf, 5, 0));
	printf("read \"%s\"\n", buf);
	T(fchmod(fd, 0640));
	fstats("tmpfile", fd);
	DIR *d = opendir(".");
	int entries = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		entries++;
	closedir(d);
	printf("entries %d\n", entries);

	/* Linked once through /proc/self/fd, then as often as any file. */
	T(linkfd(fd, "file"));
	T(linkfd(fd, "named"));
	stats("named");
	fstats("tmpfile", fd);
	fdlink("tmpfile after link", fd);
	T(linkfd(fd, "named2"));
	stats("named");
	memset(buf, 0, sizeof buf);
	int r = open("named2", O_RDONLY);
	T(read(r, buf, 5));
	printf("read named2 \"%s\"\n", buf);
	close(r);
	close(fd);

	/* Another mount: /dev/shm (tmpfs) makes its own, but takes no link
	 * to this one's (EXDEV); /proc makes none (EOPNOTSUPP). */
	fd = open(".", O_TMPFILE | O_RDWR, 0600);
	T(linkfd(fd, "/dev/shm/tmpfile-diff-test"));
	close(fd);
	fd = open("/dev/shm", O_TMPFILE | O_RDWR, 0600);
	fstats("in /dev/shm", fd);
	close(fd);
	T(open("/proc", O_TMPFILE | O_RDWR, 0600));

	/* O_EXCL: never linked. */
	fd = open(".", O_TMPFILE | O_RDWR | O_EXCL, 0600);
	T(linkfd(fd, "excl"));
	T(linkat(fd, "", AT_FDCWD, "excl", AT_EMPTY_PATH));
	stats("excl");
	close(fd);

	/* Linkable once: a tmpfile linked and unlinked is an unlinked file. */
	fd = open("sub", O_TMPFILE | O_WRONLY, 0600);
	fdlink("in sub", fd);
	T(linkat(fd, "", AT_FDCWD, "sub/once", AT_EMPTY_PATH));
	stats("sub/once");
	T(unlink("sub/once"));
	fstats("unlinked tmpfile", fd);
	T(linkfd(fd, "sub/twice"));
	stats("sub/twice");
	close(fd);

	/* A file whose last name is gone cannot be named again. */
	fd = open("gone", O_CREAT | O_RDWR, 0644);
	T(unlink("gone"));
	fstats("gone", fd);
	fdlink("gone", fd);
	T(ftruncate(fd, 4096));
	m = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	mapname("gone mapped", m);
	munmap(m, 4096);
	T(linkfd(fd, "back"));
	T(linkat(fd, "", AT_FDCWD, "back", AT_EMPTY_PATH));
	stats("back");
	close(fd);

	/* A file with another name left is not deleted. */
	fd = open("two", O_CREAT | O_RDWR, 0644);
	T(link("two", "other"));
	T(unlink("other"));
	fdlink("two", fd);
	T(ftruncate(fd, 4096));
	m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	mapname("two mapped", m);
	munmap(m, 4096);
	close(fd);

	/* The umask and a set-group-ID mode. */
	umask(077);
	fd = open(".", O_TMPFILE | O_RDWR, 02777);
	fstats("umask 077", fd);
	close(fd);
	deletedExe(argv);
	return 0;
}
