/*
 * Entry points of the stub program, and the syscall thread.
 *
 * Seccomp filters tell the stub's roles apart by instruction pointer
 * (seccomp_data.instruction_pointer is the address after `syscall`), so each
 * role has exactly one syscall instruction, and the Go side reads the labels
 * after them (*_site) from the ELF symbol table.
 *
 * The syscall thread is the one stub thread with more than an application
 * thread's allowances (platform/systrap/filters.go), and it shares its
 * address space with application threads, which can write every writable
 * byte of the process. So, once application code may run in the process,
 * it keeps all of its state in registers: it has no stack (no call, ret,
 * push or pop; a "return address" is a register, %rbx, see SYS), it reads
 * requests only from the read-only control page, and what it writes into
 * the read-write response page (its answer, and the buffers of the few
 * calls that need memory) it never reads back to decide what to do, except
 * descriptor numbers, which name only this process's own descriptors.
 * Application code can therefore change what the syscall thread's calls do
 * to this process's own descriptors and buffers, never which calls it makes
 * or with which addresses, lengths and flags (those come from the sentry,
 * which checked them).
 */
#include <asm/unistd.h>
#include "../../sysmsg/c/sysmsg.h"

	.file "stub_amd64.S"

#define STUB_CTL_FD          3
#define STUB_IMAGE_BASE      0x7ff000000000
#ifndef __NR_mseal
#define __NR_mseal           462
#endif
#define PR_SET_NO_NEW_PRIVS  38
#define EINVAL               22
#define ENOSYS               38
#define EBADMSG              74
#define SIGKILL              9
#define SIGCHLD              17
#define SIG_SETMASK          2
#define PR_SET_PDEATHSIG     1
#define FUTEX_WAIT           0
#define FUTEX_WAKE           1
#define PROT_READ            1
#define PROT_WRITE           2
#define PROT_EXEC            4
#define MAP_SHARED           0x01
#define MAP_FIXED            0x10
#define MSG_CMSG_CLOEXEC     0x40000000
#define MSG_DONTWAIT         0x40
#define SECCOMP_SET_MODE_FILTER 1
/* CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|
 * CLONE_CHILD_CLEARTID: an application thread */
#define THREAD_CLONE_FLAGS   0x250f00
/* The same with CLONE_PIDFD (Linux 6.9 makes pidfds of threads): the
 * thread's pidfd goes to the sentry, which learns the thread's host id
 * from the kernel */
#define THREAD_PIDFD_CLONE_FLAGS (THREAD_CLONE_FLAGS | 0x1000)
/* CLONE_PARENT|CLONE_PIDFD|SIGCHLD: a forked stub process, a child of the
 * forkserver, whose pidfd goes to the sentry */
#define FORK_CLONE_FLAGS     (0x8000 | 0x1000 | SIGCHLD)
/* cmsg_level and cmsg_type of SCM_RIGHTS, as one quadword */
#define SOL_SOCKET_SCM_RIGHTS 0x100000001
#define CMSG_LEN_1FD         20  /* CMSG_LEN(sizeof(int)) */
#define CMSG_LEN_3FD         28
#define CMSG_SPACE_1FD       24

	.text

/* Forkserver entry: switch to our own stack, so that the kernel's initial
 * stack can be unmapped, then run the C code. */
	.globl _start
_start:
	lea fs_stack_top(%rip), %rsp
	call forkserver_main
	ud2

/* The syscall instruction of the syscall thread, of a new application
 * thread's set-up, and of the stub's C code. Callers without a stack jump
 * here with the return address in %rbx. */
	.globl stub_syscall_site
stub_syscall_insn:
	syscall
stub_syscall_site:
	jmp *%rbx

/* SYS nr: the system call nr with the arguments already in place. It
 * clobbers %rax (the result), %rcx, %r11 and %rbx. */
.macro SYS nr
	mov $\nr, %eax
	lea .Lret\@(%rip), %rbx
	jmp stub_syscall_insn
.Lret\@:
.endm

/* CPU_NOW: the CPU this thread runs on into %edx, as the vDSO's getcpu
 * reads it (lsl of the per-CPU GDT entry: sysmsg/cpu.go), or
 * SYSMSG_CPU_UNKNOWN; clobbers %eax. */
.macro CPU_NOW
	mov $SYSMSG_CPU_UNKNOWN, %edx
	mov $SYSMSG_CPUNODE_SEG, %eax
	lsl %eax, %edx                  /* ZF: the CPU in bits 0-11 */
	jnz .Lcpu_now\@
	and $0xfff, %edx
.Lcpu_now\@:
.endm

/* RDTSC64 dst: the time-stamp counter into dst; clobbers %rax and %rdx.
 * Spins are bounded by it, not by a count of pauses (sysmsg/c/handler.c,
 * wait_for_sentry). */
.macro RDTSC64 dst
	rdtsc
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, \dst
.endm

/* long stub_syscall(nr, a0..a5): for the C code that runs before any
 * application code exists in the process (the forkserver, a new stub's
 * set-up), which has a stack of its own. */
	.globl stub_syscall
stub_syscall:
	push %rbx
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	mov 16(%rsp), %r9
	lea 1f(%rip), %rbx
	jmp stub_syscall_insn
1:	pop %rbx
	ret

/* long handler_syscall(nr, a0..a5): only the signal handler uses it. */
	.globl handler_syscall, handler_syscall_site
handler_syscall:
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	mov 8(%rsp), %r9
	syscall
handler_syscall_site:
	ret

/* sa_restorer of every stub signal handler. */
	.globl stub_restorer, restorer_site
stub_restorer:
	mov $__NR_rt_sigreturn, %eax
	syscall
restorer_site:
	ud2

/* void ptrace_wait(void): ptrace platform. A stub thread waits here in
 * pause(2), using no stack, until the sentry seizes it. The tracer runs
 * remote syscalls on this syscall instruction, so a thread or process it
 * clones here starts in this loop too. */
	.globl ptrace_wait, ptrace_syscall_site
ptrace_wait:
	mov $__NR_pause, %eax
	syscall
ptrace_syscall_site:
	jmp ptrace_wait

