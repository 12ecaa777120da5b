/* sigaltstack(2) as Linux has it (kernel/signal.c do_sigaltstack,
 * __save_altstack, restore_altstack): the flags a query reports
 * (SS_DISABLE, SS_ONSTACK, SS_AUTODISARM kept), the modes accepted
 * (0, SS_ONSTACK, SS_DISABLE), EPERM on the stack, ENOMEM below
 * MINSIGSTKSZ, what a signal frame saves in uc_stack, SS_AUTODISARM's
 * disarm and rt_sigreturn's restore of the saved stack, and what fork
 * and a thread inherit. */
#include "common.h"
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <ucontext.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)
#endif

static char stack1[65536] __attribute__((aligned(16)));
static char stack2[65536] __attribute__((aligned(16)));

static const char *which(const void *p) {
	if (p == NULL)
		return "null";
	if (p == stack1)
		return "stack1";
	if (p == stack2)
		return "stack2";
	return "other";
}

static void show(const char *what, const stack_t *s) {
	printf("%s: sp %s size %zu flags %#x\n", what, which(s->ss_sp), s->ss_size, (unsigned)s->ss_flags);
}

static void query(const char *what) {
	stack_t o;
	memset(&o, 0x55, sizeof o);
	if (sigaltstack(NULL, &o))
		printf("%s: %s\n", what, ename(errno));
	else
		show(what, &o);
}

static int set(void *sp, size_t size, int flags) {
	stack_t s = {.ss_sp = sp, .ss_size = size, .ss_flags = flags};
	return sigaltstack(&s, NULL);
}

static int on(const char *stack, const void *p) {
	return (const char *)p >= stack && (const char *)p < stack + 65536;
}

static int nested_done;

static void handler(int sig, siginfo_t *si, void *ctx) {
	ucontext_t *uc = ctx;
	char local;
	(void)si;
	printf("handler %d on stack1 %d on stack2 %d\n", sig, on(stack1, &local), on(stack2, &local));
	show("  uc_stack", &uc->uc_stack);
	query("  in handler");
	stack_t s = {.ss_sp = stack2, .ss_size = sizeof stack2};
	int r = sigaltstack(&s, NULL);
	printf("  set in handler = %d%s%s\n", r, r ? " " : "", r ? ename(errno) : "");
	if (sig == SIGUSR1 && !nested_done) {
		nested_done = 1;
		raise(SIGUSR2);
	}
}

/* edit: a handler on the normal stack that rewrites the saved uc_stack */
static void edit(int sig, siginfo_t *si, void *ctx) {
	ucontext_t *uc = ctx;
	(void)sig;
	(void)si;
	show("  edit sees uc_stack", &uc->uc_stack);
	uc->uc_stack.ss_sp = stack2;
	uc->uc_stack.ss_size = 8192;
	uc->uc_stack.ss_flags = 0;
}

/* badedit: a rewritten uc_stack that sigaltstack would refuse */
static void badedit(int sig, siginfo_t *si, void *ctx) {
	ucontext_t *uc = ctx;
	(void)sig;
	(void)si;
	uc->uc_stack.ss_sp = stack1;
	uc->uc_stack.ss_size = 100;
	uc->uc_stack.ss_flags = 0;
}

static void *thread(void *arg) {
	(void)arg;
	query("thread");
	return NULL;
}

static void act(int sig, void (*h)(int, siginfo_t *, void *), int flags) {
	struct sigaction sa = {.sa_sigaction = h, .sa_flags = SA_SIGINFO | flags};
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

int main(void) {
	query("initial");
	T(set(stack1, 1000, 0));
	T(set(stack1, 2047, 0));
	T(set(stack1, 2048, 7));
	T(set(stack1, 2048, SS_ONSTACK | 4));
	T(set(stack1, sizeof stack1, SS_ONSTACK));
	query("set with SS_ONSTACK");
	T(set(stack2, 4096, SS_DISABLE));
	query("disabled");
	T(set(stack2, 10, SS_DISABLE | SS_AUTODISARM));
	query("disabled, autodisarm");
	T(set(stack1, sizeof stack1, 0));
	query("set");
	T(sigaltstack(NULL, NULL));
	T(sigaltstack((stack_t *)8, NULL));
	T(sigaltstack(NULL, (stack_t *)8));

	printf("-- a handler on the stack, and one nested in it\n");
	act(SIGUSR1, handler, SA_ONSTACK);
	act(SIGUSR2, handler, SA_ONSTACK);
	raise(SIGUSR1);
	query("after");

	printf("-- SS_AUTODISARM\n");
	T(set(stack1, sizeof stack1, SS_AUTODISARM));
	query("armed");
	nested_done = 0;
	raise(SIGUSR1);
	query("after");

	printf("-- a handler rewrites the saved stack\n");
	T(set(stack1, sizeof stack1, 0));
	act(SIGHUP, edit, 0);
	raise(SIGHUP);
	query("after edit");
	act(SIGHUP, badedit, 0);
	raise(SIGHUP);
	query("after a bad edit");
	act(SIGHUP, edit, SA_ONSTACK);
	T(set(stack1, sizeof stack1, 0));
	raise(SIGHUP);
	query("after an edit on the stack");

	printf("-- fork and threads\n");
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		query("child");
		fflush(stdout);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	pthread_t th;
	pthread_create(&th, NULL, thread, NULL);
	pthread_join(th, NULL);
	return 0;
}
