package platformtest

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"runsc-lite/platform"
)

// syscallArgsSrc loads a distinct value into every register the sentry
// reads at a syscall, sets CF, and traps; after the sentry's answer it
// stores what it got back and hands it to a second syscall.
const syscallArgsSrc = `
	movabs $0x1111111111111101, %rdi
	movabs $0x2222222222222202, %rsi
	movabs $0x3333333333333303, %rdx
	movabs $0x4444444444444404, %r10
	movabs $0x5555555555555505, %r8
	movabs $0x6666666666666606, %r9
	movabs $0x7777777777777707, %rbx
	movabs $0x8888888888888808, %rbp
	movabs $0x9999999999999909, %r12
	movabs $0xaaaaaaaaaaaaaa0a, %r13
	movabs $0xbbbbbbbbbbbbbb0b, %r14
	movabs $0xcccccccccccccc0c, %r15
	mov $39, %eax
	stc
	syscall
after_first:
	setc %cl
	movzbq %cl, %rcx
	movabs $0x30000000, %r11
	mov %rax, 0(%r11)
	mov %rbx, 8(%r11)
	mov %r12, 16(%r11)
	mov %rcx, 24(%r11)
	mov %r13, 32(%r11)
	mov %rax, %rdi
	mov %rbx, %rsi
	mov %r12, %rdx
	mov %rbp, %r10
	mov $39, %eax
	syscall
after_second:
	ud2
`

func testSyscallArgs(t *testing.T, f Factory, _ Options) {
	p := newPlatform(t, f)
	th, prog := newProcess(t, p, syscallArgsSrc)
	stackTop := th.regs.Rsp

	th.runToSyscall(unix.SYS_GETPID)
	r := &th.regs
	for _, reg := range []struct {
		name      string
		got, want uint64
	}{
		{"rdi", r.Rdi, 0x1111111111111101},
		{"rsi", r.Rsi, 0x2222222222222202},
		{"rdx", r.Rdx, 0x3333333333333303},
		{"r10", r.R10, 0x4444444444444404},
		{"r8", r.R8, 0x5555555555555505},
		{"r9", r.R9, 0x6666666666666606},
		{"rbx", r.Rbx, 0x7777777777777707},
		{"rbp", r.Rbp, 0x8888888888888808},
		{"r12", r.R12, 0x9999999999999909},
		{"r13", r.R13, 0xaaaaaaaaaaaaaa0a},
		{"r14", r.R14, 0xbbbbbbbbbbbbbb0b},
		{"r15", r.R15, 0xcccccccccccccc0c},
		{"rax", r.Rax, unix.SYS_GETPID},
		{"rip", r.Rip, codeAddr + prog.off(t, "after_first")},
		{"rcx (return address set by syscall)", r.Rcx, codeAddr + prog.off(t, "after_first")},
		{"rsp", r.Rsp, stackTop},
		{"cs", r.Cs, platform.UserCS},
		{"ss", r.Ss, platform.UserSS},
		{"eflags&CF", r.Eflags & 1, 1},
		{"r11&CF (rflags saved by syscall)", r.R11 & 1, 1},
	} {
		expectReg(t, reg.name, reg.got, reg.want)
	}
	if t.Failed() {
		t.FailNow()
	}

	// Answer, and change callee-saved registers behind the program's back:
	// it must see exactly what the sentry wrote.
	r.Rax = 0x1234
	r.Rbx = 0xb0b0b0b0b0b0b0b0
	r.R12 = 0xc0c0c0c0c0c0c0c0
	th.runToSyscall(unix.SYS_GETPID)
	expectReg(t, "rip", r.Rip, codeAddr+prog.off(t, "after_second"))
	expectReg(t, "rdi (the result the program got)", r.Rdi, 0x1234)
	expectReg(t, "rsi (rbx set by the sentry)", r.Rsi, 0xb0b0b0b0b0b0b0b0)
	expectReg(t, "rdx (r12 set by the sentry)", r.Rdx, 0xc0c0c0c0c0c0c0c0)
	expectReg(t, "r10 (rbp, left alone)", r.R10, 0x8888888888888808)
	expectUint64(t, th.as, dataAddr+0, 0x1234, "rax after the syscall")
	expectUint64(t, th.as, dataAddr+8, 0xb0b0b0b0b0b0b0b0, "rbx after the syscall")
	expectUint64(t, th.as, dataAddr+16, 0xc0c0c0c0c0c0c0c0, "r12 after the syscall")
	expectUint64(t, th.as, dataAddr+24, 1, "CF after the syscall")
	expectUint64(t, th.as, dataAddr+32, 0xaaaaaaaaaaaaaa0a, "r13 after the syscall")
}