/*
 * void stub_enter(const struct sock_fprog *prog, void (*loop)(void)): the
 * last step of a new stub process's set-up, without a stack: it makes the
 * image's data (the C code's stack included) read-only and seals the whole
 * image, so that no thread of the process can change the stub's code or
 * data again (mseal needs Linux 6.10; on older kernels the data is only
 * read-only), installs prog with no_new_privs, and jumps to loop.
 */
	.globl stub_enter
stub_enter:
	mov %rdi, %r12
	mov %rsi, %r13
	lea stub_data_start(%rip), %rdi
	lea stub_image_end+0xfff(%rip), %rsi
	and $~0xfff, %rsi
	mov %rsi, %r14
	sub %rdi, %rsi
	mov $PROT_READ, %edx
	SYS __NR_mprotect
	test %rax, %rax
	jnz .Ldie
	movabs $STUB_IMAGE_BASE, %rdi
	mov %r14, %rsi
	sub %rdi, %rsi
	xor %edx, %edx
	SYS __NR_mseal
	mov $PR_SET_NO_NEW_PRIVS, %edi
	mov $1, %esi
	xor %edx, %edx
	xor %r10d, %r10d
	xor %r8d, %r8d
	SYS __NR_prctl
	test %rax, %rax
	jnz .Ldie
	mov $SECCOMP_SET_MODE_FILTER, %edi
	xor %esi, %esi
	mov %r12, %rdx
	SYS __NR_seccomp
	test %rax, %rax
	jnz .Ldie
	jmp *%r13

/*
 * void stub_serve(void): the syscall thread.
 *
 * Registers while waiting: %r12d the seq of the request it waits for,
 * %r13 the time-stamp counter ticks to spin (0: sleep), %rbp the counter
 * when the spin began, %r14 the control page, %r15 the response page.
 * While serving, %rbp and %r13-%r14 hold the request's values.
 */
	.globl stub_serve
stub_serve:
	xor %r12d, %r12d
.Lnext:
	inc %r12d
	jnz .Lreload
	inc %r12d                       /* seq 0 marks a request being written */
.Lreload:
	movabs $SYSMSG_REGION, %r14
	movabs $SYSMSG_RW_BASE, %r15
	mov STUB_CONTROL_SPIN(%r14), %r13d
	RDTSC64 %rbp
.Lwait:
	mov STUB_CONTROL_SEQ(%r14), %eax
	cmp %r12d, %eax
	je .Lready
	test %r13d, %r13d
	jz .Lsleep
	pause
	RDTSC64 %rax
	sub %rbp, %rax                  /* unsigned: a counter gone back ends it */
	cmp %r13, %rax
	jb .Lwait
	xor %r13d, %r13d                /* spun long enough: sleep from now on */
	jmp .Lwait
.Lsleep:
	mov %r14, %rdi                  /* &control->seq, */
	xor %esi, %esi                  /* FUTEX_WAIT */
	mov %eax, %edx                  /* while it holds what we saw */
	xor %r10d, %r10d
	SYS __NR_futex
	jmp .Lwait

.Lready:
	mov STUB_CONTROL_KIND(%r14), %ebp
	cmp $STUB_REQ_SYSCALL, %ebp
	je .Lsyscall
	cmp $STUB_REQ_MMAP_FD, %ebp
	je .Lmmap_fd
	cmp $STUB_REQ_NEW_THREAD, %ebp
	je .Lnew_thread
	cmp $STUB_REQ_FORK, %ebp
	je .Lfork
	cmp $STUB_REQ_BATCH, %ebp
	je .Lbatch
.Leinval:
	mov $-EINVAL, %rax
	jmp .Lrespond
.Lbadmsg:
	mov $-EBADMSG, %rax
	jmp .Lrespond

/* LOAD_ARGS torn: the request's sysno into %rbp and its arguments into the
 * syscall argument registers; then, if seq changed meanwhile (the sentry
 * was writing another request, which it does only after it was told this
 * one was done), jumps to torn: a torn request is never run. */
.macro LOAD_ARGS torn
	mov STUB_CONTROL_SYSNO(%r14), %rbp
	ARGS5 STUB_CONTROL_ARGS(%r14)
	mov 40+STUB_CONTROL_ARGS(%r14), %r9
	cmp STUB_CONTROL_SEQ(%r14), %r12d
	jne \torn
.endm

/* ARGS5 args: the first five syscall arguments from the quadwords at the
 * memory operand args (the sixth, %r9, is the caller's). */
.macro ARGS5 args
	mov 0+\args, %rdi
	mov 8+\args, %rsi
	mov 16+\args, %rdx
	mov 24+\args, %r10
	mov 32+\args, %r8
.endm

/* MAPPING_CALL nr, ok: jumps to ok if the syscall in register nr changes
 * this process's own mappings, the only calls the sentry asks for. */
.macro MAPPING_CALL nr, ok
	cmp $__NR_mmap, \nr
	je \ok
	cmp $__NR_munmap, \nr
	je \ok
	cmp $__NR_mprotect, \nr
	je \ok
	cmp $__NR_mremap, \nr
	je \ok
	cmp $__NR_madvise, \nr
	je \ok
	cmp $__NR_msync, \nr
	je \ok
.endm

/* RECV: recvmsg(STUB_CTL_FD) of one byte and its descriptors into the
 * scratch space of the response page (a batch's: the control buffer at
 * cmsg, of size bytes). It never waits: the sentry sends before it posts
 * the request, and a message an application thread took first (the
 * handler may receive on the socket: platform/systrap/resume_call.go) is
 * the request's EBADMSG, not a wait. */
