/* layout.h: the probe of a program's layout that aslr.c and
 * ../e2e/randomizeva.c share. A program calls layout_probe() when it
 * is run with "--probe" (it prints one line) and layout_run() to exec
 * itself as such a probe, with a persona (personality(2); -1 to keep its
 * own), and read where the probe's program, stack, heap and mmap area
 * were. */
#include <elf.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/personality.h>

extern char _end;

struct where {
	/* base is where the program is loaded; heap is the heap's start
	 * relative to the program's end (a PIE's moves with the program). */
	unsigned long base, stack, heap, mmap, persona;
};

static int layout_probe(void) {
	int local;
	void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	printf("%lx %lx %lx %lx %lx\n", getauxval(AT_PHDR) - sizeof(Elf64_Ehdr), (unsigned long)&local,
	       (unsigned long)sbrk(0) - (((unsigned long)&_end + 4095) & ~4095UL), (unsigned long)m,
	       (unsigned long)personality(0xffffffff));
	return 0;
}

static int layout_run(long persona, struct where *w) {
	int p[2];
	if (pipe(p))
		return -1;
	pid_t c = fork();
	if (c == 0) {
		dup2(p[1], 1);
		close(p[0]);
		if (persona != -1 && personality(persona) < 0)
			_exit(3);
		execl("/proc/self/exe", "probe", "--probe", (char *)NULL);
		_exit(4);
	}
	close(p[1]);
	char buf[256] = {0};
	int n = 0, r;
	while (n < (int)sizeof buf - 1 && (r = read(p[0], buf + n, sizeof buf - 1 - n)) > 0)
		n += r;
	close(p[0]);
	int st;
	waitpid(c, &st, 0);
	if (sscanf(buf, "%lx %lx %lx %lx %lx", &w->base, &w->stack, &w->heap, &w->mmap, &w->persona) != 5) {
		printf("probe failed: status %x\n", st);
		return -1;
	}
	return 0;
}
