/* MAP_NORESERVE under the default vm.overcommit_memory (0): writable
 * private reservations far beyond the sandbox's memory, as ASan's and
 * TSan's shadow, are not committed: they map, alone and together, and
 * the few pages touched work; so across mprotect, mremap, MAP_FIXED over
 * them and fork. smaps shows them "nr", not "ac". */
#include "common.h"
#include <sys/mman.h>
#include <sys/wait.h>

#define PG 4096L
#define GiB (1L << 30)
#define RW (PROT_READ | PROT_WRITE)
#define NR (MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)

/* touch writes a byte to the first, middle and last page of [p, p+len)
 * and reports whether each reads back. */
static int touch(char *p, long len, char v) {
	long at[] = {0, len / 2 / PG * PG, len - PG};
	for (int i = 0; i < 3; i++)
		p[at[i]] = v;
	for (int i = 0; i < 3; i++)
		if (p[at[i]] != v || p[at[i] + 1] != 0)
			return 0;
	return 1;
}

/* vmflag reports whether the smaps entry of the mapping at p has flag in
 * its VmFlags line. */
static int vmflag(void *p, const char *flag) {
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512], head[32], want[8];
	int in = 0, found = 0;
	snprintf(head, sizeof head, "%lx-", (unsigned long)p);
	snprintf(want, sizeof want, " %s ", flag);
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "VmFlags:", 8) == 0) {
			if (in) {
				found = strstr(line + 7, want) != NULL;
				break;
			}
		} else if (strchr(line, '-') && strchr(line, ' ') && strchr(line, '-') < strchr(line, ' ')) {
			in = strncmp(line, head, strlen(head)) == 0;
		}
	}
	if (f)
		fclose(f);
	return found;
}

int main(void) {
	char *big;
	M(big = mmap(NULL, 16 * GiB, RW, NR, -1, 0));
	if (big == MAP_FAILED)
		return 0;
	CHECK(touch(big, 16 * GiB, 1));
	CHECK(vmflag(big, "nr"));
	CHECK(!vmflag(big, "ac"));

	/* Together far beyond any sandbox's memory. */
	int n = 0;
	char *r[8];
	for (; n < 8; n++) {
		r[n] = mmap(NULL, 4 * GiB, RW, NR, -1, 0);
		if (r[n] == MAP_FAILED)
			break;
	}
	printf("4 GiB reservations made: %d of 8\n", n);
	for (int i = 0; i < n; i++)
		munmap(r[i], 4 * GiB);

	/* A terabyte, and a fixed mapping inside it, as ASan places its
	 * shadow. */
	char *tb;
	M(tb = mmap(NULL, 1024 * GiB, PROT_NONE, NR, -1, 0));
	if (tb != MAP_FAILED) {
		char *in = tb + 512 * GiB;
		M(mmap(in, 64 * GiB, RW, NR | MAP_FIXED, -1, 0));
		CHECK(touch(in, 64 * GiB, 2));
		T(mprotect(tb, 1024 * GiB, RW));
		CHECK(touch(tb, 1024 * GiB, 3));
		T(munmap(tb, 1024 * GiB));
	}

	/* Growing keeps it uncommitted. */
	char *g;
	M(g = mremap(big, 16 * GiB, 32 * GiB, MREMAP_MAYMOVE));
	if (g != MAP_FAILED) {
		CHECK(g[0] == 1);
		CHECK(touch(g, 32 * GiB, 4));
		big = g;
	}

	/* A child gets a copy it does not commit either. */
	pid_t c = fork();
	if (c == 0)
		_exit(touch(big, 32 * GiB, 5) && big[PG] == 0 ? 0 : 1);
	int st;
	waitpid(c, &st, 0);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(big[0] == 4);

	/* A shared anonymous one too. */
	char *sh;
	M(sh = mmap(NULL, 16 * GiB, RW, MAP_SHARED | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
	if (sh != MAP_FAILED)
		CHECK(touch(sh, 16 * GiB, 6));
	return 0;
}
