/*
 * Entry points of the stub program. Each role has exactly one syscall
 * instruction; the label after it is the instruction pointer seccomp sees
 * (seccomp_data.instruction_pointer is the address after `syscall`), and the
 * Go side reads these labels from the ELF symbol table.
 */
	.file "stub_amd64.S"
	.text

/* Forkserver entry: switch to our own stack, so that the kernel's initial
 * stack can be unmapped, then run the C code. */
	.globl _start
_start:
	lea fs_stack_top(%rip), %rsp
	call forkserver_main
	ud2

/* long stub_syscall(nr, a0..a5): syscall thread and thread set-up. */
	.globl stub_syscall, stub_syscall_site
stub_syscall:
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	mov 8(%rsp), %r9
	syscall
stub_syscall_site:
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
	mov $15, %eax /* rt_sigreturn */
	syscall
restorer_site:
	ud2

/* long stub_clone_thread(flags, stack, ctid, fn, arg): clone a thread that
 * runs fn(arg) on stack. The child never returns from fn. */
	.globl stub_clone_thread, clone_site
stub_clone_thread:
	sub $16, %rsi
	mov %rcx, 0(%rsi)
	mov %r8, 8(%rsi)
	mov %rdx, %r10   /* child_tid */
	xor %edx, %edx   /* parent_tid */
	xor %r8d, %r8d   /* tls */
	mov $56, %eax    /* clone */
	syscall
clone_site:
	test %rax, %rax
	jnz 1f
	pop %rax
	pop %rdi
	call *%rax
	ud2
1:
	ret

/* void ptrace_wait(void): ptrace platform. A stub thread waits here in
 * pause(2), using no stack, until the sentry seizes it. The tracer runs
 * remote syscalls on this syscall instruction, so a thread or process it
 * clones here starts in this loop too. */
	.globl ptrace_wait, ptrace_syscall_site
ptrace_wait:
	mov $34, %eax /* pause */
	syscall
ptrace_syscall_site:
	jmp ptrace_wait

	.bss
	.align 16
fs_stack:
	.skip 65536
fs_stack_top:

	.section .note.GNU-stack,"",@progbits
