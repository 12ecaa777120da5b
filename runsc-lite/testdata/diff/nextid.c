/* nextid: /proc/sys/kernel/{msg,sem,shm}_next_id: the identifier the
 * next msgget, semget or shmget gives (or the next free index after it),
 * the value going back to -1, the values refused. Natively the program
 * first takes an IPC namespace of its own, so the host's is untouched
 * (the sandbox is one already; its unshare fails, unprinted). */
#include "common.h"
#include <sched.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>

static long get(const char *file) {
	char buf[32] = {0};
	int fd = open(file, O_RDONLY);
	if (fd < 0)
		return -1000;
	read(fd, buf, sizeof buf - 1);
	close(fd);
	return atol(buf);
}

#define MSG "/proc/sys/kernel/msg_next_id"
#define SEM "/proc/sys/kernel/sem_next_id"
#define SHM "/proc/sys/kernel/shm_next_id"

int main(int argc, char **argv) {
	setup(argc, argv);
	unshare(CLONE_NEWIPC);
	printf("start: %ld %ld %ld\n", get(MSG), get(SEM), get(SHM));
	T(put_text(MSG, "-1"));
	T(put_text(MSG, "-5"));
	T(put_text(MSG, "abc"));
	T(put_text(MSG, "2147483648"));
	printf("after refusals: %ld\n", get(MSG));
	T(put_text(MSG, "163850"));
	printf("set: %ld\n", get(MSG));
	int a = msgget(IPC_PRIVATE, 0600);
	printf("msgget id %s, next_id now %ld\n", a == 163850 ? "163850" : "other", get(MSG));
	T(put_text(MSG, "163850"));
	int b = msgget(IPC_PRIVATE, 0600);
	printf("msgget with the id taken: %s\n", b == 163851 ? "163851" : "other");
	int k = msgget(0x1234, IPC_CREAT | 0600);
	T(put_text(MSG, "99"));
	printf("msgget of an existing key: %s, next_id %ld\n", msgget(0x1234, 0600) == k ? "same" : "other", get(MSG));
	int c = msgget(IPC_PRIVATE, 0600);
	printf("then a new queue: %s\n", c == 99 ? "99" : "other");
	T(put_text(SEM, "4242"));
	int s = semget(IPC_PRIVATE, 1, 0600);
	printf("semget: %s, next_id %ld\n", s == 4242 ? "4242" : "other", get(SEM));
	T(put_text(SHM, "98304"));
	int m = shmget(IPC_PRIVATE, 4096, 0600);
	printf("shmget: %s, next_id %ld\n", m == 98304 ? "98304" : "other", get(SHM));
	T(put_text(SHM, "7"));
	T(shmget(IPC_PRIVATE, 0, 0600));
	printf("failed shmget keeps next_id: %ld\n", get(SHM));
	msgctl(a, IPC_RMID, NULL), msgctl(b, IPC_RMID, NULL), msgctl(c, IPC_RMID, NULL), msgctl(k, IPC_RMID, NULL);
	semctl(s, 0, IPC_RMID);
	shmctl(m, IPC_RMID, NULL);
	put_text(SHM, "-1");
	return 0;
}
