/* /proc and /sys as programs parse them: the formats, and the relations
 * between files and syscalls that hold on any Linux, whether the figures
 * are the host's (natively) or the sandbox's own (inside): online CPUs,
 * /proc/stat's cpu lines, /proc/cpuinfo's blocks, meminfo and sysinfo,
 * loadavg, uptime and btime, uname and /proc/sys/kernel, mountinfo and
 * stat's device numbers, getdents and stat's inode numbers, process
 * states, the threads of /proc/PID/task; the memory files of
 * /proc/PID (smaps, smaps_rollup, statm, status, pagemap) about mappings
 * the program makes, io, oom_score_adj/oom_adj/oom_score, timerslack_ns, ns. */
#include "common.h"
#include <dirent.h>
#include <libgen.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

/* slurp returns a file's contents, NUL-terminated, or NULL. */
static char *slurp(const char *path) {
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	size_t cap = 1 << 20, n = 0;
	char *b = malloc(cap + 1);
	ssize_t r;
	while (n < cap && (r = read(fd, b + n, cap - n)) > 0)
		n += r;
	close(fd);
	b[n] = 0;
	return b;
}

/* line returns a file's first line without its newline, or "". */
static char *line(const char *path) {
	char *s = slurp(path);
	if (!s)
		return "";
	s[strcspn(s, "\n")] = 0;
	return s;
}

/* cpus counts the CPUs of a CPU list ("0-3,5"). */
static int cpus(const char *list) {
	int n = 0;
	while (*list && *list != '\n') {
		char *end;
		long a = strtol(list, &end, 10), b = a;
		if (end == list)
			return -1;
		if (*end == '-')
			b = strtol(end + 1, &end, 10);
		n += b - a + 1;
		list = *end == ',' ? end + 1 : end;
	}
	return n;
}

/* count counts the lines of s that start with prefix. */
static int count(const char *s, const char *prefix) {
	int n = 0;
	for (const char *p = s; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		n += strncmp(p, prefix, strlen(prefix)) == 0;
	}
	return n;
}

/* field returns the number after "name:" (or "name ") at a line start,
 * -1 if there is none. */
static long long field(const char *s, const char *name) {
	size_t len = strlen(name);
	for (const char *p = s; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, len) == 0 && (p[len] == ':' || p[len] == ' '))
			return strtoll(p + len + 1, NULL, 10);
	}
	return -1;
}

static pthread_barrier_t named, checked;
static pid_t workerTID;

static void *worker(void *arg) {
	prctl(PR_SET_NAME, "worker");
	workerTID = gettid();
	pthread_barrier_wait(&named);
	pthread_barrier_wait(&checked);
	return NULL;
}

/* threads: /proc/self/task lists the threads, each a directory of its own
 * whose stat and comm are the thread's. */
static void taskDirs(void) {
	pthread_barrier_init(&named, NULL, 2);
	pthread_barrier_init(&checked, NULL, 2);
	pthread_t th;
	pthread_create(&th, NULL, worker, NULL);
	pthread_barrier_wait(&named);
	int n = 0, self = 0, other = 0;
	DIR *d = opendir("/proc/self/task");
	CHECK(d != NULL);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		self += atoi(e->d_name) == getpid();
		other += atoi(e->d_name) == workerTID;
	}
	if (d)
		closedir(d);
	printf("threads listed %d, main %d, worker %d\n", n, self, other);
	char path[128];
	snprintf(path, sizeof path, "/proc/self/task/%d/comm", workerTID);
	char *comm = slurp(path);
	printf("worker comm %s", comm ? comm : "(none)\n");
	snprintf(path, sizeof path, "/proc/%d/task/%d/stat", getpid(), workerTID);
	char *st = slurp(path);
	CHECK(st && atoi(st) == workerTID);
	snprintf(path, sizeof path, "/proc/self/task/%d/task", workerTID);
	T(access(path, F_OK));
	CHECK(strstr(slurp("/proc/self/status"), "\nThreads:\t2\n") != NULL);
	pthread_barrier_wait(&checked);
	pthread_join(th, NULL);
	/* pthread_join returns once the thread's tid is cleared, which Linux
	 * does before it unhashes the thread (release_task): the count may
	 * still say 2 for a moment, natively too. */
	for (int i = 0; i < 100000; i++) {
		char *st = slurp("/proc/self/status");
		int one = st && strstr(st, "\nThreads:\t1\n");
		free(st);
		if (one)
			break;
		sched_yield();
	}
	CHECK(strstr(slurp("/proc/self/status"), "\nThreads:\t1\n") != NULL);
}