.macro RECV cmsg=STUB_SCRATCH_CMSG, size=STUB_SCRATCH_CMSG_SIZE
	lea STUB_SCRATCH_IOV(%r15), %rax
	lea STUB_SCRATCH_DATA(%r15), %rcx
	mov %rcx, 0(%rax)               /* iov_base */
	movq $1, 8(%rax)                /* iov_len */
	lea STUB_SCRATCH_MSGHDR(%r15), %rsi
	movq $0, 0(%rsi)                /* msg_name */
	movq $0, 8(%rsi)                /* msg_namelen */
	mov %rax, 16(%rsi)              /* msg_iov */
	movq $1, 24(%rsi)               /* msg_iovlen */
	lea \cmsg(%r15), %rax
	mov %rax, 32(%rsi)              /* msg_control */
	movq $\size, 40(%rsi)           /* msg_controllen */
	movq $0, 48(%rsi)               /* msg_flags */
	mov $STUB_CTL_FD, %edi
	mov $(MSG_CMSG_CLOEXEC | MSG_DONTWAIT), %edx
	SYS __NR_recvmsg
.endm

/* CHECK_RIGHTS len: the message was one byte with one SCM_RIGHTS message of
 * length len, or .Lbadmsg. */
.macro CHECK_RIGHTS len
	cmp $1, %rax
	jne .Lbadmsg
	cmpq $\len, STUB_SCRATCH_CMSG(%r15)
	jne .Lbadmsg
	movabs $SOL_SOCKET_SCM_RIGHTS, %rax
	cmp %rax, STUB_SCRATCH_CMSG+8(%r15)
	jne .Lbadmsg
.endm

/* SEND_FD reg: sendmsg(STUB_CTL_FD) of one byte with descriptor reg
 * (a 32-bit register other than %eax, %ecx, %edx, %esi, %edi); the
 * result in %rax. */
.macro SEND_FD fd
	lea STUB_SCRATCH_IOV(%r15), %rax
	lea STUB_SCRATCH_DATA(%r15), %rcx
	mov %rcx, 0(%rax)
	movq $1, 8(%rax)
	lea STUB_SCRATCH_CMSG(%r15), %rcx
	movq $CMSG_LEN_1FD, 0(%rcx)
	movabs $SOL_SOCKET_SCM_RIGHTS, %rdx
	mov %rdx, 8(%rcx)
	mov \fd, 16(%rcx)
	lea STUB_SCRATCH_MSGHDR(%r15), %rsi
	movq $0, 0(%rsi)
	movq $0, 8(%rsi)
	mov %rax, 16(%rsi)
	movq $1, 24(%rsi)
	mov %rcx, 32(%rsi)
	movq $CMSG_SPACE_1FD, 40(%rsi)
	movq $0, 48(%rsi)
	mov $STUB_CTL_FD, %edi
	xor %edx, %edx
	SYS __NR_sendmsg
.endm

/* STUB_REQ_SYSCALL: a call that changes this process's own mappings. */
.Lsyscall:
	LOAD_ARGS .Lreload
	MAPPING_CALL %rbp, 1f
	mov $-ENOSYS, %rax
	jmp .Lrespond
1:	mov %rbp, %rax
	lea .Lrespond(%rip), %rbx
	jmp stub_syscall_insn

/* The answer: ret, then seq, then a wake-up for the sentry. */
.Lrespond:
	movabs $SYSMSG_RW_BASE, %r15
	mov %rax, STUB_RESPONSE_RET(%r15)
	mov %r12d, STUB_RESPONSE_SEQ(%r15)
	mov %r15, %rdi                  /* &response->seq, */
	mov $FUTEX_WAKE, %esi
	mov $1, %edx
	SYS __NR_futex
	jmp .Lnext

/* STUB_REQ_MMAP_FD: mmap of a descriptor the sentry sends first. */
.Lmmap_fd:
	RECV
	CHECK_RIGHTS CMSG_LEN_1FD
	mov STUB_SCRATCH_CMSG+16(%r15), %r13d
	LOAD_ARGS .Lmmap_fd_torn
	mov %r13, %r8
	mov $__NR_mmap, %eax
	lea 1f(%rip), %rbx
	jmp stub_syscall_insn
1:	mov %rax, %rbp
	mov %r13, %rdi
	SYS __NR_close
	mov %rbp, %rax
	jmp .Lrespond
.Lmmap_fd_torn:
	mov %r13, %rdi
	SYS __NR_close
	jmp .Lreload

/* STUB_REQ_BATCH: args[0] mapping calls (at most STUB_MAX_BATCH) from the
 * batch area of the control page, in order, each checked and run as
 * STUB_REQ_SYSCALL runs one, stopping at the first that fails; a call whose
 * fd is not -1 gets the fd-th of the args[1] descriptors the sentry sent
 * first as arg4. The answer: done, how many calls succeeded, and ret, 0 or
 * the failed call's -errno. The descriptors are closed before it.
 *
 * While the calls run: %rbp the index of the call, %r13 the number of
 * descriptors, %r9 (after the last) the answer. The descriptors' numbers
 * are read from the scratch space, which application code can rewrite: it
 * can only make its own process map or close a descriptor of its own. */
.Lbatch:
	mov STUB_CONTROL_ARGS+8(%r14), %r13
	cmp $STUB_BATCH_MAX_FDS, %r13
	ja .Leinval
	test %r13, %r13
	jz 1f
	RECV STUB_SCRATCH_BATCH_CMSG, STUB_SCRATCH_BATCH_CMSG_SIZE
	cmp $1, %rax
	jne .Lbatch_badmsg
	lea 16(,%r13,4), %rax           /* CMSG_LEN(nfds * sizeof(int)) */
	cmp %rax, STUB_SCRATCH_BATCH_CMSG(%r15)
	jne .Lbatch_badmsg
	movabs $SOL_SOCKET_SCM_RIGHTS, %rax
	cmp %rax, STUB_SCRATCH_BATCH_CMSG+8(%r15)
	jne .Lbatch_badmsg
1:	cmp STUB_CONTROL_SEQ(%r14), %r12d
	jne .Lbatch_torn
	mov $-EINVAL, %r9
	cmpq $STUB_MAX_BATCH, STUB_CONTROL_ARGS(%r14)
	ja .Lbatch_close
	xor %ebp, %ebp
