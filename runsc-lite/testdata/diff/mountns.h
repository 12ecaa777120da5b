/* privateMounts moves a run into a mount namespace of its own with
 * private propagation, so that nothing the program mounts reaches the
 * host's mount table (natively) or the sandbox's first namespace. A
 * failure prints why and returns -1: the program stops before it
 * mounts. */
#include <sched.h>
#include <sys/mount.h>

static int privateMounts(void) {
	if (unshare(CLONE_NEWNS) != 0) {
		printf("cannot leave the first mount namespace: %s\n", ename(errno));
		return -1;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		printf("cannot make the mounts private: %s\n", ename(errno));
		return -1;
	}
	return 0;
}
