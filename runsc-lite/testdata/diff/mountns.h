/* privateMounts moves a native run into a mount namespace of its own with
 * private propagation, so that nothing the program mounts reaches the
 * host's mount table. The sandbox has one mount table and refuses
 * CLONE_NEWNS alone with EINVAL (Linux never does), which is no error
 * there and prints nothing. Any other failure prints why and returns -1:
 * the program stops before it mounts. */
#include <sched.h>
#include <sys/mount.h>

static int privateMounts(void) {
	if (unshare(CLONE_NEWNS) == 0) {
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
			return 0;
		printf("cannot make the mounts private: %s\n", ename(errno));
		return -1;
	}
	if (errno == EINVAL)
		return 0;
	printf("cannot leave the host's mount namespace: %s\n", ename(errno));
	return -1;
}