.Lbatch_call:
	xor %r9d, %r9d
	cmp STUB_CONTROL_ARGS(%r14), %rbp
	jae .Lbatch_close
	mov $-EINVAL, %r9
	mov %rbp, %rax
	shl $6, %rax                    /* * STUB_CALL_SIZE */
	lea STUB_CONTROL_BATCH(%r14,%rax), %rax
	ARGS5 STUB_CALL_ARGS(%rax)
	movslq STUB_CALL_FD(%rax), %rcx
	test %rcx, %rcx
	js 2f
	cmp %r13, %rcx
	jae .Lbatch_close
	mov STUB_SCRATCH_BATCH_CMSG+16(%r15,%rcx,4), %r8d
2:	mov STUB_CALL_SYSNO(%rax), %rcx
	mov 40+STUB_CALL_ARGS(%rax), %r9
	MAPPING_CALL %rcx, 3f
	mov $-EINVAL, %r9
	jmp .Lbatch_close
3:	mov %rcx, %rax
	lea 4f(%rip), %rbx
	jmp stub_syscall_insn
4:	mov %rax, %r9
	cmp $-4095, %rax
	jae .Lbatch_close               /* -errno */
	inc %rbp
	jmp .Lbatch_call
.Lbatch_badmsg:
	mov $-EBADMSG, %r9
	xor %r13d, %r13d                /* nothing received worth closing */
	xor %ebp, %ebp
.Lbatch_close:
	mov %ebp, STUB_RESPONSE_DONE(%r15)
5:	test %r13, %r13
	jz 6f
	dec %r13
	mov STUB_SCRATCH_BATCH_CMSG+16(%r15,%r13,4), %edi
	SYS __NR_close
	jmp 5b
6:	mov %r9, %rax
	jmp .Lrespond
.Lbatch_torn:
	test %r13, %r13
	jz .Lreload
	dec %r13
	mov STUB_SCRATCH_BATCH_CMSG+16(%r15,%r13,4), %edi
	SYS __NR_close
	jmp .Lbatch_torn

/* STUB_REQ_NEW_THREAD: a thread for application code in slot args[0]. The
 * sentry has filled in the slot's set-up block and reset its sysmsg. The
 * thread is cloned with CLONE_PIDFD, and its pidfd is sent to the sentry
 * before the answer; a kernel that refuses CLONE_PIDFD for threads (before
 * 6.9) gets a plain clone, and the sentry finds no pidfd. */
.Lnew_thread:
	LOAD_ARGS .Lreload
	cmp $SYSMSG_MAX_THREADS, %rdi
	jae .Leinval
	mov %rdi, %r13
	shl $12, %r13                   /* * SYSMSG_SETUP_SIZE */
	lea SYSMSG_SETUP_OFFSET(%r14,%r13), %r13
	mov %rdi, %r10
	shl $16, %r10                   /* * SYSMSG_SLOT_SIZE */
	lea SYSMSG_THREADS_OFFSET(%r15,%r10), %r10 /* child_tid: sysmsg.state */
	mov $THREAD_PIDFD_CLONE_FLAGS, %edi
	xor %esi, %esi                  /* no stack: the thread uses none */
	lea STUB_SCRATCH_PIDFD(%r15), %rdx      /* where the pidfd goes */
	xor %r8d, %r8d
	mov $__NR_clone, %eax
	lea 1f(%rip), %rbx
	jmp stub_syscall_insn
1:	test %rax, %rax
	jz stub_thread_setup
	js 2f
	mov %rax, %r9                   /* the new thread's id */
	mov STUB_SCRATCH_PIDFD(%r15), %ebp
	SEND_FD %ebp
	mov %rbp, %rdi
	SYS __NR_close
	mov %r9, %rax                   /* informative: the sentry uses the pidfd */
	jmp .Lrespond
2:	cmp $-EINVAL, %rax
	jne .Lrespond
	mov $THREAD_CLONE_FLAGS, %edi
	xor %edx, %edx
	mov $__NR_clone, %eax
	lea 3f(%rip), %rbx
	jmp stub_syscall_insn
3:	test %rax, %rax
	jnz .Lrespond                   /* the new thread's id, or -errno */

	/* The new thread, with the syscall thread's filter only until it
	 * installs its own: its arguments come from the read-only set-up
	 * block, and no signal but a synchronous one can interrupt it. (The
	 * symbol is for attack tests that jump here.) */
	.globl stub_thread_setup
stub_thread_setup:
	lea SYSMSG_SETUP_STACK(%r13), %rdi
	xor %esi, %esi
	SYS __NR_sigaltstack
	test %rax, %rax
	jnz .Lthread_exit
	mov $SIG_SETMASK, %edi
	lea thread_setup_mask(%rip), %rsi
	xor %edx, %edx
	mov $8, %r10d
	SYS __NR_rt_sigprocmask
	test %rax, %rax
	jnz .Lthread_exit
	mov $SECCOMP_SET_MODE_FILTER, %edi
	xor %esi, %esi
	lea SYSMSG_SETUP_PROG(%r13), %rdx
	SYS __NR_seccomp
	test %rax, %rax
	jnz .Lthread_exit
	/* Traps: the sentry answers this first stop by loading the
	 * application's registers (and an empty signal mask) into the
	 * frame, so it never returns. */
.Lthread_trap:
	mov $__NR_getpid, %eax
	lea .Lthread_trap(%rip), %rbx
	jmp stub_syscall_insn
.Lthread_exit:
	mov $1, %edi
	mov $__NR_exit, %eax
	lea .Lthread_exit(%rip), %rbx
	jmp stub_syscall_insn

/* STUB_REQ_FORK: a copy-on-write copy of this process, made a child of the
 * forkserver (CLONE_PARENT) so that it outlives us. The sentry sends the
 * child's control socket and its two memfds first; the child maps them over
 * the shared region it inherited, and we return the child's pidfd, from
 * which the sentry learns from the kernel who the child is. */
.Lfork:
	RECV
	CHECK_RIGHTS CMSG_LEN_3FD
	mov STUB_SCRATCH_CMSG+16(%r15), %ebp    /* the child's control socket */
	mov STUB_SCRATCH_CMSG+20(%r15), %r13d   /* its read-only memfd */
	mov STUB_SCRATCH_CMSG+24(%r15), %r14d   /* its read-write memfd */
	mov $FORK_CLONE_FLAGS, %edi
	xor %esi, %esi
	lea STUB_SCRATCH_PIDFD(%r15), %rdx      /* where the pidfd goes */
	xor %r10d, %r10d
	xor %r8d, %r8d
	mov $__NR_clone, %eax
	lea 1f(%rip), %rbx
	jmp stub_syscall_insn
