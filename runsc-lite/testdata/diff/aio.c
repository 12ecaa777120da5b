/* aio: Linux native AIO (io_setup/io_submit/io_getevents/io_pgetevents/
 * io_cancel/io_destroy): the ring mapped at the context's address that
 * libaio reads completions from (head, tail, magic, events), reads and
 * writes of files and pipes, vectors, fsync, poll (completed at once, later,
 * and cancelled), IOCB_FLAG_RESFD eventfd counts, RWF_NOWAIT, the errnos of
 * every syscall, aio-max-nr, a ring the application scribbles over, fork
 * (the child keeps the mapping, not the context) and io_destroy's unmap. */
#include "common.h"
#include <linux/aio_abi.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

struct ring {
	unsigned id, nr, head, tail, magic, compat, incompat, header_length;
	struct io_event events[];
};

static long io_setup(unsigned nr, aio_context_t *ctx) { return syscall(SYS_io_setup, nr, ctx); }
static long io_destroy(aio_context_t ctx) { return syscall(SYS_io_destroy, ctx); }
static long io_submit(aio_context_t ctx, long nr, struct iocb **cbs) { return syscall(SYS_io_submit, ctx, nr, cbs); }
static long io_cancel(aio_context_t ctx, struct iocb *cb, struct io_event *ev) { return syscall(SYS_io_cancel, ctx, cb, ev); }
static long io_getevents(aio_context_t ctx, long min, long max, struct io_event *ev, struct timespec *ts) {
	return syscall(SYS_io_getevents, ctx, min, max, ev, ts);
}
static long io_pgetevents(aio_context_t ctx, long min, long max, struct io_event *ev, struct timespec *ts, void *sig) {
	return syscall(SYS_io_pgetevents, ctx, min, max, ev, ts, sig);
}

static struct iocb prep(int op, int fd, void *buf, size_t n, long off) {
	struct iocb cb;
	memset(&cb, 0, sizeof cb);
	cb.aio_lio_opcode = op;
	cb.aio_fildes = fd;
	cb.aio_buf = (uintptr_t)buf;
	cb.aio_nbytes = n;
	cb.aio_offset = off;
	return cb;
}

/* submit1 submits one iocb and prints the result. */
static long submit1(const char *what, aio_context_t ctx, struct iocb *cb) {
	struct iocb *cbs[1] = {cb};
	errno = 0;
	long r = io_submit(ctx, 1, cbs);
	if (r < 0)
		printf("submit %s = -1 %s\n", what, ename(errno));
	else
		printf("submit %s = %ld\n", what, r);
	return r;
}

/* reap takes up to max events without waiting and prints them: the iocb
 * they belong to (its index in cbs), data and result. */
static long reap(aio_context_t ctx, long min, long max, struct iocb **cbs, int ncbs, struct timespec *ts) {
	struct io_event ev[16];
	errno = 0;
	long r = io_getevents(ctx, min, max, ev, ts);
	if (r < 0) {
		printf("getevents = -1 %s\n", ename(errno));
		return r;
	}
	printf("getevents = %ld\n", r);
	/* In iocb order: Linux completes fsyncs from a work queue, later. */
	for (long i = 1; i < r; i++)
		for (long j = i; j > 0 && ev[j].obj < ev[j - 1].obj; j--) {
			struct io_event x = ev[j];
			ev[j] = ev[j - 1], ev[j - 1] = x;
		}
	for (long i = 0; i < r; i++) {
		int which = -1;
		for (int j = 0; j < ncbs; j++)
			if (ev[i].obj == (uintptr_t)cbs[j])
				which = j;
		long res = (long)ev[i].res;
		if (res < 0)
			printf("  event cb%d data=%llu res=-%s res2=%lld\n", which, (unsigned long long)ev[i].data, ename(-res), (long long)ev[i].res2);
		else
			printf("  event cb%d data=%llu res=%ld res2=%lld\n", which, (unsigned long long)ev[i].data, res, (long long)ev[i].res2);
	}
	return r;
}

static struct timespec zero = {0, 0};

static void ring_facts(aio_context_t ctx, const char *when) {
	struct ring *r = (struct ring *)ctx;
	printf("%s: magic=%#x compat=%u incompat=%u header=%u head=%u tail=%u nr>=min:%s\n", when, r->magic, r->compat,
	       r->incompat, r->header_length, r->head, r->tail, r->nr >= 2 ? "yes" : "NO");
}

