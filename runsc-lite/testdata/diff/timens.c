/* timens: time namespaces (CLONE_NEWTIME). unshare makes the children's
 * namespace (/proc/self/ns/time stays, time_for_children changes), whose
 * offsets /proc/self/timens_offsets sets until a process enters it;
 * a child sees CLOCK_MONOTONIC/BOOTTIME (and _RAW, _COARSE, _ALARM) moved,
 * through libc (the vDSO) and the raw syscall alike, and sysinfo's and
 * /proc/uptime's uptime; its absolute clock_nanosleep, timerfd and POSIX
 * timers and futex waits are on its clock; setns back; NS_GET_*; the
 * errnos; a vDSO moved with its data pages (mremap) keeps the offsets
 * in a child that enters the namespace, and the old place of one
 * unmapped is not written. Only differences of clocks are printed,
 * rounded to seconds.
 * The host's time namespace is never touched: only new ones, of which
 * only the children are members. */
#include "common.h"
#include <sched.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <linux/futex.h>
#include <linux/nsfs.h>
#include <linux/sched.h>
#include <elf.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

static long long ns_of(clockid_t c, int raw) {
	struct timespec ts;
	int r = raw ? syscall(SYS_clock_gettime, c, &ts) : clock_gettime(c, &ts);
	if (r < 0)
		return -1;
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* secs rounds a difference of nanoseconds to whole seconds. */
static long secs(long long d) { return (long)((d + (d < 0 ? -500000000LL : 500000000LL)) / 1000000000LL); }

/* offset: how much further clock has gone since it read base than
 * CLOCK_REALTIME, which no time namespace moves, has gone since it read
 * base_real: the namespace's offset for clock, in seconds, however long the
 * program took to get here (a slow run under load must not round up). */
static long offset(clockid_t clock, int sys, long long base, long long base_real) {
	long long real = ns_of(CLOCK_REALTIME, sys);
	return secs((ns_of(clock, sys) - base) - (real - base_real));
}

static void show(const char *file) {
	char buf[256] = {0};
	int fd = open(file, O_RDONLY);
	if (fd < 0) {
		printf("%s: %s\n", file, ename(errno));
		return;
	}
	read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("%s:\n%s", file, buf);
}

static int same_ns(const char *a, const char *b) {
	struct stat sa, sb;
	if (stat(a, &sa) < 0 || stat(b, &sb) < 0)
		return -1;
	return sa.st_ino == sb.st_ino;
}

static long uptime_proc(void) {
	double up = 0;
	FILE *f = fopen("/proc/uptime", "r");
	if (!f)
		return -1;
	fscanf(f, "%lf", &up);
	fclose(f);
	return (long)(up + 0.5);
}

/* waiter shares its parent's memory until the parent writes to *arg. */
static int waiter(void *arg) {
	char c;
	read(*(int *)arg, &c, 1);
	return 0;
}

static const clockid_t clocks[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE,
				   CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM, CLOCK_REALTIME};

/* span is the range of the maps lines named [vdso] or [vvar...]. */
struct span {
	unsigned long lo, hi;
};

static int vdso_spans(struct span *out, int max) {
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0;
	while (n < max && fgets(line, sizeof line, f)) {
		unsigned long lo, hi;
		char nm[256] = "";
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %255s", &lo, &hi, nm) == 3 &&
		    (strcmp(nm, "[vdso]") == 0 || strncmp(nm, "[vvar", 5) == 0))
			out[n++] = (struct span){lo, hi};
	}
	fclose(f);
	return n;
}

/* vdso_func returns the address of the vDSO function name in the vDSO
 * image at base (its dynamic symbol, less the image's link address). */
static void *vdso_func(unsigned long base, const char *name) {
	Elf64_Ehdr *eh = (Elf64_Ehdr *)base;
	Elf64_Phdr *ph = (Elf64_Phdr *)(base + eh->e_phoff);
	Elf64_Shdr *sh = (Elf64_Shdr *)(base + eh->e_shoff);
	unsigned long link = 0;
	for (int i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD) {
			link = ph[i].p_vaddr - ph[i].p_offset;
			break;
		}
	for (int i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_DYNSYM)
			continue;
		Elf64_Sym *sym = (Elf64_Sym *)(base + sh[i].sh_offset);
		const char *str = (const char *)(base + sh[sh[i].sh_link].sh_offset);
		for (unsigned long j = 0; j < sh[i].sh_size / sizeof *sym; j++)
			if (strcmp(str + sym[j].st_name, name) == 0)
				return (void *)(base + sym[j].st_value - link);
	}
	return NULL;
}

