/* Shared memory across fork: memfd_create, MAP_SHARED of a memfd and of
 * anonymous memory, and a process-shared futex (a POSIX semaphore) that
 * parent and child meet on. */
#define _GNU_SOURCE
#include "common.h"
#include <semaphore.h>
#include <sys/mman.h>
#include <sys/wait.h>

int main(int argc, char **argv) {
	setup(argc, argv);
	T(memfd_create("x", 0xffff));
	int fd = memfd_create("test", MFD_CLOEXEC);
	CHECK(fd >= 0);
	T(ftruncate(fd, 4096));
	char *p = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(p != MAP_FAILED);
	strcpy(p, "parent");
	if (fork() == 0) {
		strcpy(p, "child wrote");
		_exit(0);
	}
	wait(0);
	char buf[32] = {0};
	T(pread(fd, buf, 11, 0) == 11);
	printf("mapping: %s, file: %s\n", p, buf);

	char *q = mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	strcpy(q, "anon parent");
	if (fork() == 0) {
		strcpy(q, "anon child");
		_exit(0);
	}
	wait(0);
	printf("shared anonymous: %s\n", q);

	sem_t *sem = (sem_t *)(q + 1024);
	T(sem_init(sem, 1, 0));
	pid_t pid = fork();
	if (pid == 0) {
		usleep(20000);
		sem_post(sem);
		_exit(0);
	}
	T(sem_wait(sem));
	T(waitpid(pid, 0, 0) == pid);
	printf("semaphore across processes: done\n");
	return 0;
}
