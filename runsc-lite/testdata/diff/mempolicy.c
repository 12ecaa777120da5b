/* NUMA memory policy on a machine with one node (node 0), as the host and
 * the sandbox both are: set_mempolicy/get_mempolicy (modes, mode flags,
 * node masks of every size, MPOL_F_NODE, MPOL_F_ADDR, MPOL_F_MEMS_ALLOWED,
 * what is written back), mbind's per-mapping policy (splits and merges in
 * /proc/self/maps, holes, mprotect splits, mremap moves, fork), the task
 * policy across fork, threads and execve, set_mempolicy_home_node,
 * migrate_pages and move_pages (node 0 for present pages, -ENOENT for
 * absent ones, -EFAULT for unmapped ones), with Linux's errnos; the node
 * in /sys/devices/system/node and /proc/self/status as libnuma reads it. */
#include "common.h"
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define MPOL_DEFAULT 0
#define MPOL_PREFERRED 1
#define MPOL_BIND 2
#define MPOL_INTERLEAVE 3
#define MPOL_LOCAL 4
#define MPOL_PREFERRED_MANY 5
#define MPOL_WEIGHTED_INTERLEAVE 6
#define MPOL_F_NUMA_BALANCING (1 << 13)
#define MPOL_F_RELATIVE_NODES (1 << 14)
#define MPOL_F_STATIC_NODES (1 << 15)
#define MPOL_F_NODE 1
#define MPOL_F_ADDR 2
#define MPOL_F_MEMS_ALLOWED 4
#define MPOL_MF_STRICT 1
#define MPOL_MF_MOVE 2
#ifndef SYS_set_mempolicy_home_node
#define SYS_set_mempolicy_home_node 450
#endif

#define PG 4096L

static long setpol(int mode, unsigned long *mask, unsigned long maxnode) {
	return syscall(SYS_set_mempolicy, mode, mask, maxnode);
}

static long getpol(int *mode, unsigned long *mask, unsigned long maxnode, void *addr, unsigned long flags) {
	return syscall(SYS_get_mempolicy, mode, mask, maxnode, addr, flags);
}

static long mbind_(void *addr, unsigned long len, int mode, unsigned long *mask, unsigned long maxnode, unsigned flags) {
	return syscall(SYS_mbind, addr, len, mode, mask, maxnode, flags);
}

/* big is a mask buffer of 8 KiB: masks up to a page, and more, are read
 * and written whole. */
static unsigned long big[1024];

/* show prints the task policy: mode and the first two words of the mask. */
static void show(const char *what) {
	int mode = -7;
	unsigned long m[2] = {~0UL, ~0UL};
	if (getpol(&mode, m, 129, NULL, 0) < 0) {
		printf("%s: get -1 %s\n", what, ename(errno));
		return;
	}
	printf("%s: mode %#x mask %#lx %#lx\n", what, mode, m[0], m[1]);
}

/* showaddr prints the policy of the mapping at p. */
static void showaddr(const char *what, void *p) {
	int mode = -7;
	unsigned long m = ~0UL;
	if (getpol(&mode, &m, 64, p, MPOL_F_ADDR) < 0) {
		printf("%s: get addr -1 %s\n", what, ename(errno));
		return;
	}
	printf("%s: addr mode %#x mask %#lx\n", what, mode, m);
}

/* set tries a task policy and shows what get_mempolicy reports after it. */
static void set(const char *what, int mode, unsigned long m0, unsigned long maxnode) {
	unsigned long *m = big;
	memset(big, 0, sizeof big);
	m[0] = m0;
	errno = 0;
	long r = setpol(mode, m, maxnode);
	printf("%s: set = %ld %s\n", what, r, r < 0 ? ename(errno) : "");
	show(what);
	setpol(MPOL_DEFAULT, NULL, 0);
}

/* maps counts the /proc/self/maps lines that overlap [p, p+len). */
static int maps(void *p, long len) {
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int n = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s < (unsigned long)p + len && e > (unsigned long)p)
			n++;
	}
	if (f)
		fclose(f);
	return n;
}

