/* User and UTS namespaces (needs a root host): unshare -r style maps, the
 * IDs seen inside and outside, the errnos of bad map and setgroups writes,
 * capabilities inside and outside, what a namespace's root may do to files
 * and processes of the parent's, sethostname in a new UTS namespace,
 * nesting limits, clone's and unshare's flag rules, si_uid of a signal
 * from an unmapped sender. Each case runs in a child process. */
#include "common.h"
#include <sched.h>
#include <signal.h>
#include <pthread.h>
#include <grp.h>
#include <sys/wait.h>
#include <sys/utsname.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/ioctl.h>
#include <sys/shm.h>
#include <linux/nsfs.h>

#define USER 1000
#define GROUP 1000

static const char *dir;

static void run(const char *name, void (*fn)(void))
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0) {
		printf("== %s\n", name);
		fn();
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(p, &st, 0);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		printf("%s: status %#x\n", name, st);
}

/* writefile writes s to path in one write, printing the result. */
static void writefile(const char *path, const char *s)
{
	const char *shown = strncmp(path, "/proc/self/", 11) && !strncmp(path, "/proc/", 6) ? strrchr(path, '/') : path;
	int fd = open(path, O_WRONLY);
	if (fd < 0) {
		printf("open %s: %s\n", path, ename(errno));
		return;
	}
	errno = 0;
	long n = write(fd, s, strlen(s));
	printf("write %s \"%.*s\": %s\n", shown, (int)strcspn(s, "\n"), s, n < 0 ? ename(errno) : "ok");
	close(fd);
}

static void catfile(const char *path)
{
	char b[4096];
	int fd = open(path, O_RDONLY);
	if (fd < 0) {
		printf("open %s: %s\n", path, ename(errno));
		return;
	}
	long n = read(fd, b, sizeof b - 1);
	close(fd);
	b[n < 0 ? 0 : n] = 0;
	printf("%s:\n%s", path, b);
}

static void ids(void)
{
	uid_t r, e, s;
	gid_t gr, ge, gs;
	getresuid(&r, &e, &s);
	getresgid(&gr, &ge, &gs);
	gid_t g[8];
	int n = getgroups(8, g);
	printf("uids %u %u %u gids %u %u %u groups", r, e, s, gr, ge, gs);
	for (int i = 0; i < n; i++)
		printf(" %u", g[i]);
	printf("\n");
}

static void caps(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	syscall(SYS_capget, &h, d);
	printf("caps eff %08x%08x prm %08x%08x\n", d[1].effective, d[0].effective, d[1].permitted, d[0].permitted);
}

static void owner(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		printf("stat %s: %s\n", path, ename(errno));
	else
		printf("stat %s: uid %u gid %u\n", path, st.st_uid, st.st_gid);
}

/* become drops to USER:GROUP with no supplementary groups, dumpable
 * again (its /proc files its own). */
static void become(void)
{
	if (setgroups(0, NULL) || setresgid(GROUP, GROUP, GROUP) || setresuid(USER, USER, USER)) {
		printf("become: %s\n", ename(errno));
		_exit(1);
	}
	prctl(PR_SET_DUMPABLE, 1);
}

/* execcaps runs this program again, which prints its capabilities and
 * IDs after the execve (capabilities(7) in a namespace: its root gets
 * them, anyone else none). */
static void execcaps(void)
{
	pid_t p = fork();
	if (p == 0) {
		execl("/proc/self/exe", "userns", ".", "caps", (char *)NULL);
		printf("execl: %s\n", ename(errno));
		_exit(1);
	}
	waitpid(p, NULL, 0);
}

