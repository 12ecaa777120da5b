/* User namespace attacks, for TestAttackUserNamespace: a process of uid
 * 1000 makes a user namespace of its own, maps itself to root there (as
 * unshare -r does) and so holds every capability inside; then it goes for
 * the objects of the parent namespace: processes of root and of another
 * uid (signals, ptrace, memory), files of root and of another uid (read,
 * write, chown, chmod, unlink), global privileges (mount, mknod, clock,
 * rlimits, hostname), maps that would reach the parent's root, forged
 * SCM_CREDENTIALS. Nothing may work; the victims are checked afterwards.
 * Run as root of the sandbox, in a fresh directory (argv[1]). Each line is
 * "what: result". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static void res(const char *what, long r)
{
	if (r == -1)
		printf("%s: %s\n", what, strerrorname_np(errno));
	else
		printf("%s: %ld\n", what, r);
}

static int writefile(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	int r = write(fd, s, strlen(s)) < 0 ? -1 : 0;
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

/* victim sleeps as uid (root if 0), dumpable. */
static pid_t victim(uid_t uid)
{
	pid_t p = fork();
	if (p == 0) {
		if (uid && (setresgid(uid, uid, uid) || setresuid(uid, uid, uid)))
			_exit(1);
		prctl(PR_SET_DUMPABLE, 1);
		for (;;)
			pause();
	}
	return p;
}

static void attack(pid_t root, pid_t other, int sock, int shm)
{
	setgroups(0, NULL);
	if (setresgid(1000, 1000, 1000) || setresuid(1000, 1000, 1000)) {
		printf("drop: %s\n", strerrorname_np(errno));
		return;
	}
	prctl(PR_SET_DUMPABLE, 1);
	res("unshare user", unshare(CLONE_NEWUSER));
	res("map self to root", writefile("/proc/self/uid_map", "0 1000 1"));
	writefile("/proc/self/setgroups", "deny");
	writefile("/proc/self/gid_map", "0 1000 1");
	printf("uid inside: %d euid %d\n", getuid(), geteuid());

	res("kill root's process", kill(root, SIGKILL));
	res("kill other uid's process", kill(other, SIGKILL));
	res("kill init", kill(1, SIGKILL));
	res("attach root's process", ptrace(PTRACE_ATTACH, root, 0, 0));
	res("seize other uid's process", ptrace(PTRACE_SEIZE, other, 0, 0));
	char path[64], buf[16];
	snprintf(path, sizeof path, "/proc/%d/mem", root);
	res("open root's mem", open(path, O_RDWR));
	snprintf(path, sizeof path, "/proc/%d/mem", other);
	res("open other's mem", open(path, O_RDONLY));
	struct iovec l = {buf, sizeof buf}, r = {(void *)0x400000, sizeof buf};
	res("process_vm_readv root's", process_vm_readv(root, &l, 1, &r, 1, 0));
	res("setpriority root's", setpriority(PRIO_PROCESS, root, 19));

	res("read root's 0600 file", open("secret", O_RDONLY));
	res("write root's 0644 file", open("public", O_WRONLY));
	res("chown root's file", chown("public", 0, 0));
	res("chmod root's file", chmod("public", 0666));
	res("unlink in root's dir", unlink("rootdir/file"));
	res("create in root's dir", open("rootdir/new", O_CREAT | O_WRONLY, 0644));
	res("read other uid's 0600 file", open("others", O_RDONLY));
	res("chown other uid's file", chown("others", 0, 0));
	res("utimes root's file", utimes("public", (struct timeval[2]){{1, 0}, {1, 0}}));

	res("setuid to an unmapped uid", setuid(2000));
	res("setgroups", setgroups(0, NULL));
	res("mount tmpfs", mount("none", "rootdir", "tmpfs", 0, NULL));
	res("mknod a device", mknod("dev", S_IFCHR | 0666, makedev(1, 3)));
	res("settimeofday", settimeofday(&(struct timeval){1, 0}, NULL));
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_max += 1;
	res("raise a hard rlimit", setrlimit(RLIMIT_NOFILE, &rl));
	res("sethostname", sethostname("pwned", 5));
	res("raw socket", socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
	int s4 = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	res("bind port 80", bind(s4, (struct sockaddr *)&sin, sizeof sin));
	res("attach root's 0600 shm", (long)shmat(shm, NULL, SHM_RDONLY));
	res("remove root's shm", shmctl(shm, IPC_RMID, NULL));
	res("write /proc/sys/kernel/hostname", writefile("/proc/sys/kernel/hostname", "pwned"));

	/* A nested namespace mapping the parent's root, or every ID. */
	pid_t p = fork();
	if (p == 0) {
		unshare(CLONE_NEWUSER);
		res("nested map of its own root (uid 1000)", writefile("/proc/self/uid_map", "0 0 1"));
		_exit(0);
	}
	waitpid(p, NULL, 0);
	p = fork();
	if (p == 0) {
		unshare(CLONE_NEWUSER);
		res("nested map of every uid", writefile("/proc/self/uid_map", "0 0 4294967295"));
		_exit(0);
	}
	waitpid(p, NULL, 0);

	/* SCM_CREDENTIALS: root inside is uid 1000 outside; another uid is
	 * not mapped. */
	for (int i = 0; i < 2; i++) {
		struct ucred uc = {getpid(), i ? 2000 : 0, 0};
		char cbuf[CMSG_SPACE(sizeof uc)];
		struct iovec iov = {"x", 1};
		struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof uc);
		memcpy(CMSG_DATA(c), &uc, sizeof uc);
		res(i ? "claim uid 2000" : "claim uid 0", sendmsg(sock, &m, 0));
	}
	res("own a new file", close(open("mine", O_CREAT | O_WRONLY, 0644)));
	/* A UTS namespace of its own: its name is its own. */
	res("unshare uts", unshare(CLONE_NEWUTS));
	res("sethostname in own uts", sethostname("pwned", 5));
}

