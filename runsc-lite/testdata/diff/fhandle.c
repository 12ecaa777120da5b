/* File handles: name_to_handle_at and open_by_handle_at round trips, the
 * size handshake (EOVERFLOW), errors, a handle of a symlink, a removed
 * file's (ESTALE) and the capability open_by_handle_at needs. The handles'
 * bytes and types are the filesystem's own and are never printed. Needs
 * root (CAP_DAC_READ_SEARCH). */
#include "common.h"
#include <sys/wait.h>

struct handle {
	struct file_handle h;
	unsigned char bytes[128];
};

int main(int argc, char **argv) {
	setup(argc, argv);
	int fd = open("f", O_CREAT | O_RDWR, 0644);
	T(write(fd, "contents", 8));
	T(symlink("f", "l"));
	T(mkdir("d", 0755));
	int here = open(".", O_RDONLY | O_DIRECTORY);
	struct handle h = {0};
	int mount_id;

	h.h.handle_bytes = 0;
	T(name_to_handle_at(AT_FDCWD, "f", &h.h, &mount_id, 0));
	CHECK(h.h.handle_bytes > 0 && h.h.handle_bytes <= 128);
	T(name_to_handle_at(AT_FDCWD, "f", &h.h, &mount_id, 0));
	int hfd = open_by_handle_at(here, &h.h, O_RDONLY);
	CHECK(hfd >= 0);
	struct stat a, b;
	fstat(hfd, &a);
	stat("f", &b);
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	char buf[16] = "";
	T(read(hfd, buf, sizeof buf));
	printf("read %s\n", buf);
	T(fcntl(hfd, F_GETFL) & O_ACCMODE);
	close(hfd);
	hfd = open_by_handle_at(here, &h.h, O_RDWR | O_CLOEXEC);
	T(fcntl(hfd, F_GETFD));
	close(hfd);

	/* The directory, by AT_EMPTY_PATH; the symlink, not followed. */
	struct handle dh = {.h.handle_bytes = 128};
	int dfd = open("d", O_RDONLY);
	T(name_to_handle_at(dfd, "", &dh.h, &mount_id, AT_EMPTY_PATH));
	hfd = open_by_handle_at(here, &dh.h, O_RDONLY | O_DIRECTORY);
	CHECK(hfd >= 0);
	close(hfd);
	struct handle lh = {.h.handle_bytes = 128};
	T(name_to_handle_at(AT_FDCWD, "l", &lh.h, &mount_id, 0));
	T(open_by_handle_at(here, &lh.h, O_RDONLY));
	hfd = open_by_handle_at(here, &lh.h, O_PATH | O_NOFOLLOW);
	CHECK(hfd >= 0);
	close(hfd);
	T(name_to_handle_at(AT_FDCWD, "l", &lh.h, &mount_id, AT_SYMLINK_FOLLOW));

	/* Errors. */
	struct handle e = {.h.handle_bytes = 128};
	T(name_to_handle_at(AT_FDCWD, "f", &e.h, &mount_id, -1));
	T(name_to_handle_at(99, "f", &e.h, &mount_id, 0));
	T(name_to_handle_at(fd, "f", &e.h, &mount_id, 0));
	T(name_to_handle_at(AT_FDCWD, BAD, &e.h, &mount_id, 0));
	T(name_to_handle_at(AT_FDCWD, "f", BAD, &mount_id, 0));
	T(name_to_handle_at(AT_FDCWD, "f", &e.h, BAD, 0));
	T(name_to_handle_at(AT_FDCWD, "", &e.h, &mount_id, 0));
	T(name_to_handle_at(AT_FDCWD, "missing", &e.h, &mount_id, 0));
	e.h.handle_bytes = 129;
	T(name_to_handle_at(AT_FDCWD, "f", &e.h, &mount_id, 0));
	T(open_by_handle_at(99, &h.h, O_RDONLY));
	T(open_by_handle_at(here, BAD, O_RDONLY));
	T(open_by_handle_at(here, &e.h, O_RDONLY));
	e.h.handle_bytes = 0;
	T(open_by_handle_at(here, &e.h, O_RDONLY));

	/* A removed file's handle is stale. */
	struct handle gh = {.h.handle_bytes = 128};
	close(open("gone", O_CREAT | O_WRONLY, 0644));
	T(name_to_handle_at(AT_FDCWD, "gone", &gh.h, &mount_id, 0));
	T(unlink("gone"));
	sync();
	T(open_by_handle_at(here, &gh.h, O_RDONLY));

	/* Only CAP_DAC_READ_SEARCH opens by handle. */
	pid_t pid = fork();
	if (pid == 0) {
		if (setuid(65534) != 0)
			_exit(1);
		T(open_by_handle_at(here, &h.h, O_RDONLY));
		struct handle u = {.h.handle_bytes = 128};
		T(name_to_handle_at(AT_FDCWD, "f", &u.h, &mount_id, 0));
		_exit(0);
	}
	int ws;
	T(waitpid(pid, &ws, 0) == pid);
	T(ws);
	return 0;
}
