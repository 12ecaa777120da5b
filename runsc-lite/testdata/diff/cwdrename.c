/* Names that follow renames (d_path over Linux's dentry tree): getcwd and
 * /proc/self/cwd after the working directory or a directory above it is
 * renamed, nested and across directories, and once it is removed
 * (" (deleted)"); ".." of a moved directory; /proc/self/fd links of a
 * file and a directory whose parent, or themselves, moved; /proc/self/exe
 * once the program's directory is renamed; rename's EINVAL for moving a
 * directory below itself, named from a working directory that moved. */
#include "common.h"
#include "cwdnames.h"
#include <sys/wait.h>

static void ancestor(void) {
	char a[4096], b[4096];
	in(a, "a");
	in(b, "b");
	T(mkdir("a", 0755));
	T(mkdir("a/sub", 0755));
	T(chdir("a/sub"));
	T(rename(a, b));
	cwd("ancestor renamed");
	CHECK(same("..", b));
	T(rename(b, a));
	cwd("renamed back");
	T(rmdir("../sub"));
	cwd("removed");
	T(chdir(top));
	T(rmdir("a"));
}

static void self(void) {
	T(mkdir("s", 0755));
	T(chdir("s"));
	T(rename("../s", "../t"));
	cwd("itself renamed");
	T(mkdir("../u", 0755));
	T(rename("../t", "../u/t"));
	cwd("itself moved");
	char u[4096];
	in(u, "u");
	CHECK(same("..", u));
	T(chdir(".."));
	cwd("its parent");
	T(chdir(top));
	T(rmdir("u/t"));
	T(rmdir("u"));
}

static void nested(void) {
	char x[4096], k[4096];
	in(x, "n1");
	in(k, "k1");
	T(mkdir("n1", 0755));
	T(mkdir("n1/n2", 0755));
	T(mkdir("n1/n2/n3", 0755));
	T(chdir("n1/n2/n3"));
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	T(rename(x, k));
	cwd("top renamed");
	in(x, "k1/n2");
	in(k, "k1/m2");
	T(rename(x, k));
	cwd("middle renamed");
	T(rename("../../m2", "../../../m2"));
	cwd("middle moved up");
	fdlink("directory", dir);
	CHECK(same("../..", top));
	/* Moving a directory below itself is refused, whatever name the
	 * working directory was reached by. */
	char m[4096];
	in(m, "m2");
	T(rename(m, "n4"));
	T(rename(m, "../n4"));
	T(rmdir("../n3"));
	cwd("removed");
	fdlink("removed directory", dir);
	close(dir);
	T(chdir(top));
	T(rmdir("m2"));
	T(rmdir("k1"));
}

static void across(void) {
	T(mkdir("x", 0755));
	T(mkdir("y", 0755));
	T(mkdir("x/c", 0755));
	T(mkdir("x/c/d", 0755));
	T(chdir("x/c/d"));
	int f = open("file", O_CREAT | O_RDWR, 0644);
	int d = open("..", O_RDONLY | O_DIRECTORY);
	fdlink("file", f);
	fdlink("directory", d);
	char from[4096], to[4096];
	in(from, "x/c");
	in(to, "y/c");
	T(rename(from, to));
	cwd("moved across");
	fdlink("file after its grandparent moved", f);
	fdlink("directory after it moved", d);
	char y[4096];
	in(y, "y");
	CHECK(same("../..", y));
	T(chdir("../.."));
	cwd("two up");
	T(chdir("c/d"));
	/* The file itself renamed, moved, then removed. */
	T(rename("file", "renamed"));
	fdlink("file renamed", f);
	T(rename("renamed", "../moved"));
	fdlink("file moved", f);
	T(unlink("../moved"));
	fdlink("file removed", f);
	/* Renamed over: the open file is gone, the new name is another. */
	int g = open("g", O_CREAT | O_RDWR, 0644);
	T(close(open("h", O_CREAT | O_RDWR, 0644)));
	T(rename("h", "g"));
	fdlink("file renamed over", g);
	/* A file with two names keeps the one it was opened by. */
	int l = open("g", O_RDWR);
	T(link("g", "l2"));
	in(from, "y/c");
	in(to, "y/c2");
	T(rename(from, to));
	fdlink("file with two names", l);
	T(unlink("l2"));
	T(unlink("g"));
	close(f);
	close(g);
	close(l);
	close(d);
	T(chdir(top));
	T(rmdir("y/c2/d"));
	T(rmdir("y/c2"));
	T(rmdir("y"));
	T(rmdir("x"));
}

/* exe copies the program into a directory, runs it there and has it
 * rename that directory and read /proc/self/exe. */
static void exe(void) {
	T(mkdir("xa", 0755));
	int src = open("/proc/self/exe", O_RDONLY), dst = open("xa/prog", O_CREAT | O_WRONLY, 0755);
	char buf[65536];
	ssize_t n;
	while ((n = read(src, buf, sizeof buf)) > 0)
		write(dst, buf, n);
	close(src);
	close(dst);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		char p[4096];
		in(p, "xa/prog");
		execl(p, "prog", ".", "exe", (char *)NULL);
		_exit(127);
	}
	int status;
	waitpid(pid, &status, 0);
	printf("exe child: %d\n", WEXITSTATUS(status));
	T(unlink("xb/prog"));
	T(rmdir("xb"));
}

static int exeChild(void) {
	char a[4096], b[4096];
	in(a, "xa");
	in(b, "xb");
	T(rename(a, b));
	char l[4096];
	ssize_t n = readlink("/proc/self/exe", l, sizeof l - 1);
	l[n < 0 ? 0 : n] = 0;
	printf("exe after its directory moved: %s\n", n < 0 ? ename(errno) : rel(l));
	return 0;
}

int main(int argc, char **argv) {
	setup(argc, argv);
	if (!getcwd(top, sizeof top))
		return 1;
	if (argc > 2 && strcmp(argv[2], "exe") == 0)
		return exeChild();
	ancestor();
	self();
	nested();
	across();
	exe();
	return 0;
}