/* maps unshares a user namespace as USER and maps USER to 0 (unshare -r). */
static void maps(void)
{
	become();
	T(unshare(CLONE_NEWUSER));
	ids();
	caps();
	catfile("/proc/self/uid_map");
	catfile("/proc/self/setgroups");
	writefile("/proc/self/gid_map", "0 1000 1\n");
	writefile("/proc/self/uid_map", "0 1000 1\n");
	ids();
	writefile("/proc/self/uid_map", "0 1000 1\n");
	writefile("/proc/self/setgroups", "deny");
	writefile("/proc/self/gid_map", "0 1000 1");
	ids();
	execcaps();
	writefile("/proc/self/setgroups", "allow");
	catfile("/proc/self/uid_map");
	catfile("/proc/self/gid_map");
	catfile("/proc/self/setgroups");
	T(setgroups(0, NULL));
	caps();
	owner("mine");
	owner("/");
	owner("rootfile");
	T(setuid(0));
	T(setuid(5));
	T(setresuid(-1, 0, -1));
	T(setgid(7));
	T(chown("mine", 0, 0));
	T(chown("mine", 1, -1));
	owner("mine");
	/* The parent's objects: a root-owned file, another uid's process. */
	T(chown("rootfile", 0, 0));
	T(chmod("rootfile", 0666));
	T(open("rootfile", O_RDONLY));
	T(open("rootfile", O_WRONLY));
	T(unlink("rootdir/x"));
	T(kill(getppid(), 0));
	T(kill(1, SIGKILL));
	T(sethostname("x", 1));
	/* System V IPC owners are shown and given in the namespace's IDs. */
	int shm = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
	struct shmid_ds ds;
	T(shmctl(shm, IPC_STAT, &ds));
	printf("shm uid %u gid %u cuid %u cgid %u\n", ds.shm_perm.uid, ds.shm_perm.gid, ds.shm_perm.cuid, ds.shm_perm.cgid);
	ds.shm_perm.uid = 5;
	T(shmctl(shm, IPC_SET, &ds));
	ds.shm_perm.uid = 0;
	T(shmctl(shm, IPC_SET, &ds));
	T(shmctl(shm, IPC_RMID, NULL));
	T(open("/proc/self/status", O_RDONLY) >= 0);
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) || !strncmp(line, "CapEff:", 7))
			printf("%s", line);
	if (f)
		fclose(f);
}

