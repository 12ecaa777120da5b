/* File I/O: open/openat/creat/close/read/write/pread/pwrite/readv/writev/lseek,
 * lseek's SEEK_DATA/SEEK_HOLE over a punched hole, and what fsync takes. */
#include "common.h"
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>

int main(int argc, char **argv) {
	setup(argc, argv);
	char buf[128];
	char longname[300];
	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = 0;

	int fd = open("f", O_CREAT | O_RDWR | O_TRUNC, 0644);
	printf("open f = %d\n", fd);
	T(write(fd, "hello world\n", 12));
	T(lseek(fd, 0, SEEK_CUR));
	T(lseek(fd, 0, SEEK_SET));
	memset(buf, 0, sizeof buf);
	T(read(fd, buf, sizeof buf));
	printf("read: %s", buf);
	T(read(fd, buf, sizeof buf)); /* EOF */
	memset(buf, 0, sizeof buf);
	T(pread(fd, buf, 5, 6));
	printf("pread: %s\n", buf);
	T(pwrite(fd, "HELLO", 5, 0));
	T(lseek(fd, 0, SEEK_CUR)); /* pwrite does not move the offset */
	T(pread(fd, buf, 12, 0));
	printf("after pwrite: %.12s", buf);
	T(pread(fd, buf, 10, 1000)); /* past EOF */

	/* writev / readv */
	struct iovec iov[3] = {{"abc", 3}, {"", 0}, {"defgh", 5}};
	T(lseek(fd, 0, SEEK_END));
	T(writev(fd, iov, 3));
	char a[4] = {0}, b[16] = {0};
	struct iovec riov[2] = {{a, 3}, {b, 15}};
	T(lseek(fd, 12, SEEK_SET));
	T(readv(fd, riov, 2));
	printf("readv: %s|%s\n", a, b);
	T(preadv(fd, riov, 2, 0));
	printf("preadv: %s|%.12s\n", a, b);
	T(pwritev(fd, iov, 3, 2));
	T(pread(fd, buf, 20, 0));
	printf("after pwritev: %.20s\n", buf);

	/* lseek */
	T(lseek(fd, -1, SEEK_END));
	T(lseek(fd, 100, SEEK_END));
	T(write(fd, "Z", 1)); /* leaves a hole */
	struct stat st;
	fstat(fd, &st);
	printf("size after hole = %ld\n", (long)st.st_size);
	T(pread(fd, buf, 4, 30));
	printf("hole bytes: %d %d %d %d\n", buf[0], buf[1], buf[2], buf[3]);
	T(lseek(fd, -1, SEEK_SET));
	T(lseek(fd, 0, 99));
	T(lseek(fd, 0, SEEK_DATA));
	T(lseek(fd, 1000, SEEK_DATA));
	T(lseek(fd, 1000, SEEK_HOLE));
	T(close(fd));
	T(close(fd));

	/* O_APPEND ignores the offset for writes */
	fd = open("f", O_WRONLY | O_APPEND);
	printf("open append = %d\n", fd);
	T(lseek(fd, 0, SEEK_SET));
	T(write(fd, "END", 3));
	T(lseek(fd, 0, SEEK_CUR));
	T(read(fd, buf, 1)); /* write-only */
	T(close(fd));

	/* read-only fd, creat, openat */
	fd = open("f", O_RDONLY);
	T(write(fd, "x", 1));
	T(read(fd, BAD, 10));
	T(openat(fd, "x", O_RDONLY));
	T(close(fd));
	T(creat("g", 0600));
	T(write(3, "creat", 5));
	T(lseek(3, 0, SEEK_SET));
	T(read(3, buf, 5)); /* creat is O_WRONLY */
	T(close(3));
	int dfd = open(".", O_RDONLY | O_DIRECTORY);
	printf("open . = %d\n", dfd);
	T(openat(dfd, "g", O_RDONLY));
	T(read(4, buf, sizeof buf));
	T(close(4));
	T(read(dfd, buf, sizeof buf));
	T(openat(99, "g", O_RDONLY));
	T(openat(AT_FDCWD, "g", O_RDONLY));
	T(close(4));
	T(openat(dfd, "/etc/hostname-not-there", O_RDONLY));
	T(close(dfd));

	/* error paths */
	T(read(99, buf, 1));
	T(write(99, buf, 1));
	T(read(-1, buf, 1));
	T(open("nonexistent", O_RDONLY));
	T(open("nonexistent/x", O_RDONLY));
	T(open("f/x", O_RDONLY));
	T(open("f", O_RDONLY | O_DIRECTORY));
	T(open(longname, O_RDONLY));
	T(open(longname, O_CREAT | O_RDWR, 0644));
	T(open("f", O_CREAT | O_EXCL | O_RDWR, 0644));
	T(open(".", O_WRONLY));
	T(open(".", O_RDWR));
	T(open("", O_RDONLY));
	T(open(BAD, O_RDONLY));
	T(open("/", O_RDONLY | O_CREAT, 0644));
	T(open("newdir/", O_CREAT | O_RDWR, 0644));

	/* pipes do not seek */
	int p[2];
	T(pipe(p));
	T(lseek(p[0], 0, SEEK_SET));
	T(pread(p[0], buf, 1, 0));
	T(pwrite(p[1], "x", 1, 0));
	T(write(p[1], "pipe", 4));
	T(read(p[0], buf, sizeof buf));
	T(readv(p[0], riov, -1));

	/* iovec arrays are checked whole before anything moves: a negative
	 * length anywhere is EINVAL, then a buffer past the end of the user
	 * address space (0x7ffffffff000) EFAULT, and nothing was written */
	char *top = (char *)0x7ffffffff000L;
	struct iovec past[2] = {{"ab", 2}, {top - 1, 2}};
	T(writev(p[1], past, 2));
	struct iovec wrap[2] = {{"ab", 2}, {(void *)-1L, 2}};
	T(writev(p[1], wrap, 2));
	struct iovec neg[2] = {{(void *)-1L, 2}, {"ab", (size_t)-1}};
	T(writev(p[1], neg, 2));
	struct iovec edge[2] = {{"ab", 2}, {top, 0}};
	T(writev(p[1], edge, 2));
	memset(buf, 0, sizeof buf);
	T(read(p[0], buf, sizeof buf));
	printf("pipe holds: %s\n", buf);
	/* checked before blocking on the empty pipe */
	T(readv(p[0], past, 2));

	/* the files on disk */
	fd = open("f", O_RDONLY);
	int n = read(fd, buf, sizeof buf);
	printf("f (%d bytes):", n);
	for (int i = 0; i < n; i++)
		printf(" %02x", (unsigned char)buf[i]);
	printf("\n");
	/* Holes: three pages, the first punched out, then two more of
	 * nothing past them. */
	int hf = open("holes", O_CREAT | O_RDWR | O_TRUNC, 0644);
	char page[4096];
	memset(page, 'h', sizeof page);
	for (int i = 0; i < 3; i++)
		T(write(hf, page, sizeof page));
	T(fsync(hf));
	T(fallocate(hf, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096));
	T(lseek(hf, 0, SEEK_HOLE));
	T(lseek(hf, 0, SEEK_DATA));
	T(lseek(hf, 4096, SEEK_HOLE));
	T(lseek(hf, 12288, SEEK_DATA));
	T(lseek(hf, -1, SEEK_DATA));
	T(ftruncate(hf, 5 * 4096));
	T(lseek(hf, 4096, SEEK_HOLE));
	T(lseek(hf, 12288, SEEK_DATA));
	T(lseek(hf, 0, SEEK_CUR));
	T(pread(hf, page, 2, 0));
	printf("hole reads %d %d\n", page[0], page[1]);
	close(hf);
	/* fsync: files and directories, not pipes, sockets, character
	 * devices or anonymous files. */
	int sp[2], pp[2];
	T(pipe(pp));
	T(socketpair(AF_UNIX, SOCK_STREAM, 0, sp));
	int efd = eventfd(0, 0), here = open(".", O_RDONLY), nfd = open("/dev/null", O_WRONLY);
	T(fsync(pp[0]));
	T(fsync(pp[1]));
	T(fdatasync(pp[1]));
	T(fsync(sp[0]));
	T(fsync(efd));
	T(fsync(nfd));
	T(fsync(here));
	T(fdatasync(here));
	return 0;
}