1:	test %rax, %rax
	jz .Lforked
	mov %rax, %r9                           /* pid or -errno */
	mov %rbp, %rdi
	SYS __NR_close
	mov %r13, %rdi
	SYS __NR_close
	mov %r14, %rdi
	SYS __NR_close
	test %r9, %r9
	js 3f
	mov STUB_SCRATCH_PIDFD(%r15), %ebp
	SEND_FD %ebp
	mov %rax, %r13
	mov %rbp, %rdi
	SYS __NR_close
	test %r13, %r13
	js 2f
	mov %r9, %rax                           /* informative: the sentry uses the pidfd */
	jmp .Lrespond
2:	mov %r13, %rax
	jmp .Lrespond
3:	mov %r9, %rax
	jmp .Lrespond

/*
 * patch_entry: where a patched syscall site arrives (through its trap in
 * the trap table, see sysmsg.h), instead of trapping into the SIGSYS
 * handler. On entry %rax holds the application's arithmetic flags (lahf;
 * seto %al), %rcx the trap, %r11 nothing; every other register is the
 * application's, and %rsp its stack, which is never touched (a thread may
 * make its last syscall on a stack it has unmapped, and leaf functions keep
 * data below %rsp).
 *
 * The thread finds its slot from %gs, which the sentry points at the slot
 * while the application has no gs base of its own (platform/systrap): with
 * FSGSBASE by rdgsbase (patch_entry), without it by loading the slot's self
 * pointer through %gs (patch_entry_gs; the trap table's first quadword
 * names the entry the host needs, and the control page's has_fsgsbase
 * tells the code after it). If %gs does not name a slot (the application
 * set one), the trap's fallback makes an ordinary syscall, which traps as
 * before. Without FSGSBASE the bases are not read here (the sentry's copy
 * is the truth) and the resume sets new ones with arch_prctl.
 *
 * The registers go into the slot's patch frame, laid out as the kernel lays
 * out a signal frame, with a SIGSYS siginfo saying what seccomp would have
 * said; then the hand-off is the signal handler's: state EVENT, wait for
 * RESUME. Whatever the sentry wrote into the frame is loaded, as
 * rt_sigreturn would after a signal. This is no more than the application
 * could do itself with its own memory and the handler's syscalls: the frame
 * is in its slot, which it can write anyway, and the only syscalls here are
 * the handler's (futex on the own state word, exit: pinned to
 * patch_syscall_site by the filter; arch_prctl ARCH_SET_FS/ARCH_SET_GS:
 * patch_resume_syscall_site) and rt_sigreturn (patch_sigreturn_site).
 * The usual return makes no syscall at all: it loads the frame's FP state,
 * flags and registers itself and jumps through the frame's rip, which
 * application code could do too.
 *
 * Signals are not blocked here. The signal handler (sysmsg/c/handler.c)
 * returns at once from SIGCHLD between patch_entry and patch_published (the
 * thread is about to publish its stop, which answers the interrupt). From
 * patch_published to patch_resumed (the stop is published; the sentry may
 * have answered it already) it finishes the wait itself, and from then on,
 * as after patch_resumed, it first completes the resume (bases, registers
 * and FP state from the patch frame into its own frame) and reports the
 * interrupt, so the sentry sees the application's state, never this
 * code's, and an interrupt that arrives as the thread resumes is not lost. Any other signal here comes from
 * a thread that jumped in with forged state, and is reported as it is.
 */
#define PF(off)     (SYSMSG_PATCH_FRAME + (off))
#define MC(off)     PF(SYSMSG_PF_MC + (off))
#define SC_R8       0
#define SC_R9       8
#define SC_R10      16
#define SC_R11      24
#define SC_R12      32
#define SC_R13      40
#define SC_R14      48
#define SC_R15      56
#define SC_RDI      64
#define SC_RSI      72
#define SC_RBP      80
#define SC_RBX      88
#define SC_RDX      96
#define SC_RAX      104
#define SC_RCX      112
#define SC_RSP      120
#define SC_RIP      128
#define SC_EFLAGS   136
#define SC_CSGSFS   144
#define SC_ERR      152
#define SC_FPSTATE  184
#define SI_CODE     8
#define SI_CALL     16
#define SI_SYSCALL  24
#define SI_ARCH     28
#define MSG_WAITING_STUB 8
#define MSG_SIGNO   12
#define MSG_SIGINFO 16
#define MSG_UCONTEXT 24
#define MSG_FS      32
#define MSG_GS      40
#define MSG_NEW_FS  64
#define MSG_NEW_GS  72
#define MSG_SET     56
#define SIGSYS_     31
#define SYS_SECCOMP 1
#define AUDIT_ARCH_X86_64 0xc000003e
#define UC_FLAGS    7   /* UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
#define FP_XSTATE_MAGIC2 0x46505845
#define FPX_SW      464 /* struct _fpx_sw_bytes in the legacy area */
#define ARITH_FLAGS 0x8d5 /* CF PF AF ZF SF OF */
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002

	.p2align 4
	.globl patch_entry, patch_entry_gs, patch_published, patch_resumed, patch_entry_end
	.globl patch_syscall_site, patch_resume_syscall_site, patch_sigreturn_site
patch_entry:
	rdgsbase %r11
	jmp .Lpatch_slot

/* The fallback: the application's flags back, then the trap's own
 * `mov $nr,%eax; syscall`, or for a register trap its syscall with the
 * number back in %rax (bits 16-47 of %rax on entry; mov and lea keep the
 * flags). (Before patch_published: the thread is on its way to a stop.) */
.Lpatch_fallback:
	cmpb $SYSMSG_TRAP_LAHF, SYSMSG_TRAP_CODE(%rcx)
	jne .Lpatch_fallback_reg
	lea SYSMSG_TRAP_FALLBACK(%rcx), %r11
	add $0x7f, %al                          /* OF */
	sahf                                    /* SF ZF AF PF CF */
	jmp *%r11
