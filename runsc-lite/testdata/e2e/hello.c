/* A static program for `runsc-lite run --rootfs DIR`: DIR holds only it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

int main(int argc, char **argv) {
	struct stat st;
	printf("hello %s\n", argc > 1 ? argv[1] : "");
	printf("/etc/passwd: %s\n", stat("/etc/passwd", &st) ? strerrorname_np(errno) : "exists");
	printf("/hello: %s\n", stat("/hello", &st) ? strerrorname_np(errno) : S_ISREG(st.st_mode) ? "reg" : "?");
	return 0;
}
