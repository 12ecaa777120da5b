/* inotify: inotify_init/inotify_init1/inotify_add_watch/inotify_rm_watch,
 * events of file operations (create, delete, modify, close, move,
 * attributes), the records a read returns, poll and epoll readiness. */
#include "common.h"
#include <dirent.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>

static void flagnames(uint32_t m, char *out) {
	static const struct { uint32_t bit; const char *name; } names[] = {
		{IN_ACCESS, "ACCESS"}, {IN_MODIFY, "MODIFY"}, {IN_ATTRIB, "ATTRIB"},
		{IN_CLOSE_WRITE, "CLOSE_WRITE"}, {IN_CLOSE_NOWRITE, "CLOSE_NOWRITE"},
		{IN_OPEN, "OPEN"}, {IN_MOVED_FROM, "MOVED_FROM"}, {IN_MOVED_TO, "MOVED_TO"},
		{IN_CREATE, "CREATE"}, {IN_DELETE, "DELETE"}, {IN_DELETE_SELF, "DELETE_SELF"},
		{IN_MOVE_SELF, "MOVE_SELF"}, {IN_IGNORED, "IGNORED"}, {IN_ISDIR, "ISDIR"},
		{IN_Q_OVERFLOW, "Q_OVERFLOW"},
	};
	out[0] = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (m & names[i].bit) {
			if (out[0])
				strcat(out, "|");
			strcat(out, names[i].name);
		}
}

/* drain prints every queued event: the watch's label, flags, name, and
 * whether MOVED_FROM/MOVED_TO cookies pair up. */
static void drain(int fd, const char *label) {
	char buf[4096] __attribute__((aligned(8)));
	uint32_t cookie = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0) {
			printf("%s: read -1 %s\n", label, ename(errno));
			return;
		}
		for (char *p = buf; p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)p;
			char names[200];
			flagnames(e->mask, names);
			const char *pair = "";
			if (e->mask & IN_MOVED_FROM)
				cookie = e->cookie, pair = e->cookie ? " cookie" : " no-cookie";
			if (e->mask & IN_MOVED_TO)
				pair = e->cookie == cookie ? " same-cookie" : " other-cookie";
			printf("%s: wd=%d %s name=%s len%%16=%d%s\n", label, e->wd, names, e->len ? e->name : "-",
			       (int)(e->len % 16), pair);
			p += sizeof *e + e->len;
		}
	}
}

/* show_events prints the events waiting on fd, in order. */
static void show_events(int fd) {
	char buf[4096] __attribute__((aligned(8)));
	long n = read(fd, buf, sizeof buf);
	for (long i = 0; i < n;) {
		struct inotify_event *e = (struct inotify_event *)&buf[i];
		printf("  wd %d mask %#x name \"%s\"\n", e->wd, e->mask, e->len ? e->name : "");
		i += sizeof *e + e->len;
	}
	if (n < 0)
		printf("  none (%s)\n", ename(errno));
}

/* fdinfo_masks prints the mask of each watch in /proc/self/fdinfo/fd. */
static void fdinfo_masks(int fd) {
	char p[64], line[512];
	snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(p, "r");
	while (f && fgets(line, sizeof line, f)) {
		unsigned wd, mask;
		if (sscanf(line, "inotify wd:%x ino:%*x sdev:%*x mask:%x ignored_mask:0 fhandle-bytes:", &wd, &mask) == 2)
			printf("  fdinfo wd %x mask %x handle %s\n", wd, mask, strstr(line, "f_handle:") ? "yes" : "no");
	}
	if (f)
		fclose(f);
}

/* Linux 6.1's order and flags: the parent's watch hears of a child
 * first; fdinfo shows each watch's mask with IN_ONESHOT and
 * IN_EXCL_UNLINK; IN_EXCL_UNLINK hides a file once unlinked. */
