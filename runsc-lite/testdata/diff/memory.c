/* Memory: mmap/munmap/mprotect/brk/mremap/madvise/msync, anonymous and
 * file mappings. No faults: every access is to mapped, accessible memory. */
#include "common.h"
#include <sys/uio.h>
#include <sys/wait.h>
#include <sys/mman.h>
#include <cpuid.h>

#define PG 4096L

/* mayWrite: a shared mapping of a file not open for writing never
 * becomes writable (mprotect EACCES); a private one may. msync's
 * MS_INVALIDATE refuses locked pages (EBUSY). (LTP mprotect01, msync03) */
static void mayWrite(void) {
	int w = open("maywrite", O_CREAT | O_RDWR, 0644);
	ftruncate(w, 2 * PG);
	int r = open("maywrite", O_RDONLY);
	char *sh = mmap(NULL, 2 * PG, PROT_READ, MAP_SHARED, r, 0);
	char *pr = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, r, 0);
	char *rw = mmap(NULL, PG, PROT_READ, MAP_SHARED, w, 0);
	T(mprotect(sh, 2 * PG, PROT_READ | PROT_WRITE));
	T(mprotect(sh + PG, PG, PROT_WRITE));
	T(mprotect(sh, PG, PROT_READ | PROT_EXEC));
	T(mprotect(pr, PG, PROT_READ | PROT_WRITE));
	T(mprotect(rw, PG, PROT_READ | PROT_WRITE));
	char *lk = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED, w, 0);
	T(msync(lk, PG, MS_INVALIDATE));
	T(msync(lk, PG, MS_SYNC | MS_INVALIDATE));
	T(msync(lk, PG, MS_SYNC));
	T(msync(rw, PG, MS_INVALIDATE));
	int z = open("/dev/zero", O_RDONLY);
	char *zs = mmap(NULL, PG, PROT_READ, MAP_SHARED, z, 0);
	CHECK(zs != MAP_FAILED);
	T(mprotect(zs, PG, PROT_READ | PROT_WRITE));
	T(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, z, 0) == MAP_FAILED);
	char *zp = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, z, 0);
	T(mprotect(zp, PG, PROT_READ | PROT_WRITE));
	munmap(zs, PG);
	munmap(zp, PG);
	close(z);
	munmap(sh, 2 * PG);
	munmap(pr, PG);
	munmap(rw, PG);
	munmap(lk, PG);
	close(r);
	close(w);
}

/* protectionKeys: the CPU has none (no pku): pkey_alloc checks its
 * arguments and has no key to give (ENOSPC), pkey_free has none to free,
 * pkey_mprotect is mprotect with key -1 and EINVAL with any other, after
 * mprotect's own checks. A process's first valid pkey_alloc is left out:
 * Linux answers it EINVAL on such a CPU (arch_set_user_pkey_access). */
static void protectionKeys(void) {
	unsigned a, b, c, d;
	if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 3))) {
		/* A CPU with keys: Linux gives them, the sandbox does not. */
		printf("protection keys: the CPU has pku, not compared\n");
		return;
	}
	syscall(SYS_pkey_alloc, 0L, 0L);
	T(syscall(SYS_pkey_alloc, 0L, 0L));
	T(syscall(SYS_pkey_alloc, 0L, 3L));
	T(syscall(SYS_pkey_alloc, 1L, 0L));
	T(syscall(SYS_pkey_alloc, 0L, 4L));
	T(syscall(SYS_pkey_free, 0L));
	T(syscall(SYS_pkey_free, 1L));
	T(syscall(SYS_pkey_free, -1L));
	char *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T(syscall(SYS_pkey_mprotect, p, PG, (long)PROT_READ, -1L));
	T(syscall(SYS_pkey_mprotect, p, PG, (long)PROT_READ, 0L));
	T(syscall(SYS_pkey_mprotect, p, PG, (long)PROT_READ, 1L));
	T(syscall(SYS_pkey_mprotect, p, 0L, (long)PROT_READ, 1L));
	T(syscall(SYS_pkey_mprotect, p + 1, PG, (long)PROT_READ, 1L));
	T(syscall(SYS_pkey_mprotect, p, PG, 0x100L, 1L));
	munmap(p, 2 * PG);
	T(syscall(SYS_pkey_mprotect, p, PG, (long)PROT_READ, -1L));
}