/* maps_has_aio says whether /proc/self/maps shows an [aio] mapping at addr. */
static int maps_has_aio(unsigned long addr) {
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	int found = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long s, e;
		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && s == addr && strstr(line, "[aio]"))
			found = 1;
	}
	if (f)
		fclose(f);
	return found;
}

static volatile int alarms;
static void on_alarm(int sig) { alarms++; }

static void errors(void) {
	aio_context_t ctx = 0, bad = 0;
	printf("-- errors\n");
	T(io_setup(1, NULL));
	ctx = 1;
	T(io_setup(1, &ctx));
	ctx = 0;
	T(io_setup(0, &ctx));
	T(io_setup(-1, &ctx));
	T(io_setup(65537, &ctx));
	T(io_setup(0x7fffffff, &ctx));
	T(io_setup(1, (aio_context_t *)BAD));
	T(io_destroy(0));
	T(io_destroy(~0UL));
	T(io_destroy((aio_context_t)&bad));
	T(io_getevents(0, 0, 0, NULL, NULL));
	T(io_cancel(0, NULL, NULL));
	T(io_submit(0, 1, NULL));
	T(io_pgetevents(0, 1, 1, NULL, NULL, NULL));

	T(io_setup(1, &ctx));
	CHECK(ctx != 0 && ctx % 4096 == 0);
	CHECK(maps_has_aio(ctx));
	ring_facts(ctx, "fresh");
	int fd = open("f", O_RDWR | O_CREAT, 0644);
	int ro = open("f", O_RDONLY);
	int wo = open("f", O_WRONLY);
	char buf[64];
	struct iocb cb = prep(IOCB_CMD_PREAD, fd, buf, sizeof buf, 0), *cbs[1] = {&cb}, *nulls[1] = {NULL};
	struct io_event ev[4];
	T(io_submit(ctx, -1, cbs));
	T(io_submit(ctx, 0, NULL));
	T(io_submit(ctx, 1, (struct iocb **)-1L));
	T(io_submit(ctx, 1, (struct iocb **)BAD));
	T(io_submit(ctx, 1, nulls));
	struct iocb c2 = prep(IOCB_CMD_PREAD, -1, buf, 8, 0);
	submit1("bad fd", ctx, &c2);
	c2 = prep(IOCB_CMD_PREAD, 1000, buf, 8, 0);
	submit1("closed fd", ctx, &c2);
	c2 = prep(IOCB_CMD_PWRITE, ro, buf, 8, 0);
	submit1("write on O_RDONLY", ctx, &c2);
	c2 = prep(IOCB_CMD_PREAD, wo, buf, 8, 0);
	submit1("read on O_WRONLY", ctx, &c2);
	c2 = prep(99, fd, buf, 8, 0);
	submit1("opcode 99", ctx, &c2);
	c2 = prep(IOCB_CMD_PREAD, fd, buf, 8, 0);
	c2.aio_reserved2 = 1;
	submit1("reserved2", ctx, &c2);
	c2 = prep(IOCB_CMD_PREAD, fd, buf, 8, 0);
	c2.aio_nbytes = (uint64_t)-1;
	submit1("nbytes -1", ctx, &c2);
	c2 = prep(IOCB_CMD_PREAD, fd, buf, 8, -1);
	submit1("offset -1", ctx, &c2);
	c2 = prep(IOCB_CMD_PREAD, fd, (void *)0xffffffffffff0000UL, 8, 0);
	submit1("kernel buffer", ctx, &c2);
	c2 = prep(IOCB_CMD_PREAD, fd, buf, 8, 0);
	c2.aio_rw_flags = 0x80000000;
	submit1("rw_flags unknown", ctx, &c2);
	c2 = prep(IOCB_CMD_PREAD, fd, buf, 8, 0);
	c2.aio_flags = IOCB_FLAG_RESFD;
	c2.aio_resfd = fd;
	submit1("resfd not an eventfd", ctx, &c2);
	c2.aio_resfd = 1000;
	submit1("resfd closed", ctx, &c2);
	c2 = prep(IOCB_CMD_FSYNC, fd, buf, 0, 0);
	submit1("fsync with buf", ctx, &c2);
	c2 = prep(IOCB_CMD_FDSYNC, fd, NULL, 0, 8);
	submit1("fdsync with offset", ctx, &c2);
	int p[2];
	pipe(p);
	c2 = prep(IOCB_CMD_FSYNC, p[0], NULL, 0, 0);
	submit1("fsync of a pipe", ctx, &c2);
	c2 = prep(IOCB_CMD_POLL, fd, (void *)0x10000, 0, 0);
	submit1("poll events past 16 bits", ctx, &c2);
	c2 = prep(IOCB_CMD_POLL, fd, (void *)POLLIN, 1, 0);
	submit1("poll with nbytes", ctx, &c2);
	struct iocb ro_key = prep(IOCB_CMD_PREAD, fd, buf, 8, 0);
	void *rop = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(rop, &ro_key, sizeof ro_key);
	mprotect(rop, 4096, PROT_READ);
	submit1("iocb read-only (aio_key)", ctx, (struct iocb *)rop);
	reap(ctx, 0, 4, NULL, 0, &zero);

	printf("-- getevents errors\n");
	T(io_getevents(ctx, 1, 0, ev, &zero));
	T(io_getevents(ctx, -1, 1, ev, &zero));
	T(io_getevents(ctx, 0, -1, ev, &zero));
	T(io_getevents(ctx, 0, 1, ev, (struct timespec *)BAD));
	T(io_getevents(ctx, 0, 0, ev, NULL));
	T(io_getevents(ctx, 0, 1, ev, &zero));
	struct timespec shortwait = {0, 20000000};
	T(io_getevents(ctx, 1, 1, ev, &shortwait));
	sigset_t none;
	sigemptyset(&none);
	struct { sigset_t *set; size_t size; } ss = {&none, 8}, badsize = {&none, 4}, badset = {BAD, 8};
	T(io_pgetevents(ctx, 0, 1, ev, &zero, &ss));
	T(io_pgetevents(ctx, 0, 1, ev, &zero, &badsize));
	T(io_pgetevents(ctx, 0, 1, ev, &zero, &badset));
	T(io_pgetevents(ctx, 0, 1, ev, &zero, BAD));
	T(io_pgetevents(ctx, 0, 1, ev, BAD, &ss));
	T(io_pgetevents(ctx, 1, 0, ev, &zero, &ss));
	/* An event in the ring and nowhere to put it. */
	c2 = prep(IOCB_CMD_PWRITE, fd, "x", 1, 0);
	submit1("one byte", ctx, &c2);
	T(io_getevents(ctx, 1, 1, NULL, &zero));
	T(io_getevents(ctx, 1, 1, BAD, &zero));
	ring_facts(ctx, "after EFAULT");
	cbs[0] = &c2;
	reap(ctx, 1, 1, cbs, 1, &zero);
	T(io_cancel(ctx, &c2, ev));
	c2.aio_key = 1;
	T(io_cancel(ctx, &c2, ev));
	T(io_cancel(ctx, BAD, ev));
	T(io_destroy(ctx));
	T(io_destroy(ctx));
	CHECK(!maps_has_aio(ctx));
	T(io_getevents(ctx, 0, 1, ev, &zero));
	close(fd), close(ro), close(wo), close(p[0]), close(p[1]);
}

