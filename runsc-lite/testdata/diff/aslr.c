/* aslr: how an execve lays the new program out, by the persona's
 * ADDR_NO_RANDOMIZE (personality(2), what gdb and `setarch -R` set) and
 * kernel.randomize_va_space. The program execs itself as a probe a few
 * times per case and compares where the probes' program, stack, heap and
 * mmap area were: with randomization (randomize_va_space 1 or 2) they
 * move from run to run, the heap relative to the program only at 2;
 * with ADDR_NO_RANDOMIZE nothing moves, a PIE loads at Linux's
 * ELF_ET_DYN_BASE, the stack starts at the top of the address space and
 * the heap right after the program. The host's randomize_va_space is
 * read, not written: lines say whether what happened is what it says.
 * Also /proc/self/personality (0400, the persona in hex), personality's
 * query (0xffffffff), and the persona kept by fork and execve. */
#include "common.h"
#include "layout.h"

static int is_pie;

static const char *yn(int b) { return b ? "yes" : "NO"; }

/* randomized runs three probes with the default persona and says, part
 * by part, whether they moved as randomize_va_space (va) says. */
static void randomized(int va) {
	struct where w[3];
	for (int i = 0; i < 3; i++)
		if (layout_run(-1, &w[i]))
			return;
#define MOVED(f) (w[0].f != w[1].f || w[0].f != w[2].f)
	printf("program moves as randomize_va_space says: %s\n", yn(MOVED(base) == (va >= 1 && is_pie)));
	printf("stack moves as randomize_va_space says: %s\n", yn(MOVED(stack) == (va >= 1)));
	printf("mmap area moves as randomize_va_space says: %s\n", yn(MOVED(mmap) == (va >= 1)));
	printf("heap moves as randomize_va_space says: %s\n", yn(MOVED(heap) == (va >= 2)));
	printf("persona of the probe: %08lx\n", w[0].persona);
}

/* fixed runs two probes with ADDR_NO_RANDOMIZE: nothing moves. */
static void fixed(void) {
	struct where w[2];
	for (int i = 0; i < 2; i++)
		if (layout_run(ADDR_NO_RANDOMIZE, &w[i]))
			return;
	printf("program fixed: %s, at %#lx\n", yn(w[0].base == w[1].base), w[0].base);
	printf("stack fixed: %s, in the top MiB: %s\n", yn(w[0].stack == w[1].stack),
	       yn(w[0].stack < 0x7ffffffff000UL && w[0].stack > 0x7ffffffff000UL - (1 << 20)));
	printf("heap fixed: %s, right after the program: %s\n", yn(w[0].heap == w[1].heap), yn(w[0].heap < (1 << 20)));
	printf("mmap area fixed: %s\n", yn(w[0].mmap == w[1].mmap));
	printf("persona of the probe: %08lx\n", w[0].persona);
}

static void proc_file(void) {
	struct stat sb;
	if (stat("/proc/self/personality", &sb) == 0)
		printf("mode %o\n", sb.st_mode & 07777);
	else
		printf("stat: %s\n", ename(errno));
	char buf[32] = {0};
	int fd = open("/proc/self/personality", O_RDONLY);
	if (fd >= 0) {
		read(fd, buf, sizeof buf - 1);
		close(fd);
	}
	printf("/proc/self/personality: %s", buf);
}

static void forked(void) {
	printf("child's persona: %08x\n", personality(0xffffffff));
	proc_file();
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "--probe") == 0)
		return layout_probe();
	setup(argc, argv);
	is_pie = (unsigned long)main > 0x100000000UL;
	int va = 2;
	FILE *f = fopen("/proc/sys/kernel/randomize_va_space", "r");
	if (f) {
		if (fscanf(f, "%d", &va) != 1)
			va = 2;
		fclose(f);
	}
	printf("default persona: %08x\n", personality(0xffffffff));
	proc_file();
	randomized(va);
	fixed();
	printf("personality(ADDR_NO_RANDOMIZE) returns the old persona: %08x\n", personality(ADDR_NO_RANDOMIZE));
	printf("query: %08x\n", personality(0xffffffff));
	proc_file();
	in_child("fork keeps it", forked);
	/* Its own children's execs inherit it too. */
	struct where w;
	if (layout_run(-1, &w) == 0)
		printf("probe under an inherited persona: %08lx, program at %#lx\n", w.persona, w.base);
	personality(0);
	printf("back to 0: %08x\n", personality(0xffffffff));
	return 0;
}
