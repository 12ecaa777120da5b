/* System V IPC: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/semctl,
 * msgget/msgsnd/msgrcv/msgctl. Keys come from ftok on the fresh directory,
 * so that native runs in parallel do not meet; every object is removed. */
#include "common.h"
#include <signal.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>
#include <time.h>

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static int waitchild(pid_t pid) {
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void onsig(int sig) { (void)sig; }

static void shm(key_t key) {
	T(shmget(key, 4096, 0600));
	int id = shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600);
	CHECK(id >= 0);
	T(shmget(key, 10000, IPC_CREAT | IPC_EXCL | 0600));
	CHECK(shmget(key, 4096, 0600) == id);
	CHECK(shmget(key, 0, 0) == id);
	T(shmget(key, 20000, 0600));
	T(shmget(IPC_PRIVATE, 0, 0600));
	T(shmget(IPC_PRIVATE, 1UL << 46, 0600));
	struct shmid_ds ds;
	T(shmctl(id, IPC_STAT, &ds));
	printf("segsz %zu nattch %lu mode %o cpid-is-me %d\n", ds.shm_segsz, ds.shm_nattch,
	       ds.shm_perm.mode, ds.shm_cpid == getpid());
	char *p = shmat(id, NULL, 0);
	CHECK(p != (void *)-1);
	strcpy(p, "hello");
	char *q = shmat(id, NULL, SHM_RDONLY);
	CHECK(q != (void *)-1 && q != p);
	printf("second view: %s\n", q);
	T(mprotect(q, 4096, PROT_READ | PROT_WRITE)); /* SHM_RDONLY: never writable */
	T(shmctl(id, IPC_STAT, &ds));
	printf("nattch %lu lpid-is-me %d\n", ds.shm_nattch, ds.shm_lpid == getpid());
	/* Shared across fork, and with a child's own attachment. */
	pid_t pid = fork();
	if (pid == 0) {
		strcpy(p, "from child");
		char *c = shmat(id, NULL, 0);
		strcpy(c + 100, "child attach");
		struct shmid_ds d;
		shmctl(id, IPC_STAT, &d);
		printf("child nattch %lu\n", d.shm_nattch);
		_exit(0);
	}
	printf("child %d\n", waitchild(pid));
	printf("parent sees: %s, %s\n", q, q + 100);
	T(shmctl(id, IPC_STAT, &ds));
	printf("nattch after child %lu\n", ds.shm_nattch);
	/* Address rules. */
	char *area = mmap(NULL, 8 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(area, 8 * 4096);
	CHECK(shmat(id, area + 1, 0) == (void *)-1 && errno == EINVAL);
	char *r = shmat(id, area + 1, SHM_RND);
	CHECK(r == area);
	printf("rounded view: %s\n", r);
	CHECK(shmat(id, area, 0) == (void *)-1 && errno == EINVAL);
	CHECK(shmat(id, area, SHM_REMAP) == area);
	CHECK(shmat(id, NULL, SHM_REMAP) == (void *)-1 && errno == EINVAL);
	T(shmdt(area));
	T(shmdt(area));
	T(shmdt(area + 1));
	T(shmdt(area + 4 * 4096));
	CHECK(shmat(12345678, NULL, 0) == (void *)-1 && errno == EINVAL);
	CHECK(shmat(-1, NULL, 0) == (void *)-1 && errno == EINVAL);
	/* Writing through a read-only attachment faults. */
	pid = fork();
	if (pid == 0) {
		q[0] = 'x';
		_exit(0);
	}
	printf("write to SHM_RDONLY: status %d\n", waitchild(pid));
	/* IPC_SET, then IPC_RMID while attached: the key is gone at once, the
	 * segment when the last attachment goes. */
	ds.shm_perm.mode = 0640;
	T(shmctl(id, IPC_SET, &ds));
	T(shmctl(id, IPC_STAT, &ds));
	printf("mode %o\n", ds.shm_perm.mode);
	T(shmctl(id, IPC_RMID, NULL));
	T(shmctl(id, IPC_STAT, &ds));
	printf("mode %o key %d nattch %lu\n", ds.shm_perm.mode, ds.shm_perm.__key, ds.shm_nattch);
	T(shmget(key, 4096, 0600));
	CHECK(shmat(id, NULL, 0) != (void *)-1);
	T(shmdt(p));
	T(shmdt(q));
	printf("still: %s\n", p + 4096 > p ? "mapped" : "?");
	T(shmctl(id, IPC_STAT, &ds));
	/* The last attachment (the one just made) is found and removed by
	 * address through the segment list: detach everything left. */
	struct shmid_ds d2;
	int left = shmctl(id, IPC_STAT, &d2);
	printf("left %d nattch %lu\n", left, left == 0 ? d2.shm_nattch : 0);
	T(shmctl(id, IPC_STAT, BAD));
	T(shmctl(id, 99, &ds));
	T(shmctl(-1, IPC_STAT, &ds));
}

static void shm_last_detach(void) {
	int id = shmget(IPC_PRIVATE, 4096, 0600);
	char *p = shmat(id, NULL, 0);
	T(shmctl(id, IPC_RMID, NULL));
	struct shmid_ds ds;
	T(shmctl(id, IPC_STAT, &ds));
	printf("dest %d nattch %lu\n", !!(ds.shm_perm.mode & SHM_DEST), ds.shm_nattch);
	T(shmdt(p));
	T(shmctl(id, IPC_STAT, &ds));
	/* An exiting child's attachment counts until it exits. */
	id = shmget(IPC_PRIVATE, 4096, 0600);
	int up[2], down[2];
	pipe(up);
	pipe(down);
	pid_t pid = fork();
	if (pid == 0) {
		shmat(id, NULL, 0);
		write(up[1], "x", 1);
		char c;
		read(down[0], &c, 1);
		_exit(0);
	}
	char c;
	read(up[0], &c, 1);
	T(shmctl(id, IPC_RMID, NULL));
	T(shmctl(id, IPC_STAT, &ds));
	printf("nattch %lu\n", ds.shm_nattch);
	write(down[1], "x", 1);
	waitchild(pid);
	T(shmctl(id, IPC_STAT, &ds));
}

static void sem(key_t key) {
	T(semget(key, 2, 0600));
	int id = semget(key, 3, IPC_CREAT | 0600);
	CHECK(id >= 0);
	T(semget(key, 4, 0600));
	CHECK(semget(key, 2, 0600) == id);
	T(semget(key, 3, IPC_CREAT | IPC_EXCL | 0600));
	T(semget(IPC_PRIVATE, 0, 0600));
	T(semget(IPC_PRIVATE, -1, 0600));
	T(semget(IPC_PRIVATE, 40000, 0600));
	T(semctl(id, 0, GETVAL));
	T(semctl(id, 0, SETVAL, (union semun){.val = 5}));
	T(semctl(id, 0, GETVAL));
	T(semctl(id, 0, SETVAL, (union semun){.val = -1}));
	T(semctl(id, 0, SETVAL, (union semun){.val = 40000}));
	T(semctl(id, 3, SETVAL, (union semun){.val = 1}));
	T(semctl(id, 3, GETVAL));
	T(semctl(id, 0, GETPID) == getpid());
	unsigned short all[3] = {1, 2, 3};
	T(semctl(id, 0, SETALL, (union semun){.array = all}));
	memset(all, 0, sizeof all);
	T(semctl(id, 0, GETALL, (union semun){.array = all}));
	printf("all %d %d %d\n", all[0], all[1], all[2]);
	struct semid_ds ds;
	T(semctl(id, 0, IPC_STAT, (union semun){.buf = &ds}));
	printf("nsems %lu mode %o otime %d\n", ds.sem_nsems, ds.sem_perm.mode, ds.sem_otime != 0);
	struct sembuf ops[2] = {{0, -1, 0}, {1, -2, 0}};
	T(semop(id, ops, 2));
	T(semctl(id, 0, GETALL, (union semun){.array = all}));
	printf("all %d %d %d\n", all[0], all[1], all[2]);
	/* All or nothing: the second op would block, so the first is undone. */
	struct sembuf nb[2] = {{2, -1, 0}, {1, -1, IPC_NOWAIT}};
	T(semop(id, nb, 2));
	T(semctl(id, 2, GETVAL));
	struct sembuf z = {0, 0, IPC_NOWAIT};
	T(semop(id, &z, 1));
	struct sembuf big = {2, 32767, 0};
	T(semop(id, &big, 1));
	struct sembuf bad = {5, 1, 0};
	T(semop(id, &bad, 1));
	T(semop(id, ops, 0));
	T(semop(-1, ops, 1));
	T(semop(id, BAD, 1));
	struct sembuf many[501];
	T(semop(id, many, 501));
	struct timespec ts = {0, 20 * 1000 * 1000};
	struct sembuf w = {1, -1, 0};
	T(semtimedop(id, &w, 1, &ts));
	struct timespec badts = {0, 2000000000};
	T(semtimedop(id, &w, 1, &badts));
	T(semctl(id, 1, GETNCNT));

	/* A waiter: woken by a post from another process, counted by GETNCNT. */
	pid_t pid = fork();
	if (pid == 0) {
		struct sembuf o = {1, -1, 0};
		_exit(semop(id, &o, 1) == 0 ? 0 : 1);
	}
	while (semctl(id, 1, GETNCNT) != 1)
		usleep(1000);
	T(semctl(id, 1, GETNCNT));
	struct sembuf post = {1, 1, 0};
	T(semop(id, &post, 1));
	printf("waiter %d\n", waitchild(pid));
	T(semctl(id, 1, GETVAL));

	/* Wait-for-zero, counted by GETZCNT. */
	T(semctl(id, 0, SETVAL, (union semun){.val = 1}));
	pid = fork();
	if (pid == 0) {
		struct sembuf o = {0, 0, 0};
		_exit(semop(id, &o, 1) == 0 ? 0 : 1);
	}
	while (semctl(id, 0, GETZCNT) != 1)
		usleep(1000);
	T(semctl(id, 0, GETZCNT));
	T(semctl(id, 0, SETVAL, (union semun){.val = 0}));
	printf("zero waiter %d\n", waitchild(pid));

	/* SEM_UNDO: a child's changes are undone when it exits. */
	T(semctl(id, 2, SETVAL, (union semun){.val = 3}));
	pid = fork();
	if (pid == 0) {
		struct sembuf o[2] = {{2, -2, SEM_UNDO}, {0, 4, SEM_UNDO}};
		semop(id, o, 2);
		printf("in child: %d %d\n", semctl(id, 2, GETVAL), semctl(id, 0, GETVAL));
		_exit(0);
	}
	waitchild(pid);
	printf("after child: %d %d\n", semctl(id, 2, GETVAL), semctl(id, 0, GETVAL));

	/* A signal interrupts a wait with EINTR, even with SA_RESTART. */
	struct sigaction sa = {.sa_handler = onsig, .sa_flags = SA_RESTART};
	sigaction(SIGALRM, &sa, NULL);
	pid = fork();
	if (pid == 0) {
		alarm(1);
		struct sembuf o = {1, -5, 0};
		int r = semop(id, &o, 1);
		printf("interrupted: %d %s\n", r, ename(errno));
		_exit(0);
	}
	waitchild(pid);

	/* Removal under a waiter: EIDRM. */
	pid = fork();
	if (pid == 0) {
		struct sembuf o = {1, -5, 0};
		int r = semop(id, &o, 1);
		printf("removed: %d %s\n", r, ename(errno));
		_exit(0);
	}
	while (semctl(id, 1, GETNCNT) != 1)
		usleep(1000);
	int rm = semctl(id, 0, IPC_RMID);
	waitchild(pid);
	printf("IPC_RMID: %d\n", rm);
	T(semctl(id, 0, GETVAL));
	T(semget(key, 3, 0600));
}

struct msg {
	long type;
	char text[64];
};

static void msg(key_t key) {
	T(msgget(key, 0600));
	int id = msgget(key, IPC_CREAT | 0600);
	CHECK(id >= 0);
	T(msgget(key, IPC_CREAT | IPC_EXCL | 0600));
	CHECK(msgget(key, 0) == id);
	struct msg m = {1, "one"};
	T(msgsnd(id, &m, 4, 0));
	m.type = 3;
	strcpy(m.text, "three");
	T(msgsnd(id, &m, 6, 0));
	m.type = 2;
	strcpy(m.text, "two");
	T(msgsnd(id, &m, 4, 0));
	m.type = 0;
	T(msgsnd(id, &m, 4, 0));
	T(msgsnd(id, &m, -1, 0));
	T(msgsnd(id, &m, 9000, 0));
	T(msgsnd(id, BAD, 4, 0));
	T(msgsnd(-1, &m, 4, 0));
	struct msqid_ds ds;
	T(msgctl(id, IPC_STAT, &ds));
	printf("qnum %lu cbytes %lu qbytes %lu lspid-is-me %d\n", ds.msg_qnum, ds.__msg_cbytes, ds.msg_qbytes,
	       ds.msg_lspid == getpid());
	struct msg r;
	T(msgrcv(id, &r, sizeof r.text, 2, 0));
	printf("type %ld %s\n", r.type, r.text);
	T(msgrcv(id, &r, sizeof r.text, -5, 0));
	printf("type %ld %s\n", r.type, r.text);
	T(msgrcv(id, &r, 2, 0, 0));
	T(msgrcv(id, &r, 2, 0, MSG_NOERROR));
	printf("type %ld %.2s\n", r.type, r.text);
	T(msgrcv(id, &r, sizeof r.text, 0, IPC_NOWAIT));
	T(msgrcv(id, &r, sizeof r.text, 7, IPC_NOWAIT));
	m.type = 4;
	T(msgsnd(id, &m, 4, 0));
	m.type = 5;
	T(msgsnd(id, &m, 4, 0));
	T(msgrcv(id, &r, sizeof r.text, 4, MSG_EXCEPT));
	printf("type %ld\n", r.type);
	T(msgrcv(id, &r, sizeof r.text, 0, MSG_COPY));
	T(msgrcv(id, &r, -1, 0, 0));

	/* A blocked receiver gets a message from another process. */
	pid_t pid = fork();
	if (pid == 0) {
		struct msg c;
		long n = msgrcv(id, &c, sizeof c.text, 9, 0);
		printf("child got %ld type %ld %s\n", n, c.type, c.text);
		_exit(0);
	}
	usleep(20000);
	m.type = 9;
	strcpy(m.text, "nine");
	int sent = msgsnd(id, &m, 5, 0);
	waitchild(pid);
	printf("sent: %d\n", sent);

	/* A full queue: EAGAIN with IPC_NOWAIT. */
	T(msgctl(id, IPC_STAT, &ds));
	ds.msg_qbytes = 10;
	T(msgctl(id, IPC_SET, &ds));
	T(msgsnd(id, &m, 8, IPC_NOWAIT));
	T(msgsnd(id, &m, 8, IPC_NOWAIT));
	T(msgctl(id, IPC_STAT, &ds));
	printf("qnum %lu cbytes %lu qbytes %lu\n", ds.msg_qnum, ds.__msg_cbytes, ds.msg_qbytes);

	/* Removal under a receiver: EIDRM. */
	int ready[2];
	pipe(ready);
	pid = fork();
	if (pid == 0) {
		struct msg c;
		write(ready[1], "x", 1);
		long n = msgrcv(id, &c, sizeof c.text, 77, 0);
		printf("removed: %ld %s\n", n, ename(errno));
		_exit(0);
	}
	/* No count shows a blocked receiver: give it time to block. */
	char c;
	read(ready[0], &c, 1);
	usleep(100000);
	int rm = msgctl(id, IPC_RMID, NULL);
	waitchild(pid);
	printf("IPC_RMID: %d\n", rm);
	T(msgctl(id, IPC_STAT, &ds));
	T(msgget(key, 0600));
}

/* procLong reads a number from a /proc/sys file. */
static unsigned long long procLong(const char *path) {
	unsigned long long v = -1;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/* info: IPC_INFO gives the limits /proc/sys/kernel shows, the INFO
 * commands the usage, and the STAT commands take an index and return the
 * identifier of the object there; each returns the highest index in use.
 * The host may hold other objects, and other processes may make and
 * remove them between two calls (natively, other tests run beside this
 * one): only relations that hold anyway are checked. */
static void info(void) {
	int shm = shmget(IPC_PRIVATE, 8192, 0600), sem = semget(IPC_PRIVATE, 3, 0600), msq = msgget(IPC_PRIVATE, 0600);
	struct shminfo si;
	int maxShm = shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
	CHECK(maxShm >= 0);
	CHECK(si.shmmin == 1 && si.shmmax == procLong("/proc/sys/kernel/shmmax") &&
	      si.shmmni == procLong("/proc/sys/kernel/shmmni") && si.shmall == procLong("/proc/sys/kernel/shmall"));
	struct shm_info su;
	CHECK(shmctl(0, SHM_INFO, (struct shmid_ds *)&su) >= 0);
	CHECK(su.used_ids >= 1 && su.shm_tot >= 2);
	int found = 0;
	struct shmid_ds ds;
	for (int i = 0; i <= maxShm; i++)
		found += shmctl(i, SHM_STAT, &ds) == shm && ds.shm_segsz == 8192;
	printf("SHM_STAT found the segment %d times\n", found);
	found = 0;
	for (int i = 0; i <= maxShm; i++)
		found += shmctl(i, 15 /* SHM_STAT_ANY */, &ds) == shm;
	printf("SHM_STAT_ANY found the segment %d times\n", found);
	T(shmctl(maxShm + 1, SHM_STAT, &ds));
	T(shmctl(-1, IPC_INFO, (struct shmid_ds *)&si));
	T(shmctl(0, IPC_INFO, BAD));

	struct seminfo mi;
	union semun {
		int val;
		struct semid_ds *buf;
		struct seminfo *info;
	} arg = {.info = &mi};
	int maxSem = semctl(0, 0, IPC_INFO, arg);
	CHECK(maxSem >= 0);
	long long semv[4];
	FILE *f = fopen("/proc/sys/kernel/sem", "r");
	CHECK(f && fscanf(f, "%lld %lld %lld %lld", &semv[0], &semv[1], &semv[2], &semv[3]) == 4);
	if (f)
		fclose(f);
	CHECK(mi.semmsl == semv[0] && mi.semmns == semv[1] && mi.semopm == semv[2] && mi.semmni == semv[3] && mi.semvmx == 32767);
	CHECK(semctl(0, 0, SEM_INFO, arg) >= 0 && mi.semusz >= 1 && mi.semaem >= 3);
	struct semid_ds sds;
	arg.buf = &sds;
	found = 0;
	for (int i = 0; i <= maxSem; i++)
		found += semctl(i, 0, SEM_STAT, arg) == sem && sds.sem_nsems == 3;
	printf("SEM_STAT found the set %d times\n", found);

	struct msginfo gi;
	int maxMsg = msgctl(0, IPC_INFO, (struct msqid_ds *)&gi);
	CHECK(maxMsg >= 0);
	CHECK(gi.msgmax == procLong("/proc/sys/kernel/msgmax") && gi.msgmnb == procLong("/proc/sys/kernel/msgmnb") &&
	      gi.msgmni == procLong("/proc/sys/kernel/msgmni") && gi.msgssz == 16);
	struct {
		long type;
		char text[10];
	} m = {1, "hello"};
	T(msgsnd(msq, &m, 10, 0));
	CHECK(msgctl(0, MSG_INFO, (struct msqid_ds *)&gi) >= 0 && gi.msgpool >= 1 && gi.msgmap >= 1 && gi.msgtql >= 10);
	struct msqid_ds mds;
	found = 0;
	for (int i = 0; i <= maxMsg; i++)
		found += msgctl(i, MSG_STAT, &mds) == msq && mds.msg_qnum == 1;
	printf("MSG_STAT found the queue %d times\n", found);

	/* /proc/sysvipc lists each object under its identifier */
	char line[512];
	int rows = 0;
	f = fopen("/proc/sysvipc/shm", "r");
	while (f && fgets(line, sizeof line, f)) {
		int key, id, perms;
		unsigned long size;
		if (sscanf(line, "%d %d %o %lu", &key, &id, &perms, &size) == 4 && id == shm)
			rows += perms == 0600 && size == 8192;
	}
	if (f)
		fclose(f);
	f = fopen("/proc/sysvipc/sem", "r");
	while (f && fgets(line, sizeof line, f)) {
		int key, id, perms, nsems;
		if (sscanf(line, "%d %d %o %d", &key, &id, &perms, &nsems) == 4 && id == sem)
			rows += nsems == 3;
	}
	if (f)
		fclose(f);
	f = fopen("/proc/sysvipc/msg", "r");
	while (f && fgets(line, sizeof line, f)) {
		int key, id, perms;
		unsigned long cbytes, qnum;
		if (sscanf(line, "%d %d %o %lu %lu", &key, &id, &perms, &cbytes, &qnum) == 5 && id == msq)
			rows += cbytes == 10 && qnum == 1;
	}
	if (f)
		fclose(f);
	printf("/proc/sysvipc rows found: %d\n", rows);

	shmctl(shm, IPC_RMID, NULL);
	semctl(sem, 0, IPC_RMID);
	msgctl(msq, IPC_RMID, NULL);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	info();
	shm(ftok(argv[1], 's'));
	shm_last_detach();
	sem(ftok(argv[1], 'e'));
	msg(ftok(argv[1], 'm'));
	return 0;
}
