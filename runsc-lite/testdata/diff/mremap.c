/* mremap moves and mincore residency: shared anonymous memory moved while a
 * forked child maps it, memfd mappings, private growth, MREMAP_FIXED,
 * MREMAP_DONTUNMAP, duplication of a shared mapping, a shared mapping of a
 * file open only for reading, the errors; mincore of
 * untouched, touched and unmapped pages. */
#include "common.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define PG 4096L

/* hole returns the address of n free pages. */
static unsigned char *hole(long n) {
	unsigned char *p = mmap(NULL, n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, n * PG);
	return p;
}

static void residency(const char *what, unsigned char *p, long n) {
	unsigned char vec[16];
	errno = 0;
	if (mincore(p, n * PG, vec) != 0) {
		printf("mincore %s = -1 %s\n", what, ename(errno));
		return;
	}
	printf("mincore %s:", what);
	for (long i = 0; i < n; i++)
		printf(" %d", vec[i] & 1);
	printf("\n");
}

static void shared_across_fork(void) {
	unsigned char *s = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(s != MAP_FAILED);
	s[0] = 1;
	int go[2], done[2];
	CHECK(pipe(go) == 0 && pipe(done) == 0);
	char c;
	pid_t pid = fork();
	if (pid == 0) {
		read(go[0], &c, 1);
		printf("child sees the parent's write through the moved mapping: %s\n", s[PG] == 42 ? "yes" : "NO");
		s[2 * PG] = 7;
		unsigned char *t = mremap(s, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, hole(4));
		printf("child moves its mapping: %s\n", t != MAP_FAILED && t != s ? "yes" : "NO");
		if (t != MAP_FAILED)
			t[3 * PG] = 9;
		_exit(0);
	}
	unsigned char *m = mremap(s, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, hole(4));
	CHECK(m != MAP_FAILED && m != s);
	if (m == MAP_FAILED)
		m = s;
	CHECK(m[0] == 1);
	m[PG] = 42;
	write(go[1], "x", 1);
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
	CHECK(m[2 * PG] == 7);
	CHECK(m[3 * PG] == 9);

	/* old_size 0: a second mapping of the same shared pages */
	unsigned char *d = mremap(m, 0, 2 * PG, MREMAP_MAYMOVE);
	CHECK(d != MAP_FAILED && d != m);
	if (d != MAP_FAILED) {
		d[PG + 1] = 5;
		CHECK(m[PG + 1] == 5);
		CHECK(d[PG] == 42);
		T(munmap(d, 2 * PG));
	}
	T(munmap(m, 4 * PG));
}

