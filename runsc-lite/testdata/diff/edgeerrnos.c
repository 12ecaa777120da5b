/* edgeerrnos: errnos of less common requests, as Linux gives them:
 * arch_prctl's CPUID faulting (absent here and on the test hosts),
 * MAP_SHARED_VALIDATE with flags no file offers, FICLONE and FICLONERANGE
 * on tmpfs and across filesystems, the ioctls of /dev/random and
 * /dev/urandom an unprivileged caller may make, and remap_file_pages, an
 * mmap since Linux 4.0. */
#include "common.h"
#include <asm/prctl.h>
#include <linux/fs.h>
#include <linux/random.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#ifndef MAP_SYNC
#define MAP_SYNC 0x80000
#endif

static int has_cpuid_fault(void) {
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	int found = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "flags", 5) && strstr(line, " cpuid_fault"))
			found = 1;
	if (f)
		fclose(f);
	return found;
}

/* CPUID faulting: ARCH_SET_CPUID works where /proc/cpuinfo lists
 * cpuid_fault and fails with ENODEV where it does not (the sandbox lists
 * it nowhere); printed as whether the two agree, so that the output is the
 * same on hosts with and without it. */
static void cpuid(void) {
	int listed = has_cpuid_fault();
	T(syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0));
	errno = 0;
	long off = syscall(SYS_arch_prctl, ARCH_SET_CPUID, 0);
	int off_errno = errno;
	errno = 0;
	long on = syscall(SYS_arch_prctl, ARCH_SET_CPUID, 1); /* CPUID works again */
	int on_errno = errno;
	int agree = listed ? off == 0 && on == 0
			   : off == -1 && off_errno == ENODEV && on == -1 && on_errno == ENODEV;
	printf("ARCH_SET_CPUID agrees with cpuinfo's cpuid_fault: %s\n", agree ? "yes" : "no");
	T(syscall(SYS_arch_prctl, ARCH_GET_CPUID, 0));
	T(syscall(SYS_arch_prctl, 0x1fff, 0));
}

static void shared_validate(void) {
	int fd = open("m", O_CREAT | O_RDWR, 0600);
	ftruncate(fd, 4096);
	void *p;
#define MAPS(flags)                                                                  \
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, flags, fd, 0);                   \
	printf("mmap(%s) = %s\n", #flags, p == MAP_FAILED ? ename(errno) : "ok");     \
	if (p != MAP_FAILED)                                                          \
		munmap(p, 4096);
	MAPS(MAP_SHARED_VALIDATE);
	MAPS(MAP_SHARED_VALIDATE | MAP_POPULATE | MAP_NORESERVE | MAP_LOCKED);
	MAPS(MAP_SHARED_VALIDATE | MAP_SYNC);
	MAPS(MAP_SHARED_VALIDATE | 0x800000);
	MAPS(MAP_SHARED_VALIDATE | MAP_FIXED_NOREPLACE);
	MAPS(MAP_SHARED | MAP_SYNC);
	MAPS(MAP_SHARED | 0x800000);
	MAPS(MAP_PRIVATE | 0x800000);
	MAPS(MAP_PRIVATE | MAP_SYNC);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED_VALIDATE | MAP_ANONYMOUS | 0x800000, -1, 0);
	printf("anonymous mmap(MAP_SHARED_VALIDATE|unknown) = %s\n", p == MAP_FAILED ? ename(errno) : "ok");
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED | MAP_ANONYMOUS | MAP_SYNC, -1, 0);
	printf("anonymous mmap(MAP_SHARED|MAP_SYNC) = %s\n", p == MAP_FAILED ? ename(errno) : "ok");
	p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_SYNC, -1, 0);
	printf("anonymous mmap(MAP_PRIVATE|MAP_SYNC) = %s\n", p == MAP_FAILED ? ename(errno) : "ok");
	close(fd);
	unlink("m");
}

static void ficlone(void) {
	char a[64], b[64];
	snprintf(a, sizeof a, "/dev/shm/edgeerrnos-%d-a", getpid());
	snprintf(b, sizeof b, "/dev/shm/edgeerrnos-%d-b", getpid());
	int src = open(a, O_CREAT | O_RDWR, 0600);
	int dst = open(b, O_CREAT | O_RDWR, 0600);
	write(src, "hello", 5);
	int ro = open(b, O_RDONLY);
	int app = open(b, O_WRONLY | O_APPEND);
	int here = open("h", O_CREAT | O_RDWR, 0600);
	int dir = open("/dev/shm", O_RDONLY | O_DIRECTORY);
	struct file_clone_range r = {.src_fd = src, .src_offset = 0, .src_length = 5, .dest_offset = 0};
	T(ioctl(dst, FICLONE, src));
	T(ioctl(dst, FICLONERANGE, &r));
	T(ioctl(dst, FICLONERANGE, BAD));
	T(ioctl(dst, FICLONE, 999));
	T(ioctl(ro, FICLONE, src));
	T(ioctl(app, FICLONE, src));
	T(ioctl(dst, FICLONE, dir));
	T(ioctl(dir, FICLONE, src));
	T(ioctl(here, FICLONE, src));
	r.src_fd = here;
	T(ioctl(dst, FICLONERANGE, &r));
	unlink(a);
	unlink(b);
	unlink("h");
}

