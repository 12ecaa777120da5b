/* Bad user pointers: every syscall that touches application memory reports
 * EFAULT for an unmapped or kernel address, and a copy that runs into an
 * unmapped page stops there. */
#include "common.h"
#include <signal.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#define PG 4096L
#define KERNEL ((void *)0xffffffff81000000UL)

int main(int argc, char **argv) {
	setup(argc, argv);
	char buf[PG];
	struct stat st;
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	memset(buf, 'x', sizeof buf);
	write(fd, buf, PG);
	write(fd, buf, PG);
	lseek(fd, 0, SEEK_SET);

	/* an inaccessible page right after an accessible one */
	char *two = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mprotect(two + PG, PG, PROT_NONE);
	char *ro = mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	symlink("f", "s");

	T(read(fd, BAD, 10));
	T(read(fd, KERNEL, 10));
	T(read(fd, NULL, 10));
	T(read(fd, ro, 10)); /* read-only memory cannot be written */
	T(read(fd, two + PG, 10));
	T(read(fd, two + PG - 100, 200)); /* partial: stops at the hole */
	T(lseek(fd, 0, SEEK_CUR));
	T(pread(fd, two, 2 * PG, 0));
	T(write(fd, BAD, 10));
	T(write(fd, KERNEL, 10));
	T(write(fd, two + PG - 100, 200));
	T(pwrite(fd, two + PG, 1, 0));
	T(pwrite(fd, ro, 1, 0)); /* read-only memory can be read */
	T(read(fd, buf, 0)); /* nothing to copy */
	T(read(fd, BAD, 0));

	/* The descriptor's access mode is checked before the buffer. */
	int wo = open("f", O_WRONLY), ro_fd = open("f", O_RDONLY);
	T(read(wo, BAD, 10));
	T(pread(wo, BAD, 10, 0));
	T(readv(wo, BAD, 1));
	T(write(ro_fd, BAD, 10));
	T(pwrite(ro_fd, BAD, 10, 0));
	T(writev(ro_fd, BAD, 1));
	close(wo);
	close(ro_fd);

	struct iovec iov[2] = {{buf, 10}, {BAD, 10}};
	T(readv(fd, BAD, 1));
	T(lseek(fd, 0, SEEK_SET));
	T(readv(fd, iov, 2));
	T(writev(fd, iov, 2));
	struct iovec big[2] = {{buf, 10}, {buf, -1UL}};
	T(readv(fd, big, 2));

	/* paths */
	T(open(BAD, O_RDONLY));
	T(open(KERNEL, O_RDONLY));
	T(open(two + PG - 3, O_RDONLY)); /* unterminated before the hole */
	memcpy(two + PG - 2, "f", 2);
	T(close(open(two + PG - 2, O_RDONLY)) == 0);
	T(stat(BAD, &st));
	T(stat("f", BAD));
	T(stat("f", (void *)(two + PG - 10)));
	T(stat("f", (void *)ro));
	T(fstat(fd, BAD));
	T(lstat(KERNEL, &st));
	T(mkdir(BAD, 0755));
	T(unlink(BAD));
	T(rename("f", BAD));
	T(chdir(BAD));
	T(access(BAD, F_OK));
	T(readlink("s", BAD, 10));
	T(symlink(BAD, "s2"));
	T(execve(BAD, NULL, NULL));

	/* execve's vectors: a bad array, a bad string, an array without its
	 * NULL and a string without its NUL before the hole; then an array
	 * whose NULL is the page's last word and a string whose NUL is its
	 * last byte, which must run */
	{
		char *page = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		mprotect(page + PG, PG, PROT_NONE);
		char **av = (char **)(page + PG) - 2;
		char *end = two + PG - 4;
		char *bad[] = {"/bin/true", BAD, NULL};
		char *cut[] = {"/bin/true", end, NULL};
		av[0] = "/bin/true";
		av[1] = "x";
		memcpy(end, "abcd", 4);
		T(execve("/bin/true", BAD, NULL));
		T(execve("/bin/true", bad, NULL));
		T(execve("/bin/true", av, NULL));
		T(execve("/bin/true", cut, NULL));
		T(execve("/bin/true", (char *[]){"/bin/true", NULL}, bad));
		av[1] = NULL;
		memcpy(end, "abc", 4);
		pid_t child = fork();
		if (child == 0) {
			execve("/bin/true", av, cut + 1);
			_exit(99);
		}
		int status;
		waitpid(child, &status, 0);
		printf("execve at the page's end: exit %d\n", WEXITSTATUS(status));
	}

	/* other structures */
	T(syscall(SYS_getcwd, BAD, 100));
	T(syscall(SYS_getcwd, ro, 100));
	T(pipe(BAD));
	T(pipe((int *)ro));
	T(uname(BAD));
	T(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, BAD));
	T(syscall(SYS_nanosleep, BAD, NULL));
	T(syscall(SYS_getdents64, open(".", O_RDONLY), BAD, 4096));
	T(syscall(SYS_getrandom, BAD, 8, 0));
	T(syscall(SYS_getrandom, two + PG - 4, 8, 0));
	T(syscall(SYS_rt_sigaction, 10, BAD, NULL, 8));
	T(syscall(SYS_rt_sigprocmask, SIG_BLOCK, BAD, NULL, 8));
	T(syscall(SYS_wait4, -1, BAD, 0, NULL));
	T(syscall(SYS_sched_getaffinity, 0, 128, BAD));
	T(syscall(SYS_set_tid_address, BAD) > 0);

	/* Structures that would wrap around the top of the address space. */
	T(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)-1));
	T(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, (void *)-8));
	T(syscall(SYS_getitimer, 0, (void *)-1));
	T(syscall(SYS_nanosleep, (void *)-1, NULL));
	T(syscall(SYS_uname, (void *)-100));
	return 0;
}