static void order_and_flags(void) {
	printf("-- order, fdinfo, IN_EXCL_UNLINK\n");
	mkdir("o", 0755);
	mkdir("o/sub", 0755);
	close(open("o/file", O_CREAT | O_WRONLY, 0644));
	int in = inotify_init1(IN_NONBLOCK);
	int wp = inotify_add_watch(in, "o", IN_ATTRIB | IN_MODIFY | IN_EXCL_UNLINK);
	int ws = inotify_add_watch(in, "o/sub", IN_ATTRIB | IN_ONESHOT);
	int wf = inotify_add_watch(in, "o/file", IN_ATTRIB | IN_MODIFY);
	printf("wds %d %d %d\n", wp, ws, wf);
	fdinfo_masks(in);
	T(chmod("o/sub", 0700));
	T(chmod("o/file", 0600));
	show_events(in);
	fdinfo_masks(in);
	int fd = open("o/file", O_WRONLY);
	T(write(fd, "a", 1));
	show_events(in);
	/* The file's own watch goes first: the sentry reports
	 * IN_DELETE_SELF at the last unlink, not when the inode is freed. */
	T(inotify_rm_watch(in, wf));
	show_events(in);
	T(unlink("o/file"));
	show_events(in);
	T(write(fd, "b", 1));
	show_events(in);
	close(fd);
	close(in);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	order_and_flags();
	T(inotify_init1(0x1234));
	int in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	CHECK(in >= 0);
	CHECK(fcntl(in, F_GETFD) == FD_CLOEXEC);
	int blocking = inotify_init();
	CHECK(blocking >= 0);
	close(blocking);
	char buf[64];
	T(read(in, buf, sizeof buf));

	mkdir("d", 0755);
	T(inotify_add_watch(in, "d", IN_ALL_EVENTS));
	T(inotify_add_watch(in, "d", IN_ALL_EVENTS));
	T(inotify_add_watch(in, "missing", IN_ALL_EVENTS));
	T(inotify_add_watch(in, "d", 0));
	T(inotify_add_watch(in, "d", 0x00400000));
	T(inotify_add_watch(in, "d", IN_MODIFY | IN_MASK_ADD | IN_MASK_CREATE));
	T(inotify_add_watch(in, "d", IN_MODIFY | IN_MASK_CREATE));
	T(inotify_add_watch(999, "d", IN_MODIFY));
	T(inotify_add_watch(0, "d", IN_MODIFY));
	T(inotify_add_watch(in, BAD, IN_MODIFY));

	/* Events on entries of a watched directory. */
	int fd = open("d/a", O_CREAT | O_WRONLY, 0644);
	write(fd, "hello", 5);
	close(fd);
	fd = open("d/a", O_RDONLY);
	read(fd, buf, sizeof buf);
	close(fd);
	chmod("d/a", 0600);
	truncate("d/a", 1);
	rename("d/a", "d/b");
	mkdir("d/sub", 0755);
	rmdir("d/sub");
	symlink("b", "d/link");
	link("d/b", "d/hard");
	unlink("d/hard");
	unlink("d/link");
	int avail = -1;
	T(ioctl(in, FIONREAD, &avail));
	CHECK(avail > 0);
	drain(in, "d");

	/* A too-small buffer is EINVAL; a large one takes whole records. */
	fd = open("d/c", O_CREAT | O_WRONLY, 0644);
	close(fd);
	T(read(in, buf, 8));
	drain(in, "d");

	/* Listing the directory is an access of it (iterate_dir). */
	DIR *list = opendir("d");
	while (readdir(list))
		;
	closedir(list);
	drain(in, "d listed");

	/* Watching a file itself; it is moved and then deleted. */
	int in2 = inotify_init1(IN_NONBLOCK);
	int wf = inotify_add_watch(in2, "d/b", IN_ALL_EVENTS);
	CHECK(wf >= 1);
	T(inotify_add_watch(in2, "d/b", IN_ONLYDIR | IN_MODIFY));
	fd = open("d/b", O_WRONLY | O_APPEND);
	write(fd, "x", 1);
	close(fd);
	rename("d/b", "moved");
	unlink("moved");
	drain(in2, "file");
	mkdir("d/gone", 0755);
	inotify_add_watch(in2, "d/gone", IN_ALL_EVENTS);
	rmdir("d/gone");
	drain(in2, "dir");

	/* poll and epoll readiness; a oneshot watch; rm_watch. */
	struct pollfd p = {in, POLLIN, 0};
	T(poll(&p, 1, 0));
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	epoll_ctl(ep, EPOLL_CTL_ADD, in, &ev);
	T(epoll_wait(ep, &out, 1, 0));
	fd = open("d/e", O_CREAT | O_WRONLY, 0644);
	close(fd);
	T(poll(&p, 1, 0));
	printf("revents %#x\n", p.revents);
	T(epoll_wait(ep, &out, 1, 0));
	drain(in, "d");
	int wd = inotify_add_watch(in, "d", IN_CREATE | IN_ONESHOT);
	fd = open("d/f", O_CREAT | O_WRONLY, 0644);
	close(fd);
	fd = open("d/g", O_CREAT | O_WRONLY, 0644);
	close(fd);
	drain(in, "oneshot");
	T(inotify_rm_watch(in, wd));
	wd = inotify_add_watch(in, "d", IN_CREATE);
	CHECK(wd > 1);
	T(inotify_rm_watch(in, wd));
	T(inotify_rm_watch(in, wd));
	T(inotify_rm_watch(in, 12345));
	T(inotify_rm_watch(ep, 1));
	drain(in, "rm");

	/* A blocking read waits for an event from another process. */
	int bl = inotify_init1(0);
	inotify_add_watch(bl, "d", IN_CREATE);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(20000);
		close(open("d/late", O_CREAT | O_WRONLY, 0644));
		_exit(0);
	}
	char big[256];
	ssize_t n = read(bl, big, sizeof big);
	struct inotify_event *e = (struct inotify_event *)big;
	printf("blocking read: %d %s\n", n > 0, n > 0 ? e->name : "?");
	return 0;
}