static void *thread_show(void *arg) {
	show("thread inherits");
	set("thread's own", MPOL_PREFERRED, 1, 65);
	return NULL;
}

static void task_policy(void) {
	unsigned long *m = big;
	int mode;

	show("initial");
	T(getpol(NULL, NULL, 0, NULL, 0));
	/* the mask written back, by maxnode */
	for (unsigned long mx = 1; mx <= 200; mx += (mx < 3 ? 1 : mx == 3 ? 62 : 67)) {
		memset(m, 0xff, sizeof big);
		mode = -7;
		long r = getpol(&mode, m, mx, NULL, MPOL_F_MEMS_ALLOWED);
		printf("mems allowed maxnode %lu: %ld mode %d mask %#lx %#lx %#lx %#lx\n", mx, r, mode, m[0], m[1], m[2], m[3]);
	}
	T(getpol(&mode, m, 0, NULL, 0));
	T(getpol(NULL, m, 0, NULL, MPOL_F_MEMS_ALLOWED));
	T(getpol(&mode, NULL, 0, NULL, MPOL_F_MEMS_ALLOWED | MPOL_F_NODE));
	T(getpol(&mode, NULL, 0, NULL, MPOL_F_MEMS_ALLOWED | MPOL_F_ADDR));
	T(getpol(&mode, NULL, 0, NULL, 8));
	T(getpol(&mode, NULL, 0, NULL, MPOL_F_NODE));
	T(getpol(&mode, NULL, 0, m, 0));
	T(getpol(&mode, m, 4096 * 8 + 1, NULL, 0));
	T(getpol(&mode, m, 4096 * 8 + 64, NULL, 0));
	mode = -7;
	T(getpol(&mode, m, 4096 * 8 + 66, NULL, 0));
	printf("mode written before the mask's EINVAL: %d\n", mode);
	T(getpol((int *)1, NULL, 0, NULL, 0));
	T(getpol(NULL, (unsigned long *)1, 64, NULL, 0));
	T(getpol(NULL, (unsigned long *)1, 1, NULL, 0));

	/* modes and masks */
	set("default", MPOL_DEFAULT, 0, 65);
	set("default {0}", MPOL_DEFAULT, 1, 65);
	set("bind {0}", MPOL_BIND, 1, 65);
	set("bind {}", MPOL_BIND, 0, 65);
	set("bind {1}", MPOL_BIND, 2, 65);
	set("bind {0,1}", MPOL_BIND, 3, 65);
	set("bind {0,63}", MPOL_BIND, 1UL | 1UL << 63, 65);
	set("bind {1} maxnode 2", MPOL_BIND, 2, 2);
	set("bind {0,1} maxnode 2", MPOL_BIND, 3, 2);
	set("bind {0} maxnode 1", MPOL_BIND, 1, 1);
	set("bind {0} maxnode 0", MPOL_BIND, 1, 0);
	set("bind static {0,5}", MPOL_BIND | MPOL_F_STATIC_NODES, 0x21, 65);
	set("bind static {5}", MPOL_BIND | MPOL_F_STATIC_NODES, 0x20, 65);
	set("bind relative {5}", MPOL_BIND | MPOL_F_RELATIVE_NODES, 0x20, 65);
	set("bind static|relative", MPOL_BIND | MPOL_F_STATIC_NODES | MPOL_F_RELATIVE_NODES, 1, 65);
	set("bind balancing {0,3}", MPOL_BIND | MPOL_F_NUMA_BALANCING, 9, 65);
	set("interleave {0}", MPOL_INTERLEAVE, 1, 65);
	set("interleave {0,2}", MPOL_INTERLEAVE, 5, 65);
	set("interleave {}", MPOL_INTERLEAVE, 0, 65);
	set("interleave balancing", MPOL_INTERLEAVE | MPOL_F_NUMA_BALANCING, 1, 65);
	set("preferred {0}", MPOL_PREFERRED, 1, 65);
	set("preferred {0,1}", MPOL_PREFERRED, 3, 65);
	set("preferred {}", MPOL_PREFERRED, 0, 65);
	set("preferred {1}", MPOL_PREFERRED, 2, 65);
	set("preferred static {}", MPOL_PREFERRED | MPOL_F_STATIC_NODES, 0, 65);
	set("preferred relative {3}", MPOL_PREFERRED | MPOL_F_RELATIVE_NODES, 8, 65);
	set("local", MPOL_LOCAL, 0, 65);
	set("local {0}", MPOL_LOCAL, 1, 65);
	set("local static", MPOL_LOCAL | MPOL_F_STATIC_NODES, 0, 65);
	set("preferred many {0,1}", MPOL_PREFERRED_MANY, 3, 65);
	set("preferred many balancing", MPOL_PREFERRED_MANY | MPOL_F_NUMA_BALANCING, 1, 65);
	set("weighted interleave {0}", MPOL_WEIGHTED_INTERLEAVE, 1, 65);
	set("mode 7", 7, 1, 65);
	set("mode -1", -1, 1, 65);
	set("flag 1<<12", MPOL_BIND | 1 << 12, 1, 65);
	set("mode 1<<16", 1 << 16, 0, 65);

	/* masks of every size: bits past MAX_NUMNODES (1024) must be zero */
	memset(m, 0, sizeof big);
	m[0] = 1;
	T(setpol(MPOL_BIND, m, 1025));
	T(setpol(MPOL_BIND, m, 4096 * 8));
	T(setpol(MPOL_BIND, m, 4096 * 8 + 1));
	T(setpol(MPOL_BIND, m, 4096 * 8 + 2));
	m[15] = 1UL << 63; /* node 1023 */
	T(setpol(MPOL_BIND, m, 1025));
	show("bind {0,1023}");
	m[15] = 0;
	m[16] = 1; /* node 1024 */
	T(setpol(MPOL_BIND, m, 1025));
	T(setpol(MPOL_BIND, m, 1026));
	T(setpol(MPOL_BIND, m, 2000));
	m[16] = 1UL << 10; /* node 1034: past maxnode 1030, but in the word read */
	T(setpol(MPOL_BIND, m, 1030));
	T(setpol(MPOL_BIND, m, 1024 + 64 + 1));
	m[16] = 0;
	m[40] = 1UL << 63;
	T(setpol(MPOL_BIND, m, 2000));
	T(setpol(MPOL_BIND, m, 40 * 64 + 64));
	T(setpol(MPOL_BIND, m, 40 * 64 + 65));
	m[40] = 0;
	show("after masks");
	setpol(MPOL_DEFAULT, NULL, 0);
	T(setpol(MPOL_BIND, (unsigned long *)1, 65));
	T(setpol(MPOL_BIND, (unsigned long *)1, 1));
	T(setpol(MPOL_DEFAULT, (unsigned long *)1, 0));
	T(setpol(MPOL_BIND, NULL, 65));

	/* MPOL_F_NODE: the next interleave node */
	m[0] = 1;
	T(setpol(MPOL_INTERLEAVE, m, 65));
	mode = -7;
	T(getpol(&mode, NULL, 0, NULL, MPOL_F_NODE));
	printf("interleave next node %d\n", mode);
	T(setpol(MPOL_WEIGHTED_INTERLEAVE, m, 65));
	mode = -7;
	T(getpol(&mode, NULL, 0, NULL, MPOL_F_NODE));
	printf("weighted interleave next node %d\n", mode);
	T(setpol(MPOL_BIND, m, 65));
	T(getpol(&mode, NULL, 0, NULL, MPOL_F_NODE));

	/* inheritance: fork, threads */
	T(setpol(MPOL_INTERLEAVE | MPOL_F_STATIC_NODES, m, 65));
	pid_t pid = fork();
	if (pid == 0) {
		show("fork child");
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	pthread_t th;
	pthread_create(&th, NULL, thread_show, NULL);
	pthread_join(th, NULL);
	show("after thread");
}

static void mapping_policy(void) {
	unsigned long m[20] = {1};
	char *p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int mode;

	printf("maps: %d\n", maps(p, 8 * PG));
	showaddr("fresh", p);
	T(mbind_(p + 2 * PG, 2 * PG, MPOL_BIND, m, 65, 0));
	printf("maps after bind: %d\n", maps(p, 8 * PG));
	showaddr("page 1", p + PG);
	showaddr("page 2", p + 2 * PG);
	showaddr("page 3", p + 3 * PG + 100);
	show("task policy unchanged");
	T(mbind_(p + 4 * PG, 2 * PG, MPOL_BIND, m, 65, 0));
	printf("maps after adjacent bind: %d\n", maps(p, 8 * PG));
	T(mbind_(p + 6 * PG, PG, MPOL_BIND | MPOL_F_STATIC_NODES, m, 65, 0));
	printf("maps after static bind: %d\n", maps(p, 8 * PG));
	showaddr("page 6", p + 6 * PG);
	T(mbind_(p + 2 * PG, 5 * PG, MPOL_DEFAULT, NULL, 0, 0));
	printf("maps after default: %d\n", maps(p, 8 * PG));
	showaddr("page 4 default", p + 4 * PG);
	T(mbind_(p, PG, MPOL_PREFERRED, NULL, 0, 0));
	showaddr("page 0 local", p);
	T(mbind_(p, PG, MPOL_INTERLEAVE, m, 65, MPOL_MF_STRICT | MPOL_MF_MOVE));
	showaddr("page 0 interleave", p);
	T(mbind_(p, PG, MPOL_DEFAULT, NULL, 0, 0));

	/* arguments */
	T(mbind_(p + 1, PG, MPOL_BIND, m, 65, 0));
	T(mbind_(p, 0, MPOL_BIND, m, 65, 0));
	T(mbind_(p, 0, MPOL_BIND, NULL, 0, 0));
	T(mbind_(p, -PG, MPOL_BIND, m, 65, 0));
	T(mbind_(p, -1UL, MPOL_BIND, m, 65, 0));
	T(mbind_(p, PG, MPOL_BIND, m, 65, 8));
	T(mbind_(p, PG, MPOL_BIND, m, 65, 1 << 20));
	T(mbind_(p, PG, 9, m, 65, 0));
	T(mbind_(p, PG, MPOL_BIND, NULL, 0, 0));
	T(mbind_(p, PG, MPOL_DEFAULT, m, 65, 0));
	T(mbind_(p, PG, MPOL_BIND, (unsigned long *)1, 65, 0));
	T(mbind_(p + 1, PG, MPOL_BIND, (unsigned long *)1, 65, 0));
	T(mbind_(p + 1, PG, 9, m, 65, 0));
	m[0] = 2;
	T(mbind_(p, PG, MPOL_BIND, m, 65, 0));
	m[0] = 1;

	/* holes */
	T(munmap(p + 5 * PG, PG));
	T(mbind_(p + 4 * PG, 2 * PG, MPOL_BIND, m, 65, 0));
	T(mbind_(p + 5 * PG, 2 * PG, MPOL_BIND, m, 65, 0));
	T(mbind_(p + 5 * PG, PG, MPOL_BIND, m, 65, 0));
	T(mbind_(p + 5 * PG, PG, MPOL_DEFAULT, NULL, 0, 0));
	T(mbind_(p + 4 * PG, 3 * PG, MPOL_DEFAULT, NULL, 0, 0));
	showaddr("page 4 unchanged by the refused bind", p + 4 * PG);
	showaddr("hole", p + 5 * PG);
	mode = -7;
	T(getpol(&mode, NULL, 0, p + 5 * PG, MPOL_F_ADDR | MPOL_F_NODE));
	T(getpol(&mode, NULL, 0, NULL, MPOL_F_ADDR));
	T(getpol(&mode, NULL, 0, p, MPOL_F_ADDR | MPOL_F_NODE));
	printf("node of page 0: %d\n", mode);
	T(mprotect(p + 4 * PG, PG, PROT_NONE));
	T(getpol(&mode, NULL, 0, p + 4 * PG, MPOL_F_ADDR | MPOL_F_NODE));
	T(getpol(&mode, NULL, 0, p + 4 * PG, MPOL_F_ADDR));
	T(munmap(p, 8 * PG));

	/* splits by mprotect, moves by mremap, fork */
	p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m[0] = 1;
	T(mbind_(p, 4 * PG, MPOL_INTERLEAVE, m, 65, 0));
	T(mprotect(p + PG, PG, PROT_READ));
	printf("maps after mprotect: %d\n", maps(p, 8 * PG));
	showaddr("mprotected page", p + PG);
	showaddr("page after it", p + 2 * PG);
	T(mprotect(p + PG, PG, PROT_READ | PROT_WRITE));
	printf("maps after mprotect back: %d\n", maps(p, 8 * PG));
	char *q = mremap(p + 2 * PG, 2 * PG, 3 * PG, MREMAP_MAYMOVE);
	printf("mremap: %s\n", q == MAP_FAILED ? ename(errno) : "ok");
	showaddr("moved", q + 2 * PG);
	showaddr("left behind", p + 2 * PG);
	pid_t pid = fork();
	if (pid == 0) {
		showaddr("fork child's", p);
		showaddr("fork child's moved", q);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	T(munmap(p, 8 * PG));
	T(munmap(q, 3 * PG));

	/* a new mapping next to a bound one stays apart */
	p = mmap(NULL, 5 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T(munmap(p + 4 * PG, PG));
	T(mbind_(p + 2 * PG, 2 * PG, MPOL_BIND, m, 65, 0));
	q = mmap(p + 4 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	printf("adjacent mmap: %s maps %d\n", q == MAP_FAILED ? ename(errno) : "ok", maps(p, 5 * PG));
	showaddr("adjacent mapping", q);
	M(mmap(p + 3 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0));
	showaddr("replaced page", p + 3 * PG);
	printf("maps: %d\n", maps(p, 5 * PG));

	/* set_mempolicy_home_node */
	T(syscall(SYS_set_mempolicy_home_node, p, PG, 0, 0));
	T(syscall(SYS_set_mempolicy_home_node, p, 3 * PG, 0, 0));
	T(syscall(SYS_set_mempolicy_home_node, p + 1, PG, 0, 0));
	T(syscall(SYS_set_mempolicy_home_node, p, PG, 0, 1));
	T(syscall(SYS_set_mempolicy_home_node, p, PG, 1, 0));
	T(syscall(SYS_set_mempolicy_home_node, p, 0, 0, 0));
	T(syscall(SYS_set_mempolicy_home_node, p + 2 * PG, PG, 0, 0));
	printf("maps after home node: %d\n", maps(p, 5 * PG));
	T(mbind_(p, 2 * PG, MPOL_BIND, m, 65, 0));
	printf("maps after bind: %d\n", maps(p, 5 * PG));
	T(syscall(SYS_set_mempolicy_home_node, p + PG, PG, 0, 0));
	printf("maps after home node: %d\n", maps(p, 5 * PG));
	showaddr("home node set", p + PG);
	T(mbind_(p, PG, MPOL_PREFERRED, m, 65, 0));
	T(syscall(SYS_set_mempolicy_home_node, p, 3 * PG, 0, 0));
	T(mbind_(p, PG, MPOL_PREFERRED_MANY, m, 65, 0));
	T(syscall(SYS_set_mempolicy_home_node, p, PG, 0, 0));
	T(munmap(p, 5 * PG));
}

static void pages(void) {
	char *p = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	p[0] = 1;
	p[2 * PG] = 1;
	T(munmap(p + 3 * PG, PG));
	void *pg[5] = {p, p + PG, p + 2 * PG + 5, p + 3 * PG, NULL};
	int nodes[5] = {0, 0, 0, 0, 0};
	int st[5];

	memset(st, 0x55, sizeof st);
	T(syscall(SYS_move_pages, 0, 5, pg, NULL, st, 0));
	printf("status %d %d %d %d %d\n", st[0], st[1], st[2], st[3], st[4]);
	memset(st, 0x55, sizeof st);
	T(syscall(SYS_move_pages, 0, 5, pg, nodes, st, MPOL_MF_MOVE));
	printf("status %d %d %d %d %d\n", st[0], st[1], st[2], st[3], st[4]);
	memset(st, 0x55, sizeof st);
	nodes[1] = 1;
	T(syscall(SYS_move_pages, 0, 3, pg, nodes, st, 0));
	printf("status %d %d %d\n", st[0], st[1], st[2]);
	nodes[1] = -1;
	T(syscall(SYS_move_pages, 0, 3, pg, nodes, st, 0));
	nodes[1] = 1024;
	T(syscall(SYS_move_pages, 0, 3, pg, nodes, st, 0));
	nodes[1] = 0;
	T(syscall(SYS_move_pages, 0, 0, pg, NULL, st, 0));
	T(syscall(SYS_move_pages, 0, 1, pg, NULL, st, 8));
	T(syscall(SYS_move_pages, 0, 1, (void *)1, NULL, st, 0));
	T(syscall(SYS_move_pages, 0, 1, pg, NULL, (void *)1, 0));
	T(syscall(SYS_move_pages, 0, 1, pg, (void *)1, st, 0));
	T(syscall(SYS_move_pages, 0, 1, (void *)1, nodes, st, 0));
	T(syscall(SYS_move_pages, 0, 1, pg, nodes, (void *)1, 0));
	T(syscall(SYS_move_pages, 0x7ffffff0, 1, pg, NULL, st, 0));

	/* a pointer array that runs into unmapped memory after 18 entries:
	 * statuses are written a chunk of 16 at a time (nodes NULL) or page
	 * by page (nodes given) up to the fault */
	char *arr = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T(munmap(arr + PG, PG));
	void **edge = (void **)(arr + PG) - 18;
	int *enodes = (int *)(arr + PG) - 18;
	int est[20];
	for (int i = 0; i < 18; i++) {
		edge[i] = i % 2 ? p : (char *)p + PG;
	}
	memset(est, 0x55, sizeof est);
	T(syscall(SYS_move_pages, 0, 20, edge, NULL, est, 0));
	printf("status 0 %d 1 %d 15 %d 16 %d 17 %d\n", est[0], est[1], est[15], est[16], est[17]);
	memset(est, 0x55, sizeof est);
	T(syscall(SYS_move_pages, 0, 18, edge, NULL, est, 0));
	printf("status 0 %d 1 %d 15 %d 16 %d 17 %d\n", est[0], est[1], est[15], est[16], est[17]);
	memset(enodes, 0, 18 * sizeof(int));
	void *pg2[20];
	for (int i = 0; i < 20; i++)
		pg2[i] = i % 2 ? p : (char *)p + PG;
	memset(est, 0x55, sizeof est);
	T(syscall(SYS_move_pages, 0, 20, pg2, enodes, est, 0));
	printf("status 0 %d 1 %d 15 %d 16 %d 17 %d 18 %d\n", est[0], est[1], est[15], est[16], est[17], est[18]);
	enodes[10] = 3;
	memset(est, 0x55, sizeof est);
	T(syscall(SYS_move_pages, 0, 18, pg2, enodes, est, 0));
	printf("status 0 %d 9 %d 10 %d 11 %d\n", est[0], est[9], est[10], est[11]);
	T(munmap(arr, PG));

	/* another process's pages */
	int up[2], down[2];
	pipe(up);
	pipe(down);
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		p[PG] = 2;
		write(up[1], "x", 1);
		read(down[0], &c, 1);
		_exit(0);
	}
	char c;
	read(up[0], &c, 1);
	memset(st, 0x55, sizeof st);
	T(syscall(SYS_move_pages, pid, 3, pg, NULL, st, 0));
	printf("child's status %d %d %d\n", st[0], st[1], st[2]);
	unsigned long old = 1, new = 1;
	T(syscall(SYS_migrate_pages, pid, 65, &old, &new));
	T(syscall(SYS_migrate_pages, 0, 65, &old, &new));
	T(syscall(SYS_migrate_pages, 0, 65, NULL, &new));
	T(syscall(SYS_migrate_pages, 0, 0, NULL, NULL));
	T(syscall(SYS_migrate_pages, 0x7ffffff0, 65, &old, &new));
	T(syscall(SYS_migrate_pages, 0, 65, (void *)1, &new));
	T(syscall(SYS_migrate_pages, 0, 65, &old, (void *)1));
	old = 0;
	T(syscall(SYS_migrate_pages, 0, 65, &old, &old));
	write(down[1], "x", 1);
	waitpid(pid, NULL, 0);
	T(syscall(SYS_move_pages, pid, 1, pg, NULL, st, 0));
	T(munmap(p, 3 * PG));
}

/* cat prints a file's first line, or its errno. */
static void cat(const char *path) {
	char line[256] = "";
	FILE *f = fopen(path, "r");
	if (!f) {
		printf("%s: %s\n", path, ename(errno));
		return;
	}
	if (!fgets(line, sizeof line, f))
		strcpy(line, "(empty)\n");
	fclose(f);
	printf("%s: %s", path, line);
}

/* sysfs prints what libnuma reads of the node: /sys/devices/system/node,
 * the node's CPUs against the CPUs online, its distance and memory, and
 * /proc/self/status's Mems_allowed lines. */
static void sysfs(void) {
	cat("/sys/devices/system/node/online");
	cat("/sys/devices/system/node/possible");
	cat("/sys/devices/system/node/has_cpu");
	cat("/sys/devices/system/node/has_memory");
	cat("/sys/devices/system/node/has_normal_memory");
	cat("/sys/devices/system/node/node0/distance");
	cat("/sys/devices/system/node/node1/distance");
	char a[512] = "", b[512] = "";
	FILE *f = fopen("/sys/devices/system/node/node0/cpulist", "r"), *g = fopen("/sys/devices/system/cpu/online", "r");
	if (f && g && fgets(a, sizeof a, f) && fgets(b, sizeof b, g))
		printf("node0's cpulist is the CPUs online: %s\n", strcmp(a, b) == 0 ? "yes" : "NO");
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	unsigned long total = 0, free = ~0UL;
	f = fopen("/sys/devices/system/node/node0/meminfo", "r");
	while (f && fgets(a, sizeof a, f)) {
		sscanf(a, "Node 0 MemTotal: %lu kB", &total);
		sscanf(a, "Node 0 MemFree: %lu kB", &free);
	}
	if (f)
		fclose(f);
	printf("node0 meminfo: total>0 %d free<=total %d\n", total > 0, free <= total);
	f = fopen("/proc/self/status", "r");
	while (f && fgets(a, sizeof a, f))
		if (strncmp(a, "Mems_allowed", 12) == 0)
			printf("%s", a);
	if (f)
		fclose(f);
}

int main(int argc, char **argv) {
	if (argc > 2 && strcmp(argv[2], "exec") == 0) {
		setvbuf(stdout, NULL, _IOLBF, 0);
		show("after execve");
		return 0;
	}
	setup(argc, argv);
	task_policy();
	fflush(stdout);
	char *args[] = {argv[0], argv[1], "exec", NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execv("/proc/self/exe", args);
		printf("execv: %s\n", ename(errno));
		_exit(1);
	}
	waitpid(pid, NULL, 0);
	setpol(MPOL_DEFAULT, NULL, 0);
	mapping_policy();
	pages();
	sysfs();
	return 0;
}
