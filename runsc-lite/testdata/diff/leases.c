/* File leases: F_SETLEASE/F_GETLEASE, when a lease may be taken (who else
 * has the file open), and how an open or a truncate breaks it: SIGIO to
 * the holder, F_GETLEASE telling what the break wants, EWOULDBLOCK for a
 * non-blocking opener, a blocked opener released by the holder's
 * downgrade or unlock. */
#include "common.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static const char *lname(long l) {
	switch (l) {
	case F_RDLCK: return "F_RDLCK";
	case F_WRLCK: return "F_WRLCK";
	case F_UNLCK: return "F_UNLCK";
	}
	return "?";
}

/* sigio waits up to 5 s for SIGIO (blocked): 1 if it came. */
static int sigio(void) {
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	struct timespec ts = {5, 0};
	return sigtimedwait(&set, NULL, &ts) == SIGIO;
}

/* breaker forks a child that opens "file" with flags (or truncates it,
 * flags -1) and exits 0 if that succeeded; its pid. */
static pid_t breaker(int flags) {
	pid_t pid = fork();
	if (pid == 0) {
		int r = flags == -1 ? truncate("file", 0) : open("file", flags);
		_exit(r < 0 ? 1 : 0);
	}
	return pid;
}

static void reap(pid_t pid) {
	int ws;
	waitpid(pid, &ws, 0);
	printf("breaker %s\n", WIFEXITED(ws) && WEXITSTATUS(ws) == 0 ? "got through" : "failed");
}

int main(int argc, char **argv) {
	setup(argc, argv);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);

	int fd = open("file", O_RDWR | O_CREAT, 0644);
	T(fcntl(fd, F_SETLEASE, F_RDLCK)); /* open for writing */
	T(fcntl(fd, F_SETLEASE, F_UNLCK)); /* none to remove */
	printf("no lease: %s\n", lname(fcntl(fd, F_GETLEASE)));
	close(fd);
	int r = open("file", O_RDONLY), r2 = open("file", O_RDONLY);
	T(fcntl(r, F_SETLEASE, F_WRLCK)); /* another open */
	T(fcntl(r, F_SETLEASE, F_RDLCK));
	T(fcntl(r2, F_SETLEASE, F_RDLCK));
	printf("lease: %s\n", lname(fcntl(r, F_GETLEASE)));
	T(fcntl(r, F_SETLEASE, 7));
	close(r2);
	T(fcntl(r, F_SETLEASE, F_WRLCK)); /* upgraded: the only open now */
	printf("lease: %s\n", lname(fcntl(r, F_GETLEASE)));
	int p[2];
	T(pipe(p));
	T(fcntl(p[0], F_SETLEASE, F_RDLCK));
	int d = open(".", O_RDONLY | O_DIRECTORY);
	T(fcntl(d, F_SETLEASE, F_RDLCK));

	/* A non-blocking open starts the break and fails. */
	T(open("file", O_RDONLY | O_NONBLOCK));
	printf("SIGIO: %d\n", sigio());
	printf("breaking: %s\n", lname(fcntl(r, F_GETLEASE)));
	/* A reader waits until the holder downgrades. */
	pid_t pid = breaker(O_RDONLY);
	T(fcntl(r, F_SETLEASE, F_RDLCK));
	reap(pid);
	printf("lease: %s\n", lname(fcntl(r, F_GETLEASE)));

	/* A writer breaks a read lease to nothing: a downgrade is refused
	 * while it waits, the unlock lets it in. */
	pid = breaker(O_WRONLY);
	printf("SIGIO: %d\n", sigio());
	printf("breaking: %s\n", lname(fcntl(r, F_GETLEASE)));
	T(fcntl(r, F_SETLEASE, F_UNLCK));
	reap(pid);
	printf("lease: %s\n", lname(fcntl(r, F_GETLEASE)));

	/* truncate breaks a write lease as a writer; a read lease is not
	 * enough for it. */
	T(fcntl(r, F_SETLEASE, F_WRLCK));
	pid = breaker(-1);
	printf("SIGIO: %d\n", sigio());
	printf("breaking: %s\n", lname(fcntl(r, F_GETLEASE)));
	T(fcntl(r, F_SETLEASE, F_RDLCK));
	T(fcntl(r, F_SETLEASE, F_UNLCK));
	reap(pid);

	/* Closing the holder's descriptor ends its lease. */
	T(fcntl(r, F_SETLEASE, F_WRLCK));
	close(r);
	r = open("file", O_RDONLY | O_NONBLOCK);
	CHECK(r >= 0);
	printf("lease: %s\n", lname(fcntl(r, F_GETLEASE)));
	FILE *bt = fopen("/proc/sys/fs/lease-break-time", "r");
	int secs = -1;
	CHECK(bt && fscanf(bt, "%d", &secs) == 1 && secs >= 0);
	return 0;
}