static void io(void) {
	printf("-- reads and writes\n");
	aio_context_t ctx = 0;
	T(io_setup(8, &ctx));
	int fd = open("g", O_RDWR | O_CREAT | O_TRUNC, 0644);
	char a[16] = "hello, world!", b[16], c[16];
	memset(b, 0, sizeof b), memset(c, 0, sizeof c);
	struct iocb w = prep(IOCB_CMD_PWRITE, fd, a, 13, 100);
	w.aio_data = 7;
	struct iovec rv[2] = {{b, 5}, {c, 8}};
	struct iocb r = prep(IOCB_CMD_PREADV, fd, rv, 2, 100);
	r.aio_data = 8;
	struct iovec wv[2] = {{"ab", 2}, {"cde", 3}};
	struct iocb wvcb = prep(IOCB_CMD_PWRITEV, fd, wv, 2, 0);
	struct iocb fs = prep(IOCB_CMD_FSYNC, fd, NULL, 0, 0);
	struct iocb fds = prep(IOCB_CMD_FDSYNC, fd, NULL, 0, 0);
	struct iocb past = prep(IOCB_CMD_PREAD, fd, b, 16, 4096);
	struct iocb badbuf = prep(IOCB_CMD_PREAD, fd, BAD, 16, 100);
	struct iocb badvec = prep(IOCB_CMD_PREADV, fd, BAD, 1, 0);
	struct iocb *cbs[] = {&w, &r, &wvcb, &fs, &fds, &past, &badbuf, &badvec};
	T(io_submit(ctx, 6, cbs));
	reap(ctx, 6, 16, cbs, 8, NULL);
	printf("read: '%s' '%s'\n", b, c);
	ring_facts(ctx, "reaped");
	submit1("bad buffer", ctx, &badbuf);
	submit1("bad vector", ctx, &badvec);
	reap(ctx, 0, 16, cbs, 8, &zero);
	struct stat st;
	fstat(fd, &st);
	printf("size %ld\n", (long)st.st_size);
	char all[8] = {0};
	pread(fd, all, 5, 0);
	printf("start '%s'\n", all);
	/* Consume through the ring, as libaio does when the magic matches. */
	struct ring *rg = (struct ring *)ctx;
	submit1("write again", ctx, &w);
	unsigned head = rg->head, tail = rg->tail;
	printf("ring has %u\n", (tail + rg->nr - head) % rg->nr);
	struct io_event *e = &rg->events[head];
	printf("ring event data=%llu res=%lld obj_is_w=%s\n", (unsigned long long)e->data, (long long)e->res, e->obj == (uintptr_t)&w ? "yes" : "NO");
	rg->head = (head + 1) % rg->nr;
	reap(ctx, 0, 16, cbs, 8, &zero);
	close(fd);
	T(io_destroy(ctx));
}

