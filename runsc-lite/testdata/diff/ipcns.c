/* IPC namespaces (CLONE_NEWIPC, as root). The program first moves into a
 * namespace of its own, so that the native run sees none of the host's
 * objects; it makes a segment, a semaphore set, a message queue and a
 * POSIX queue there. A child that unshares CLONE_NEWIPC sees none of
 * them (IPC_STAT on their ids is EINVAL, /proc/sysvipc lists nothing, a
 * key makes a new object, numbered from the start), has its own
 * shm_next_id and limits (shmmax, msgmni, ...), keeps its attached segment mapped, and its
 * SEM_UNDO adjustment is undone by the unshare itself; setns(2) through
 * /proc/PPID/ns/ipc takes it back. NS_GET_NSTYPE and NS_GET_USERNS on the
 * namespace file; a namespace lives while its file is open; EPERM without
 * CAP_SYS_ADMIN, allowed with a user namespace of one's own;
 * clone(CLONE_NEWIPC | CLONE_SYSVSEM) is EINVAL. Namespace inode numbers
 * are only compared, never printed. */
#include "common.h"
#include <linux/nsfs.h>
#include <mqueue.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>

#define SHMKEY 0x1c0001
#define SEMKEY 0x1c0002
#define MSGKEY 0x1c0003
#define HELDKEY 0x1c0004

struct msgbuf1 {
	long mtype;
	char mtext[16];
};

/* show_sysvipc prints the key, id and mode of each object /proc/sysvipc/
 * lists for kind. */
static void show_sysvipc(const char *who, const char *kind) {
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/sysvipc/%s", kind);
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("%s: %s: %s\n", who, path, ename(errno));
		return;
	}
	printf("%s: %s:", who, kind);
	for (int n = 0; fgets(line, sizeof line, f); n++) {
		int key, id;
		unsigned mode;
		if (n > 0 && sscanf(line, "%d %d %o", &key, &id, &mode) == 3)
			printf(" [key %#x id %d mode %o]", key, id, mode);
	}
	printf("\n");
	fclose(f);
}

static void show_all(const char *who) {
	show_sysvipc(who, "shm");
	show_sysvipc(who, "sem");
	show_sysvipc(who, "msg");
}

static void ns_link(const char *path, char *out, size_t n) {
	memset(out, 0, n);
	if (readlink(path, out, n - 1) < 0)
		snprintf(out, n, "%s", ename(errno));
}

static void show_file(const char *who, const char *path) {
	char buf[128] = "";
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("%s: %s: %s\n", who, path, ename(errno));
		return;
	}
	int n = read(fd, buf, sizeof buf - 1);
	close(fd);
	printf("%s: %s = %s", who, path, n > 0 ? buf : "(empty)\n");
}

static void write_file(const char *path, const char *text) {
	int fd = open(path, O_WRONLY);
	T(fd >= 0);
	T(write(fd, text, strlen(text)) == (long)strlen(text));
	close(fd);
}

/* stat_ids tries IPC_STAT on each of the parent's objects. */
static void stat_ids(const char *who, int shm, int sem, int msg) {
	struct shmid_ds sd;
	struct msqid_ds md;
	printf("%s:\n", who);
	T(shmctl(shm, IPC_STAT, &sd));
	T(semctl(sem, 0, GETVAL));
	T(msgctl(msg, IPC_STAT, &md));
}

