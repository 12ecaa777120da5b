/* mapsrename: /proc/self/maps and smaps name a file mapping by its file's
 * path when read (d_path of vm_file), so a mapped file renamed, moved to
 * another directory, or in a directory renamed shows its new name, and
 * " (deleted)" once removed; a mapping split and joined again (mprotect)
 * is still one line. Names are printed relative to argv[1]. */
#include "common.h"
#include <limits.h>
#include <sys/mman.h>
#include <sys/wait.h>

static char base[PATH_MAX];

/* show prints the names of the lines of file that map addr's page,
 * relative to the working directory, and how many lines name it. */
static void show(const char *what, const char *file, void *addr) {
	FILE *f = fopen(file, "r");
	char line[PATH_MAX + 256];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		int pos = 0;
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s%n", &lo, &hi, &pos) != 2 || pos == 0)
			continue;
		if ((unsigned long)addr < lo || (unsigned long)addr >= hi)
			continue;
		char *name = line + pos;
		while (*name == ' ')
			name++;
		name[strcspn(name, "\n")] = 0;
		size_t bl = strlen(base);
		if (strncmp(name, base, bl) == 0 && name[bl] == '/')
			name += bl + 1;
		printf("%s (%s): %s\n", what, file + strlen("/proc/self/"), name);
		n++;
	}
	fclose(f);
	if (n != 1)
		printf("%s: %d lines\n", what, n);
}

static void both(const char *what, void *addr) {
	show(what, "/proc/self/maps", addr);
	show(what, "/proc/self/smaps", addr);
}

int main(int argc, char **argv) {
	if (!realpath(argv[1], base))
		return 1;
	T(mkdir("d1", 0755));
	T(mkdir("d1/sub", 0755));
	T(mkdir("other", 0755));
	int fd = open("d1/sub/f", O_RDWR | O_CREAT | O_TRUNC, 0644);
	T(ftruncate(fd, 3 * 4096));
	char *p = mmap(NULL, 3 * 4096, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return 1;
	close(fd);
	both("mapped", p);
	T(rename("d1/sub/f", "d1/sub/g"));
	both("file renamed", p);
	T(rename("d1", "d2"));
	both("directory renamed", p);
	T(rename("d2/sub", "other/moved"));
	both("directory moved", p);
	T(rename("other/moved/g", "h"));
	both("file moved", p);
	T(mprotect(p + 4096, 4096, PROT_NONE));
	show("split", "/proc/self/maps", p + 4096);
	T(mprotect(p + 4096, 4096, PROT_READ));
	show("joined", "/proc/self/maps", p + 4096);
	int fd2 = open("h", O_RDONLY);
	char *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, 0);
	close(fd2);
	both("second mapping", q);
	T(unlink("h"));
	both("unlinked", p);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		both("in a child", p);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return 0;
}
