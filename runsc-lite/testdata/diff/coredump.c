/* Core dumps: which fatal signals write a core file and when (dumpable,
 * RLIMIT_CORE, an existing "core"), the wait status's core bit and
 * waitid's CLD_DUMPED, and what the file holds: an ELF core whose notes
 * name the process and its threads, and whose segments hold its memory
 * (a global written at run time, a heap string) at their addresses. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char global[32] = "initial value";
static char psargs_want[80]; /* the command line, NULs as spaces, as fill_psinfo */
static char *heap;

static void *sleeper(void *arg) {
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

enum { ABORT, SEGV, QUIT, TERM, KILL };

static void die(int how) {
	switch (how) {
	case ABORT: abort();
	case SEGV: *(volatile int *)8 = 1; break;
	case QUIT: raise(SIGQUIT); break;
	case TERM: raise(SIGTERM); break;
	case KILL: raise(SIGKILL); break;
	}
	_exit(99);
}

/* child sets itself up as asked, then dies as asked. */
static pid_t child(int how, rlim_t limit, int dumpable, int threads) {
	pid_t p = fork();
	if (p == 0) {
		struct rlimit r = {limit, RLIM_INFINITY};
		if (setrlimit(RLIMIT_CORE, &r))
			_exit(98);
		if (!dumpable)
			prctl(PR_SET_DUMPABLE, 0);
		strcpy(global, "written at run time");
		strcpy(heap, "a string on the heap");
		for (int i = 1; i < threads; i++) {
			pthread_t t;
			pthread_create(&t, NULL, sleeper, NULL);
		}
		usleep(20000); /* the threads reach pause() */
		die(how);
	}
	return p;
}

static char *read_file(const char *path, size_t *len) {
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	struct stat st;
	fstat(fd, &st);
	char *b = malloc(st.st_size + 1);
	size_t n = 0;
	while (n < (size_t)st.st_size) {
		ssize_t r = read(fd, b + n, st.st_size - n);
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	*len = n;
	return b;
}

/* find returns whether the core's segments hold s at addr. */
static int find(char *core, size_t len, Elf64_Ehdr *eh, unsigned long addr, const char *s) {
	Elf64_Phdr *ph = (Elf64_Phdr *)(core + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || addr < ph[i].p_vaddr || addr + strlen(s) > ph[i].p_vaddr + ph[i].p_filesz)
			continue;
		size_t off = ph[i].p_offset + (addr - ph[i].p_vaddr);
		return off + strlen(s) <= len && memcmp(core + off, s, strlen(s)) == 0;
	}
	return 0;
}

static void show_core(pid_t pid, int threads) {
	struct stat st;
	if (stat("core", &st)) {
		printf("  no core file (%s)\n", strerror(errno));
		return;
	}
	printf("  core: mode %o, regular %d\n", st.st_mode & 07777, S_ISREG(st.st_mode));
	size_t len;
	char *core = read_file("core", &len);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)core;
	if (len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG)) {
		printf("  not an ELF file\n");
		return;
	}
	printf("  ELF type %d (ET_CORE %d), machine %d\n", eh->e_type, ET_CORE, eh->e_machine);
	Elf64_Phdr *ph = (Elf64_Phdr *)(core + eh->e_phoff);
	int prstatus = 0, psinfo = 0, siginfo = 0, auxv = 0, file = 0, fpregs = 0, first = -1;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_NOTE)
			continue;
		char *n = core + ph[i].p_offset, *end = n + ph[i].p_filesz;
		while (n + sizeof(Elf64_Nhdr) <= end) {
			Elf64_Nhdr *h = (Elf64_Nhdr *)n;
			char *desc = n + sizeof(*h) + ((h->n_namesz + 3) & ~3);
			if (first < 0)
				first = h->n_type;
			switch (h->n_type) {
			case NT_PRSTATUS: {
				struct {
					int signo, code, err;
					short cursig;
				} *ps = (void *)desc;
				if (prstatus++ == 0)
					printf("  first NT_PRSTATUS: cursig %d, signo %d\n", ps->cursig, ps->signo);
				break;
			}
			case NT_PRPSINFO: {
				char *fname = desc + 40, *psargs = desc + 56;
				int ppid = *(int *)(desc + 24);
				psinfo++;
				printf("  NT_PRPSINFO: fname %.16s, psargs are the arguments %d, pid is the child's %d\n", fname,
				       strcmp(psargs, psargs_want) == 0, ppid == pid);
				break;
			}
			case NT_SIGINFO:
				siginfo++;
				printf("  NT_SIGINFO: signo %d\n", ((siginfo_t *)desc)->si_signo);
				break;
			case NT_AUXV: {
				Elf64_auxv_t *a = (Elf64_auxv_t *)desc;
				int pagesz = 0;
				for (; a->a_type != AT_NULL; a++)
					if (a->a_type == AT_PAGESZ)
						pagesz = a->a_un.a_val;
				auxv++;
				printf("  NT_AUXV: AT_PAGESZ %d\n", pagesz);
				break;
			}
			case NT_FILE:
				file++;
				break;
			case NT_FPREGSET:
				fpregs++;
				break;
			}
			n = desc + ((h->n_descsz + 3) & ~3);
		}
	}
	printf("  notes: first NT_PRSTATUS %d, NT_PRSTATUS per thread %d, NT_PRPSINFO %d, NT_SIGINFO %d, NT_AUXV %d, NT_FILE %d, NT_FPREGSET per thread %d\n",
	       first == NT_PRSTATUS, prstatus == threads, psinfo, siginfo, auxv, file, fpregs == threads);
	printf("  memory: global %d, heap %d\n", find(core, len, eh, (unsigned long)global, "written at run time"),
	       find(core, len, eh, (unsigned long)heap, "a string on the heap"));
	free(core);
}