int main(int argc, char **argv)
{
	if (chdir(argv[1]))
		return 1;
	setvbuf(stdout, NULL, _IONBF, 0);
	chmod(".", 0777);
	close(open("secret", O_CREAT | O_WRONLY, 0600));
	int fd = open("public", O_CREAT | O_WRONLY, 0644);
	write(fd, "root", 4);
	close(fd);
	mkdir("rootdir", 0755);
	close(open("rootdir/file", O_CREAT | O_WRONLY, 0644));
	close(open("others", O_CREAT | O_WRONLY, 0600));
	chown("others", 2000, 2000);
	struct utsname before;
	uname(&before);

	int sv[2];
	socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
	int on = 1;
	setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
	int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	pid_t root = victim(0), other = victim(2000);
	pid_t a = fork();
	if (a == 0) {
		attack(root, other, sv[1], shm);
		fflush(stdout);
		_exit(0);
	}
	waitpid(a, NULL, 0);

	/* What the parent namespace sees. */
	char cbuf[CMSG_SPACE(sizeof(struct ucred))], b[4];
	struct iovec iov = {b, sizeof b};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	if (recvmsg(sv[0], &m, MSG_DONTWAIT) >= 0 && CMSG_FIRSTHDR(&m)) {
		struct ucred uc;
		memcpy(&uc, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof uc);
		printf("credentials received: uid %u gid %u\n", uc.uid, uc.gid);
	}
	printf("root's process alive: %s\n", kill(root, 0) == 0 ? "yes" : "NO");
	printf("other's process alive: %s\n", kill(other, 0) == 0 ? "yes" : "NO");
	struct stat st;
	stat("public", &st);
	printf("public: mode %o uid %u size %ld\n", st.st_mode & 07777, st.st_uid, (long)st.st_size);
	printf("rootdir/file there: %s\n", access("rootdir/file", F_OK) == 0 ? "yes" : "NO");
	if (stat("mine", &st) == 0)
		printf("mine: uid %u gid %u\n", st.st_uid, st.st_gid);
	struct utsname after;
	uname(&after);
	printf("hostname unchanged: %s\n", strcmp(before.nodename, after.nodename) ? "NO" : "yes");
	printf("shm there: %s\n", shmctl(shm, IPC_RMID, NULL) == 0 ? "yes" : "NO");
	kill(root, SIGKILL);
	kill(other, SIGKILL);
	while (wait(NULL) > 0)
		;
	return 0;
}
