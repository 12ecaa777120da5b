/* vdsomap: the vDSO and its data pages are special mappings a process may
 * unmap and move, as in Linux: munmap of [vdso] and [vvar] whole, mremap
 * moving [vdso] whole (vdso_mremap; growing is EFAULT, VM_DONTEXPAND;
 * shrinking or MREMAP_DONTUNMAP EINVAL), a MAP_FIXED mapping over it; the
 * data page never writable. (Splits, EINVAL, are not tried: the sandbox's
 * vDSO is one page, the host's two.) Each change runs in a forked child, which then must not
 * call the C library's clock functions (they go through the vDSO libc
 * found at start); an execve after it gives the new program a fresh vDSO,
 * at AT_SYSINFO_EHDR, whose clock_gettime works. */
#include "common.h"
#include <sys/auxv.h>
#include <sys/mman.h>
#include <time.h>

struct range {
	unsigned long lo, hi;
};

/* find returns the range of the first maps line whose name starts with
 * name (zero if none) and counts such lines in *n. */
static struct range find(const char *name, int *n) {
	struct range r = {0, 0};
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int count = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char nm[256] = "";
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &lo, &hi, nm) < 2)
			continue;
		if (strncmp(nm, name, strlen(name)) != 0)
			continue;
		if (count++ == 0)
			r.lo = lo, r.hi = hi;
	}
	fclose(f);
	if (n)
		*n = count;
	return r;
}

static int lines(const char *name) {
	int n;
	find(name, &n);
	return n;
}

/* fresh checks the vDSO of a program just started. */
static int fresh(void) {
	int n;
	struct range v = find("[vdso]", &n);
	struct timespec ts;
	printf("  new program: %d [vdso], at AT_SYSINFO_EHDR: %s, clock_gettime: %d\n", n,
	       v.lo == getauxval(AT_SYSINFO_EHDR) ? "yes" : "no", clock_gettime(CLOCK_MONOTONIC, &ts));
	return 0;
}

static char *self;

static void reexec(void) {
	fflush(stdout);
	execl(self, self, "fresh", (char *)NULL);
	printf("execl: %s\n", ename(errno));
}

/* spot returns a free place for n bytes. */
static void *spot(size_t n) {
	void *p = mmap(NULL, n + 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(p, n + 4096);
	return (char *)p + 4096;
}

static void unmap_vdso(void) {
	struct range v = find("[vdso]", NULL);
	T(munmap((void *)v.lo, v.hi - v.lo));
	printf("  [vdso] lines: %d\n", lines("[vdso]"));
	T(munmap((void *)v.lo, v.hi - v.lo));
	reexec();
}

static void unmap_vvar(void) {
	int n;
	struct range r;
	while ((r = find("[vvar", &n)), n > 0)
		if (munmap((void *)r.lo, r.hi - r.lo)) {
			printf("  munmap [vvar]: %s\n", ename(errno));
			break;
		}
	printf("  [vvar] lines: %d, [vdso] lines: %d\n", lines("[vvar"), lines("[vdso]"));
	reexec();
}

static void unmap_around(void) {
	struct range v = find("[vdso]", NULL);
	struct range r = find("[vvar", NULL);
	unsigned long lo = r.lo < v.lo ? r.lo : v.lo, hi = r.hi > v.hi ? r.hi : v.hi;
	T(munmap((void *)(lo - 4096), hi - lo + 8192));
	printf("  [vdso] lines: %d, [vvar] lines: %d\n", lines("[vdso]"), lines("[vvar"));
}

static void move_vdso(void) {
	struct range v = find("[vdso]", NULL);
	size_t n = v.hi - v.lo;
	void *to = spot(n);
	void *got = mremap((void *)v.lo, n, n, MREMAP_MAYMOVE | MREMAP_FIXED, to);
	printf("  mremap to a free place: %s\n", got == to ? "ok" : ename(errno));
	struct range w = find("[vdso]", NULL);
	printf("  [vdso] lines: %d, at the new place: %s, same size: %s\n", lines("[vdso]"), w.lo == (unsigned long)to ? "yes" : "no",
	       w.hi - w.lo == n ? "yes" : "no");
	T(munmap((void *)v.lo, n));
	T(mprotect(to, n, PROT_READ));
	T(mprotect(to, n, PROT_READ | PROT_EXEC));
	got = mremap(to, n, n, MREMAP_MAYMOVE, 0);
	printf("  mremap MREMAP_MAYMOVE: %s\n", got != MAP_FAILED ? "ok" : ename(errno));
	printf("  [vdso] lines: %d\n", lines("[vdso]"));
	reexec();
}

static void resize_vdso(void) {
	struct range v = find("[vdso]", NULL);
	size_t n = v.hi - v.lo;
	M(mremap((void *)v.lo, n, n + 4096, MREMAP_MAYMOVE));
	M(mremap((void *)v.lo, n, n + 4096, 0));
	M(mremap((void *)v.lo, n, n - 4096, 0));
	M(mremap((void *)v.lo, n, n - 4096, MREMAP_MAYMOVE));
	M(mremap((void *)v.lo, n, n, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, spot(n)));
	M(mremap((void *)v.lo, 0, n, MREMAP_MAYMOVE));
	struct range w = find("[vdso]", NULL);
	printf("  [vdso] lines: %d, unchanged: %s\n", lines("[vdso]"), w.lo == v.lo && w.hi == v.hi ? "yes" : "no");
}

static void vvar_write(void) {
	struct range r = find("[vvar]", NULL);
	T(mprotect((void *)r.lo, r.hi - r.lo, PROT_READ | PROT_WRITE));
	T(mprotect((void *)r.lo, r.hi - r.lo, PROT_NONE));
	T(mprotect((void *)r.lo, r.hi - r.lo, PROT_READ));
}

static void map_over(void) {
	struct range v = find("[vdso]", NULL);
	size_t n = v.hi - v.lo;
	void *p = mmap((void *)v.lo, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	printf("  MAP_FIXED over [vdso]: %s\n", p == (void *)v.lo ? "ok" : ename(errno));
	printf("  [vdso] lines: %d\n", lines("[vdso]"));
	reexec();
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "fresh") == 0)
		return fresh();
	self = realpath("/proc/self/exe", NULL);
	int n;
	struct range v = find("[vdso]", &n);
	printf("[vdso] lines: %d, at AT_SYSINFO_EHDR: %s\n", n, v.lo == getauxval(AT_SYSINFO_EHDR) ? "yes" : "no");
	in_child("munmap [vdso]", unmap_vdso);
	in_child("munmap [vvar]", unmap_vvar);
	in_child("munmap around both", unmap_around);
	in_child("mremap [vdso] whole", move_vdso);
	in_child("mremap resizing [vdso]", resize_vdso);
	in_child("[vvar] writable", vvar_write);
	in_child("MAP_FIXED over [vdso]", map_over);
	struct timespec ts;
	T(clock_gettime(CLOCK_MONOTONIC, &ts));
	return 0;
}