/* limitsMatch checks /proc/self/limits against getrlimit, row by row,
 * after changing one limit. */
static void limitsMatch(void) {
	struct rlimit rl = {12345, 23456};
	T(setrlimit(RLIMIT_CORE, &rl));
	char *s = slurp("/proc/self/limits");
	CHECK(s && strncmp(s, "Limit                     Soft Limit           Hard Limit           Units     \n", 80) == 0);
	int rows = 0, match = 0;
	for (char *line = s ? strchr(s, '\n') : NULL; line && line[1]; line = strchr(line + 1, '\n')) {
		char soft[32], hard[32];
		if (sscanf(line + 1 + 26, "%31s %31s", soft, hard) != 2)
			continue;
		struct rlimit l;
		getrlimit(rows, &l);
		char want[32], wantHard[32];
		snprintf(want, sizeof want, l.rlim_cur == RLIM_INFINITY ? "unlimited" : "%llu", (unsigned long long)l.rlim_cur);
		snprintf(wantHard, sizeof wantHard, l.rlim_max == RLIM_INFINITY ? "unlimited" : "%llu", (unsigned long long)l.rlim_max);
		match += !strcmp(soft, want) && !strcmp(hard, wantHard);
		rows++;
	}
	printf("limits: %d rows, %d as getrlimit says\n", rows, match);
}

/* state returns the state letter of process pid in /proc/pid/stat. */
static char state(pid_t pid) {
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	char *s = slurp(path);
	char *p = s ? strrchr(s, ')') : NULL;
	return p && p[1] == ' ' ? p[2] : '?';
}

/* waitState waits up to 5 s for process pid to be in state want. */
static int waitState(pid_t pid, char want) {
	for (int i = 0; i < 500; i++) {
		if (state(pid) == want)
			return 1;
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* mountDev finds the device of the mount at point in mountinfo. */
static dev_t mountDev(const char *info, const char *point, char *fstype) {
	for (const char *p = info; p && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		unsigned ma, mi;
		char root[256], mp[256];
		if (sscanf(p, "%*d %*d %u:%u %255s %255s", &ma, &mi, root, mp) == 4 && strcmp(mp, point) == 0) {
			const char *sep = strstr(p, " - ");
			if (sep)
				sscanf(sep + 3, "%63s", fstype);
			return makedev(ma, mi);
		}
	}
	return (dev_t)-1;
}

/* readInto reads a file into buf (no allocation, which would change the
 * figures being read), NUL-terminated; "" if it cannot. */
static char *readInto(const char *path, char *buf, size_t cap) {
	int fd = open(path, O_RDONLY);
	size_t n = 0;
	ssize_t r;
	if (fd >= 0) {
		while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
			n += r;
		close(fd);
	}
	buf[n] = 0;
	return buf;
}

/* smapsEntry returns the smaps entry of the mapping that starts at addr,
 * ended at the next entry's line, or NULL. */
static char *smapsEntry(char *all, void *addr) {
	char head[32];
	snprintf(head, sizeof head, "%lx-", (unsigned long)addr);
	for (char *p = all; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, head, strlen(head)) != 0)
			continue;
		char *e = strdup(strchr(p, '\n') + 1);
		for (char *q = e; q && *q; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : NULL) {
			unsigned long a, b;
			if (sscanf(q, "%lx-%lx ", &a, &b) == 2) {
				*q = 0;
				break;
			}
		}
		return e;
	}
	return NULL;
}

/* taskMemory: smaps, smaps_rollup, statm, status and pagemap describe a
 * mapping the program makes as it touches and locks it (mlock populates
 * it); io counts the program's reads and writes; oom_score_adj and
 * oom_adj are one value on two scales, which oom_score follows; ns links
 * name the same namespaces in a child. */
