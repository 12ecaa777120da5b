/* peek shows what a program inside the sandbox can learn about the machine
 * it runs on, for TestAttackHostPrivacy: for each argument, a line
 * "== ARG", then
 *   PATH       the file's contents, or "ERRNO" if it cannot be read;
 *   ls:DIR     each entry's d_ino and name, as getdents gives them;
 *   stat:PATH  st_dev and st_ino of the file;
 *   statfs:PATH  f_type, f_blocks and f_bfree of its filesystem (statfs(2));
 *   write:PATH   "ok" if it opens for appending, else the errno;
 *   uname      the fields of uname(2);
 *   sysinfo    uptime, totalram and procs of sysinfo(2);
 *   clocks     CLOCK_MONOTONIC and CLOCK_BOOTTIME in seconds, through the
 *              vDSO (as libc calls them, without a trap), and times(2).
 * Static, so that it runs with any --rootfs. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/times.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

static void show(const char *path) {
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("%s\n", strerrorname_np(errno));
		return;
	}
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, n, stdout);
	if (n < 0)
		printf("%s\n", strerrorname_np(errno));
	close(fd);
}

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		printf("== %s\n", a);
		if (strncmp(a, "ls:", 3) == 0) {
			DIR *d = opendir(a + 3);
			if (!d) {
				printf("%s\n", strerrorname_np(errno));
				continue;
			}
			struct dirent *e;
			while ((e = readdir(d)))
				printf("%llu %s\n", (unsigned long long)e->d_ino, e->d_name);
			closedir(d);
		} else if (strncmp(a, "stat:", 5) == 0) {
			struct stat st;
			if (stat(a + 5, &st) < 0)
				printf("%s\n", strerrorname_np(errno));
			else
				printf("%llu %llu\n", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
		} else if (strncmp(a, "statfs:", 7) == 0) {
			struct statfs sf;
			if (statfs(a + 7, &sf) < 0)
				printf("%s\n", strerrorname_np(errno));
			else
				printf("%#lx %llu %llu\n", (unsigned long)sf.f_type, (unsigned long long)sf.f_blocks,
				       (unsigned long long)sf.f_bfree);
		} else if (strncmp(a, "write:", 6) == 0) {
			int fd = open(a + 6, O_WRONLY | O_APPEND);
			if (fd < 0) {
				printf("%s\n", strerrorname_np(errno));
			} else {
				printf("ok\n");
				close(fd);
			}
		} else if (strcmp(a, "uname") == 0) {
			struct utsname u;
			uname(&u);
			printf("%s\n%s\n%s\n%s\n%s\n", u.sysname, u.nodename, u.release, u.version, u.machine);
		} else if (strcmp(a, "sysinfo") == 0) {
			struct sysinfo si;
			sysinfo(&si);
			printf("%ld %llu %u\n", si.uptime, (unsigned long long)si.totalram * si.mem_unit, si.procs);
		} else if (strcmp(a, "clocks") == 0) {
			struct timespec mono, boot;
			struct tms tms;
			clock_gettime(CLOCK_MONOTONIC, &mono);
			clock_gettime(CLOCK_BOOTTIME, &boot);
			printf("%ld %ld %ld\n", (long)mono.tv_sec, (long)boot.tv_sec, (long)(times(&tms) / sysconf(_SC_CLK_TCK)));
		} else {
			show(a);
		}
	}
	return 0;
}
