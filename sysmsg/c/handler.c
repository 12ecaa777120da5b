/*
 * The stub half of the sysmsg hand-off: the handler of every signal an
 * application thread can get (SIGSYS from the seccomp trap, SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL, SIGTRAP, and SIGCHLD, which the sentry sends to interrupt).
 *
 * It runs on the thread's signal stack, inside the memfd the sentry also maps,
 * so the kernel's signal frame (registers and XSAVE area) is directly visible
 * to the sentry, which reads and edits it in place. The handler publishes
 * where the frame is, flips the state word to EVENT, and waits for RESUME;
 * returning then makes the restorer call rt_sigreturn, which loads the
 * (possibly edited) frame. It touches no memory but its own sysmsg page and
 * the read-only control page, and makes syscalls only through
 * handler_syscall, whose address the thread's seccomp filter allows.
 */
#include <stdint.h>
#include <asm/unistd.h>
#include <asm/prctl.h>
#include <linux/futex.h>
#include <asm/signal.h>
#include <asm/sigcontext.h>
#include <asm/ucontext.h>
#include <asm-generic/errno.h>

#include "sysmsg.h"
#include "../../stub/c/socket.h"

_Static_assert(__builtin_offsetof(struct ucontext, uc_mcontext) + SYSMSG_PF_UC == SYSMSG_PF_MC,
	       "patch frame layout");
_Static_assert(__builtin_offsetof(struct ucontext, uc_sigmask) + SYSMSG_PF_UC == SYSMSG_PF_SIGMASK,
	       "patch frame layout");
_Static_assert(sizeof(struct ucontext) + SYSMSG_PF_UC <= SYSMSG_PF_SI && SYSMSG_PF_SI % 64 == 0 &&
		       SYSMSG_PF_SI + 128 <= SYSMSG_PF_FP, /* sizeof(siginfo_t) */
	       "patch frame layout");
_Static_assert(__builtin_offsetof(struct sigcontext, rip) == 128, "stub_amd64.S SC_RIP");
_Static_assert(__builtin_offsetof(struct sigcontext, fpstate) == 184, "stub_amd64.S SC_FPSTATE");
_Static_assert(__builtin_offsetof(struct sysmsg, set_bases) == 56, "stub_amd64.S MSG_SET");
_Static_assert(__builtin_offsetof(struct sysmsg, new_fs_base) == 64, "stub_amd64.S MSG_NEW_FS");
_Static_assert(__builtin_offsetof(struct sysmsg, new_gs_base) == 72, "stub_amd64.S MSG_NEW_GS");
_Static_assert(__builtin_offsetof(struct sysmsg, sleep) == SYSMSG_SLEEP, "SYSMSG_SLEEP");
_Static_assert(__builtin_offsetof(struct sysmsg, stub_cpu) == SYSMSG_STUB_CPU, "SYSMSG_STUB_CPU");
_Static_assert(__builtin_offsetof(struct sysmsg, sentry_cpu) == SYSMSG_SENTRY_CPU, "SYSMSG_SENTRY_CPU");
_Static_assert(__builtin_offsetof(struct sysmsg, self) == SYSMSG_SELF, "stub_amd64.S SYSMSG_SELF");
_Static_assert(__builtin_offsetof(struct stub_control, fpx_sw) == STUB_CONTROL_FPX_SW, "control");
_Static_assert(__builtin_offsetof(struct stub_control, has_fsgsbase) == STUB_CONTROL_FSGSBASE, "control");

/* The patch entry's code (stub_amd64.S): entering and waiting, then
 * resuming. */
extern const char patch_entry[], patch_published[], patch_resumed[], patch_entry_end[];

long handler_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);

/* The handler's stack is the thread's signal stack, which lies in the same
 * slot as its sysmsg page, so the stack pointer locates the page. The kernel
 * always switches to the signal stack (SA_ONSTACK) unless the thread already
 * runs on it, and then the frame is still inside the slot. */
