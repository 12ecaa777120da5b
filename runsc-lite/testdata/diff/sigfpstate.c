/* The FP/SSE state across signal delivery and rt_sigreturn: a handler
 * starts with a fresh state (MXCSR 0x1f80, x87 control word 0x37f, vector
 * registers zero), its frame's fpregs hold the interrupted state, changes
 * the handler makes to its registers are gone after it returns, changes it
 * makes to the frame's fpregs are what the interrupted code sees, and a
 * signal nested in a handler keeps the outer handler's state. Repeated, so
 * that every delivery and return goes the same way (a sandbox that reuses
 * buffers or state objects across signals must not leak one signal's state
 * into the next). */
#include "common.h"
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>

static uint32_t get_mxcsr(void) {
	uint32_t v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v;
}

static void set_mxcsr(uint32_t v) { __asm__ volatile("ldmxcsr %0" ::"m"(v)); }

static uint16_t get_fcw(void) {
	uint16_t v;
	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}

static void set_fcw(uint16_t v) { __asm__ volatile("fldcw %0" ::"m"(v)); }

/* What the handlers saw, for main to print. */
static volatile uint32_t h_mxcsr, h_frame_mxcsr, h_nested_ok;
static volatile uint16_t h_fcw;
static volatile uint64_t h_xmm8, h_frame_xmm8, h_after_nested;
static volatile int edit_frame;

static void usr2(int sig, siginfo_t *si, void *ucv) {
	uint64_t x;
	__asm__ volatile("movq %%xmm8, %0" : "=r"(x));
	/* Nested: fresh state too, whatever the outer handler had. */
	h_nested_ok = (x == 0 && get_mxcsr() == 0x1f80);
	x = 0x2222;
	__asm__ volatile("movq %0, %%xmm8" ::"r"(x) : "xmm8");
	set_mxcsr(0x1f80 | 0x6000);
}

static void usr1(int sig, siginfo_t *si, void *ucv) {
	ucontext_t *uc = ucv;
	uint64_t x;
	__asm__ volatile("movq %%xmm8, %0" : "=r"(x));
	h_xmm8 = x;
	h_mxcsr = get_mxcsr();
	h_fcw = get_fcw();
	h_frame_mxcsr = uc->uc_mcontext.fpregs->mxcsr;
	memcpy((void *)&h_frame_xmm8, &uc->uc_mcontext.fpregs->_xmm[8], 8);
	/* Clobber this handler's own state: none of it may survive. */
	x = 0x1111;
	__asm__ volatile("movq %0, %%xmm8" ::"r"(x) : "xmm8");
	set_mxcsr(0x1f80 | 0x2000);
	set_fcw(0x27f);
	raise(SIGUSR2);
	__asm__ volatile("movq %%xmm8, %0" : "=r"(x));
	h_after_nested = x == 0x1111 && get_mxcsr() == (0x1f80 | 0x2000);
	if (edit_frame) {
		uint64_t v = 0x5555aaaa5555aaaaULL;
		memcpy(&uc->uc_mcontext.fpregs->_xmm[9], &v, 8);
		uc->uc_mcontext.fpregs->mxcsr = 0x1f80 | 0x4000;
	}
}

/* signal_with_xmm raises SIGUSR1 with xmm8 = a and xmm9 = b and returns
 * xmm8 and xmm9 as they are after the handler returned. */
static void signal_with_xmm(uint64_t a, uint64_t b, uint64_t *a_out, uint64_t *b_out) {
	pid_t pid = getpid(), tid = syscall(SYS_gettid);
	long ret;
	uint64_t ra, rb;
	__asm__ volatile("movq %[a], %%xmm8\n\t"
			 "movq %[b], %%xmm9\n\t"
			 "syscall\n\t"
			 "movq %%xmm8, %[ra]\n\t"
			 "movq %%xmm9, %[rb]"
			 : "=a"(ret), [ra] "=&r"(ra), [rb] "=&r"(rb)
			 : "a"((long)SYS_tgkill), "D"((long)pid), "S"((long)tid), "d"((long)SIGUSR1),
			   [a] "r"(a), [b] "r"(b)
			 : "rcx", "r11", "memory", "xmm8", "xmm9");
	*a_out = ra;
	*b_out = rb;
}

int main(int argc, char **argv) {
	struct sigaction sa = {0};
	sa.sa_sigaction = usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_sigaction = usr2;
	sigaction(SIGUSR2, &sa, NULL);

	int bad = 0, frame_ok = 0, fresh = 0, nested = 0, kept = 0, edited = 0;
	for (int i = 0; i < 2000; i++) {
		edit_frame = i % 2;
		uint32_t mx = 0x1f80 | (i % 4) << 13; /* the four rounding modes */
		uint16_t cw = 0x37f & ~0xc00;
		cw |= (i % 4) << 10;
		set_mxcsr(mx);
		set_fcw(cw);
		uint64_t a = 0x1000 + i, b = 0x9000 + i, ra, rb;
		signal_with_xmm(a, b, &ra, &rb);
		uint32_t mx_after = get_mxcsr();
		uint16_t cw_after = get_fcw();
		set_mxcsr(0x1f80);
		set_fcw(0x37f);
		fresh += h_xmm8 == 0 && h_mxcsr == 0x1f80 && h_fcw == 0x37f;
		frame_ok += h_frame_xmm8 == a && h_frame_mxcsr == mx;
		nested += h_nested_ok && h_after_nested;
		if (edit_frame) {
			edited += ra == a && rb == 0x5555aaaa5555aaaaULL && mx_after == (0x1f80 | 0x4000) && cw_after == cw;
		} else {
			kept += ra == a && rb == b && mx_after == mx && cw_after == cw;
		}
		if (bad < 3 && !(h_xmm8 == 0 && h_mxcsr == 0x1f80 && h_frame_xmm8 == a)) {
			printf("round %d: handler xmm8 %#lx mxcsr %#x fcw %#x, frame xmm8 %#lx mxcsr %#x\n", i,
			       (unsigned long)h_xmm8, h_mxcsr, h_fcw, (unsigned long)h_frame_xmm8, h_frame_mxcsr);
			bad++;
		}
	}
	printf("handlers started with a fresh FP state: %d of 2000\n", fresh);
	printf("frames held the interrupted xmm8 and MXCSR: %d of 2000\n", frame_ok);
	printf("nested handlers fresh, outer state kept: %d of 2000\n", nested);
	printf("state restored unchanged: %d of 1000\n", kept);
	printf("state restored as the handler edited the frame: %d of 1000\n", edited);
	return 0;
}
