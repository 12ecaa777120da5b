/* futex beyond wait/wake: FUTEX_WAKE_OP (every operation and comparison),
 * PI futexes (uncontended, trylock, a timed out and a handed-over lock),
 * robust lists (pthread robust mutexes whose owner dies, a hostile
 * circular list, get/set_robust_list), futex_waitv (checks, values,
 * timeouts, a wake of one of several words), and futexes the process
 * cannot read. */
#include "common.h"
#include <limits.h>
#include <sys/mman.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/wait.h>
#include <time.h>

static long fx(uint32_t *a, int op, uint32_t v, void *t, uint32_t *a2, uint32_t v3) {
	return syscall(SYS_futex, a, op, v, t, a2, v3);
}

static void msleep(long ms) {
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static uint32_t w1, w2, pi;
static uint32_t mytid(void) { return (uint32_t)syscall(SYS_gettid); }

/* waiters_on counts the threads waiting on w without waking them: a
 * requeue that wakes none and moves all onto w itself. */
static long waiters_on(uint32_t *w) { return fx(w, FUTEX_REQUEUE_PRIVATE, 0, (void *)(long)INT_MAX, w, 0); }

/* await_waiters returns once n threads wait on w, as the kernel says:
 * no sleep that a loaded machine could outlast. */
static void await_waiters(uint32_t *w, long n) {
	while (waiters_on(w) < n)
		sched_yield();
}

static void *waiter(void *arg) {
	uint32_t *w = arg;
	long r = fx(w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return (void *)r;
}

/* await_sleep returns once thread tid sleeps (state S in
 * /proc/self/task/TID/stat), as the kernel says. */
static void await_sleep(uint32_t tid) {
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%u/stat", tid);
	for (;;) {
		FILE *f = fopen(path, "r");
		char *paren = NULL;
		if (f) {
			size_t n = fread(buf, 1, sizeof buf - 1, f);
			buf[n] = 0;
			fclose(f);
			paren = strrchr(buf, ')');
		}
		if (paren && paren[1] == ' ' && paren[2] == 'S')
			return;
		sched_yield();
	}
}

static volatile uint32_t pi_other_tid;
static volatile int pi_timed_out;

static void *pi_other(void *arg) {
	long r[4];
	pi_other_tid = mytid();
	r[0] = fx(&pi, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0) == -1 ? errno : 0;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 30000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	r[1] = fx(&pi, FUTEX_LOCK_PI, 0, &ts, NULL, 0) == -1 ? errno : 0;
	printf("thread: trylock %s, timed lock %s, word has waiters %d\n", ename(r[0]), ename(r[1]),
	       (pi & FUTEX_WAITERS) != 0);
	pi_timed_out = 1;
	r[2] = fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0) == -1 ? errno : 0;
	printf("thread: lock %s, owner is me %d, waiters bit %d\n", ename(r[2]),
	       (pi & FUTEX_TID_MASK) == mytid(), (pi & FUTEX_WAITERS) != 0);
	r[3] = fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0) == -1 ? errno : 0;
	printf("thread: unlock %s, word %u\n", ename(r[3]), pi);
	return NULL;
}

static pthread_mutex_t robust;
static volatile int holding;
static void *die_holding(void *arg) {
	printf("thread lock: %d\n", pthread_mutex_lock(&robust));
	holding = 1;
	if (arg)
		msleep(50);
	return NULL;
}

static void robust_case(const char *what, int protocol, int wait_while_held) {
	pthread_mutexattr_t at;
	pthread_mutexattr_init(&at);
	pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
	pthread_mutexattr_setprotocol(&at, protocol);
	pthread_mutex_init(&robust, &at);
	pthread_t th;
	holding = 0;
	pthread_create(&th, NULL, die_holding, wait_while_held ? (void *)1 : NULL);
	if (wait_while_held) {
		/* the owner holds the lock before we ask for it (it dies while we
		 * wait, or before we get there: EOWNERDEAD either way) */
		while (!holding)
			sched_yield();
	} else {
		pthread_join(th, NULL);
	}
	int r = pthread_mutex_lock(&robust);
	printf("%s: lock after the owner died: %s\n", what, ename(r));
	if (wait_while_held)
		pthread_join(th, NULL);
	int c = pthread_mutex_consistent(&robust);
	int u = pthread_mutex_unlock(&robust);
	int l = pthread_mutex_lock(&robust);
	printf("%s: consistent %d, unlock %d, lock %d, unlock %d\n", what, c, u, l, pthread_mutex_unlock(&robust));
}

#define OP(op, oparg, cmp, cmparg) FUTEX_OP(op, oparg, cmp, cmparg)

