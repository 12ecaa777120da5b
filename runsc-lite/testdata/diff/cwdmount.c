/* Names that follow renames across mounts (d_path): a tmpfs mounted
 * below a directory that is renamed (getcwd, /proc/self/cwd, fd links
 * and mountinfo inside it), directories moved within the tmpfs, ".."
 * up through the mount's root after the rename, and a bind mount of a
 * tmpfs directory whose children are renamed through the other mount.
 * Runs in a private mount namespace (mountns.h). Needs root. */
#include "common.h"
#include "cwdnames.h"
#include "mountns.h"

/* mounted prints the mount points of mountinfo below top. */
static void mounted(const char *what) {
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192], point[4096];
	printf("%s: mounts", what);
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && strncmp(point, top, strlen(top)) == 0 && point[strlen(top)] == '/')
			printf(" %s", rel(point));
	printf("\n");
	if (f)
		fclose(f);
}


int main(int argc, char **argv) {
	setup(argc, argv);
	if (!getcwd(top, sizeof top) || privateMounts() != 0)
		return 0;
	char a[4096], b[4096], p[4096];
	in(a, "a");
	in(b, "b");
	T(mkdir("a", 0755));
	T(mkdir("a/m", 0755));
	T(mount("none", "a/m", "tmpfs", 0, "mode=755"));
	T(mkdir("a/m/x", 0755));
	T(chdir("a/m/x"));
	int f = open("file", O_CREAT | O_RDWR, 0644);
	T(rename(a, b));
	cwd("above the mount renamed");
	fdlink("file in the mount", f);
	mounted("above the mount renamed");
	T(mkdir("../y", 0755));
	T(rename("../x", "../y/x"));
	cwd("moved in the mount");
	fdlink("file moved in the mount", f);
	in(p, "b/m/y");
	CHECK(same("..", p));
	in(p, "b");
	CHECK(same("../../..", p));
	T(chdir("../../.."));
	cwd("up through the mount's root");
	T(mkdir("bm", 0755));
	T(mount("m/y", "bm", NULL, MS_BIND, NULL));
	T(chdir("bm/x"));
	cwd("through the bind mount");
	in(p, "b/m/y/x");
	char q[4096];
	in(q, "b/m/y/x2");
	T(rename(p, q));
	cwd("renamed through the other mount");
	fdlink("file renamed through the other mount", f);
	mounted("bind mount");
	close(f);
	T(chdir(top));
	T(umount("b/bm"));
	T(unlink("b/m/y/x2/file"));
	T(rmdir("b/m/y/x2"));
	T(rmdir("b/m/y"));
	T(umount("b/m"));
	T(rmdir("b/m"));
	T(rmdir("b/bm"));
	T(rmdir("b"));
	return 0;
}