.Lpatch_fallback_reg:
	mov %rax, %r11
	shr $16, %r11
	add $0x7f, %al
	sahf
	mov %r11, %rax
	lea SYSMSG_TRAP_REG_FALLBACK(%rcx), %r11
	jmp *%r11

/* The entry without FSGSBASE (the trap table's first quadword names one of
 * the two): the slot's self pointer, through %gs. If the application has a
 * gs base of its own, this reads its memory there, and may fault: the
 * sentry knows this instruction, and takes such a fault for the syscall
 * the trap in %rcx stands for (platform/systrap/patch.go). */
patch_entry_gs:
	mov %gs:SYSMSG_SELF, %r11
.Lpatch_slot:
	/* The slot's address, checked without a second look: it is a thread
	 * slot, 64 KiB aligned (shifted back whole). */
	test $(SYSMSG_SLOT_SIZE - 1), %r11d
	jnz .Lpatch_fallback
	shr $16, %r11
	sub $((SYSMSG_RW_BASE + SYSMSG_THREADS_OFFSET) >> 16), %r11
	cmp $SYSMSG_MAX_THREADS, %r11
	jae .Lpatch_fallback
	add $((SYSMSG_RW_BASE + SYSMSG_THREADS_OFFSET) >> 16), %r11
	shl $16, %r11

	mov %r8, MC(SC_R8)(%r11)
	mov %r9, MC(SC_R9)(%r11)
	mov %r10, MC(SC_R10)(%r11)
	mov %r12, MC(SC_R12)(%r11)
	mov %r13, MC(SC_R13)(%r11)
	mov %r14, MC(SC_R14)(%r11)
	mov %r15, MC(SC_R15)(%r11)
	mov %rdi, MC(SC_RDI)(%r11)
	mov %rsi, MC(SC_RSI)(%r11)
	mov %rbp, MC(SC_RBP)(%r11)
	mov %rbx, MC(SC_RBX)(%r11)
	mov %rdx, MC(SC_RDX)(%r11)
	mov %rsp, MC(SC_RSP)(%r11)
	lea SYSMSG_PATCH_STACK(%r11), %rsp

	/* What the syscall instruction and seccomp's trap would have left:
	 * %rcx the return address, %r11 the flags, %rax -ENOSYS. A mov
	 * trap: the number is the trap's, and the syscall returns to the
	 * site's end. A register trap: the number is in %rax (bits 16-47),
	 * the syscall returns to the trap's tail (the site's instruction after
	 * the syscall, then a jump to the site's end), and %rcx is what the
	 * syscall instruction at the site would have left, the address of
	 * that instruction (the site's end less the tail's length). */
	cmpb $SYSMSG_TRAP_LAHF, SYSMSG_TRAP_CODE(%rcx)
	jne 1f
	mov SYSMSG_TRAP_RET(%rcx), %rdx
	mov %rdx, MC(SC_RIP)(%r11)
	mov %rdx, MC(SC_RCX)(%r11)
	mov %rdx, PF(SYSMSG_PF_SI + SI_CALL)(%r11)
	mov SYSMSG_TRAP_NR(%rcx), %edx
	jmp 2f
1:	lea SYSMSG_TRAP_REG_TAIL(%rcx), %rdx
	mov %rdx, MC(SC_RIP)(%r11)
	mov %rdx, PF(SYSMSG_PF_SI + SI_CALL)(%r11)
	mov SYSMSG_TRAP_RET(%rcx), %rdx
	movzbl SYSMSG_TRAP_TAIL_LEN(%rcx), %esi /* saved already */
	sub %rsi, %rdx
	mov %rdx, MC(SC_RCX)(%r11)
	mov %rax, %rdx
	shr $16, %rdx
2:	mov %edx, PF(SYSMSG_PF_SI + SI_SYSCALL)(%r11)
	movq $-ENOSYS, MC(SC_RAX)(%r11)
	movl $AUDIT_ARCH_X86_64, PF(SYSMSG_PF_SI + SI_ARCH)(%r11)
	movl $SIGSYS_, PF(SYSMSG_PF_SI)(%r11)
	movl $0, PF(SYSMSG_PF_SI + 4)(%r11)
	movq $SYS_SECCOMP, PF(SYSMSG_PF_SI + SI_CODE)(%r11)
	pushfq
	pop %rdx
	and $~ARITH_FLAGS, %rdx
	movzbl %ah, %ecx
	and $(ARITH_FLAGS & 0xff), %ecx
	or %rcx, %rdx
	test %al, %al
	jz 1f
	or $0x800, %rdx