static void full(void) {
	printf("-- a full ring\n");
	aio_context_t ctx = 0;
	T(io_setup(1, &ctx));
	struct ring *rg = (struct ring *)ctx;
	int fd = open("h", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct iocb cb = prep(IOCB_CMD_PWRITE, fd, "z", 1, 0), *cbs[1] = {&cb};
	unsigned n = 0;
	while (n < 100000 && io_submit(ctx, 1, cbs) == 1)
		n++;
	/* Linux hands out slots in per-CPU batches: at least what was asked
	 * for, never more than the ring holds. */
	printf("submitted until %s; within [1, nr-1]: %s\n", ename(errno), n >= 1 && n <= rg->nr - 1 ? "yes" : "NO");
	long got = 0, r;
	struct io_event ev[64];
	while ((r = io_getevents(ctx, 0, 64, ev, &zero)) > 0)
		got += r;
	printf("reaped all: %s\n", got == n ? "yes" : "NO");
	T(io_submit(ctx, 1, cbs));
	/* io_submit's nr is cut at the ring's size. */
	struct iocb *many[4096];
	for (int i = 0; i < 4096; i++)
		many[i] = &cb;
	long sub = io_submit(ctx, 4096, many);
	printf("submitted within [1, nr-1]: %s\n", sub >= 1 && sub <= (long)rg->nr - 1 ? "yes" : "NO");
	while ((r = io_getevents(ctx, 0, 64, ev, &zero)) > 0)
		;
	/* A ring the application scribbles on. */
	rg->head = 0xffffffff;
	rg->tail = 0x7fffffff;
	r = io_getevents(ctx, 0, 64, ev, &zero);
	printf("scribbled ring: getevents %s\n", r >= 0 && r <= 64 ? "bounded" : "NOT bounded");
	rg->head = rg->tail = 0;
	rg->id = 12345;
	T(io_submit(ctx, 1, cbs));
	T(io_destroy(ctx));
	rg->id = 0;
	T(io_destroy(ctx));
	close(fd);
}

static void pipes(void) {
	printf("-- pipes, eventfd, poll\n");
	aio_context_t ctx = 0;
	T(io_setup(4, &ctx));
	int p[2];
	pipe(p);
	int efd = eventfd(0, 0);
	char buf[32] = {0};
	struct iocb nw = prep(IOCB_CMD_PREAD, p[0], buf, sizeof buf, 12345);
	nw.aio_rw_flags = RWF_NOWAIT;
	struct iocb rd = prep(IOCB_CMD_PREAD, p[0], buf, sizeof buf, 0);
	rd.aio_flags = IOCB_FLAG_RESFD;
	rd.aio_resfd = efd;
	struct iocb pl = prep(IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0);
	pl.aio_data = 42;
	pl.aio_flags = IOCB_FLAG_RESFD;
	pl.aio_resfd = efd;
	struct iocb plw = prep(IOCB_CMD_POLL, p[1], (void *)POLLOUT, 0, 0);
	struct iocb pc = prep(IOCB_CMD_POLL, p[0], (void *)POLLIN, 0, 0);
	struct iocb *cbs[] = {&nw, &rd, &pl, &plw, &pc};
	submit1("nowait read of an empty pipe", ctx, &nw);
	reap(ctx, 1, 1, cbs, 5, NULL);
	submit1("poll for input", ctx, &pl);
	submit1("poll for output", ctx, &plw);
	reap(ctx, 0, 4, cbs, 5, &zero);
	uint64_t cnt = 0;
	struct pollfd pf = {efd, POLLIN, 0};
	T(poll(&pf, 1, 0));
	write(p[1], "data", 4);
	reap(ctx, 1, 1, cbs, 5, NULL);
	T(read(efd, &cnt, 8));
	printf("eventfd count %llu\n", (unsigned long long)cnt);
	submit1("read with resfd", ctx, &rd);
	printf("read '%s'\n", buf);
	reap(ctx, 1, 1, cbs, 5, NULL);
	T(read(efd, &cnt, 8));
	printf("eventfd count %llu\n", (unsigned long long)cnt);
	submit1("poll to cancel", ctx, &pc);
	T(io_cancel(ctx, &pc, NULL));
	T(io_cancel(ctx, &pc, NULL));
	reap(ctx, 1, 1, cbs, 5, NULL);
	/* A poll outstanding at io_destroy is cancelled; destroy waits. */
	submit1("poll left pending", ctx, &pc);
	T(io_destroy(ctx));
	close(p[0]), close(p[1]), close(efd);
}

static void forked(void) {
	printf("-- fork and signals\n");
	aio_context_t ctx = 0;
	T(io_setup(2, &ctx));
	int fd = open("k", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct iocb cb = prep(IOCB_CMD_PWRITE, fd, "q", 1, 0), *cbs[1] = {&cb};
	pid_t pid = fork();
	if (pid == 0) {
		struct io_event ev;
		printf("child: ring mapped %s, magic %s\n", maps_has_aio(ctx) ? "yes" : "no", ((struct ring *)ctx)->magic == 0xa10a10a1 ? "yes" : "no");
		T(io_submit(ctx, 1, cbs));
		T(io_getevents(ctx, 0, 1, &ev, &zero));
		T(io_destroy(ctx));
		aio_context_t mine = 0;
		printf("child: own setup %ld\n", io_setup(1, &mine));
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	T(io_submit(ctx, 1, cbs));
	reap(ctx, 1, 1, cbs, 1, NULL);
	/* A signal with a handler interrupts a wait: EINTR from both. */
	struct sigaction sa = {0};
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct io_event ev;
	struct itimerval it = {{0, 0}, {0, 20000}};
	struct timespec t2 = {2, 0};
	setitimer(ITIMER_REAL, &it, NULL);
	T(io_getevents(ctx, 1, 1, &ev, &t2));
	sigset_t none;
	sigemptyset(&none);
	struct { sigset_t *set; size_t size; } ss = {&none, 8};
	setitimer(ITIMER_REAL, &it, NULL);
	T(io_pgetevents(ctx, 1, 1, &ev, &t2, &ss));
	/* The mask io_pgetevents installs blocks the alarm for the wait. */
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	ss.set = &alrm;
	struct timespec t100 = {0, 100000000};
	alarms = 0;
	setitimer(ITIMER_REAL, &it, NULL);
	T(io_pgetevents(ctx, 1, 1, &ev, &t100, &ss));
	printf("alarms after the masked wait: %d\n", alarms);
	T(io_destroy(ctx));
	close(fd);
}

static void moved(void) {
	printf("-- mremap of a ring\n");
	aio_context_t ctx = 0;
	T(io_setup(4, &ctx));
	size_t len = 4096;
	while (((struct ring *)ctx)->nr * 32 + 32 > len)
		len += 4096;
	int fd = open("m", O_RDWR | O_CREAT | O_TRUNC, 0644);
	struct iocb cb = prep(IOCB_CMD_PWRITE, fd, "w", 1, 0), *cbs[1] = {&cb};
	CHECK(mremap((void *)ctx, len, len + 4096, MREMAP_MAYMOVE) == MAP_FAILED && errno == EFAULT);
	void *dst = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mremap((void *)ctx, len, len, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, dst) == MAP_FAILED && errno == EINVAL);
	void *to = mremap((void *)ctx, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	CHECK(to == dst);
	T(io_submit(ctx, 1, cbs));
	aio_context_t nctx = (aio_context_t)to;
	T(io_submit(nctx, 1, cbs));
	reap(nctx, 1, 1, cbs, 1, NULL);
	ring_facts(nctx, "moved");
	pid_t pid = fork();
	if (pid == 0) {
		void *again = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		CHECK(mremap(to, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, again) == MAP_FAILED && errno == EINVAL);
		fflush(stdout);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	T(io_destroy(ctx));
	T(io_destroy(nctx));
	close(fd);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	errors();
	io();
	full();
	pipes();
	forked();
	moved();
	return 0;
}