static void taskMemory(void) {
	static char a[1 << 20], b[1 << 16];
	const size_t pages = 16, len = pages * 4096; /* within RLIMIT_MEMLOCK's 64 KiB default */
	/* Between two PROT_NONE pages, so that it merges with no neighbour. */
	char *m = mmap(NULL, len + 2 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) + 4096;
	T(mprotect(m, len, PROT_READ | PROT_WRITE));
	char *e = smapsEntry(readInto("/proc/self/smaps", a, sizeof a), m);
	CHECK(e != NULL);
	if (!e)
		return;
	printf("fresh: Size %lld Rss %lld Anonymous %lld Locked %lld\n", field(e, "Size"), field(e, "Rss"), field(e, "Anonymous"), field(e, "Locked"));
	CHECK(field(e, "KernelPageSize") == 4 && field(e, "Swap") == 0);
	CHECK(strncmp(strstr(e, "VmFlags:"), "VmFlags: rd wr ", 15) == 0);
	memset(m, 1, len / 2);
	e = smapsEntry(readInto("/proc/self/smaps", a, sizeof a), m);
	printf("half touched: Rss %lld Anonymous %lld Private_Dirty %lld Locked %lld\n", field(e, "Rss"), field(e, "Anonymous"), field(e, "Private_Dirty"), field(e, "Locked"));
	T(mlock(m, len));
	e = smapsEntry(readInto("/proc/self/smaps", a, sizeof a), m);
	printf("locked: Rss %lld Locked %lld\n", field(e, "Rss"), field(e, "Locked"));
	CHECK(strstr(e, " lo ") != NULL);
	unsigned char vec[16];
	T(mincore(m, len, vec));
	int in = 0;
	for (size_t i = 0; i < pages; i++)
		in += vec[i] & 1;
	printf("mincore after mlock: %d of %zu\n", in, pages);
	char *status = readInto("/proc/self/status", b, sizeof b);
	CHECK(field(status, "VmLck") >= 64);
	long long vmSize = field(status, "VmSize"), vmRSS = field(status, "VmRSS");
	CHECK(vmSize > 0 && vmRSS > 0 && vmRSS <= vmSize);
	CHECK(field(status, "RssAnon") + field(status, "RssFile") + field(status, "RssShmem") == vmRSS);
	CHECK(field(status, "VmData") > 0 && field(status, "VmStk") > 0 && field(status, "VmExe") > 0);
	long sm[7];
	CHECK(sscanf(readInto("/proc/self/statm", b, sizeof b), "%ld %ld %ld %ld %ld %ld %ld", &sm[0], &sm[1], &sm[2], &sm[3], &sm[4], &sm[5], &sm[6]) == 7);
	CHECK(sm[0] * 4 == vmSize);
	/* status's Vm lines as task_mem writes them (a tab, the number 8
	 * wide: ps parses them so); stat's vsize and rss are the same
	 * figures, its starttime the process's start on the boot clock, its
	 * priority 20 plus the nice value. */
	status = readInto("/proc/self/status", b, sizeof b);
	char *vm = strstr(status, "\nVmSize:\t");
	CHECK(vm != NULL && strstr(status, "\nVmRSS:\t") != NULL);
	CHECK(vm != NULL && strchr(vm + 9, '\n') - (vm + 9) == 11); /* "%8lu kB" */
	setpriority(PRIO_PROCESS, 0, 3);
	char *st = strrchr(readInto("/proc/self/stat", b, sizeof b), ')') + 2;
	unsigned long long sf[26] = {0}; /* fields 3.. of stat: sf[i] is field i+3 */
	char *tok = strtok(st, " ");
	for (int i = 0; tok != NULL && i < 26; i++, tok = strtok(NULL, " "))
		sf[i] = i == 0 ? 0 : strtoull(tok, NULL, 10);
	printf("stat: priority %lld nice %lld\n", (long long)sf[18 - 3], (long long)sf[19 - 3]);
	setpriority(PRIO_PROCESS, 0, 0);
	status = readInto("/proc/self/status", b, sizeof b);
	long long size2 = field(status, "VmSize"), rss2 = field(status, "VmRSS");
	CHECK(sf[23 - 3] == (unsigned long long)size2 * 1024);
	CHECK(sf[24 - 3] > 0 && llabs((long long)sf[24 - 3] * 4 - rss2) <= rss2 / 4); /* pages touched between the reads */
	double up;
	CHECK(sscanf(readInto("/proc/uptime", b, sizeof b), "%lf", &up) == 1);
	long long age = (long long)(up * 100) - (long long)sf[22 - 3];
	CHECK(age >= 0 && age < 6000);
	CHECK(sf[25 - 3] == (unsigned long long)RLIM_INFINITY);
	CHECK(sm[1] <= sm[0] && sm[1] * 4 >= 64 && sm[3] > 0 && sm[5] > 0);
	T(munlock(m, len));
	e = smapsEntry(readInto("/proc/self/smaps", a, sizeof a), m);
	printf("unlocked: Rss %lld Locked %lld\n", field(e, "Rss"), field(e, "Locked"));
	char *roll = readInto("/proc/self/smaps_rollup", a, sizeof a);
	CHECK(strstr(roll, "[rollup]\n") == strchr(roll, '\n') - 8);
	CHECK(field(roll, "Rss") >= 64 && field(roll, "Pss") > 0 && field(roll, "Anonymous") >= 64);
	CHECK(field(roll, "Locked") == 0);
	munmap(m - 4096, len + 2 * 4096);

	/* pagemap: pages 0 and 2 of four are touched; frame numbers are not
	 * printed (a reader without CAP_SYS_ADMIN sees 0). */
	m = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m[0] = m[2 * 4096] = 1;
	int pm = open("/proc/self/pagemap", O_RDONLY);
	CHECK(pm >= 0);
	unsigned long long ent[4];
	T(pread(pm, ent, sizeof ent, (unsigned long)m / 4096 * 8));
	printf("pagemap present:");
	for (int i = 0; i < 4; i++)
		printf(" %llu", ent[i] >> 63);
	printf("\n");
	T(pread(pm, ent, 4, 0));
	T(pread(pm, ent, 8, 4));
	close(pm);
	munmap(m, 4 * 4096);

	/* io: one write of 1000 bytes between two reads of the file. */
	char io1[512], io2[512], data[1000] = {0};
	int null = open("/dev/null", O_WRONLY);
	readInto("/proc/self/io", io1, sizeof io1);
	T(write(null, data, sizeof data) == sizeof data);
	readInto("/proc/self/io", io2, sizeof io2);
	close(null);
	printf("io: wchar +%lld syscw +%lld syscr +%lld\n", field(io2, "wchar") - field(io1, "wchar"),
	       field(io2, "syscw") - field(io1, "syscw"), field(io2, "syscr") - field(io1, "syscr"));
	CHECK(field(io2, "rchar") - field(io1, "rchar") == (long long)strlen(io1));
	CHECK(field(io2, "read_bytes") >= 0 && field(io2, "cancelled_write_bytes") >= 0);

	/* oom_score_adj and oom_adj. */
	printf("oom_score_adj %s, oom_adj %s\n", line("/proc/self/oom_score_adj"), line("/proc/self/oom_adj"));
	long s0 = atol(readInto("/proc/self/oom_score", b, sizeof b));
	T(put_text("/proc/self/oom_score_adj", "500\n"));
	long s1 = atol(readInto("/proc/self/oom_score", b, sizeof b));
	CHECK(s1 - s0 >= 332 && s1 - s0 <= 334);
	printf("oom_score_adj %s, oom_adj %s\n", line("/proc/self/oom_score_adj"), line("/proc/self/oom_adj"));
	T(put_text("/proc/self/oom_adj", "10"));
	printf("oom_score_adj %s, oom_adj %s\n", line("/proc/self/oom_score_adj"), line("/proc/self/oom_adj"));
	T(put_text("/proc/self/oom_adj", "15"));
	printf("oom_score_adj %s, oom_adj %s\n", line("/proc/self/oom_score_adj"), line("/proc/self/oom_adj"));
	T(put_text("/proc/self/oom_score_adj", "1001"));
	T(put_text("/proc/self/oom_score_adj", "abc"));
	T(put_text("/proc/self/oom_adj", "16"));
	T(put_text("/proc/self/oom_score_adj", "300"));
	pid_t child = fork();
	if (child == 0) {
		_exit(strcmp(line("/proc/self/oom_score_adj"), "300") == 0 ? 0 : 1);
	}
	int ws;
	T(waitpid(child, &ws, 0) == child);
	printf("child inherits oom_score_adj: %s\n", WEXITSTATUS(ws) == 0 ? "yes" : "NO");
	T(put_text("/proc/self/oom_score_adj", "0"));

	/* timerslack_ns: the main thread's slack, PR_SET_TIMERSLACK's value;
	 * 0 restores the default; kstrtoull's errors. */
	printf("timerslack_ns %s\n", line("/proc/self/timerslack_ns"));
	T(prctl(PR_SET_TIMERSLACK, 70000));
	printf("timerslack_ns %s\n", line("/proc/self/timerslack_ns"));
	T(put_text("/proc/self/timerslack_ns", "1234\n"));
	T(prctl(PR_GET_TIMERSLACK));
	T(put_text("/proc/self/timerslack_ns", "0"));
	T(prctl(PR_GET_TIMERSLACK));
	T(put_text("/proc/self/timerslack_ns", "abc"));
	T(put_text("/proc/self/timerslack_ns", "-1"));
	T(put_text("/proc/self/timerslack_ns", "99999999999999999999"));
	printf("timerslack_ns %s\n", line("/proc/self/timerslack_ns"));

	/* ns: one link per kind, "kind:[inode]", the same in a child. */
	DIR *d = opendir("/proc/self/ns");
	CHECK(d != NULL);
	struct dirent *de;
	char names[256] = "";
	const char *kinds[] = {"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts"};
	int kindsFound = 0;
	while (d && (de = readdir(d)))
		for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
			kindsFound += strcmp(de->d_name, kinds[i]) == 0;
	if (d)
		closedir(d);
	printf("ns kinds: %d\n", kindsFound);
	char net[64] = "", pid[64] = "", childNet[64] = "", p[64];
	T(readlink("/proc/self/ns/net", net, sizeof net - 1) > 0);
	T(readlink("/proc/self/ns/pid_for_children", pid, sizeof pid - 1) > 0);
	unsigned long ino;
	CHECK(sscanf(net, "net:[%lu]", &ino) == 1);
	CHECK(sscanf(pid, "pid:[%lu]", &ino) == 1);
	child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	snprintf(p, sizeof p, "/proc/%d/ns/net", child);
	T(readlink(p, childNet, sizeof childNet - 1) > 0);
	CHECK(strcmp(net, childNet) == 0);
	kill(child, SIGKILL);
	T(waitpid(child, &ws, 0) == child);
}

