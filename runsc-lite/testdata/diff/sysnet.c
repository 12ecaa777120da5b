/* sysfs and network namespaces (as root): a sysfs shows the interfaces
 * of the network namespace of the process that mounted it, whoever looks
 * and from whichever namespace. /sys keeps showing its mounter's after
 * unshare(CLONE_NEWNET); a sysfs mounted in a new namespace shows only
 * its lo (down, then up), and the same superblock each time in that
 * namespace; one mounted in the first namespace is /sys's; once the
 * namespace is gone its mount lists nothing; bad options are EINVAL,
 * mounting without CAP_SYS_ADMIN EPERM. The first namespace's
 * interfaces are never printed (the host's natively). */
#include "common.h"
#include "mountns.h"
#include <dirent.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>
#include "loif.h"

/* listing returns the sorted names in dir, space-separated. */
static char *listing(const char *dir) {
	static char bufs[4][1024];
	static int next;
	char *out = bufs[next++ % 4];
	out[0] = 0;
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		snprintf(out, 1024, "(%s)", ename(errno));
		return out;
	}
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			strncat(out, names[i]->d_name, 1000 - strlen(out));
			strcat(out, " ");
		}
		free(names[i]);
	}
	free(names);
	return out;
}

static dev_t devof(const char *path) {
	struct stat st;
	if (stat(path, &st) < 0)
		return (dev_t)-1;
	return st.st_dev;
}

/* attr prints the attributes of lo under mnt/class/net/lo. */
static void attrs(const char *mnt) {
	const char *names[] = {"ifindex", "flags", "mtu", "type", "address", "addr_len", "operstate", "carrier", NULL};
	for (int i = 0; names[i]; i++) {
		char path[256], v[64] = {0};
		snprintf(path, sizeof path, "%s/class/net/lo/%s", mnt, names[i]);
		int fd = open(path, O_RDONLY);
		if (fd < 0) {
			printf("  %s: open %s\n", names[i], ename(errno));
			continue;
		}
		ssize_t n = read(fd, v, sizeof v - 1);
		if (n < 0)
			printf("  %s: read %s\n", names[i], ename(errno));
		else
			printf("  %s: %s", names[i], v);
		close(fd);
	}
}

int main(int argc, char **argv) {
	if (chdir(argv[1]) < 0)
		return 1;
	/* Natively the mounts below stay out of the host's table; the
	 * sandbox has one mount table and refuses CLONE_NEWNS with EINVAL
	 * (as mount.c says). */
	if (privateMounts() != 0)
		return 1;
	mkdir("a", 0755);
	mkdir("b", 0755);
	mkdir("c", 0755);
	char *before = strdup(listing("/sys/class/net"));
	dev_t sysdev = devof("/sys/class/net");

	printf("in the first namespace:\n");
	T(mount("sysfs", "a", "sysfs", 0, NULL));
	CHECK(strcmp(listing("a/class/net"), before) == 0);
	CHECK(devof("a/class/net") == sysdev);
	T(umount("a"));
	T(mount("sysfs", "a", "sysfs", 0, "bogus"));
	T(mount("sysfs", "a", "sysfs", 0, "size=1M"));
	T(mount("sysfs", "a", "sysfs", MS_RDONLY, "ro"));
	T(umount("a"));

	int first = open("/proc/self/ns/net", O_RDONLY);
	printf("after unshare(CLONE_NEWNET):\n");
	T(unshare(CLONE_NEWNET));
	/* /sys is its mounter's still. */
	CHECK(strcmp(listing("/sys/class/net"), before) == 0);
	/* Kept open so that the namespace outlives our leaving it. */
	int second = open("/proc/self/ns/net", O_RDONLY);
	T(mount("sysfs", "b", "sysfs", 0, NULL));
	printf("b/class/net: %s\n", listing("b/class/net"));
	attrs("b");
	CHECK(devof("b/class/net") != sysdev);
	T(mount("sysfs", "c", "sysfs", 0, NULL));
	CHECK(devof("c/class/net") == devof("b/class/net"));
	T(umount("c"));
	T(set_lo(1));
	printf("lo up:\n");
	attrs("b");

	printf("back in the first namespace:\n");
	T(setns(first, CLONE_NEWNET));
	printf("b/class/net: %s\n", listing("b/class/net"));
	CHECK(strcmp(listing("/sys/class/net"), before) == 0);
	T(mount("sysfs", "c", "sysfs", 0, NULL));
	CHECK(strcmp(listing("c/class/net"), before) == 0);
	T(umount("c"));
	T(umount("b"));
	close(second);

	/* A namespace whose last process exits takes its interfaces along
	 * (asynchronously in Linux: poll for up to 2 s). */
	printf("a namespace that ends:\n");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (unshare(CLONE_NEWNET) < 0 || mount("sysfs", "c", "sysfs", 0, NULL) < 0)
			_exit(1);
		printf("  child c/class/net: %s\n", listing("c/class/net"));
		fflush(stdout);
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("  child status %d\n", WEXITSTATUS(status));
	int empty = 0;
	for (int i = 0; i < 200 && !empty; i++) {
		empty = strcmp(listing("c/class/net"), "") == 0;
		if (!empty)
			usleep(10000);
	}
	printf("  c/class/net empty after the child: %d\n", empty);
	T(umount("c"));

	printf("without CAP_SYS_ADMIN:\n");
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
		struct __user_cap_data_struct d[2] = {0};
		syscall(SYS_capget, &h, d);
		d[0].effective &= ~(1u << CAP_SYS_ADMIN);
		syscall(SYS_capset, &h, d);
		T(mount("sysfs", "a", "sysfs", 0, NULL));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return 0;
}