static inline struct sysmsg *sysmsg_self(void)
{
	uintptr_t sp;
	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	return (struct sysmsg *)(sp & ~(SYSMSG_SLOT_SIZE - 1));
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/* The CPU the thread runs on, as the vDSO's getcpu reads it: the limit of
 * the per-CPU GDT entry (sysmsg/cpu.go), or SYSMSG_CPU_UNKNOWN. */
static inline uint32_t cpu_now(void)
{
	uint32_t p = SYSMSG_CPU_UNKNOWN;
	uint8_t ok;
	__asm__ volatile("lsl %[seg], %[p]\n\tsetz %[ok]"
			 : [p] "+r"(p), [ok] "=q"(ok)
			 : [seg] "r"((uint32_t)SYSMSG_CPUNODE_SEG)
			 : "cc");
	return ok ? (p & 0xfff) : SYSMSG_CPU_UNKNOWN;
}

/* Waits while the state is EVENT: polls it for spin time-stamp counter
 * ticks, or until the sentry says its answer will be long (m->sleep: the
 * task waits in the sentry) or has taken the event on this thread's own
 * CPU (it was preempted there, by this thread: sysmsg/cpu.go), then
 * sleeps. Time, not a count of pauses: a pause takes 10 cycles
 * on some CPUs and 140 on others, and a spin preempted for a time slice
 * must not poll on for all its remaining iterations when it runs again.
 * The difference is unsigned: a counter that went backwards ends the
 * spin. */
static uint32_t wait_for_sentry(struct sysmsg *m, uint32_t spin)
{
	uint32_t s;
	uint64_t start = rdtsc();
	while (spin) {
		s = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
		if (s != SYSMSG_STATE_EVENT)
			return s;
		if (__atomic_load_n(&m->sleep, __ATOMIC_RELAXED))
			break;
		if (__atomic_load_n(&m->sentry_cpu, __ATOMIC_RELAXED) == cpu_now())
			break;
		cpu_relax();
		if (rdtsc() - start >= spin)
			break;
	}
	for (;;) {
		__atomic_store_n(&m->stub_waiting, 1, __ATOMIC_SEQ_CST);
		s = __atomic_load_n(&m->state, __ATOMIC_SEQ_CST);
		if (s == SYSMSG_STATE_EVENT)
			handler_syscall(__NR_futex, (long)&m->state, FUTEX_WAIT,
					SYSMSG_STATE_EVENT, 0, 0, 0);
		__atomic_store_n(&m->stub_waiting, 0, __ATOMIC_RELAXED);
		s = __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
		if (s != SYSMSG_STATE_EVENT)
			return s;
	}
}

static void set_bases(struct sysmsg *m, int has_fsgsbase)
{
	uint32_t set = m->set_bases;
	if (!set)
		return;
	m->set_bases = 0;
	if (set & SYSMSG_SET_FS) {
		if (has_fsgsbase)
			__asm__ volatile("wrfsbase %0" ::"r"(m->new_fs_base));
		else
			handler_syscall(__NR_arch_prctl, ARCH_SET_FS, (long)m->new_fs_base, 0, 0, 0, 0);
	}
	if (set & SYSMSG_SET_GS) {
		if (has_fsgsbase)
			__asm__ volatile("wrgsbase %0" ::"r"(m->new_gs_base));
		else
			handler_syscall(__NR_arch_prctl, ARCH_SET_GS, (long)m->new_gs_base, 0, 0, 0, 0);
	}
}

/* A signal interrupted the patch entry after the sentry resumed the thread:
 * finish the resume into this signal's frame (the bases, the registers and
 * the FP state the sentry wrote into the patch frame), so that the sentry
 * sees the application's state and returning resumes it. */
static void finish_patch_resume(struct sysmsg *m, struct ucontext *uc, const volatile struct stub_control *ctl,
				int has_fsgsbase)
{
	struct ucontext *pf = (struct ucontext *)((char *)m + SYSMSG_PATCH_FRAME + SYSMSG_PF_UC);
	uint64_t *dst = (uint64_t *)&uc->uc_mcontext;
	const uint64_t *src = (const uint64_t *)&pf->uc_mcontext;
	for (unsigned i = 0; i < __builtin_offsetof(struct sigcontext, err) / 8; i++)
		dst[i] = src[i];
	uint32_t size = *(const volatile uint32_t *)&ctl->fpx_sw[16] & 0x7fff;
	volatile char *fd = (volatile char *)uc->uc_mcontext.fpstate;
	const volatile char *fs = (const volatile char *)m + SYSMSG_PATCH_FRAME + SYSMSG_PF_FP;
	for (uint32_t i = 0; i < size; i++)
		if (i < 464 || i >= 512)
			fd[i] = fs[i];
	set_bases(m, has_fsgsbase);
}

/* The descriptor of a file mapping left to this resume, which the sentry
 * sent ahead on the control socket (one byte, one SCM_RIGHTS descriptor),
 * or -errno. The syscall thread reads the socket only for a request, and
 * the sentry posts none while a call waits for a resume. It never waits:
 * with nothing there (a forged call) the call fails; another message (a
 * forged call that took a batch's or a fork's) fails it too, and the
 * descriptors that came with it (at most two fit) are closed. */
static long recv_call_fd(void)
{
	char byte;
	struct stub_iovec iov = {&byte, 1};
	union {
		struct stub_cmsghdr h;
		char buf[sizeof(struct stub_cmsghdr) + 2 * sizeof(int)];
	} c;
	struct stub_msghdr msg = {0, 0, &iov, 1, &c, sizeof(c), 0};
	long n = handler_syscall(__NR_recvmsg, STUB_CTL_FD, (long)&msg, STUB_MSG_CMSG_CLOEXEC | STUB_MSG_DONTWAIT, 0, 0, 0);
	if (n < 0)
		return n;
	int *fds = (int *)(c.buf + sizeof(struct stub_cmsghdr));
	long nfds = 0;
	if (msg.controllen >= sizeof(struct stub_cmsghdr) && c.h.level == STUB_SOL_SOCKET &&
	    c.h.type == STUB_SCM_RIGHTS && c.h.len >= sizeof(struct stub_cmsghdr) &&
	    c.h.len <= msg.controllen)
		nfds = (c.h.len - sizeof(struct stub_cmsghdr)) / sizeof(int);
	if (n == 1 && nfds == 1 && fds[0] >= 0)
		return fds[0];
	for (long i = 0; i < nfds; i++)
		handler_syscall(__NR_close, fds[i], 0, 0, 0, 0, 0);
	return -EBADMSG;
}

void sysmsg_handler(int signo, void *siginfo, void *ucontext)
{
	const volatile struct stub_control *ctl = (const volatile struct stub_control *)SYSMSG_REGION;
	struct sysmsg *m = sysmsg_self();
	int has_fsgsbase = ctl->has_fsgsbase;
	struct ucontext *uc = ucontext;
	const char *rip = (const char *)uc->uc_mcontext.rip;

	if (signo == SIGCHLD && rip >= patch_entry && rip < patch_published) {
		/* The thread is on its way to publishing a stop: the
		 * sentry's interrupt is answered by that stop. */
		return;
	}
	if (signo == SIGCHLD && rip >= patch_published && rip < patch_resumed) {
		/* The stop is published, and the thread waits for its answer
		 * (or was about to wake the sentry, or has its answer and has
		 * not acted on it): wait here instead, then resume as below,
		 * so that the interrupt is reported, not dropped. */
		if (__atomic_load_n(&m->sentry_waiting, __ATOMIC_SEQ_CST))
			handler_syscall(__NR_futex, (long)&m->state, FUTEX_WAKE, 1, 0, 0, 0);
		if (wait_for_sentry(m, ctl->spin_limit) == SYSMSG_STATE_EXIT)
			for (;;)
				handler_syscall(__NR_exit, 0, 0, 0, 0, 0, 0);
		finish_patch_resume(m, uc, ctl, has_fsgsbase);
	} else if (signo == SIGCHLD && rip >= patch_resumed && rip < patch_entry_end)
		finish_patch_resume(m, uc, ctl, has_fsgsbase);

	m->signo = (uint32_t)signo;
	m->siginfo = (uint64_t)siginfo;
	m->ucontext = (uint64_t)ucontext;
	if (has_fsgsbase) {
		uint64_t fs, gs;
		__asm__ volatile("rdfsbase %0" : "=r"(fs));
		__asm__ volatile("rdgsbase %0" : "=r"(gs));
		m->fs_base = fs;
		m->gs_base = gs;
	}

	m->stub_cpu = cpu_now();
	__atomic_store_n(&m->sentry_cpu, SYSMSG_CPU_NONE, __ATOMIC_RELAXED);
	__atomic_store_n(&m->state, SYSMSG_STATE_EVENT, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&m->sentry_waiting, __ATOMIC_SEQ_CST))
		handler_syscall(__NR_futex, (long)&m->state, FUTEX_WAKE, 1, 0, 0, 0);

	/* A syscall the sentry answers without blocking takes from under a
	 * microsecond (getppid) to tens (a pipe write that wakes the reader's
	 * goroutine is 23us on the 2-core VM, a pread is a host pread and a
	 * process_vm_writev); one that blocks is not answered soon at all. A
	 * handler that falls asleep first costs the sentry a FUTEX_WAKE (in a
	 * pipe ping-pong a quarter of the sentry's CPU went to them) and the
	 * thread a wake-up. So the handler spins as long as the syscall thread
	 * does, 46us (sysmsg.StubSpin): against half that, in two rounds of
	 * alternating runs, pipe ping-pong took 132-155us against 166-175us,
	 * the TCP round trip 195us against 232us, thread create 299-304us
	 * against 322-380us, futex ping-pong 39-40us against 44us, each with
	 * less CPU, and with two busy loops beside it getppid 6-7us against
	 * 10-13us, the bash loop the same. (Earlier, before stub threads were
	 * lent and execve's mappings batched, the half spin was the faster.) */
	uint32_t s = wait_for_sentry(m, ctl->spin_limit);
	if (s == SYSMSG_STATE_EXIT)
		for (;;)
			handler_syscall(__NR_exit, 0, 0, 0, 0, 0, 0);
	/* A mapping change the sentry left to this resume
	 * (platform/systrap/resume_call.go): the thread's filter allows only
	 * the calls the sentry leaves here. A refusal is the application's
	 * answer, and the sentry's cue to end the process. */
	if (m->call_nr) {
		long nr = (long)m->call_nr, fd = -1, r = 0;
		m->call_nr = 0;
		if (m->call_fd) {
			m->call_fd = 0;
			r = fd = recv_call_fd();
		}
		if (r >= 0)
			r = handler_syscall(nr, m->call_args[0], m->call_args[1], m->call_args[2],
					    m->call_args[3], fd >= 0 ? fd : (long)m->call_args[4], m->call_args[5]);
		if (fd >= 0)
			handler_syscall(__NR_close, fd, 0, 0, 0, 0, 0);
		m->call_ret = r;
		if ((unsigned long)r > -4096UL)
			uc->uc_mcontext.rax = r;
	}
	set_bases(m, has_fsgsbase);
}