/* offsets prints the file offsets /proc/self/maps shows for the pages of
 * [p, p+n pages). */
static void offsets(char *p, int n) {
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	printf("maps:");
	while (f && fgets(line, sizeof line, f)) {
		unsigned long lo, hi, off;
		if (sscanf(line, "%lx-%lx %*s %lx", &lo, &hi, &off) == 3 && lo >= (unsigned long)p &&
		    hi <= (unsigned long)p + n * 4096UL)
			printf(" [%lu-%lu @%lu]", (lo - (unsigned long)p) / 4096, (hi - (unsigned long)p) / 4096, off / 4096);
	}
	printf("\n");
	if (f)
		fclose(f);
}

static void remap_pages(void) {
	int fd = open("r", O_CREAT | O_RDWR, 0600);
	for (int i = 0; i < 4; i++) {
		char page[4096];
		memset(page, 'a' + i, sizeof page);
		write(fd, page, sizeof page);
	}
	char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	T(syscall(SYS_remap_file_pages, p, 4096, 0, 3, 0));
	T(syscall(SYS_remap_file_pages, p + 4096, 2 * 4096 + 1, 0, 0, MAP_NONBLOCK));
	printf("pages: %c%c%c%c\n", p[0], p[4096], p[2 * 4096], p[3 * 4096]);
	offsets(p, 4);
	p[0] = 'z';
	char c;
	pread(fd, &c, 1, 3 * 4096);
	printf("write through the remapped page reached page 3: %c\n", c);
	T(syscall(SYS_remap_file_pages, p, 4096, PROT_READ, 1, 0));
	T(syscall(SYS_remap_file_pages, p, 8 * 4096, 0, 1, 0));
	T(syscall(SYS_remap_file_pages, p + 4 * 4096, 4096, 0, 1, 0));
	T(syscall(SYS_remap_file_pages, p, 4096, 0, -1L, 0));
	char *q = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	T(syscall(SYS_remap_file_pages, q, 4096, 0, 1, 0));
	munmap(q, 4096);
	/* The pages past the end of the file, then SIGBUS on touch, as any
	 * mapping past the end. */
	T(syscall(SYS_remap_file_pages, p + 3 * 4096, 4096, 0, 1, 0));
	printf("page 3 now: %c\n", p[3 * 4096]);
	T(syscall(SYS_remap_file_pages, p, 4 * 4096, 0, 0, 0));
	offsets(p, 4);
	T(syscall(SYS_remap_file_pages, p + 4096, 4096, 0, 1, 0));
	offsets(p, 4);
	munmap(p, 4 * 4096);
	close(fd);
	unlink("r");
}

static void random_ioctls(void) {
	const char *devs[] = {"/dev/urandom", "/dev/random"};
	for (int i = 0; i < 2; i++) {
		int fd = open(devs[i], O_RDONLY);
		int n = -1;
		printf("%s\n", devs[i]);
		T(ioctl(fd, RNDGETENTCNT, &n));
		printf("entropy count %d, /proc says the same: ", n);
		FILE *f = fopen("/proc/sys/kernel/random/entropy_avail", "r");
		int p = -2;
		if (f && fscanf(f, "%d", &p) == 1)
			printf("%d\n", n == p);
		else
			printf("unreadable\n");
		if (f)
			fclose(f);
		T(ioctl(fd, RNDGETENTCNT, BAD));
		T(ioctl(fd, 0x5299, 0));
		T(ioctl(fd, TCGETS, 0));
		close(fd);
	}
	int null = open("/dev/null", O_RDONLY);
	int n;
	T(ioctl(null, RNDGETENTCNT, &n));
	close(null);
}

/* unprivileged runs the privileged random ioctls as an unprivileged
 * process, which fails them (a privileged run would credit the host's
 * entropy natively). */
static void unprivileged(void) {
	pid_t pid = fork();
	if (pid == 0) {
		if (getuid() == 0 && setresuid(65534, 65534, 65534) != 0)
			_exit(1);
		int fd = open("/dev/urandom", O_RDONLY);
		int n = 8;
		struct {
			int count, size;
			char buf[8];
		} info = {8, 8, "abcdefg"};
		T(ioctl(fd, RNDADDTOENTCNT, &n));
		T(ioctl(fd, RNDADDENTROPY, &info));
		T(ioctl(fd, RNDZAPENTCNT, 0));
		T(ioctl(fd, RNDCLEARPOOL, 0));
		T(ioctl(fd, RNDRESEEDCRNG, 0));
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("unprivileged child: %d\n", st);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	cpuid();
	shared_validate();
	ficlone();
	random_ioctls();
	remap_pages();
	fflush(stdout);
	unprivileged();
	return 0;
}