/* child is the process that leaves the namespace and comes back. */
static void child(int shm, int sem, int msg, const char *first, char *mem) {
	/* A SEM_UNDO adjustment made here is undone by the unshare. */
	struct sembuf up = {0, 2, SEM_UNDO};
	T(semop(sem, &up, 1));
	T(semctl(sem, 0, GETVAL));
	T(unshare(CLONE_NEWIPC));
	char link[64];
	ns_link("/proc/self/ns/ipc", link, sizeof link);
	CHECK(strcmp(link, first) != 0);
	CHECK(strncmp(link, "ipc:[", 5) == 0);
	stat_ids("new namespace", shm, sem, msg);
	show_all("new namespace");
	/* Keys name nothing yet; the ids start again. */
	T(msgget(MSGKEY, 0));
	T(msgget(MSGKEY, IPC_CREAT | 0600));
	T(semget(SEMKEY, 1, IPC_CREAT | 0600));
	T(mq_open("/ipcns_q", O_RDONLY));
	show_all("new namespace");
	/* The attached segment stays mapped, and detaches. */
	printf("mapped: %s\n", mem);
	T(shmdt(mem));
	/* Its own limits, Linux's defaults at first, and next id. */
	show_file("new namespace", "/proc/sys/kernel/shmall");
	show_file("new namespace", "/proc/sys/kernel/shmmni");
	show_file("new namespace", "/proc/sys/kernel/msgmax");
	show_file("new namespace", "/proc/sys/kernel/msgmnb");
	show_file("new namespace", "/proc/sys/kernel/msgmni");
	T(access("/proc/sys/kernel/msgmni", W_OK));
	write_file("/proc/sys/kernel/msgmni", "1");
	T(msgget(IPC_PRIVATE, 0600));
	show_file("new namespace", "/proc/sys/kernel/shmmax");
	write_file("/proc/sys/kernel/shmmax", "8192");
	show_file("new namespace", "/proc/sys/kernel/shmmax");
	T(shmget(IPC_PRIVATE, 8193, 0600));
	write_file("/proc/sys/kernel/shm_next_id", "7");
	T(shmget(IPC_PRIVATE, 8192, 0600));
	show_file("new namespace", "/proc/sys/kernel/shm_next_id");
	/* The namespace file. */
	int nsfd = open("/proc/self/ns/ipc", O_RDONLY);
	T(nsfd >= 0);
	T(ioctl(nsfd, NS_GET_NSTYPE) == CLONE_NEWIPC);
	int owner = ioctl(nsfd, NS_GET_USERNS);
	T(owner >= 0);
	struct stat a, b;
	T(fstat(owner, &a));
	T(stat("/proc/self/ns/user", &b));
	CHECK(a.st_ino == b.st_ino);
	T(ioctl(nsfd, NS_GET_PARENT));
	/* Back to the parent's namespace. */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/ipc", getppid());
	int home = open(path, O_RDONLY);
	T(home >= 0);
	T(setns(home, CLONE_NEWUTS));
	T(setns(home, CLONE_NEWIPC));
	ns_link("/proc/self/ns/ipc", link, sizeof link);
	CHECK(strcmp(link, first) == 0);
	stat_ids("home again", shm, sem, msg);
	struct msgbuf1 m = {0};
	T(msgrcv(msg, &m, sizeof m.mtext, 0, IPC_NOWAIT));
	printf("message: %s\n", m.mtext);
	show_file("home again", "/proc/sys/kernel/shmmax");
	show_file("home again", "/proc/sys/kernel/shm_next_id");
	/* And into the one left behind, which its open file keeps. */
	T(setns(nsfd, 0));
	T(msgget(MSGKEY, 0));
	show_file("left behind", "/proc/sys/kernel/shmmax");
}

int main(void) {
	T(unshare(CLONE_NEWIPC));
	char first[64];
	ns_link("/proc/self/ns/ipc", first, sizeof first);
	int shm = shmget(SHMKEY, 8192, IPC_CREAT | 0600);
	int sem = semget(SEMKEY, 2, IPC_CREAT | 0600);
	int msg = msgget(MSGKEY, IPC_CREAT | 0600);
	printf("ids: shm %d sem %d msg %d\n", shm, sem, msg);
	char *mem = shmat(shm, NULL, 0);
	CHECK(mem != (void *)-1);
	strcpy(mem, "hello");
	struct msgbuf1 m = {1, "hi"};
	T(msgsnd(msg, &m, 3, 0));
	struct mq_attr attr = {.mq_maxmsg = 4, .mq_msgsize = 16};
	mqd_t q = mq_open("/ipcns_q", O_CREAT | O_RDWR, 0600, &attr);
	T(q >= 0);
	show_all("first namespace");
	show_file("first namespace", "/proc/sys/kernel/shm_next_id");

	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		child(shm, sem, msg, first, mem);
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	/* Nothing the child did in its namespaces shows here. */
	T(semctl(sem, 0, GETVAL));
	show_all("first namespace");
	show_file("first namespace", "/proc/sys/kernel/shmmax");
	show_file("first namespace", "/proc/sys/kernel/msgmni");
	T(mq_unlink("/ipcns_q"));

	/* clone into a namespace of its own; not with a shared undo list. */
	fflush(stdout);
	T(syscall(SYS_clone, CLONE_NEWIPC | CLONE_SYSVSEM | SIGCHLD, 0, 0, 0, 0));
	fflush(stdout);
	pid = syscall(SYS_clone, CLONE_NEWIPC | SIGCHLD, 0, 0, 0, 0);
	if (pid == 0) {
		show_all("cloned namespace");
		T(msgget(HELDKEY, IPC_CREAT | 0600));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));

	/* Without CAP_SYS_ADMIN: EPERM; in a user namespace of its own, the
	 * capability is there. */
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (setuid(65534) != 0)
			_exit(3);
		T(unshare(CLONE_NEWIPC));
		T(unshare(CLONE_NEWUSER | CLONE_NEWIPC));
		T(msgget(MSGKEY, 0));
		int fd = open("/proc/self/ns/ipc", O_RDONLY);
		int owner = ioctl(fd, NS_GET_USERNS);
		struct stat a, b;
		T(fstat(owner, &a));
		T(stat("/proc/self/ns/user", &b));
		CHECK(a.st_ino == b.st_ino);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	printf("child exit %d\n", WEXITSTATUS(st));
	T(shmdt(mem));
	T(shmctl(shm, IPC_RMID, NULL));
	T(semctl(sem, 0, IPC_RMID));
	T(msgctl(msg, IPC_RMID, NULL));
	show_all("first namespace");
	return 0;
}
