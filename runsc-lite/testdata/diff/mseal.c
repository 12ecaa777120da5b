/* mseal(2) (Linux 6.10): its argument errors, and what a sealed mapping
 * refuses: munmap, mprotect, mremap (source and fixed destination), mmap
 * MAP_FIXED over it, madvise's discards of read-only private anonymous
 * memory; what it still allows: reads, writes, discards of writable
 * memory, non-discarding advice, a seal again; a forked child inherits
 * the seal; VmFlags shows "sl". */
#include "common.h"
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#ifndef SYS_mseal
#define SYS_mseal 462
#endif
#define PG 4096L

static long sealc(void *addr, unsigned long len, unsigned long flags) {
	return syscall(SYS_mseal, addr, len, flags);
}

static unsigned char *anon(long pages, int prot) {
	return mmap(NULL, pages * PG, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

/* smaps_sealed prints whether the smaps entry of the mapping at p says
 * "sl" in VmFlags. */
static void smaps_sealed(const char *what, void *p) {
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512], head[32];
	int in = 0;
	snprintf(head, sizeof head, "%lx-", (unsigned long)p);
	while (f && fgets(line, sizeof line, f)) {
		if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' '))
			in = strncmp(line, head, strlen(head)) == 0;
		if (in && strncmp(line, "VmFlags:", 8) == 0) {
			printf("%s sealed in smaps: %s\n", what, strstr(line, " sl") ? "yes" : "no");
			break;
		}
	}
	if (f)
		fclose(f);
}

int main(void) {
	unsigned char *p = anon(4, PROT_READ | PROT_WRITE);
	unsigned char *h = anon(3, PROT_NONE);
	munmap(h + PG, PG); /* a hole */

	T(sealc(p, PG, 1));
	T(sealc(p + 1, PG, 0));
	T(sealc(p, -1UL, 0));
	T(sealc(h, 3 * PG, 0));
	T(sealc(p, 0, 0));
	T(sealc((void *)-4096L, 8192, 0));

	/* Seal the middle two pages: the mapping splits. */
	T(sealc(p + PG, 2 * PG, 0));
	T(sealc(p + PG, 2 * PG, 0)); /* again */
	smaps_sealed("middle", p + PG);
	smaps_sealed("first", p);
	p[PG] = 1;
	printf("write to sealed page: %d\n", p[PG]);
	T(munmap(p + PG, PG));
	T(munmap(p, 4 * PG));
	T(munmap(p, PG)); /* unsealed: allowed */
	T(mprotect(p + PG, PG, PROT_READ));
	T(mprotect(p + 3 * PG, PG, PROT_READ)); /* unsealed */
	M(mremap(p + PG, PG, 2 * PG, MREMAP_MAYMOVE));
	M(mremap(p + PG, 2 * PG, PG, 0));
	M(mmap(p + PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	unsigned char *q = anon(1, PROT_READ | PROT_WRITE);
	M(mremap(q, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, p + 2 * PG));
	/* Writable sealed memory may be discarded; not-discarding advice is
	 * fine. */
	T(madvise(p + PG, PG, MADV_DONTNEED));
	printf("after MADV_DONTNEED: %d\n", p[PG]);
	T(madvise(p + PG, PG, MADV_WILLNEED));
	T(madvise(p + PG, PG, MADV_NORMAL));

	/* Read-only private anonymous sealed memory may not be discarded. */
	unsigned char *r = anon(2, PROT_READ | PROT_WRITE);
	r[0] = 7;
	T(mprotect(r, 2 * PG, PROT_READ));
	T(sealc(r, 2 * PG, 0));
	T(madvise(r, PG, MADV_DONTNEED));
	T(madvise(r, PG, MADV_FREE));
	T(madvise(r, PG, MADV_DONTFORK));
	T(madvise(r, PG, MADV_WIPEONFORK));
	T(madvise(r, PG, MADV_WILLNEED));
	printf("read-only sealed page kept: %d\n", r[0]);

	/* Shared anonymous memory is not "anonymous" to the check. */
	unsigned char *s = mmap(NULL, PG, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	T(sealc(s, PG, 0));
	T(madvise(s, PG, MADV_DONTNEED));

	/* A forked child inherits the seal. */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		errno = 0;
		int rc = munmap(p + PG, PG);
		printf("child munmap of sealed page = %d %s\n", rc, rc ? ename(errno) : "");
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}
