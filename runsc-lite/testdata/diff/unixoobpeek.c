/* MSG_OOB on Unix stream sockets together with SO_PEEK_OFF (Linux 6.x):
 * peeks from the offset stop at the out-of-band byte and skip it, as
 * plain peeks do; the offset moves past what peeks saw (never counting
 * the out-of-band byte) and back as reads consume; recv(MSG_OOB) and a
 * replacing second byte leave the offset alone; with SO_OOBINLINE the
 * byte is ordinary data to the offset too. Each step prints what came
 * and the offset after it. */
#include "common.h"
#include <sys/ioctl.h>
#include <sys/socket.h>

static void rd(int fd, int flags, int len, const char *what) {
	char b[32] = {0};
	errno = 0;
	int n = recv(fd, b, len, flags | MSG_DONTWAIT);
	int off = sockopt_int(fd, SOL_SOCKET, SO_PEEK_OFF);
	int mark = -1;
	ioctl(fd, SIOCATMARK, &mark);
	if (n < 0)
		printf("%-22s -1 %-7s off=%d atmark=%d\n", what, ename(errno), off, mark);
	else
		printf("%-22s %d '%s' off=%d atmark=%d\n", what, n, b, off, mark);
}

static void pair(int sv[2], int inl) {
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	int zero = 0;
	setsockopt(sv[1], SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero);
	if (inl)
		setsockopt(sv[1], SOL_SOCKET, SO_OOBINLINE, &inl, sizeof inl);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	int sv[2];

	printf("-- peeks up to and past the mark\n");
	pair(sv, 0);
	send(sv[0], "abc", 3, 0);
	send(sv[0], "X", 1, MSG_OOB);
	send(sv[0], "def", 3, 0);
	rd(sv[1], MSG_PEEK, 2, "peek 2");
	rd(sv[1], MSG_PEEK, 8, "peek rest to mark");
	rd(sv[1], MSG_PEEK, 8, "peek past mark");
	rd(sv[1], MSG_PEEK, 8, "peek at end");
	rd(sv[1], 0, 2, "read 2");
	rd(sv[1], MSG_PEEK, 8, "peek after read");
	rd(sv[1], MSG_OOB | MSG_PEEK, 8, "peek oob");
	rd(sv[1], MSG_OOB, 8, "read oob");
	rd(sv[1], 0, 8, "read to mark");
	rd(sv[1], MSG_PEEK, 8, "peek after mark");
	rd(sv[1], 0, 8, "read rest");
	close(sv[0]);
	close(sv[1]);

	printf("-- mark first, oob not taken\n");
	pair(sv, 0);
	send(sv[0], "X", 1, MSG_OOB);
	send(sv[0], "gh", 2, 0);
	rd(sv[1], MSG_PEEK, 8, "peek");
	rd(sv[1], MSG_PEEK, 8, "peek again");
	rd(sv[1], 0, 1, "read 1");
	rd(sv[1], MSG_PEEK, 8, "peek");
	rd(sv[1], 0, 8, "read");
	close(sv[0]);
	close(sv[1]);

	printf("-- a second oob byte replaces the first\n");
	pair(sv, 0);
	send(sv[0], "ab", 2, 0);
	send(sv[0], "X", 1, MSG_OOB);
	rd(sv[1], MSG_PEEK, 8, "peek");
	send(sv[0], "cd", 2, 0);
	send(sv[0], "Y", 1, MSG_OOB);
	rd(sv[1], MSG_PEEK, 8, "peek");
	rd(sv[1], MSG_PEEK, 8, "peek");
	rd(sv[1], MSG_OOB, 8, "read oob");
	rd(sv[1], 0, 8, "read");
	rd(sv[1], 0, 8, "read");
	rd(sv[1], 0, 8, "read");
	close(sv[0]);
	close(sv[1]);

	printf("-- SO_OOBINLINE\n");
	pair(sv, 1);
	send(sv[0], "ab", 2, 0);
	send(sv[0], "X", 1, MSG_OOB);
	send(sv[0], "cd", 2, 0);
	rd(sv[1], MSG_PEEK, 1, "peek 1");
	rd(sv[1], MSG_PEEK, 8, "peek");
	rd(sv[1], MSG_PEEK, 8, "peek");
	rd(sv[1], MSG_OOB, 8, "read oob");
	rd(sv[1], 0, 8, "read");
	rd(sv[1], MSG_PEEK, 8, "peek");
	rd(sv[1], 0, 8, "read");
	close(sv[0]);
	close(sv[1]);
	return 0;
}