static void run(const char *name, int how, rlim_t limit, int dumpable, int threads) {
	printf("%s\n", name);
	heap = malloc(64); /* the child writes its string here */
	pid_t p = child(how, limit, dumpable, threads);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, p, &si, WEXITED | WNOWAIT))
		perror("waitid");
	int st;
	waitpid(p, &st, 0);
	printf("  signaled %d, signal %d, core bit %d, si_code %s\n", WIFSIGNALED(st), WTERMSIG(st), WCOREDUMP(st) != 0,
	       si.si_code == CLD_DUMPED ? "CLD_DUMPED" : si.si_code == CLD_KILLED ? "CLD_KILLED" : "other");
	if (WCOREDUMP(st)) {
		show_core(p, threads);
		struct stat cs;
		if (limit != RLIM_INFINITY && stat("core", &cs) == 0)
			printf("  size within RLIMIT_CORE %d\n", (rlim_t)cs.st_size <= limit);
	} else {
		printf("  core file: %s\n", access("core", F_OK) == 0 ? "present" : "absent");
	}
	unlink("core");
	free(heap);
}

int main(int argc, char **argv) {
	if (argc > 1 && chdir(argv[1])) {
		perror("chdir");
		return 1;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	for (int i = 0; i < argc; i++)
		snprintf(psargs_want + strlen(psargs_want), sizeof(psargs_want) - strlen(psargs_want), "%s ", argv[i]);
	unlink("core");
	run("abort, RLIMIT_CORE 0", ABORT, 0, 1, 1);
	run("abort, RLIMIT_CORE 4095", ABORT, 4095, 1, 1);
	run("abort, unlimited", ABORT, RLIM_INFINITY, 1, 1);
	run("SIGSEGV, unlimited, 3 threads", SEGV, RLIM_INFINITY, 1, 3);
	run("SIGQUIT, not dumpable", QUIT, RLIM_INFINITY, 0, 1);
	run("SIGTERM, unlimited", TERM, RLIM_INFINITY, 1, 1);
	run("SIGKILL, unlimited", KILL, RLIM_INFINITY, 1, 1);
	run("abort, RLIMIT_CORE 3 pages", ABORT, 3 * 4096, 1, 1);

	/* An existing file named core is replaced; a directory stops the dump. */
	int fd = open("core", O_CREAT | O_WRONLY, 0644);
	write(fd, "old", 3);
	close(fd);
	run("abort over an existing core file", ABORT, RLIM_INFINITY, 1, 1);
	mkdir("core", 0755);
	run("abort with a directory named core", ABORT, RLIM_INFINITY, 1, 1);
	rmdir("core");
	return 0;
}