// fpStateSrc loads xmm0..15 from data+16*i and, with AVX, the upper halves
// of ymm0..15 from data+256+16*i; traps; then stores xmm3, xmm7 and (AVX)
// ymm5, ymm9 at data+0x400 and traps again.
func fpStateSrc(avx bool) string {
	var b strings.Builder
	b.WriteString("\tmovabs $0x30000000, %rbx\n")
	for i := range 16 {
		fmt.Fprintf(&b, "\tmovdqu %d(%%rbx), %%xmm%d\n", 16*i, i)
	}
	if avx {
		for i := range 16 {
			fmt.Fprintf(&b, "\tvinsertf128 $1, %d(%%rbx), %%ymm%d, %%ymm%d\n", 256+16*i, i, i)
		}
	}
	b.WriteString("\tmov $39, %eax\n\tsyscall\n")
	b.WriteString("\tmovdqu %xmm3, 0x400(%rbx)\n\tmovdqu %xmm7, 0x410(%rbx)\n")
	if avx {
		b.WriteString("\tvmovdqu %ymm5, 0x420(%rbx)\n\tvmovdqu %ymm9, 0x440(%rbx)\n")
	}
	b.WriteString("\tmov $39, %eax\n\tsyscall\n\tud2\n")
	return b.String()
}

// vec returns a 16-byte pattern unique to (seed, i).
func vec(seed byte, i int) (v [16]byte) {
	for j := range v {
		v[j] = seed ^ byte(i<<4|j)
	}
	return v
}

func testFPState(t *testing.T, f Factory, _ Options) {
	avx := platform.Host.AVXOffset != 0
	if !avx {
		t.Log("host has no AVX: checking xmm registers only")
	}
	p := newPlatform(t, f)
	th, _ := newProcess(t, p, fpStateSrc(avx))
	var init []byte
	for i := range 16 {
		v := vec(0x00, i)
		init = append(init, v[:]...)
	}
	for i := range 16 {
		v := vec(0xa5, i)
		init = append(init, v[:]...)
	}
	write(t, th.as, dataAddr, init)

	th.runToSyscall(unix.SYS_GETPID)
	for i := range 16 {
		if got, want := th.fp.XMM(i), vec(0x00, i); got != want {
			t.Errorf("at the syscall stop, xmm%d = % x, want % x", i, got, want)
		}
		if !avx {
			continue
		}
		if got, want := th.fp.YMMHigh(i), vec(0xa5, i); got != want {
			t.Errorf("at the syscall stop, upper half of ymm%d = % x, want % x", i, got, want)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	newXMM3 := vec(0x3c, 3)
	newYMM5 := vec(0xc3, 5)
	th.fp.SetXMM(3, newXMM3)
	th.fp.SetYMMHigh(5, newYMM5)
	th.runToSyscall(unix.SYS_GETPID)

	expectVec := func(addr uintptr, want [16]byte, what string) {
		t.Helper()
		var got [16]byte
		copy(got[:], read(t, th.as, addr, 16))
		if got != want {
			t.Errorf("%s as the program saw it = % x, want % x", what, got, want)
		}
	}
	expectVec(dataAddr+0x400, newXMM3, "xmm3 (set by the sentry)")
	expectVec(dataAddr+0x410, vec(0x00, 7), "xmm7 (left alone)")
	if avx {
		expectVec(dataAddr+0x420, vec(0x00, 5), "lower half of ymm5 (left alone)")
		expectVec(dataAddr+0x430, newYMM5, "upper half of ymm5 (set by the sentry)")
		expectVec(dataAddr+0x440, vec(0x00, 9), "lower half of ymm9 (left alone)")
		expectVec(dataAddr+0x450, vec(0xa5, 9), "upper half of ymm9 (left alone)")
	}
}