int main(int argc, char **argv) {
	setup(argc, argv);

	/* CPUs: glibc's get_nprocs reads /sys/devices/system/cpu/online;
	 * /proc/stat and /proc/cpuinfo list the online CPUs. */
	int online = cpus(line("/sys/devices/system/cpu/online"));
	CHECK(online >= 1);
	CHECK(online == get_nprocs());
	CHECK(cpus(line("/sys/devices/system/cpu/possible")) >= online);
	cpu_set_t set;
	T(sched_getaffinity(0, sizeof set, &set));
	CHECK(CPU_COUNT(&set) >= 1 && CPU_COUNT(&set) <= online);
	CHECK(cpus(line("/sys/devices/system/cpu/cpu0/topology/thread_siblings_list")) >= 1);
	CHECK(cpus(line("/sys/devices/system/cpu/cpu0/topology/core_siblings_list")) >= 1);

	char *pstat = slurp("/proc/stat");
	CHECK(pstat != NULL);
	long long f[10];
	CHECK(sscanf(pstat, "cpu  %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]) == 10);
	int cpuLines = 0;
	for (int i = 0; i < 1024; i++) {
		char name[16];
		snprintf(name, sizeof name, "cpu%d ", i);
		cpuLines += count(pstat, name);
	}
	CHECK(cpuLines == online);
	CHECK(field(pstat, "btime") > 0);
	CHECK(field(pstat, "processes") >= 1);
	CHECK(field(pstat, "procs_running") >= 1);
	CHECK(field(pstat, "procs_blocked") >= 0);
	CHECK(field(pstat, "ctxt") >= 0 && field(pstat, "intr") >= 0);

	char *cpuinfo = slurp("/proc/cpuinfo");
	CHECK(count(cpuinfo, "processor\t:") == online);
	CHECK(count(cpuinfo, "flags\t\t:") == online);
	CHECK(count(cpuinfo, "model name\t:") == online);
	CHECK(count(cpuinfo, "vendor_id\t:") == online);

	/* Memory: meminfo and sysinfo tell the same. */
	char *mem = slurp("/proc/meminfo");
	const char *names[] = {"MemTotal", "MemFree", "MemAvailable", "Buffers", "Cached", "SwapTotal", "SwapFree",
			       "Shmem", "SReclaimable", "Active", "Inactive", "Committed_AS", "CommitLimit", "Hugepagesize"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		printf("meminfo has %s: %s\n", names[i], field(mem, names[i]) >= 0 ? "yes" : "NO");
	long long total = field(mem, "MemTotal");
	CHECK(total > 0 && field(mem, "MemFree") <= total && field(mem, "MemAvailable") <= total);
	struct sysinfo si;
	T(sysinfo(&si));
	CHECK((long long)(si.totalram * si.mem_unit / 1024) == total);
	CHECK(si.freeram * si.mem_unit / 1024 <= (unsigned long long)total);
	CHECK(si.procs >= 1);

	/* Load and time. */
	double l1, l5, l15, up, idle;
	int running, threads, last;
	CHECK(sscanf(line("/proc/loadavg"), "%lf %lf %lf %d/%d %d", &l1, &l5, &l15, &running, &threads, &last) == 6);
	CHECK(l1 >= 0 && l5 >= 0 && l15 >= 0);
	CHECK(running >= 1 && running <= threads);
	CHECK(sscanf(line("/proc/uptime"), "%lf %lf", &up, &idle) == 2);
	CHECK(up >= 0 && idle >= 0);
	CHECK(up - si.uptime < 2 && si.uptime - up < 2);
	long long drift = field(pstat, "btime") + (long long)up - time(NULL);
	CHECK(drift < 3 && drift > -3);

	/* Names: uname and /proc/sys/kernel, /proc/version. */
	struct utsname u;
	T(uname(&u));
	CHECK(strcmp(line("/proc/sys/kernel/osrelease"), u.release) == 0);
	CHECK(strcmp(line("/proc/sys/kernel/ostype"), u.sysname) == 0);
	CHECK(strcmp(line("/proc/sys/kernel/version"), u.version) == 0);
	CHECK(strcmp(line("/proc/sys/kernel/hostname"), u.nodename) == 0);
	char banner[256];
	snprintf(banner, sizeof banner, "Linux version %s ", u.release);
	CHECK(strncmp(line("/proc/version"), banner, strlen(banner)) == 0);
	CHECK(atol(line("/proc/sys/kernel/pid_max")) > getpid());
	CHECK(atol(line("/proc/sys/kernel/cap_last_cap")) >= 37);
	CHECK(strlen(line("/proc/sys/kernel/random/boot_id")) == 36);
	CHECK(strcmp(line("/proc/sys/kernel/random/boot_id"), line("/proc/sys/kernel/random/boot_id")) == 0);
	/* The limits in /proc/sys are the ones the syscalls enforce: Linux's
	 * defaults for System V IPC and pipes, and what limits a pipe's size. */
	const char *limits[] = {"kernel/msgmax", "kernel/msgmnb", "kernel/msgmni", "kernel/shmmni",
				"kernel/shmmax", "kernel/shmall", "fs/pipe-max-size", "fs/inotify/max_queued_events"};
	for (int i = 0; i < sizeof limits / sizeof *limits; i++) {
		char p[64];
		snprintf(p, sizeof p, "/proc/sys/%s", limits[i]);
		printf("%s: %s\n", limits[i], line(p));
	}
	int sp[2];
	T(pipe(sp));
	T(fcntl(sp[0], F_SETPIPE_SZ, atol(line("/proc/sys/fs/pipe-max-size"))) == atol(line("/proc/sys/fs/pipe-max-size")));
	close(sp[0]);
	close(sp[1]);
	long semmsl, semmns, semopm, semmni;
	CHECK(sscanf(line("/proc/sys/kernel/sem"), "%ld %ld %ld %ld", &semmsl, &semmns, &semopm, &semmni) == 4);
	printf("sem: SEMMSL %ld SEMOPM %ld SEMMNI %ld\n", semmsl, semopm, semmni);
	CHECK(semmns >= semmsl);
	CHECK(strcmp(line("/proc/sys/kernel/tainted"), "") != 0);
	char *fss = slurp("/proc/filesystems");
	CHECK(fss && strstr(fss, "\tproc\n") && strstr(fss, "\tsysfs\n"));

	/* Mounts: mountinfo's device numbers are stat's. */
	char *info = slurp("/proc/self/mountinfo");
	char fstype[64] = "";
	struct stat st, st2;
	T(stat("/", &st));
	CHECK(mountDev(info, "/", fstype) == st.st_dev);
	T(stat("/proc", &st));
	CHECK(mountDev(info, "/proc", fstype) == st.st_dev);
	printf("/proc is %s\n", fstype);
	T(stat("/sys", &st));
	CHECK(mountDev(info, "/sys", fstype) == st.st_dev);
	printf("/sys is %s\n", fstype);
	char *mounts = slurp("/proc/self/mounts");
	CHECK(mounts && strstr(mounts, " /proc proc "));
	CHECK(count(info, "") == count(mounts, ""));

	/* Inode numbers: getdents and stat agree, hard links share one. */
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", argv[0]);
	const char *base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	DIR *d = opendir(dirname(dir));
	CHECK(d != NULL);
	T(stat(argv[0], &st));
	struct dirent *e;
	int found = 0;
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, base) == 0)
			found = e->d_ino == st.st_ino ? 1 : -1;
	if (d)
		closedir(d);
	CHECK(found == 1);
	T(link(argv[0], "hardlink"));
	T(stat("hardlink", &st2));
	CHECK(st2.st_ino == st.st_ino && st2.st_dev == st.st_dev);
	T(stat(argv[0], &st));
	CHECK(st2.st_nlink == st.st_nlink && st.st_nlink >= 2);
	T(stat(".", &st2));
	CHECK(st2.st_ino != st.st_ino);

	taskDirs();
	limitsMatch();
	taskMemory();

	/* Process states. */
	CHECK(state(getpid()) == 'R');
	pid_t child = fork();
	if (child == 0) {
		for (;;)
			pause();
	}
	CHECK(waitState(child, 'S'));
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", child);
	char *status = slurp(path);
	CHECK(status && strstr(status, "\nState:\tS (sleeping)\n"));
	T(kill(child, SIGSTOP));
	CHECK(waitState(child, 'T'));
	T(kill(child, SIGKILL));
	int ws;
	T(waitpid(child, &ws, 0) == child);

	/* A zombie: listed, state Z, signals accepted and lost, its memory's
	 * files empty and its links gone; reaped, nothing. */
	child = fork();
	if (child == 0)
		_exit(3);
	CHECK(waitState(child, 'Z'));
	snprintf(path, sizeof path, "/proc/%d/status", child);
	status = slurp(path);
	CHECK(status && strstr(status, "\nState:\tZ (zombie)\n"));
	T(kill(child, SIGTERM));
	T(kill(child, 0));
	char zpath[64], target[256];
	snprintf(zpath, sizeof zpath, "/proc/%d/cmdline", child);
	char *cmd = slurp(zpath);
	CHECK(cmd && *cmd == 0);
	snprintf(zpath, sizeof zpath, "/proc/%d/exe", child);
	T(readlink(zpath, target, sizeof target));
	snprintf(zpath, sizeof zpath, "/proc/%d", child);
	T(access(zpath, F_OK));
	T(waitpid(child, &ws, 0) == child);
	printf("status %d\n", WEXITSTATUS(ws));
	T(kill(child, 0));
	T(access(zpath, F_OK));
	return 0;
}
