/* madvise(MADV_DONTNEED) and MADV_FREE over ranges that span several
 * mappings: a thread stack and its guard page (what glibc advises away when
 * a thread exits), anonymous runs with holes of other protections, a
 * private file mapping (whose dropped pages read the file again, at the
 * right offset when the range starts inside it) next to anonymous memory,
 * a shared mapping, whose contents stay, and what Linux refuses: MADV_FREE
 * of anything but private anonymous memory, locked memory, holes,
 * MADV_REMOVE of what it does not take. Then
 * what a fork does with MADV_DONTFORK and MADV_WIPEONFORK ranges (and
 * their undoing). */
#include "common.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define PG 4096L

static void fill(unsigned char *p, long n, int seed) {
	for (long i = 0; i < n; i++)
		p[i] = (unsigned char)(i * seed + 1);
}

/* forkAdvice: in a child, a MADV_DONTFORK page is unmapped (msync
 * ENOMEM), a MADV_WIPEONFORK page reads zeros; undone, both are copied. */
static void forkAdvice(void) {
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 0x5a, 4 * PG);
	T(madvise(p, PG, MADV_DONTFORK));
	T(madvise(p + PG, PG, MADV_WIPEONFORK));
	T(madvise(p + 2 * PG, PG, MADV_DONTFORK));
	T(madvise(p + 2 * PG, PG, MADV_DOFORK));
	T(madvise(p + 3 * PG, PG, MADV_WIPEONFORK));
	T(madvise(p + 3 * PG, PG, MADV_KEEPONFORK));
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		printf("child: dontfork page %s\n", msync(p, PG, MS_ASYNC) ? ename(errno) : "mapped");
		printf("child: wiped %#x, dofork %#x, keeponfork %#x\n", p[PG + 7], p[2 * PG + 7], p[3 * PG + 7]);
		fflush(stdout);
		_exit(0);
	}
	waitpid(c, NULL, 0);
	printf("parent: %#x %#x %#x %#x\n", p[7], p[PG + 7], p[2 * PG + 7], p[3 * PG + 7]);
	int fd = open("wipefile", O_CREAT | O_RDWR, 0644);
	ftruncate(fd, PG);
	char *f = mmap(NULL, PG, PROT_READ, MAP_PRIVATE, fd, 0);
	char *sh = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T(madvise(f, PG, MADV_WIPEONFORK));
	T(madvise(sh, PG, MADV_WIPEONFORK));
	T(madvise(sh, PG, MADV_DONTFORK));
	munmap(f, PG);
	munmap(sh, PG);
	munmap(p, 4 * PG);
	close(fd);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	forkAdvice();

	/* A thread stack as glibc makes it: PROT_NONE, then all but the
	 * guard page read-write; then the whole of it advised away. */
	unsigned char *s = mmap(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED);
	T(mprotect(s + PG, 15 * PG, PROT_READ | PROT_WRITE));
	fill(s + PG, 15 * PG, 3);
	printf("stack sum = %ld\n", sum(s + PG, 15 * PG));
	T(madvise(s, 16 * PG, MADV_DONTNEED));
	printf("stack after DONTNEED = %ld\n", sum(s + PG, 15 * PG));
	T(mprotect(s, PG, PROT_READ));
	printf("guard after DONTNEED = %ld\n", sum(s, PG));

	/* Three anonymous parts of different protections, advised from the
	 * middle of the first to the middle of the last. */
	unsigned char *a = mmap(NULL, 12 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(a != MAP_FAILED);
	fill(a, 12 * PG, 5);
	T(mprotect(a + 4 * PG, 4 * PG, PROT_READ));
	T(madvise(a + 2 * PG, 8 * PG, MADV_FREE));
	/* MADV_FREE may keep the pages until memory is short; write them
	 * again so that both kernels agree on what is read. */
	T(madvise(a + 2 * PG, 8 * PG, MADV_DONTNEED));
	printf("kept before = %ld, dropped = %ld, %ld, %ld, kept after = %ld\n", sum(a, 2 * PG),
	       sum(a + 2 * PG, 2 * PG), sum(a + 4 * PG, 4 * PG), sum(a + 8 * PG, 2 * PG), sum(a + 10 * PG, 2 * PG));

	/* A private file mapping between two anonymous ones, advised from
	 * inside its second page to the middle of the anonymous one after. */
	int fd = open("data", O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0);
	unsigned char buf[4 * PG];
	fill(buf, sizeof buf, 11);
	CHECK(write(fd, buf, sizeof buf) == (long)sizeof buf);
	unsigned char *r = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(r != MAP_FAILED);
	CHECK(mmap(r + 2 * PG, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0) == r + 2 * PG);
	fill(r, 8 * PG, 13);
	printf("mixed before = %ld\n", sum(r, 8 * PG));
	T(madvise(r + 3 * PG, 4 * PG, MADV_DONTNEED));
	printf("anon kept = %ld, file kept = %ld, file again = %ld, anon dropped = %ld, anon kept = %ld\n",
	       sum(r, 2 * PG), sum(r + 2 * PG, PG), sum(r + 3 * PG, 3 * PG), sum(r + 6 * PG, PG), sum(r + 7 * PG, PG));
	printf("file pages match the file: %s\n", memcmp(r + 3 * PG, buf + PG, 3 * PG) == 0 ? "yes" : "NO");

	/* A shared mapping keeps its contents. */
	unsigned char *sh = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(sh != MAP_FAILED);
	fill(sh, 2 * PG, 17);
	long before = sum(sh, 2 * PG);
	T(madvise(sh, 2 * PG, MADV_DONTNEED));
	CHECK(sum(sh, 2 * PG) == before);

	/* MADV_FREE takes private anonymous memory only. */
	T(madvise(r + 2 * PG, PG, MADV_FREE));
	T(madvise(sh, PG, MADV_FREE));

	/* Locked memory refuses both: EINVAL, after the parts before it. */
	unsigned char *l = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(l != MAP_FAILED);
	fill(l, 3 * PG, 19);
	T(mlock(l + PG, PG));
	T(madvise(l, 3 * PG, MADV_DONTNEED));
	T(madvise(l + PG, PG, MADV_FREE));
	printf("before the locked page = %ld, locked = %ld, after = %ld\n", sum(l, PG), sum(l + PG, PG),
	       sum(l + 2 * PG, PG));

	/* MADV_REMOVE's checks (madvise_remove): locked memory and private
	 * anonymous memory are EINVAL, a private file mapping or a shared one
	 * that may never be written (of a read-only descriptor) EACCES (LTP's
	 * madvise02). On a shared writable file mapping it frees the file's
	 * pages: zeros in the mapping and the file, whose size stays. (Shared
	 * anonymous memory is left out: the sandbox refuses it, EOPNOTSUPP.) */
	unsigned char *sw = mmap(NULL, 3 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(sw != MAP_FAILED);
	fill(sw, 3 * PG, 23);
	T(madvise(sw + PG, PG, MADV_REMOVE));
	printf("after MADV_REMOVE: before = %ld, removed = %ld, after = %ld\n", sum(sw, PG), sum(sw + PG, PG), sum(sw + 2 * PG, PG));
	unsigned char back[PG];
	T(pread(fd, back, PG, PG));
	printf("the file there = %ld, size = %ld\n", sum(back, PG), (long)lseek(fd, 0, SEEK_END));
	T(munmap(sw, 3 * PG));
	T(madvise(l + PG, PG, MADV_REMOVE));
	T(madvise(l, PG, MADV_REMOVE));
	T(madvise(r + 2 * PG, PG, MADV_REMOVE));
	int rofd = open("data", O_RDONLY);
	unsigned char *ro = mmap(NULL, PG, PROT_READ, MAP_SHARED, rofd, 0);
	CHECK(ro != MAP_FAILED);
	T(madvise(ro, PG, MADV_REMOVE));
	T(mlock(ro, PG));
	T(madvise(ro, PG, MADV_REMOVE));
	T(munmap(ro, PG));
	close(rofd);

	/* A hole in the range: ENOMEM, after the parts before it. */
	T(munmap(a + 6 * PG, PG));
	fill(a, 4 * PG, 7); /* a + 4 * PG on is read-only */
	T(madvise(a, 8 * PG, MADV_DONTNEED));
	printf("before the hole = %ld\n", sum(a, 4 * PG));
	return 0;
}
