/* Mount namespaces (CLONE_NEWNS): a copy of the caller's mounts with IDs
 * of their own, where mounts and unmounts stay; the working directory
 * moves into the copy; setns through /proc/PID/ns/mnt and back; locked
 * mounts in a namespace of a new user namespace; mount needs CAP_SYS_ADMIN
 * in the namespace's owner; NS_GET_NSTYPE; errnos. Natively the program
 * first moves into a private namespace of its own (mountns.h). Needs root. */
#include "common.h"
#include "mountns.h"
#include <linux/nsfs.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>

/* nsIno is the inode number of a process's mount namespace file. */
static unsigned long nsIno(const char *pid) {
	char p[64];
	struct stat st;
	snprintf(p, sizeof p, "/proc/%s/ns/mnt", pid);
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

/* ids reads the mount IDs of /proc/self/mountinfo into out (at most n),
 * and returns how many; pathOf says whether a line is for path. */
static int ids(int *out, int n, const char *path, int *has) {
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	int k = 0;
	*has = 0;
	while (f && fgets(line, sizeof line, f)) {
		int id;
		char point[4096];
		if (sscanf(line, "%d %*d %*s %*s %4095s", &id, point) == 2) {
			if (k < n)
				out[k++] = id;
			if (path && strcmp(point, path) == 0)
				*has = 1;
		}
	}
	if (f)
		fclose(f);
	return k;
}

static int disjoint(int *a, int na, int *b, int nb) {
	for (int i = 0; i < na; i++)
		for (int j = 0; j < nb; j++)
			if (a[i] == b[j])
				return 0;
	return 1;
}

static void *sleeper(void *arg) {
	char c;
	read(*(int *)arg, &c, 1);
	return NULL;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (privateMounts() != 0)
		return 1;
	char m[4096], p[4096], mfile[4200];
	snprintf(m, sizeof m, "%s/m", argv[1]);
	snprintf(p, sizeof p, "%s/p", argv[1]);
	snprintf(mfile, sizeof mfile, "%s/file", m);
	T(mkdir("m", 0755));
	T(mkdir("p", 0755));
	T(mkdir("q", 0755));
	T(mount("none", "p", "tmpfs", 0, "size=64k"));
	unsigned long mine = nsIno("self");
	int before[256], has;
	int nbefore = ids(before, 256, p, &has);
	printf("p listed: %d\n", has);

	int fd = open("/proc/self/ns/mnt", O_RDONLY);
	printf("NS_GET_NSTYPE is CLONE_NEWNS: %d\n", ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNS);
	T(setns(fd, CLONE_NEWUTS));
	T(setns(fd, CLONE_NEWNS)); /* its own: root and cwd become / */
	char cwd[4096];
	printf("cwd after setns is /: %d\n", getcwd(cwd, sizeof cwd) && strcmp(cwd, "/") == 0);
	T(chdir(argv[1]));

	/* A child with a namespace of its own: its mounts and unmounts stay
	 * there, its working directory is the same path in the copy. */
	int go[2], done[2];
	T(pipe(go));
	T(pipe(done));
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		T(unshare(CLONE_NEWNS));
		printf("child: a new namespace: %d\n", nsIno("self") != mine);
		printf("child: cwd kept: %d\n", getcwd(cwd, sizeof cwd) && strcmp(cwd, argv[1]) == 0);
		T(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL));
		int after[256];
		int nafter = ids(after, 256, p, &has);
		printf("child: as many mounts: %d, p listed: %d, new IDs: %d\n", nafter == nbefore, has,
		       disjoint(before, nbefore, after, nafter));
		T(mount("none", "m", "tmpfs", 0, NULL));
		T(close(open("m/file", O_CREAT | O_WRONLY, 0644)));
		T(umount("p"));
		ids(after, 256, m, &has);
		printf("child: m listed: %d\n", has);
		ids(after, 256, p, &has);
		printf("child: p listed: %d\n", has);
		fflush(stdout);
		/* Quiet from here: the parent prints. */
		if (write(go[1], "x", 1) != 1 || read(done[0], &c, 1) != 1)
			_exit(1);
		_exit(0);
	}
	char c;
	T(read(go[0], &c, 1));
	struct stat st;
	T(stat(mfile, &st));
	int now[256];
	ids(now, 256, p, &has);
	printf("parent: p listed: %d\n", has);
	ids(now, 256, m, &has);
	printf("parent: m listed: %d\n", has);

	/* Into the child's namespace and back. */
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/ns/mnt", pid);
	int cfd = open(path, O_RDONLY);
	T(setns(cfd, CLONE_NEWNS));
	char cpid[32];
	snprintf(cpid, sizeof cpid, "%d", pid);
	printf("parent: in the child's namespace: %d\n", nsIno("self") == nsIno(cpid));
	T(stat(mfile, &st));
	ids(now, 256, p, &has);
	printf("parent there: p listed: %d\n", has);
	T(setns(fd, 0));
	printf("parent: back: %d\n", nsIno("self") == mine);
	T(stat(mfile, &st));
	T(write(done[1], "x", 1));
	int status;
	T(waitpid(pid, &status, 0) == pid);
	printf("child status %#x\n", status);
	/* The open file keeps the child's namespace. */
	T(setns(cfd, 0));
	T(stat(mfile, &st));
	T(setns(fd, 0));
	close(cfd);
	T(stat(mfile, &st));
	T(chdir(argv[1]));

	/* clone(2) with CLONE_NEWNS may not share the caller's root. */
	T(syscall(SYS_clone, CLONE_NEWNS | CLONE_FS | SIGCHLD, 0, 0, 0, 0));

	/* A thread shares the root (CLONE_FS): setns is EINVAL. */
	int hold[2];
	T(pipe(hold));
	pthread_t th;
	pthread_create(&th, NULL, sleeper, &hold[0]);
	T(setns(fd, CLONE_NEWNS));
	T(write(hold[1], "x", 1));
	pthread_join(th, NULL);

	/* A new user namespace: mount is EPERM in the first mount namespace,
	 * whose owner it is not; in a mount namespace of its own the mounts
	 * it copied are locked (EINVAL), and its own may go. */
	pid = fork();
	if (pid == 0) {
		T(unshare(CLONE_NEWUSER));
		T(mount("none", "q", "tmpfs", 0, NULL));
		T(umount("p"));
		T(unshare(CLONE_NEWNS));
		T(umount("p"));
		T(mount("none", "q", "tmpfs", 0, NULL));
		T(umount("q"));
		_exit(0);
	}
	T(waitpid(pid, &status, 0) == pid);
	printf("child status %#x\n", status);

	/* Without CAP_SYS_ADMIN. */
	pid = fork();
	if (pid == 0) {
		T(setresuid(1000, 1000, 1000));
		T(unshare(CLONE_NEWNS));
		T(setns(fd, CLONE_NEWNS));
		_exit(0);
	}
	T(waitpid(pid, &status, 0) == pid);
	printf("child status %#x\n", status);
	T(umount("p"));
	close(fd);

	/* The PID and cgroup namespaces the program runs in (the first ones,
	 * natively) are namespace files too. */
	int pidns = open("/proc/self/ns/pid", O_RDONLY);
	printf("NS_GET_NSTYPE is CLONE_NEWPID: %d\n", ioctl(pidns, NS_GET_NSTYPE) == CLONE_NEWPID);
	T(ioctl(pidns, NS_GET_PARENT));
	int owner = ioctl(pidns, NS_GET_USERNS);
	struct stat a, b;
	T(fstat(owner, &a));
	T(stat("/proc/self/ns/user", &b));
	printf("owned by the caller's user namespace: %d\n", a.st_ino == b.st_ino);
	close(owner);
	T(stat("/proc/self/ns/pid_for_children", &a));
	T(fstat(pidns, &b));
	printf("pid_for_children is it: %d\n", a.st_ino == b.st_ino);
	T(setns(pidns, CLONE_NEWPID));
	T(setns(pidns, CLONE_NEWNET));
	close(pidns);
	int cgns = open("/proc/self/ns/cgroup", O_RDONLY);
	printf("NS_GET_NSTYPE is CLONE_NEWCGROUP: %d\n", ioctl(cgns, NS_GET_NSTYPE) == CLONE_NEWCGROUP);
	T(setns(cgns, CLONE_NEWCGROUP));
	close(cgns);
	return 0;
}