/* moved_vdso moves the vDSO and its data pages together, enters a new
 * time namespace and reads CLOCK_MONOTONIC through the moved vDSO in a
 * child: the namespace's offset, as the system call gives it. Run in a
 * forked child: libc's clock functions still point at the old place. */
static void moved_vdso(void) {
	struct span sp[8];
	int n = vdso_spans(sp, 8);
	unsigned long lo = sp[0].lo, hi = sp[n - 1].hi, vdso = 0;
	char line[64];
	char *to = mmap(NULL, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	for (int i = 0; i < n; i++) {
		if (sp[i].lo == getauxval(AT_SYSINFO_EHDR))
			vdso = (unsigned long)to + (sp[i].lo - lo);
		char *got = mremap((void *)sp[i].lo, sp[i].hi - sp[i].lo, sp[i].hi - sp[i].lo, MREMAP_MAYMOVE | MREMAP_FIXED,
				   to + (sp[i].lo - lo));
		if (got == MAP_FAILED) {
			printf("  mremap: %s\n", ename(errno));
			return;
		}
	}
	int (*gettime)(clockid_t, struct timespec *) = vdso_func(vdso, "__vdso_clock_gettime");
	printf("  moved vDSO's clock_gettime found: %s\n", gettime ? "yes" : "no");
	T(unshare(CLONE_NEWTIME));
	T(put_text("/proc/self/timens_offsets", "monotonic 1000 0"));
	struct timespec before;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &before);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		struct timespec a = {0, 0};
		int r = gettime(CLOCK_MONOTONIC, &a);
		printf("  child: moved vDSO's clock_gettime = %d, +%lds\n", r,
		       secs((a.tv_sec - before.tv_sec) * 1000000000LL + (a.tv_nsec - before.tv_nsec)));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

/* unmapped_vdso unmaps the vDSO, maps memory of its own there, and enters
 * a new time namespace: the child finds that memory as it was. */
static void unmapped_vdso(void) {
	unsigned long v = getauxval(AT_SYSINFO_EHDR);
	struct span sp[8];
	int n = vdso_spans(sp, 8);
	size_t len = 0;
	for (int i = 0; i < n; i++)
		if (sp[i].lo == v)
			len = sp[i].hi - sp[i].lo;
	T(munmap((void *)v, len));
	unsigned char *p = mmap((void *)v, len, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return;
	memset(p, 0xcc, len);
	T(unshare(CLONE_NEWTIME));
	T(put_text("/proc/self/timens_offsets", "monotonic 1000 0"));
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		size_t i = 0;
		while (i < len && p[i] == 0xcc)
			i++;
		printf("  child: memory at the old vDSO's place untouched: %s\n", i == len ? "yes" : "no");
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (argc > 3) { /* the vfork child's exec */
		printf("after exec: own is children's: %d, clock +%lds\n",
		       same_ns("/proc/self/ns/time", "/proc/self/ns/time_for_children"),
		       offset(CLOCK_MONOTONIC, 0, atoll(argv[2]), atoll(argv[3])));
		return 0;
	}
	/* First, while the vDSO is the one the sandbox shares, unpatched. */
	in_child("the vDSO moved", moved_vdso);
	in_child("the vDSO unmapped", unmapped_vdso);
	int init_ns = open("/proc/self/ns/time", O_RDONLY);
	printf("NS_GET_NSTYPE: %#x\n", ioctl(init_ns, NS_GET_NSTYPE));
	T(ioctl(init_ns, NS_GET_PARENT));
	T(put_text("/proc/self/timens_offsets", "monotonic 10 0"));

	T(unshare(CLONE_NEWTIME));
	struct stat first, own;
	fstat(init_ns, &first);
	stat("/proc/self/ns/time", &own);
	printf("own ns unchanged: %d, children's differs: %d\n", first.st_ino == own.st_ino,
	       !same_ns("/proc/self/ns/time", "/proc/self/ns/time_for_children"));
	show("/proc/self/timens_offsets");
	T(put_text("/proc/self/timens_offsets", "monotonic 1000 0\nboottime 1 500000000\n"));
	show("/proc/self/timens_offsets");
	T(put_text("/proc/self/timens_offsets", "2 10 0"));
	T(put_text("/proc/self/timens_offsets", "0 10 0"));
	T(put_text("/proc/self/timens_offsets", "1 10 1000000000"));
	T(put_text("/proc/self/timens_offsets", "1 10"));
	T(put_text("/proc/self/timens_offsets", "1 -100000000000 0"));
	T(put_text("/proc/self/timens_offsets", "realtime 1 0"));
	T(put_text("/proc/self/timens_offsets", "1 3600 0\n7 7200 0\n1 5 0\n"));
	show("/proc/self/timens_offsets");
	long long before[6];
	for (int i = 0; i < 6; i++)
		before[i] = ns_of(clocks[i], 0);
	struct sysinfo si;
	sysinfo(&si);
	long up0 = si.uptime;
	struct timespec mono0;
	clock_gettime(CLOCK_MONOTONIC, &mono0);

	pid_t pid = fork();
	if (pid == 0) {
		printf("child: own ns is the children's: %d\n",
		       same_ns("/proc/self/ns/time", "/proc/self/ns/time_for_children"));
		for (int i = 0; i < 5; i++)
			printf("clock %d: libc +%lds, syscall +%lds\n", clocks[i], offset(clocks[i], 0, before[i], before[5]),
			       offset(clocks[i], 1, before[i], before[5]));
		/* CLOCK_REALTIME itself: unmoved (early enough that the time gone
		 * by rounds to 0). */
		printf("clock %d: libc +%lds, syscall +%lds\n", clocks[5], secs(ns_of(clocks[5], 0) - before[5]),
		       secs(ns_of(clocks[5], 1) - before[5]));
		struct timeval tv;
		printf("gettimeofday ok: %d, time ok: %d\n", gettimeofday(&tv, NULL) == 0, time(NULL) > 0);
		sysinfo(&si);
		long d = uptime_proc() - si.uptime;
		printf("sysinfo uptime +7200 s (to a second): %d, /proc/uptime within 1 s of it: %d\n",
		       si.uptime - up0 - 7200 >= 0 && si.uptime - up0 - 7200 <= 1, d >= -1 && d <= 1);
		/* Frozen once entered. */
		T(put_text("/proc/self/timens_offsets", "1 1 0"));
		/* Absolute sleep on the namespace's clock: the parent's
		 * reading + offset + 50 ms is 50 ms from now. */
		struct timespec until = {mono0.tv_sec + 3600, mono0.tv_nsec + 50000000};
		if (until.tv_nsec >= 1000000000)
			until.tv_sec++, until.tv_nsec -= 1000000000;
		long long t0 = ns_of(CLOCK_MONOTONIC, 1);
		int r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
		long long slept = ns_of(CLOCK_MONOTONIC, 1) - t0;
		printf("clock_nanosleep abs: %d, slept under 1 s: %d\n", r, slept < 1000000000LL);
		int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
		struct itimerspec its = {0};
		clock_gettime(CLOCK_MONOTONIC, &its.it_value);
		its.it_value.tv_nsec += 30000000;
		if (its.it_value.tv_nsec >= 1000000000)
			its.it_value.tv_sec++, its.it_value.tv_nsec -= 1000000000;
		T(timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL));
		struct itimerspec cur;
		timerfd_gettime(tfd, &cur);
		printf("timerfd remaining under 1 s: %d\n", cur.it_value.tv_sec == 0);
		unsigned long long n = 0;
		t0 = ns_of(CLOCK_MONOTONIC, 1);
		read(tfd, &n, sizeof n);
		printf("timerfd expirations %llu, waited under 1 s: %d\n", n, ns_of(CLOCK_MONOTONIC, 1) - t0 < 1000000000LL);
		/* An absolute time before the namespace's offset is past. */
		its.it_value.tv_sec = 1, its.it_value.tv_nsec = 0;
		T(timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL));
		read(tfd, &n, sizeof n);
		printf("timerfd at 1 s: %llu\n", n);
		close(tfd);
		/* A futex wait with an absolute CLOCK_MONOTONIC timeout. */
		int word = 0;
		struct timespec ft;
		clock_gettime(CLOCK_MONOTONIC, &ft);
		ft.tv_nsec += 20000000;
		if (ft.tv_nsec >= 1000000000)
			ft.tv_sec++, ft.tv_nsec -= 1000000000;
		t0 = ns_of(CLOCK_MONOTONIC, 1);
		r = syscall(SYS_futex, &word, FUTEX_WAIT_BITSET, 0, &ft, NULL, FUTEX_BITSET_MATCH_ANY);
		printf("futex abs: %s, under 1 s: %d\n", r < 0 ? ename(errno) : "0", ns_of(CLOCK_MONOTONIC, 1) - t0 < 1000000000LL);
		/* A grandchild is in the same namespace. */
		pid_t g = fork();
		if (g == 0) {
			printf("grandchild: clock +%lds\n", offset(CLOCK_MONOTONIC, 0, before[0], before[5]));
			_exit(0);
		}
		waitpid(g, NULL, 0);
		/* setns needs CLONE_NEWTIME or 0. */
		T(setns(init_ns, CLONE_NEWUTS));
		T(setns(init_ns, CLONE_NEWTIME));
		sysinfo(&si);
		printf("after setns: clock +%lds (libc), +%lds (syscall), sysinfo back (to a second): %d\n",
		       offset(CLOCK_MONOTONIC, 0, before[0], before[5]), offset(CLOCK_MONOTONIC, 1, before[0], before[5]),
		       si.uptime - up0 >= 0 && si.uptime - up0 <= 1);
		printf("back in the first: %d\n", same_ns("/proc/self/ns/time", "/proc/self/ns/time_for_children"));
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	/* The parent's own clocks never moved. */
	printf("parent: clock +%lds\n", offset(CLOCK_MONOTONIC, 0, before[0], before[5]));
	/* The children's namespace was entered: frozen. */
	T(put_text("/proc/self/timens_offsets", "1 1 0"));
	/* Its file, from the parent. */
	int child_ns = open("/proc/self/ns/time_for_children", O_RDONLY);
	printf("NS_GET_NSTYPE: %#x\n", ioctl(child_ns, NS_GET_NSTYPE));
	int owner = ioctl(child_ns, NS_GET_USERNS);
	printf("NS_GET_USERNS: %s\n", owner >= 0 ? "fd" : ename(errno));
	/* A child sharing the memory stays in its parent's namespace until
	 * it execs (vfork). */
	char arg[32], real[32];
	snprintf(arg, sizeof arg, "%lld", before[0]);
	snprintf(real, sizeof real, "%lld", before[5]);
	char *args[] = {"/proc/self/exe", ".", arg, real, NULL};
	pid = vfork();
	if (pid == 0) {
		printf("vfork child: own is children's: %d\n",
		       same_ns("/proc/self/ns/time", "/proc/self/ns/time_for_children"));
		execv("/proc/self/exe", args);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
	/* Not while another process shares the memory (EUSERS). */
	int gate[2];
	pipe(gate);
	static char stack[65536];
	pid = clone(waiter, stack + sizeof stack, CLONE_VM | SIGCHLD, &gate[0]);
	T(setns(child_ns, CLONE_NEWTIME));
	write(gate[1], "x", 1);
	waitpid(pid, NULL, 0);
	/* The parent may setns itself into the new one. */
	T(setns(child_ns, CLONE_NEWTIME));
	printf("parent after setns: clock +%lds\n", offset(CLOCK_MONOTONIC, 0, before[0], before[5]));
	T(unshare(CLONE_NEWTIME));
	show("/proc/self/timens_offsets");
	/* Not as nobody. */
	pid = fork();
	if (pid == 0) {
		setgid(65534), setuid(65534);
		T(unshare(CLONE_NEWTIME));
		T(setns(init_ns, CLONE_NEWTIME));
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	/* A new process made with clone3(CLONE_NEWTIME) enters it at once
	 * (clone's own flags cannot say CLONE_NEWTIME: its bits are the exit
	 * signal's). */
	struct clone_args ca = {.flags = CLONE_NEWTIME, .exit_signal = SIGCHLD};
	pid = syscall(SYS_clone3, &ca, sizeof ca);
	if (pid == 0) {
		printf("clone(CLONE_NEWTIME) child: clock +%lds, own is children's: %d\n",
		       offset(CLOCK_MONOTONIC, 0, before[0], before[5]),
		       same_ns("/proc/self/ns/time", "/proc/self/ns/time_for_children"));
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	return 0;
}