/* futex_waitv: struct futex_waitv as the kernel declares it. */
struct waitv {
	unsigned long long val, uaddr;
	unsigned flags, reserved;
};

static long waitv(struct waitv *w, unsigned n, unsigned flags, struct timespec *ts, int clock) {
	return syscall(449, w, n, flags, ts, clock);
}

static unsigned vwords[3];

static void *vwaker(void *arg) {
	usleep(100000);
	vwords[2] = 1;
	syscall(SYS_futex, &vwords[2], FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return NULL;
}

/* futexWaitv: errors, a value that differs, a timeout, and a wake of the
 * third of three words. */
static void futexWaitv(void) {
	struct waitv w[3];
	for (int i = 0; i < 3; i++)
		w[i] = (struct waitv){.val = 0, .uaddr = (unsigned long)&vwords[i], .flags = 2 | 128};
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec = 0;
	T(waitv(w, 0, 0, &ts, CLOCK_MONOTONIC));
	T(waitv(w, 129, 0, &ts, CLOCK_MONOTONIC));
	T(waitv(w, 1, 1, &ts, CLOCK_MONOTONIC));
	T(waitv(NULL, 1, 0, &ts, CLOCK_MONOTONIC));
	T(waitv(w, 1, 0, &ts, CLOCK_TAI));
	T(waitv((void *)8, 1, 0, &ts, CLOCK_MONOTONIC));
	w[0].flags = 3;
	T(waitv(w, 1, 0, &ts, CLOCK_MONOTONIC));
	w[0].flags = 2 | 128;
	w[0].reserved = 1;
	T(waitv(w, 1, 0, &ts, CLOCK_MONOTONIC));
	w[0].reserved = 0;
	w[0].uaddr++;
	T(waitv(w, 1, 0, &ts, CLOCK_MONOTONIC));
	w[0].uaddr--;
	w[1].val = 5;
	T(waitv(w, 2, 0, &ts, CLOCK_MONOTONIC));
	w[1].val = 0;
	T(waitv(w, 3, 0, &ts, CLOCK_MONOTONIC)); /* the deadline passed */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 50000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	T(waitv(w, 3, 0, &ts, CLOCK_REALTIME));
	pthread_t th;
	pthread_create(&th, NULL, vwaker, NULL);
	T(waitv(w, 3, 0, NULL, 0));
	pthread_join(th, NULL);
}

/* unreadable: a shared futex's key needs its page (EFAULT when the word
 * is unmapped, PROT_NONE or past the end of a mapped file), a private
 * one only its address (LTP futex_wake05, futex_cmp_requeue03). */
static void unreadable(void) {
	long pg = sysconf(_SC_PAGESIZE);
	char *gone = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(gone, pg);
	char *none = mmap(NULL, pg, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fd = open("futexfile", O_CREAT | O_RDWR, 0644);
	ftruncate(fd, pg);
	char *past = mmap(NULL, pg, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ftruncate(fd, 0);
	struct { const char *name; void *addr; } words[] = {{"unmapped", gone}, {"PROT_NONE", none}, {"truncated", past}};
	for (int i = 0; i < 3; i++) {
		uint32_t *w = words[i].addr;
		printf("%s: ", words[i].name);
		T(fx(w, FUTEX_WAKE, 1, NULL, NULL, 0));
		printf("%s: ", words[i].name);
		T(fx(w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
		printf("%s: ", words[i].name);
		T(fx(&w1, FUTEX_CMP_REQUEUE, 1, (void *)1, w, w1));
		printf("%s: ", words[i].name);
		T(fx(w, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0));
	}
	munmap(none, pg);
	munmap(past, pg);
	close(fd);
}

int main(int argc, char **argv) {
	setup(argc, argv);
	unreadable();

	/* FUTEX_WAKE_OP without waiters: the operations on the second word */
	struct { const char *name; uint32_t op; } ops[] = {
		{"set 5", OP(FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0)},
		{"add 3", OP(FUTEX_OP_ADD, 3, FUTEX_OP_CMP_EQ, 5)},
		{"or 0x30", OP(FUTEX_OP_OR, 0x30, FUTEX_OP_CMP_NE, 8)},
		{"andn 8", OP(FUTEX_OP_ANDN, 8, FUTEX_OP_CMP_LT, 0)},
		{"xor 0xff", OP(FUTEX_OP_XOR, 0xff, FUTEX_OP_CMP_LE, 0x30)},
		{"add -1", OP(FUTEX_OP_ADD, 0xfff, FUTEX_OP_CMP_GT, 0xfff)},
		{"set 1<<4", OP(FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 4, FUTEX_OP_CMP_GE, 0x7ff)},
		{"set 1<<(40&31)", OP(FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 40, FUTEX_OP_CMP_EQ, 16)},
		{"bad op", OP(6, 1, FUTEX_OP_CMP_EQ, 0)},
		{"bad cmp", OP(FUTEX_OP_SET, 9, 7, 0)},
	};
	for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		errno = 0;
		long r = fx(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2, ops[i].op);
		printf("wake_op %s: %ld %s, word %#x\n", ops[i].name, r, r < 0 ? ename(errno) : "", w2);
	}
	T(fx(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, (uint32_t *)((char *)&w2 + 1), 0));
	T(fx(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, BAD, 0));
	T(fx(&w1, FUTEX_WAKE_OP | FUTEX_CLOCK_REALTIME, 1, (void *)1, &w2, 0));

	/* FUTEX_WAKE_OP with waiters on both words */
	pthread_t a, b;
	w1 = w2 = 0;
	pthread_create(&a, NULL, waiter, &w1);
	pthread_create(&b, NULL, waiter, &w2);
	await_waiters(&w1, 1);
	await_waiters(&w2, 1);
	/* requeued onto its own word, a waiter stays there: counted twice */
	T(waiters_on(&w1));
	T(fx(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2, OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_EQ, 1)));
	T(fx(&w1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1, &w2, OP(FUTEX_OP_SET, 0, FUTEX_OP_CMP_EQ, 0)));
	void *ra, *rb;
	pthread_join(a, &ra);
	pthread_join(b, &rb);
	printf("waiters returned %ld %ld\n", (long)ra, (long)rb);

	/* PI, uncontended */
	pi = 0;
	T(fx(&pi, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	CHECK(pi == mytid());
	T(fx(&pi, FUTEX_LOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	T(fx(&pi, FUTEX_TRYLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	T(fx(&pi, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	printf("word %u\n", pi);
	T(fx(&pi, FUTEX_UNLOCK_PI_PRIVATE, 0, NULL, NULL, 0));
	T(fx(&pi, FUTEX_TRYLOCK_PI, 0, NULL, NULL, 0));
	CHECK(pi == mytid());
	T(fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	pi = FUTEX_OWNER_DIED;
	T(fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	CHECK(pi == (mytid() | FUTEX_OWNER_DIED));
	T(fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	printf("word %u\n", pi);
	pi = 0x3ffffff0;
	T(fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	T(fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0));
	T(fx((uint32_t *)((char *)&pi + 2), FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	T(fx(BAD, FUTEX_LOCK_PI, 0, NULL, NULL, 0));

	/* PI, contended: a timed out waiter, then a handover */
	pi = 0;
	T(fx(&pi, FUTEX_LOCK_PI, 0, NULL, NULL, 0));
	pthread_t c;
	pthread_create(&c, NULL, pi_other, NULL);
	/* the handover: unlock once the thread's timed lock is over and it
	 * sleeps in the untimed one, however slow the machine */
	while (!pi_timed_out)
		sched_yield();
	await_sleep(pi_other_tid);
	long unlocked = fx(&pi, FUTEX_UNLOCK_PI, 0, NULL, NULL, 0);
	pthread_join(c, NULL);
	printf("main: unlock %ld\n", unlocked);

	/* robust lists */
	void *head;
	size_t len;
	T(syscall(SYS_get_robust_list, 0, &head, &len));
	printf("len %zu head set %d\n", len, head != NULL);
	T(syscall(SYS_get_robust_list, 0x3ffffff0, &head, &len));
	T(syscall(SYS_get_robust_list, 0, BAD, &len));
	T(syscall(SYS_set_robust_list, head, 23));
	robust_case("robust", PTHREAD_PRIO_NONE, 0);
	robust_case("robust, waiting", PTHREAD_PRIO_NONE, 1);
	robust_case("robust pi", PTHREAD_PRIO_INHERIT, 0);
	robust_case("robust pi, waiting", PTHREAD_PRIO_INHERIT, 1);

	/* a circular list with a lock on it, in a child that exits */
	pid_t pid = fork();
	if (pid == 0) {
		static struct { void *next; uint32_t lock; } node;
		static struct { void *next; long offset; void *pending; } h;
		node.next = &node;
		node.lock = mytid();
		h.next = &node;
		h.offset = 8;
		h.pending = NULL;
		syscall(SYS_set_robust_list, &h, sizeof h);
		_exit(3);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("circular list: exited %d code %d\n", WIFEXITED(st), WEXITSTATUS(st));
	futexWaitv();
	return 0;
}
