/* msgcopy: msgrcv's MSG_COPY (CONFIG_CHECKPOINT_RESTORE): the message at
 * index msgtyp is read and stays queued; EINVAL without IPC_NOWAIT or with
 * MSG_EXCEPT, ENOMSG past the last message, E2BIG for a short buffer and
 * EINVAL for one even with MSG_NOERROR (a copy is never cut), EINVAL once
 * msgmax is below the message. Natively the program first takes an IPC
 * namespace of its own, so the host's queues and msgmax are untouched (the
 * sandbox is one already; its unshare fails, unprinted). */
#include "common.h"
#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>

struct msg {
	long type;
	char text[64];
};

static void send(int id, long type, const char *text) {
	struct msg m = {.type = type};
	strcpy(m.text, text);
	if (msgsnd(id, &m, strlen(text) + 1, 0) < 0)
		printf("msgsnd: %s\n", ename(errno));
}

static void copy(int id, size_t size, long idx, int flags) {
	struct msg r = {0};
	errno = 0;
	long n = msgrcv(id, &r, size, idx, MSG_COPY | flags);
	if (n < 0)
		printf("copy size %zu index %ld flags %#x: -1 %s\n", size, idx, flags, ename(errno));
	else
		printf("copy size %zu index %ld flags %#x: %ld type %ld %s\n", size, idx, flags, n, r.type, r.text);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	unshare(CLONE_NEWIPC);
	int id = msgget(IPC_PRIVATE, 0600);
	send(id, 7, "seven");
	send(id, 3, "three");
	send(id, 9, "nine-nine");
	copy(id, 64, 0, IPC_NOWAIT);
	copy(id, 64, 1, IPC_NOWAIT);
	copy(id, 64, 2, IPC_NOWAIT);
	copy(id, 64, 3, IPC_NOWAIT);
	copy(id, 64, -1, IPC_NOWAIT);
	copy(id, 64, 0, 0);
	copy(id, 64, 0, IPC_NOWAIT | MSG_EXCEPT);
	copy(id, 4, 2, IPC_NOWAIT);
	copy(id, 4, 2, IPC_NOWAIT | MSG_NOERROR);
	copy(id, 10, 2, IPC_NOWAIT);
	copy(id, 64, 0, 0 | IPC_NOWAIT | MSG_NOERROR);
	copy(-1, 64, 0, IPC_NOWAIT);
	copy(id + 1, 64, 0, IPC_NOWAIT);
	struct msqid_ds ds;
	msgctl(id, IPC_STAT, &ds);
	printf("after copies: qnum %lu cbytes %lu\n", ds.msg_qnum, ds.__msg_cbytes);
	/* A message longer than msgmax cannot be copied any more. */
	char old[32] = {0};
	int fd = open("/proc/sys/kernel/msgmax", O_RDONLY);
	read(fd, old, sizeof old - 1);
	close(fd);
	if (put_text("/proc/sys/kernel/msgmax", "6") > 0) {
		copy(id, 64, 0, IPC_NOWAIT);
		copy(id, 64, 1, IPC_NOWAIT);
		copy(id, 64, 2, IPC_NOWAIT);
		put_text("/proc/sys/kernel/msgmax", old);
	} else {
		printf("msgmax: %s\n", ename(errno));
	}
	/* Taking one moves the indexes along. */
	struct msg r;
	T(msgrcv(id, &r, sizeof r.text, 0, 0));
	copy(id, 64, 0, IPC_NOWAIT);
	copy(id, 64, 2, IPC_NOWAIT);
	/* A removed queue: EINVAL. */
	T(msgctl(id, IPC_RMID, NULL));
	copy(id, 64, 0, IPC_NOWAIT);
	return 0;
}