1:	mov %rdx, MC(SC_EFLAGS)(%r11)
	mov %rdx, MC(SC_R11)(%r11)
	movabs $((0x2b << 48) | 0x33), %rdx     /* ss, fs, gs, cs */
	mov %rdx, MC(SC_CSGSFS)(%r11)
	xor %edx, %edx
	mov %rdx, MC(SC_ERR)(%r11)
	mov %rdx, MC(SC_ERR + 8)(%r11)          /* trapno */
	mov %rdx, MC(SC_ERR + 16)(%r11)         /* oldmask */
	mov %rdx, MC(SC_ERR + 24)(%r11)         /* cr2 */
	lea PF(SYSMSG_PF_FP)(%r11), %rcx
	mov %rcx, MC(SC_FPSTATE)(%r11)
	movq $UC_FLAGS, PF(SYSMSG_PF_UC)(%r11)
	mov %rdx, PF(SYSMSG_PF_UC + 8)(%r11)    /* uc_link */
	lea SYSMSG_ALTSTACK_OFFSET(%r11), %rcx
	mov %rcx, PF(SYSMSG_PF_UC + 16)(%r11)   /* uc_stack: the slot's */
	mov %rdx, PF(SYSMSG_PF_UC + 24)(%r11)
	movq $SYSMSG_ALTSTACK_SIZE, PF(SYSMSG_PF_UC + 32)(%r11)
	mov %rdx, PF(SYSMSG_PF_SIGMASK)(%r11)

	/* The FP state, in the format of the host's signal frames: a zeroed
	 * XSAVE header, xsave of the features the host saves, and the
	 * software-reserved bytes the sentry copied from one of them. */
	.irp off, 0, 8, 16, 24, 32, 40, 48, 56
	mov %rdx, PF(SYSMSG_PF_FP + 512 + \off)(%r11)
	.endr
	movabs $SYSMSG_REGION, %rbx
	mov STUB_CONTROL_FPX_SW + 8(%rbx), %eax
	mov STUB_CONTROL_FPX_SW + 12(%rbx), %edx
	xsave64 PF(SYSMSG_PF_FP)(%r11)
	.irp off, 0, 8, 16, 24, 32, 40
	mov STUB_CONTROL_FPX_SW + \off(%rbx), %rdx
	mov %rdx, PF(SYSMSG_PF_FP + FPX_SW + \off)(%r11)
	.endr
	mov STUB_CONTROL_FPX_SW + 16(%rbx), %edx
	and $0x7fff, %edx                       /* inside the slot whatever it says */
	movl $FP_XSTATE_MAGIC2, PF(SYSMSG_PF_FP)(%r11,%rdx)

	/* The hand-off, as sysmsg_handler does it, with the slot in %r15,
	 * which syscalls keep. */
	mov %r11, %r15
	movl $SIGSYS_, MSG_SIGNO(%r15)
	lea PF(SYSMSG_PF_SI)(%r15), %rdx
	mov %rdx, MSG_SIGINFO(%r15)
	lea PF(SYSMSG_PF_UC)(%r15), %rdx
	mov %rdx, MSG_UCONTEXT(%r15)
	cmpl $0, STUB_CONTROL_FSGSBASE(%rbx)
	je 1f                                   /* the sentry's copy is the truth */
	rdfsbase %rdx
	mov %rdx, MSG_FS(%r15)
	rdgsbase %rdx
	mov %rdx, MSG_GS(%r15)
1:
	CPU_NOW                                    /* where it publishes */
	mov %edx, SYSMSG_STUB_CPU(%r15)
	movl $SYSMSG_CPU_NONE, SYSMSG_SENTRY_CPU(%r15)
	mov $SYSMSG_STATE_EVENT, %eax
	xchg %eax, (%r15)
patch_published:
	cmpl $0, 4(%r15)                        /* sentry_waiting */
	je .Lpatch_wait
	mov %r15, %rdi
	mov $FUTEX_WAKE, %esi
	mov $1, %edx
	mov $__NR_futex, %eax
	lea .Lpatch_wait(%rip), %rbx
	jmp patch_syscall
.Lpatch_wait:
	movabs $SYSMSG_REGION, %r12
	mov STUB_CONTROL_SPIN(%r12), %r13d         /* the spin, in ticks */
	RDTSC64 %r14                               /* when it began */
.Lpatch_spin:
	mov (%r15), %eax
	cmp $SYSMSG_STATE_EVENT, %eax
	jne .Lpatch_woken
	test %r13d, %r13d
	jz .Lpatch_sleep
	cmpl $0, SYSMSG_SLEEP(%r15)                /* the task waits in the sentry */
	jne .Lpatch_sleep
	CPU_NOW                                    /* the sentry took the event */
	cmp SYSMSG_SENTRY_CPU(%r15), %edx          /* on this CPU (preempted */
	je .Lpatch_sleep                           /* here): give it back */
	pause
	RDTSC64 %rax
	sub %r14, %rax
	cmp %r13, %rax
	jb .Lpatch_spin
	xor %r13d, %r13d                           /* spun long enough */
	jmp .Lpatch_spin
.Lpatch_sleep:
	mov $1, %eax
	xchg %eax, MSG_WAITING_STUB(%r15)
	cmpl $SYSMSG_STATE_EVENT, (%r15)
	jne 1f
	mov %r15, %rdi
	mov $FUTEX_WAIT, %esi
	mov $SYSMSG_STATE_EVENT, %edx
	xor %r10d, %r10d
	mov $__NR_futex, %eax
	lea 1f(%rip), %rbx
	jmp patch_syscall
1:	movl $0, MSG_WAITING_STUB(%r15)
	jmp .Lpatch_spin
.Lpatch_woken:
	cmp $SYSMSG_STATE_EXIT, %eax
	jne patch_resumed
.Lpatch_exit:
	xor %edi, %edi
	mov $__NR_exit, %eax
	lea .Lpatch_exit(%rip), %rbx
	jmp patch_syscall

/* The patch entry's syscall instruction; the return address is in %rbx. */
patch_syscall:
	syscall
patch_syscall_site:
	jmp *%rbx

patch_resumed:
	movabs $SYSMSG_REGION, %rbx
	cmpl $0, STUB_CONTROL_FSGSBASE(%rbx)
	je .Lpatch_resumed_nofsgs
	mov MSG_SET(%r15), %r12d                /* kept for .Lpatch_return */
	test %r12d, %r12d
	jz 2f                                   /* not writing it saves a cache line */
	test $SYSMSG_SET_FS, %r12d
	jz 1f
	mov MSG_NEW_FS(%r15), %rdx
	wrfsbase %rdx
1:	test $SYSMSG_SET_GS, %r12d
	jz 3f
	mov MSG_NEW_GS(%r15), %rdx
	wrgsbase %rdx
3:	movl $0, MSG_SET(%r15)
2:
	/* While %gs still names the slot, return without a syscall: the FP
	 * state if the sentry changed it, the flags, the registers, and a
	 * jump through the frame's rip. Otherwise (the application now has a
	 * gs base of its own), rt_sigreturn. */
	rdgsbase %rdx
	cmp %rdx, %r15
	jne .Lpatch_sigreturn
	jmp .Lpatch_return

/* Without FSGSBASE the bases are set with arch_prctl, from this code's own
 * syscall instruction (the filter allows ARCH_SET_FS and ARCH_SET_GS there,
 * as it does from the signal handler's), and the sentry's copy of the gs
 * base is the truth: %gs named the slot on entry (its self pointer led
 * here), so it still does unless the sentry gave it a new base now. The
 * set_bases bits are cleared only after the calls: a signal in between
 * makes the handler apply them again (finish_patch_resume). */