static void memfd_moves(void) {
	int fd = memfd_create("mremap", MFD_CLOEXEC);
	CHECK(fd >= 0);
	T(ftruncate(fd, 8 * PG));
	unsigned char *f = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	unsigned char *other = mmap(NULL, 8 * PG, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(f != MAP_FAILED && other != MAP_FAILED);
	f[10] = 3;
	unsigned char *g = mremap(f, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, hole(4));
	CHECK(g != MAP_FAILED && g != f);
	if (g == MAP_FAILED)
		return;
	CHECK(g[10] == 3);
	g[PG + 10] = 4;
	unsigned char b = 0;
	CHECK(pread(fd, &b, 1, PG + 10) == 1 && b == 4);
	CHECK(other[PG + 10] == 4);
	/* grow, moving if need be: the new pages are the file's too */
	T(mmap(g + 4 * PG, PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == g + 4 * PG);
	unsigned char *h = mremap(g, 4 * PG, 8 * PG, MREMAP_MAYMOVE);
	CHECK(h != MAP_FAILED && h != g);
	if (h != MAP_FAILED) {
		h[6 * PG] = 8;
		CHECK(other[6 * PG] == 8);
		CHECK(h[PG + 10] == 4);
		T(munmap(h, 8 * PG));
	}
	T(munmap(g + 4 * PG, PG));
	T(munmap(other, 8 * PG));
	close(fd);
}

/* A shared mapping of a file open only for reading (VM_MAYWRITE clear):
 * never writable, yet it sees what others write, duplicated, moved and
 * after fork. */
static void readonly_shared(void) {
	char path[] = "/tmp/mremap-ro-XXXXXX";
	int wfd = mkstemp(path);
	CHECK(wfd >= 0);
	T(ftruncate(wfd, 4 * PG));
	T(pwrite(wfd, "one", 3, PG));
	int fd = open(path, O_RDONLY);
	unlink(path);
	unsigned char *r = mmap(NULL, 4 * PG, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(r != MAP_FAILED);
	if (r == MAP_FAILED)
		return;
	T(mprotect(r, PG, PROT_READ | PROT_WRITE));
	T(mprotect(r, PG, PROT_NONE));
	T(mprotect(r, PG, PROT_READ));
	CHECK(memcmp(r + PG, "one", 3) == 0);
	unsigned char before = r[2 * PG]; /* a hole, read before it is written */
	T(pwrite(wfd, "new", 3, 2 * PG));
	CHECK(before == 0 && memcmp(r + 2 * PG, "new", 3) == 0);
	T(pwrite(wfd, "two", 3, PG));
	CHECK(memcmp(r + PG, "two", 3) == 0);
	unsigned char *d = mremap(r, 0, 2 * PG, MREMAP_MAYMOVE);
	CHECK(d != MAP_FAILED);
	if (d != MAP_FAILED) {
		T(pwrite(wfd, "six", 3, PG));
		CHECK(memcmp(d + PG, "six", 3) == 0);
		T(mprotect(d, PG, PROT_READ | PROT_WRITE));
		T(munmap(d, 2 * PG));
	}
	unsigned char *m = mremap(r, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, hole(4));
	CHECK(m != MAP_FAILED && m != r);
	if (m == MAP_FAILED)
		return;
	T(pwrite(wfd, "ten", 3, PG));
	CHECK(memcmp(m + PG, "ten", 3) == 0);
	int go[2];
	T(pipe(go));
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		_exit(read(go[0], &c, 1) == 1 && memcmp(m + PG, "end", 3) == 0 ? 0 : 1);
	}
	T(pwrite(wfd, "end", 3, PG));
	T(write(go[1], "x", 1));
	int st = 0;
	waitpid(pid, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	T(mprotect(m, 4 * PG, PROT_READ | PROT_WRITE));
	T(munmap(m, 4 * PG));
	close(fd);
	close(wfd);
}

static void private_moves(void) {
	unsigned char *p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (long i = 0; i < 8 * PG; i++)
		p[i] = i * 13;
	long before = sum(p, 4 * PG);
	T(mmap(p + 4 * PG, 4 * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == p + 4 * PG);
	M(mremap(p, 4 * PG, 16 * PG, 0));
	unsigned char *q = mremap(p, 4 * PG, 16 * PG, MREMAP_MAYMOVE);
	CHECK(q != MAP_FAILED && q != p);
	if (q == MAP_FAILED)
		return;
	CHECK(sum(q, 4 * PG) == before);
	CHECK(sum(q + 4 * PG, 12 * PG) == 0);
	residency("of the old range", p, 4);

	/* MREMAP_FIXED over an existing mapping, shrinking on the way */
	unsigned char *ph = mmap(NULL, 4 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *r = mremap(q, 16 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, ph);
	CHECK(r == ph);
	if (r == ph) {
		CHECK(r[3] == 3 * 13 && r[PG + 3] == (unsigned char)((PG + 3) * 13));
		residency("of the moved range", r, 4);
	}

	/* MREMAP_DONTUNMAP: the pages go, the old range stays, empty */
	unsigned char *u = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	u[0] = 5;
	unsigned char *v = mremap(u, PG, PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	CHECK(v != MAP_FAILED && v != u);
	if (v != MAP_FAILED) {
		CHECK(v[0] == 5);
		CHECK(u[0] == 0);
		T(munmap(v, PG));
	}
	T(munmap(u, PG));
	T(munmap(ph, 4 * PG));
	T(munmap(p + 4 * PG, 4 * PG));
}

static void errors(void) {
	unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *free4 = hole(4);
	M(mremap(p, PG, PG, 0x100));
	M(mremap(p + 1, PG, PG, 0));
	M(mremap(p, PG, 0, MREMAP_MAYMOVE));
	M(mremap(p, PG, PG, MREMAP_FIXED, free4));
	M(mremap(p, PG, PG, MREMAP_DONTUNMAP, free4));
	M(mremap(p, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, free4 + 1));
	M(mremap(p, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, p + PG));
	M(mremap(p, PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL));
	M(mremap(free4, PG, 2 * PG, MREMAP_MAYMOVE));
	M(mremap(p, 8 * PG, 16 * PG, MREMAP_MAYMOVE));
	M(mremap(p, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, (void *)0x7ffffffff000));
	T(munmap(p, 4 * PG));
}

static void mincore_cases(void) {
	unsigned char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	residency("of a fresh mapping", p, 4);
	p[PG] = 1;
	p[3 * PG + 7] = 1;
	residency("after touching pages 1 and 3", p, 4);
	T(madvise(p + PG, PG, MADV_DONTNEED));
	residency("after MADV_DONTNEED of page 1", p, 4);
	unsigned char vec[4];
	T(mincore(p + 1, PG, vec));
	T(mincore(p, PG, BAD));
	T(mincore(p, 0, vec));
	T(munmap(p + 2 * PG, PG));
	T(mincore(p, 4 * PG, vec));
	residency("of an unmapped range", hole(4), 4);
	T(munmap(p, 4 * PG));
}

int main(int argc, char **argv) {
	setup(argc, argv);
	shared_across_fork();
	memfd_moves();
	readonly_shared();
	private_moves();
	errors();
	mincore_cases();
	return 0;
}
