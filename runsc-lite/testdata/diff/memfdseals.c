/* File seals: fcntl F_ADD_SEALS/F_GET_SEALS on memfds (each seal, each
 * errno), what write/pwrite/writev/ftruncate/fallocate/mmap/mprotect do
 * past them, seals shared by duplicates and across fork, and files that
 * take none. Avoids what Linux changed since 6.1, the release the sandbox
 * reports: read-only MAP_SHARED mappings of an O_RDWR descriptor of a
 * F_SEAL_WRITE memfd (EPERM before 6.7), F_SEAL_EXEC (6.3), F_ADD_SEALS
 * arguments above 32 bits (EINVAL before 6.9, truncated since). */
#include "common.h"
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/wait.h>

static int seals(int fd) { return fcntl(fd, F_GET_SEALS); }

static int filled(const char *name, long n) {
	int fd = memfd_create(name, MFD_ALLOW_SEALING);
	char buf[4096];
	memset(buf, 'a', sizeof buf);
	for (long done = 0; done < n; done += sizeof buf)
		if (write(fd, buf, sizeof buf) != sizeof buf)
			printf("fill failed\n");
	return fd;
}

static long fsize(int fd) {
	struct stat st;
	return fstat(fd, &st) ? -1 : (long)st.st_size;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	char buf[8192];
	memset(buf, 'b', sizeof buf);

	printf("-- memfd without MFD_ALLOW_SEALING\n");
	int plain = memfd_create("plain", 0);
	T(seals(plain));
	T(fcntl(plain, F_ADD_SEALS, F_SEAL_GROW));
	T(fcntl(plain, F_ADD_SEALS, 0));

	printf("-- bad arguments\n");
	int m = filled("args", 8192);
	T(seals(m));
	T(fcntl(m, F_ADD_SEALS, 0));
	T(fcntl(m, F_ADD_SEALS, 0x100));
	T(seals(m));

	printf("-- F_SEAL_SHRINK\n");
	T(fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK));
	T(seals(m));
	T(ftruncate(m, 4096));
	T(ftruncate(m, 8192));
	T(ftruncate(m, 3 * 4096));
	T(fsize(m));
	T(fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
	T(pwrite(m, buf, 100, 0));
	T(write(m, buf, 100));
	T(fsize(m));
	int rw = dup(m);
	T(ftruncate(rw, 0));
	T(fcntl(rw, F_ADD_SEALS, F_SEAL_GROW));
	T(seals(m));
	T(pwrite(m, buf, 10, fsize(m) - 5));
	T(fsize(m));
	close(rw);
	close(m);

	printf("-- F_SEAL_GROW\n");
	m = filled("grow", 4096);
	T(fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
	T(write(m, buf, 1));
	T(pwrite(m, buf, 100, 0));
	T(pwrite(m, buf, 100, 4000));
	T(pwrite(m, buf, 96, 4000));
	struct iovec iov[2] = {{buf, 10}, {buf, 10}};
	T(pwritev(m, iov, 2, 4090));
	T(pwritev(m, iov, 2, 0));
	T(ftruncate(m, 8192));
	T(ftruncate(m, 4097));
	T(fallocate(m, 0, 0, 8192));
	T(fallocate(m, FALLOC_FL_KEEP_SIZE, 4096, 4096));
	T(fallocate(m, 0, 0, 4096));
	T(ftruncate(m, 2048));
	T(fsize(m));
	T(pwrite(m, buf, 1, 2048));
	T(ftruncate(m, 4096));
	T(fsize(m));
	close(m);

	printf("-- F_SEAL_WRITE\n");
	m = filled("write", 8192);
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	CHECK(p != MAP_FAILED);
	T(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
	T(seals(m));
	T(munmap(p, 8192));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, m, 0); /* VM_MAYWRITE */
	CHECK(p != MAP_FAILED);
	T(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
	T(munmap(p, 4096));
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
	CHECK(p != MAP_FAILED);
	T(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE)); /* private mappings do not count */
	T(seals(m));
	p[0] = 'P'; /* a private copy */
	T(munmap(p, 4096));
	T(write(m, buf, 1));
	T(pwrite(m, buf, 1, 0));
	T(pwritev(m, iov, 2, 0));
	T(fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
	T(ftruncate(m, 4 * 4096));
	T(ftruncate(m, 8192));
	T(pread(m, buf, 4, 0));
	printf("data: %.4s\n", buf);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	CHECK(p == MAP_FAILED);
	printf("shared writable mmap: %s\n", ename(errno));
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, m, 0);
	CHECK(p != MAP_FAILED);
	printf("read through it: %c\n", p[1]);
	T(munmap(p, 4096));
	memset(buf, 'b', sizeof buf);
	close(m);

	printf("-- F_SEAL_FUTURE_WRITE\n");
	m = filled("future", 8192);
	p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	CHECK(p != MAP_FAILED);
	T(fcntl(m, F_ADD_SEALS, F_SEAL_FUTURE_WRITE));
	T(seals(m));
	p[0] = 'M'; /* existing writable mappings keep working */
	T(pread(m, buf, 1, 0));
	printf("written through the mapping: %c\n", buf[0]);
	T(write(m, buf, 1));
	T(pwrite(m, buf, 1, 100));
	T(fallocate(m, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
	char *q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
	CHECK(q == MAP_FAILED);
	printf("shared writable mmap: %s\n", ename(errno));
	q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, m, 0);
	CHECK(q != MAP_FAILED);
	printf("read through it: %c\n", q[0]);
	T(mprotect(q, 4096, PROT_READ | PROT_WRITE));
	T(munmap(q, 4096));
	q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, m, 0);
	CHECK(q != MAP_FAILED);
	q[0] = 'Q';
	T(munmap(q, 4096));
	T(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE)); /* p is still writable */
	pid_t pid = fork();
	if (pid == 0) {
		p[1] = 'C'; /* the child's copy of the mapping writes too */
		int r = write(m, "x", 1);
		_exit(r == -1 && errno == EPERM ? 0 : 1);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("child exit %d\n", WEXITSTATUS(status));
	T(pread(m, buf, 2, 0));
	printf("data: %.2s\n", buf);
	T(munmap(p, 8192));
	T(fcntl(m, F_ADD_SEALS, F_SEAL_WRITE));
	T(seals(m));
	close(m);

	printf("-- F_SEAL_SEAL and fork\n");
	m = filled("seal", 4096);
	pid = fork();
	if (pid == 0) {
		int r = fcntl(m, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK);
		_exit(r == 0 ? 0 : 1);
	}
	waitpid(pid, &status, 0);
	printf("child exit %d\n", WEXITSTATUS(status));
	T(seals(m));
	T(fcntl(m, F_ADD_SEALS, F_SEAL_GROW));
	T(fcntl(m, F_ADD_SEALS, 0));
	T(fcntl(m, F_ADD_SEALS, F_SEAL_SHRINK));
	T(fcntl(m, F_ADD_SEALS, 0x100));
	T(ftruncate(m, 100));
	T(ftruncate(m, 8192));
	T(seals(m));
	int d = dup(m);
	T(seals(d));
	close(d);
	close(m);

	printf("-- files without seals\n");
	int fds[2];
	T(pipe(fds));
	T(seals(fds[0]));
	T(fcntl(fds[0], F_ADD_SEALS, F_SEAL_GROW));
	T(fcntl(fds[1], F_ADD_SEALS, F_SEAL_GROW));
	T(fcntl(fds[1], F_ADD_SEALS, 0x100));
	int null = open("/dev/null", O_RDWR);
	T(seals(null));
	T(fcntl(null, F_ADD_SEALS, F_SEAL_GROW));
	char shm[64];
	snprintf(shm, sizeof shm, "/dev/shm/memfdseals-%d", getpid());
	int s = open(shm, O_CREAT | O_RDWR, 0600);
	unlink(shm);
	CHECK(s >= 0);
	T(seals(s)); /* a shmem file: F_SEAL_SEAL */
	T(fcntl(s, F_ADD_SEALS, F_SEAL_GROW));
	T(fcntl(s, F_ADD_SEALS, 0x100));
	T(write(s, buf, 10));
	int s2 = open(shm, O_CREAT | O_RDWR, 0600);
	int sro = open(shm, O_RDONLY);
	unlink(shm);
	close(s2);
	T(fcntl(sro, F_ADD_SEALS, F_SEAL_GROW)); /* not open for writing */
	T(fcntl(sro, F_ADD_SEALS, 0x100));
	T(seals(sro));
	int dir = open("/dev/shm", O_RDONLY);
	T(seals(dir));
	return 0;
}