.Lpatch_resumed_nofsgs:
	mov MSG_SET(%r15), %r12d
	mov %r15, %r13                          /* the gs base after this */
	test $SYSMSG_SET_FS, %r12d
	jz 1f
	mov $ARCH_SET_FS, %edi
	mov MSG_NEW_FS(%r15), %rsi
	mov $__NR_arch_prctl, %eax
	lea 1f(%rip), %rbx
	jmp patch_resume_syscall
1:	test $SYSMSG_SET_GS, %r12d
	jz 2f
	mov $ARCH_SET_GS, %edi
	mov MSG_NEW_GS(%r15), %r13
	mov %r13, %rsi
	mov $__NR_arch_prctl, %eax
	lea 2f(%rip), %rbx
	jmp patch_resume_syscall
2:	test %r12d, %r12d
	jz 3f
	movl $0, MSG_SET(%r15)
3:	cmp %r13, %r15
	jne .Lpatch_sigreturn

/* The FP registers still hold what the entry saved (nothing since has
 * touched them: this code uses none, syscalls keep them, a signal
 * handler's use is undone by its rt_sigreturn), so they are loaded from
 * the frame only when the sentry wrote it (SYSMSG_SET_FP in %r12d): an
 * xrstor is the dearest step of the return (120ns of a 2us round trip on
 * the 2-core VM). */
.Lpatch_return:
	test $SYSMSG_SET_FP, %r12d
	jz 1f
	movabs $SYSMSG_REGION, %rbx
	mov STUB_CONTROL_FPX_SW + 8(%rbx), %eax
	mov STUB_CONTROL_FPX_SW + 12(%rbx), %edx
	xrstor64 PF(SYSMSG_PF_FP)(%r15)
1:	pushq MC(SC_EFLAGS)(%r15)
	popfq
	mov MC(SC_R8)(%r15), %r8
	mov MC(SC_R9)(%r15), %r9
	mov MC(SC_R10)(%r15), %r10
	mov MC(SC_R11)(%r15), %r11
	mov MC(SC_R12)(%r15), %r12
	mov MC(SC_R13)(%r15), %r13
	mov MC(SC_R14)(%r15), %r14
	mov MC(SC_RDI)(%r15), %rdi
	mov MC(SC_RSI)(%r15), %rsi
	mov MC(SC_RBP)(%r15), %rbp
	mov MC(SC_RBX)(%r15), %rbx
	mov MC(SC_RDX)(%r15), %rdx
	mov MC(SC_RAX)(%r15), %rax
	mov MC(SC_RCX)(%r15), %rcx
	mov MC(SC_RSP)(%r15), %rsp
	mov MC(SC_R15)(%r15), %r15
	jmp *%gs:MC(SC_RIP)

/* The resume's syscall instruction (arch_prctl only); the return address
 * is in %rbx. It lies after patch_resumed, so that the signal handler
 * finishes the resume if a signal arrives here. */
patch_resume_syscall:
	syscall
patch_resume_syscall_site:
	jmp *%rbx
.Lpatch_sigreturn:
	lea PF(SYSMSG_PF_UC)(%r15), %rsp
	mov $__NR_rt_sigreturn, %eax
	syscall
patch_sigreturn_site:
	ud2
patch_entry_end:

/* MAP_PART addr, size, prot, fd: maps the memfd in fd over [addr,
 * addr+size), shared, or dies. */
.macro MAP_PART addr, size, prot, fd
	movabs $\addr, %rdi
	mov $\size, %esi
	mov $\prot, %edx
	mov $(MAP_SHARED | MAP_FIXED), %r10d
	mov \fd, %r8
	xor %r9d, %r9d
	SYS __NR_mmap
	movabs $\addr, %rcx
	cmp %rcx, %rax
	jne .Ldie
.endm

/* The forked child: this thread alone, in a copy of the parent's memory. */
.Lforked:
	mov $PR_SET_PDEATHSIG, %edi
	mov $SIGKILL, %esi
	SYS __NR_prctl
	mov %rbp, %rdi
	mov $STUB_CTL_FD, %esi
	xor %edx, %edx
	SYS __NR_dup3
	cmp $STUB_CTL_FD, %rax
	jne .Ldie
	MAP_PART SYSMSG_REGION, SYSMSG_RO_SIZE, PROT_READ, %r13
	MAP_PART SYSMSG_RW_BASE, SYSMSG_RW_SIZE, (PROT_READ | PROT_WRITE), %r14
	movabs $SYSMSG_PATCH_TABLE, %rdi        /* the trap table, from the new memfd */
	mov $SYSMSG_PATCH_TABLE_SIZE, %esi
	mov $(PROT_READ | PROT_EXEC), %edx
	mov $(MAP_SHARED | MAP_FIXED), %r10d
	mov %r13, %r8
	mov $SYSMSG_PATCH_TABLE_OFFSET, %r9d
	SYS __NR_mmap
	cmp $SYSMSG_PATCH_TABLE, %rax
	jne .Ldie
	mov $(STUB_CTL_FD + 1), %edi
	mov $-1, %esi
	xor %edx, %edx
	SYS __NR_close_range
	jmp stub_serve
.Ldie:
	mov $127, %edi
	mov $__NR_exit_group, %eax
	lea .Ldie(%rip), %rbx
	jmp stub_syscall_insn

	.section .rodata
	.align 8
/* A new application thread's signal mask until its first stop: every
 * signal blocked but the synchronous ones (SIGILL, SIGTRAP, SIGBUS, SIGFPE,
 * SIGSEGV, SIGSYS), so that no handler runs before its filter is in. */
thread_setup_mask:
	.quad ~((1 << 3) | (1 << 4) | (1 << 6) | (1 << 7) | (1 << 10) | (1 << 30))

	.bss
	.align 16
fs_stack:
	.skip 65536
fs_stack_top:

	.section .note.GNU-stack,"",@progbits
