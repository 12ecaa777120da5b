/* Huge and negative sizes and counts: lengths near 2^64, counts past
 * UIO_MAXIOV, a 1 GiB path, sizes the sentry must never allocate or copy.
 * Each gets the errno Linux gives, and nothing is ever copied past what
 * the call may touch. Only this process's own pipes, sockets and memory are
 * used. */
#include "common.h"
#include <grp.h>
#include <linux/futex.h>
#include <poll.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/select.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/xattr.h>

#define HUGE (~0UL)
#define HALF (1UL << 63)

int main(int argc, char **argv) {
	setup(argc, argv);
	char buf[64];
	int p[2];
	pipe(p);
	int fd = open("f", O_CREAT | O_RDWR, 0644);

	/* Lengths near 2^64 on a good buffer. */
	T(write(p[1], buf, HUGE));
	T(write(p[1], buf, HALF));
	T(write(fd, buf, HALF - 1));
	T(read(p[0], buf, HUGE));
	T(read(fd, buf, HALF));
	T(pread(fd, buf, HUGE, 0));
	T(pwrite(fd, buf, 16, -1));
	T(pread(fd, buf, 16, (off_t)HALF));

	/* iovec counts: UIO_MAXIOV is 1024. */
	static struct iovec iov[1025];
	for (int i = 0; i < 1025; i++)
		iov[i] = (struct iovec){buf, 1};
	T(writev(p[1], iov, 1025));
	T(writev(p[1], iov, -1));
	T(readv(p[0], iov, 1 << 30));
	T(preadv(fd, iov, 1025, 0));
	struct iovec big[2] = {{buf, 1UL << 62}, {buf, 1UL << 62}};
	T(writev(p[1], big, 2));
	struct iovec neg = {buf, HUGE};
	T(pwritev(fd, &neg, 1, 0));
	T(readv(p[0], &neg, 1));

	/* A 1 GiB path: only the first PATH_MAX bytes may ever be read. A
	 * page with no access follows it: a call told the buffer is 2^64
	 * bytes (getrandom) writes on until it faults, and without the guard
	 * it wrote into whatever mapping the host put next (natively, now and
	 * then, the C library's data: a crash). */
	size_t glen = 1UL << 30;
	char *g = mmap(NULL, glen + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	mprotect(g + glen, 4096, PROT_NONE);
	memset(g, 'a', 8192);
	memset(g + glen - 8192, 'a', 8192);
	T(open(g, O_RDONLY));
	T(mkdir(g, 0755));
	T(stat(g, &(struct stat){0}));
	T(symlink(g, "l"));
	T(symlink("f", g));
	T(open(g + glen - 8192, O_RDONLY)); /* no end before the next page */
	char name[300];
	memset(name, 'n', sizeof name - 1);
	name[sizeof name - 1] = 0;
	T(open(name, O_CREAT | O_RDWR, 0644)); /* NAME_MAX is 255 */
	char *args[] = {"/x", NULL};
	T(execve(g, args, NULL));

	/* Extended attribute and other sizes. */
	T(setxattr("f", "user.x", g, 1UL << 40, 0));
	T(fsetxattr(fd, "user.x", g, 65537, 0));
	T(getxattr("f", "user.x", g, 1UL << 40));
	T(listxattr("f", g, HUGE));
	T(getcwd(g, HUGE) == NULL ? -1 : 0);
	T(getcwd(g, 0) == NULL ? -1 : 0);
	T(readlink("f", g, HUGE));
	T(getgroups(-1, NULL));
	T(setgroups(1 << 30, (gid_t *)g));
	T(sched_setaffinity(0, 1UL << 40, (cpu_set_t *)g));
	T(sched_getaffinity(0, 1UL << 40, (cpu_set_t *)g) > 0);
	T(getrandom(g, HUGE, GRND_NONBLOCK) > 0);
	T(syscall(SYS_getdents64, fd, g, HUGE));
	T(syscall(SYS_set_robust_list, g, 1UL << 40));

	/* Counts of descriptors. */
	struct pollfd pf = {p[0], POLLIN, 0};
	T(poll(&pf, 1UL << 40, 0));
	T(poll(&pf, HUGE, 0));
	fd_set fs;
	FD_ZERO(&fs);
	T(select(-1, &fs, NULL, NULL, NULL));
	T(select(1 << 30, &fs, NULL, NULL, &(struct timeval){0, 0}));

	/* Memory. */
	T(mmap(NULL, HUGE & ~4095UL, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
	T(mmap(NULL, 1UL << 47, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED ? -1 : 0);
	T(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, (off_t)(HALF - 4096)) == MAP_FAILED ? -1 : 0);
	T(mremap(g, 4096, HUGE & ~4095UL, MREMAP_MAYMOVE) == MAP_FAILED ? -1 : 0);
	T(munmap(g, HUGE & ~4095UL));
	T(mprotect(g, HUGE & ~4095UL, PROT_READ));
	T(madvise(g, HUGE & ~4095UL, MADV_DONTNEED));
	T(mlock(g, HUGE & ~4095UL));

	/* Sockets. */
	int sp[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sp);
	struct msghdr mh = {0};
	mh.msg_iov = iov;
	mh.msg_iovlen = 1UL << 40;
	T(sendmsg(sp[0], &mh, 0));
	mh.msg_iovlen = 1;
	mh.msg_control = g;
	mh.msg_controllen = 1UL << 40;
	T(sendmsg(sp[0], &mh, 0));
	static char sbuf[64]; /* far below the stack, whose place varies */
	T(send(sp[0], sbuf, HUGE, 0));
	T(setsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, g, 1U << 31));
	T(getsockopt(sp[0], SOL_SOCKET, SO_SNDBUF, g, (socklen_t *)&(int){-1}));

	/* Transfers. */
	T(syscall(SYS_copy_file_range, p[0], NULL, p[1], NULL, HUGE, 0));
	T(sendfile(p[1], fd, NULL, HUGE));
	T(splice(p[0], NULL, p[1], NULL, HUGE, SPLICE_F_NONBLOCK));
	T(syscall(SYS_futex, g, FUTEX_WAKE, -1, NULL, NULL, 0));
	return 0;
}
