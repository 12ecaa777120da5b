/* privateMounts moves a run into a mount namespace of its own with
 * private propagation, so that nothing the program mounts reaches the
 * host's mount table (natively) or the sandbox's first namespace. A
 * failure prints why and returns -1: the program stops before it
 * mounts. */
#include <dirent.h>
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

/* list prints a directory's names, sorted. */
static void list(const char *dir) {
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	if (n < 0) {
		printf("scandir %s: %s\n", dir, ename(errno));
		return;
	}
	printf("%s:", dir);
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
			printf(" %s", names[i]->d_name);
		free(names[i]);
	}
	free(names);
	printf("\n");
}
