/* Maps a file privately, executable and not, at several offsets, and
 * prints what each mapping answered and read: run natively and in the
 * sandbox with the file on a host mount that forbids exec. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	static const struct {
		int prot;
		off_t off;
	} maps[] = {
		{PROT_READ, 0}, {PROT_READ | PROT_EXEC, 0}, {PROT_READ, 4096},
		{PROT_READ | PROT_WRITE, 4096}, {PROT_EXEC, 4096}, {PROT_READ, 0},
	};
	for (unsigned i = 0; i < sizeof maps / sizeof maps[0]; i++) {
		unsigned char *p = mmap(NULL, 4096, maps[i].prot, MAP_PRIVATE, fd, maps[i].off);
		if (p == MAP_FAILED) {
			printf("prot %d at %ld: %s\n", maps[i].prot, (long)maps[i].off, strerror(errno));
			continue;
		}
		unsigned char want[4];
		pread(fd, want, sizeof want, maps[i].off);
		printf("prot %d at %ld: mapped, %s\n", maps[i].prot, (long)maps[i].off,
		       !(maps[i].prot & PROT_READ) ? "unread" : memcmp(p, want, sizeof want) == 0 ? "the file's bytes" : "other bytes");
		if (maps[i].prot & PROT_WRITE)
			p[0] ^= 1;
	}
	printf("still running\n");
	return 0;
}
