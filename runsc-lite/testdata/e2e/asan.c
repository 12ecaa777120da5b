/* Built with -fsanitize=address: ASan reserves its ~14 TB shadow with
 * MAP_NORESERVE at start, then checks every access against it. With an
 * argument, a heap-buffer-overflow: ASan reports it (stderr, with
 * addresses) and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
	char *p = malloc(16);
	memset(p, 'a', 16);
	printf("in bounds: %c\n", p[15]);
	fflush(stdout);
	if (argc > 1) {
		volatile char *q = p;
		q[16] = 1;
	}
	free(p);
	puts("done");
	return 0;
}
