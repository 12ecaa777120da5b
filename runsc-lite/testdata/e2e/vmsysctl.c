/* vmsysctl: root in the sandbox sets vm.max_map_count and
 * vm.overcommit_memory, and the memory account then enforces them:
 * mappings stop at the count with ENOMEM. Never run natively (it changes
 * the host's sysctls). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static int put(const char *path, const char *v) {
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int ok = fputs(v, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static long get(const char *path) {
	long v = -1;
	FILE *f = fopen(path, "r");
	if (f) {
		fscanf(f, "%ld", &v);
		fclose(f);
	}
	return v;
}

int main(void) {
	const char *mmc = "/proc/sys/vm/max_map_count", *oc = "/proc/sys/vm/overcommit_memory";
	printf("max_map_count %ld\n", get(mmc));
	printf("set 300: %s\n", put(mmc, "300\n") == 0 ? "ok" : strerror(errno));
	printf("max_map_count %ld\n", get(mmc));
	int n = 0;
	for (; n < 1000; n++) {
		/* Alternating protections: no two neighbours merge. */
		if (mmap(NULL, 4096, n % 2 ? PROT_READ : PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED)
			break;
	}
	printf("mappings stopped before 300: %s (%s)\n", n < 300 ? "yes" : "no", n < 1000 ? strerror(errno) : "none failed");
	printf("overcommit 2: %s\n", put(oc, "2") == 0 ? "ok" : strerror(errno));
	printf("overcommit_memory %ld\n", get(oc));
	printf("overcommit 0: %s\n", put(oc, "0") == 0 ? "ok" : strerror(errno));
	printf("set -1: %s\n", put(mmc, "-1") == 0 ? "ok" : strerror(errno));
	return 0;
}