int main(int argc, char **argv) {
	setup(argc, argv);
	CHECK(sysconf(_SC_PAGESIZE) == PG);
	mayWrite();

	/* anonymous private memory: zero-filled, writable */
	unsigned char *p = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	CHECK(sum(p, 16 * PG) == 0);
	for (long i = 0; i < 16 * PG; i++)
		p[i] = i * 7;
	printf("sum = %ld\n", sum(p, 16 * PG));

	/* madvise(DONTNEED) zeroes private anonymous pages */
	T(madvise(p + PG, PG, MADV_DONTNEED));
	printf("after DONTNEED: page1 sum = %ld, page2 sum = %ld\n", sum(p + PG, PG), sum(p + 2 * PG, PG));
	T(madvise(p, PG, MADV_WILLNEED));
	T(madvise(p, PG, MADV_NORMAL));
	T(madvise(p + 1, PG, MADV_DONTNEED));
	T(madvise(p, PG, 12345));

	/* mprotect */
	T(mprotect(p, PG, PROT_READ));
	printf("read-only byte = %d\n", p[5]);
	T(mprotect(p, PG, PROT_READ | PROT_WRITE));
	p[5] = 99;
	T(mprotect(p + 1, PG, PROT_READ));
	T(mprotect(p, PG, 0x1000));

	/* mremap: shrink in place, grow with MAYMOVE keeps the contents */
	long before = sum(p, 4 * PG);
	unsigned char *q = mremap(p, 16 * PG, 4 * PG, 0);
	CHECK(q == p);
	q = mremap(p, 4 * PG, 64 * PG, MREMAP_MAYMOVE);
	CHECK(q != MAP_FAILED);
	if (q == MAP_FAILED) /* carry on with the rest */
		q = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		CHECK(sum(q, 4 * PG) == before);
	CHECK(sum(q + 4 * PG, 60 * PG) == 0);
	T(mremap(q, 64 * PG, 8 * PG, 0x100) == MAP_FAILED);
	printf("errno = %s\n", ename(errno));
	T(mremap(q + 1, PG, PG, 0) == MAP_FAILED);
	printf("errno = %s\n", ename(errno));
	T(munmap(q, 64 * PG));

	/* munmap and mmap error paths */
	T(munmap(q + 1, PG));
	T(munmap(q, 0));
	T(munmap(q, PG)); /* unmapping a hole is fine */
	T(mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
	T(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, 99, 0));
	/* a file open write-only: the length and the type come first */
	int wonly = open("wonly", O_CREAT | O_WRONLY, 0644);
	T(ftruncate(wonly, PG));
	T(mmap(NULL, 0, PROT_READ, MAP_SHARED, wonly, 0));
	T(mmap(NULL, PG, PROT_READ, 0, wonly, 0));
	T(mmap(NULL, PG, PROT_READ, MAP_SHARED, wonly, 0));
	close(wonly);
	T(mmap(NULL, PG, PROT_READ, MAP_ANONYMOUS, -1, 0));
	T(mmap(NULL, PG, PROT_READ, MAP_PRIVATE | MAP_SHARED | MAP_ANONYMOUS, -1, 0));
	T(mmap((void *)(PG + 1), PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	/* MAP_FIXED_NOREPLACE onto an existing mapping */
	p = mmap(NULL, 2 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T(mmap(p, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0));
	CHECK(mmap(p, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p);
	p[0] = 1;
	/* PROT_NONE, then made writable */
	q = mmap(NULL, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T(mprotect(q, PG, PROT_READ | PROT_WRITE));
	q[100] = 42;
	printf("q[100] = %d\n", q[100]);

	/* brk */
	long b0 = syscall(SYS_brk, 0);
	long b1 = syscall(SYS_brk, b0 + 64 * PG);
	printf("brk grew by %ld\n", b1 - b0);
	memset((void *)b0, 0x5a, 64 * PG);
	printf("brk memory sum = %ld\n", sum((void *)b0, 64 * PG));
	long b2 = syscall(SYS_brk, b0 + PG);
	printf("brk shrank to +%ld\n", b2 - b0);
	long b3 = syscall(SYS_brk, b0 + 2 * PG);
	printf("brk regrew to +%ld, new page sum = %ld\n", b3 - b0, sum((void *)(b0 + PG), PG));
	CHECK(syscall(SYS_brk, 1) == b3);

	/* file mappings */
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	char text[3 * PG];
	for (long i = 0; i < 3 * PG; i++)
		text[i] = 'a' + i % 26;
	write(fd, text, sizeof text - 100);
	unsigned char *m = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(m != MAP_FAILED);
	CHECK(memcmp(m, text, sizeof text - 100) == 0);
	CHECK(sum(m + 3 * PG - 100, 100) == 0); /* past EOF in the last page */
	m[0] = 'Z';
	char c;
	pread(fd, &c, 1, 0);
	printf("private write leaves the file: %c\n", c);
	T(munmap(m, 3 * PG));
	m = mmap(NULL, PG, PROT_READ, MAP_SHARED, fd, PG);
	CHECK(memcmp(m, text + PG, PG) == 0);
	T(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 100));
	int ro = open("f", O_RDONLY);
	T(mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0));
	int wo = open("f", O_WRONLY);
	T(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, wo, 0));
	int dfd = open(".", O_RDONLY);
	T(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, dfd, 0));
	int pp[2];
	pipe(pp);
	T(mmap(NULL, PG, PROT_READ, MAP_PRIVATE, pp[0], 0));

	/* MAP_SHARED writes reach the file, in the working directory and in /tmp */
	char tmpl[] = "/tmp/difftest-XXXXXX";
	int fds[2] = {fd, mkstemp(tmpl)};
	unlink(tmpl);
	for (int k = 0; k < 2; k++) {
		ftruncate(fds[k], 2 * PG);
		m = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fds[k], 0);
		memcpy(m + PG - 3, "shared!", 7);
		T(msync(m, 2 * PG, MS_SYNC));
		char got[8] = {0};
		pread(fds[k], got, 7, PG - 3);
		printf("read %d: %s\n", k, got);
		T(pwrite(fds[k], "WRITE", 5, 10));
		printf("mapping sees: %.5s\n", m + 10);
		T(msync(m + 1, PG, MS_SYNC));
		T(msync(m, PG, MS_SYNC | MS_ASYNC));
		T(munmap(m, 2 * PG));
	}
	/* process_vm_readv/writev with the parent: a child reads and writes
	 * it, and may not once it is another user. */
	static char shared[64] = "the parent's bytes";
	pid_t parent = getpid(), kid = fork();
	if (kid == 0) {
		char got[32] = "";
		struct iovec lv = {got, 10}, rv = {shared, 10};
		T(process_vm_readv(parent, &lv, 1, &rv, 1, 0));
		printf("child read %.10s\n", got);
		struct iovec wv = {"CHILD", 5};
		T(process_vm_writev(parent, &wv, 1, &rv, 1, 0));
		struct iovec two[2] = {{got, 3}, {got + 3, 3}}, far[2] = {{shared + 4, 2}, {(void *)16, 4}};
		T(process_vm_readv(parent, two, 2, far, 2, 0));
		T(process_vm_readv(parent, &lv, 1, &rv, 1, 1));
		T(process_vm_readv(1 << 22, &lv, 1, &rv, 1, 0));
		T(process_vm_readv(parent, &lv, 1, far + 1, 1, 0));
		T(process_vm_readv(parent, BAD, 1, &rv, 1, 0));
		T(process_vm_readv(parent, &lv, 2000, &rv, 1, 0));
		T(process_vm_readv(parent, &lv, 0, &rv, 1, 0));
		struct iovec none = {got, 0};
		T(process_vm_readv(parent, &lv, 1, &none, 1, 0));
		T(process_vm_readv(getpid(), &lv, 1, &lv, 1, 0));
		if (getuid() == 0 && setuid(65534) == 0)
			T(process_vm_readv(parent, &lv, 1, &rv, 1, 0) == -1 && errno == EPERM);
		else
			T(1);
		_exit(0);
	}
	int kst;
	T(waitpid(kid, &kst, 0) == kid);
	printf("parent now %.18s\n", shared);
	protectionKeys();
	return 0;
}