/* badmaps are map writes Linux refuses, each in a fresh namespace. */
static void badmaps(void)
{
	become();
	const char *m[] = {"0 1000", "0 1000 0", "0 1001 1", "0 1000 1\n0 1000 1", "", "x 1000 1",
			   "0 1000 1\n1 1001 1", "0 1000 1 2", "4294967295 1000 1", "0 4294967295 2"};
	for (unsigned i = 0; i < sizeof m / sizeof m[0]; i++) {
		pid_t p = fork();
		if (p == 0) {
			unshare(CLONE_NEWUSER);
			writefile("/proc/self/uid_map", m[i]);
			_exit(0);
		}
		waitpid(p, NULL, 0);
	}
	/* A gid_map without setgroups denied; setgroups' words. */
	pid_t p = fork();
	if (p == 0) {
		unshare(CLONE_NEWUSER);
		writefile("/proc/self/gid_map", "0 1000 1");
		writefile("/proc/self/setgroups", "bogus");
		writefile("/proc/self/setgroups", "deny\n");
		writefile("/proc/self/setgroups", "allow");
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* privileged: root in the parent writes a child's maps, with ranges. */
static void privileged(void)
{
	int go[2], done[2];
	pipe(go);
	pipe(done);
	pid_t c = fork();
	if (c == 0) {
		char b;
		T(unshare(CLONE_NEWUSER));
		write(done[1], "x", 1);
		read(go[0], &b, 1);
		ids();
		caps();
		owner("mine");
		owner("/");
		catfile("/proc/self/uid_map");
		execcaps();
		T(setresuid(5, 5, 5));
		ids();
		caps();
		execcaps();
		T(setresuid(0, 0, 0));
		_exit(0);
	}
	char b, path[64];
	read(done[0], &b, 1);
	snprintf(path, sizeof path, "/proc/%d/uid_map", c);
	writefile(path, "0 995 10\n100 0 1\n");
	catfile("/proc/self/uid_map");
	snprintf(path, sizeof path, "/proc/%d/gid_map", c);
	writefile(path, "0 995 10");
	write(go[1], "x", 1);
	waitpid(c, NULL, 0);
}

/* uts: a new UTS namespace's host name is its own. */
static void uts(void)
{
	struct utsname before, after;
	uname(&before);
	become();
	T(sethostname("outside", 7));
	T(unshare(CLONE_NEWUTS));
	pid_t p = fork();
	if (p == 0) {
		T(unshare(CLONE_NEWUSER | CLONE_NEWUTS));
		T(sethostname("inner", 5));
		T(setdomainname("innerdomain", 11));
		T(sethostname("0123456789012345678901234567890123456789012345678901234567890123456789", 70));
		struct utsname u;
		uname(&u);
		printf("inside: %s %s\n", u.nodename, u.domainname);
		catfile("/proc/sys/kernel/hostname");
		pid_t q = fork();
		if (q == 0) {
			uname(&u);
			printf("child of inside: %s\n", u.nodename);
			_exit(0);
		}
		waitpid(q, NULL, 0);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	uname(&after);
	CHECK(strcmp(before.nodename, after.nodename) == 0);
	CHECK(strcmp(before.domainname, after.domainname) == 0);
}

static void *sleeper(void *a)
{
	pause();
	return a;
}

static char stack[65536];

static int child(void *a)
{
	ids();
	return 0;
}

/* flags: unshare's and clone's rules for CLONE_NEWUSER. */
static void flags(void)
{
	int st;
	T(clone(child, stack + sizeof stack, CLONE_NEWUSER | CLONE_FS | SIGCHLD, NULL));
	T(clone(child, stack + sizeof stack, CLONE_NEWUSER | CLONE_THREAD | CLONE_SIGHAND | CLONE_VM, NULL));
	pid_t p = clone(child, stack + sizeof stack, CLONE_NEWUSER | SIGCHLD, NULL);
	waitpid(p, &st, 0);
	printf("clone(CLONE_NEWUSER) child exit %d\n", WEXITSTATUS(st));
	p = fork();
	if (p == 0) {
		pthread_t th;
		pthread_create(&th, NULL, sleeper, NULL);
		T(unshare(CLONE_NEWUSER));
		_exit(0);
	}
	waitpid(p, NULL, 0);
	p = fork();
	if (p == 0) {
		mkdir("jail", 0755);
		T(chroot("jail"));
		T(unshare(CLONE_NEWUSER));
		_exit(0);
	}
	waitpid(p, NULL, 0);
	p = fork();
	if (p == 0) {
		char a[64], b[64];
		memset(a, 0, sizeof a);
		memset(b, 0, sizeof b);
		readlink("/proc/self/ns/user", a, sizeof a);
		T(unshare(CLONE_NEWUSER));
		readlink("/proc/self/ns/user", b, sizeof b);
		CHECK(strcmp(a, b) != 0);
		CHECK(strncmp(b, "user:[", 6) == 0);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	p = fork();
	if (p == 0) {
		/* Each level maps its owner, which the next one needs. */
		become();
		int n = 0;
		while (unshare(CLONE_NEWUSER) == 0) {
			n++;
			int fd = open("/proc/self/uid_map", O_WRONLY);
			if (fd < 0 || write(fd, "1000 1000 1", 11) < 0) {
				printf("level %d map: %s\n", n, ename(errno));
				break;
			}
			close(fd);
			fd = open("/proc/self/setgroups", O_WRONLY);
			write(fd, "deny", 4);
			close(fd);
			fd = open("/proc/self/gid_map", O_WRONLY);
			write(fd, "1000 1000 1", 11);
			close(fd);
		}
		printf("nested namespaces: %d, then %s\n", n, ename(errno));
		ids();
		_exit(0);
	}
	waitpid(p, NULL, 0);
}

/* siginfo: a signal from root (unmapped inside) shows si_uid 65534. */
static void siginfo(void)
{
	int done[2];
	pipe(done);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigset_t rt;
	sigemptyset(&rt);
	sigaddset(&rt, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &rt, NULL);
	pid_t c = fork();
	if (c == 0) {
		become();
		unshare(CLONE_NEWUSER);
		writefile("/proc/self/uid_map", "0 1000 1");
		write(done[1], "x", 1);
		siginfo_t si;
		sigwaitinfo(&set, &si);
		printf("si_uid %u si_code %d\n", si.si_uid, si.si_code);
		kill(getpid(), SIGUSR1);
		sigwaitinfo(&set, &si);
		printf("own si_uid %u\n", si.si_uid);
		_exit(0);
	}
	char b;
	read(done[0], &b, 1);
	kill(c, SIGUSR1);
	waitpid(c, NULL, 0);
	/* rt_sigqueueinfo's si_uid is the sender's namespace's: uid 0 of a
	 * namespace mapping it to 1000 reaches a process of uid 1000 in the
	 * parent as 1000. */
	become();
	pid_t parent = getpid();
	c = fork();
	if (c == 0) {
		unshare(CLONE_NEWUSER);
		writefile("/proc/self/uid_map", "0 1000 1");
		siginfo_t si = {0};
		si.si_code = SI_QUEUE;
		si.si_pid = getpid();
		si.si_uid = 0;
		T(syscall(SYS_rt_sigqueueinfo, parent, SIGRTMIN, &si));
		si.si_uid = 7;
		T(syscall(SYS_rt_sigqueueinfo, parent, SIGRTMIN, &si));
		_exit(0);
	}
	waitpid(c, NULL, 0);
	for (int i = 0; i < 2; i++) {
		siginfo_t si;
		sigwaitinfo(&rt, &si);
		printf("queued si_uid %u si_code %d\n", si.si_uid, si.si_code);
	}
}

static int sameino(int a, int b)
{
	struct stat x, y;
	return fstat(a, &x) == 0 && fstat(b, &y) == 0 && x.st_ino == y.st_ino && x.st_dev == y.st_dev;
}

/* nsfiles: the NS_GET_* ioctls and setns(2) on /proc/PID/ns files. */
static void nsfiles(void)
{
	int user = open("/proc/self/ns/user", O_RDONLY), uts = open("/proc/self/ns/uts", O_RDONLY);
	uid_t owner = 99;
	T(ioctl(user, NS_GET_NSTYPE) == CLONE_NEWUSER);
	T(ioctl(uts, NS_GET_NSTYPE) == CLONE_NEWUTS);
	T(ioctl(user, NS_GET_USERNS));
	T(ioctl(user, NS_GET_PARENT));
	T(ioctl(user, NS_GET_OWNER_UID, &owner));
	printf("owner %u\n", owner);
	T(ioctl(uts, NS_GET_PARENT));
	T(ioctl(uts, NS_GET_OWNER_UID, &owner));
	int o = ioctl(uts, NS_GET_USERNS);
	CHECK(o >= 0 && sameino(o, user));
	CHECK(fcntl(o, F_GETFD) == FD_CLOEXEC);
	T(ioctl(user, 0xb7ff));
	T(read(user, &owner, 1));
	struct stat st;
	fstat(user, &st);
	printf("ns file mode %o\n", st.st_mode);
	T(setns(user, 0));
	T(setns(0, 0));
	T(setns(uts, CLONE_NEWUSER));

	int go[2], done[2];
	pipe(go);
	pipe(done);
	pid_t c = fork();
	if (c == 0) {
		char b;
		become();
		T(unshare(CLONE_NEWUSER | CLONE_NEWUTS));
		int mine = open("/proc/self/ns/user", O_RDONLY);
		T(ioctl(mine, NS_GET_OWNER_UID, &owner));
		printf("owner before the map %u\n", owner);
		writefile("/proc/self/uid_map", "0 1000 1");
		T(ioctl(mine, NS_GET_OWNER_UID, &owner));
		printf("owner after the map %u\n", owner);
		T(ioctl(mine, NS_GET_USERNS));
		T(ioctl(mine, NS_GET_PARENT));
		T(setns(user, CLONE_NEWUSER));
		T(setns(mine, CLONE_NEWUSER));
		sethostname("child", 5);
		write(done[1], "x", 1);
		read(go[0], &b, 1);
		_exit(0);
	}
	char b, path[64];
	read(done[0], &b, 1);
	snprintf(path, sizeof path, "/proc/%d/ns/user", c);
	int cu = open(path, O_RDONLY);
	snprintf(path, sizeof path, "/proc/%d/ns/uts", c);
	int cuts = open(path, O_RDONLY);
	int parent = ioctl(cu, NS_GET_PARENT);
	CHECK(parent >= 0 && sameino(parent, user));
	CHECK(!sameino(cu, user));
	int cowner = ioctl(cuts, NS_GET_USERNS);
	CHECK(cowner >= 0 && sameino(cowner, cu));
	T(ioctl(cu, NS_GET_OWNER_UID, &owner));
	printf("child's namespace owner %u\n", owner);
	pid_t p = fork();
	if (p == 0) {
		pthread_t th;
		pthread_create(&th, NULL, sleeper, NULL);
		T(setns(cu, CLONE_NEWUSER));
		_exit(0);
	}
	waitpid(p, NULL, 0);
	p = fork();
	if (p == 0) {
		T(setns(cuts, CLONE_NEWUTS));
		struct utsname u;
		uname(&u);
		printf("hostname after setns: %s\n", u.nodename);
		T(setns(cu, CLONE_NEWUSER));
		ids();
		caps();
		T(setns(user, CLONE_NEWUSER));
		_exit(0);
	}
	waitpid(p, NULL, 0);
	write(go[1], "x", 1);
	waitpid(c, NULL, 0);
}

int main(int argc, char **argv)
{
	dir = argv[1];
	if (argc > 2 && !strcmp(argv[2], "caps")) {
		printf("after execve: ");
		ids();
		caps();
		return 0;
	}
	setvbuf(stdout, NULL, _IONBF, 0);
	int fd = open("mine", O_CREAT | O_WRONLY, 0644);
	fchown(fd, USER, GROUP);
	close(fd);
	fd = open("rootfile", O_CREAT | O_WRONLY, 0600);
	close(fd);
	mkdir("rootdir", 0755);
	close(open("rootdir/x", O_CREAT | O_WRONLY, 0644));
	chmod(".", 0777);
	ids();
	catfile("/proc/self/uid_map");
	catfile("/proc/self/gid_map");
	catfile("/proc/self/setgroups");
	run("maps", maps);
	run("badmaps", badmaps);
	run("privileged", privileged);
	run("uts", uts);
	run("flags", flags);
	run("siginfo", siginfo);
	run("nsfiles", nsfiles);
	return 0;
}
