package systrap

import (
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"

	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

// TestThreadFilterNarrowsBase: an application thread's program checks
// only sites and its futex word, and leaves arguments to the base program
// beneath it. Stacked on the base, it must allow exactly what the
// handler's whole rules with the thread's own state word would: every
// syscall number, from each of the stub's sites and elsewhere, with
// arguments the handler passes and others it never does.
func TestThreadFilterNarrowsBase(t *testing.T) {
	syms, err := stub.LoadSymbols()
	if err != nil {
		t.Fatal(err)
	}
	const slot = 3
	compile := func(insns []bpf.Instruction, err error) bpf.Program {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return compileFilter(t, insns)
	}
	base := compile(BaseFilter(syms))
	thread := compile(ThreadFilter(syms, slot))
	whole := compile(stub.Build("whole application thread", handlerRules(syms, seccomp.EqualTo(sysmsg.StateAddr(slot))), seccomp.Trap))
	allows := func(p bpf.Program, d *linux.SeccompData) bool { return filterAllows(t, p, d) }
	sites := []uintptr{syms.HandlerSite, syms.PatchSite, syms.PatchResumeSite, syms.PatchSigreturnSite,
		syms.RestorerSite, syms.SyscallSite, syms.HandlerSite + 2, 0x400000}
	rw := uint64(unix.PROT_READ | unix.PROT_WRITE)
	anon := uint64(unix.MAP_PRIVATE | unix.MAP_ANONYMOUS | unix.MAP_FIXED)
	own, other := uint64(sysmsg.StateAddr(slot)), uint64(sysmsg.StateAddr(slot+1))
	argSets := [][6]uint64{
		{},
		{own, linux.FUTEX_WAIT}, {own, linux.FUTEX_WAKE}, {own, linux.FUTEX_WAIT_BITSET},
		{other, linux.FUTEX_WAIT}, {other, linux.FUTEX_WAKE}, {uint64(sysmsg.RWBase), linux.FUTEX_WAKE},
		{uint64(sysmsg.Region), linux.FUTEX_WAIT},
		{linux.ARCH_SET_FS, 0x1000}, {linux.ARCH_SET_GS}, {linux.ARCH_GET_FS},
		{0x10000000, 0x3000, rw, anon, ^uint64(0), 0}, {0x10000000, 0x3000, rw, anon, 3, 0},
		{0x10000000, 0x1000, rw, uint64(resumeCallFileFlags), 5, 0},
		{0x10000000, 0x1000, unix.PROT_READ}, {stub.ImageBase, 0x1000, rw},
		{stub.CtlFD, 0x10000000, resumeRecvFlags}, {stub.CtlFD, 0x10000000, 0},
		{5}, {stub.CtlFD}, {uint64(stub.ForkCloneFlags)}, {uint64(stub.ThreadCloneFlags)},
		{unix.SIG_SETMASK}, {linux.SECCOMP_SET_MODE_FILTER},
	}
	checked, allowed := 0, 0
	for nr := int32(0); nr < 470; nr++ {
		for _, ip := range sites {
			for _, args := range argSets {
				d := linux.SeccompData{Nr: nr, Arch: linux.AUDIT_ARCH_X86_64, InstructionPointer: uint64(ip), Args: args}
				want := allows(base, &d) && allows(whole, &d)
				if got := allows(base, &d) && allows(thread, &d); got != want {
					t.Errorf("syscall %d from %#x with %#x: stacked on the base, the thread's program allows it: %v; the whole rules: %v", nr, ip, args, got, want)
				}
				checked++
				if want {
					allowed++
				}
			}
		}
	}
	if d := (linux.SeccompData{Nr: unix.SYS_EXIT, Arch: linux.AUDIT_ARCH_AARCH64, InstructionPointer: uint64(syms.HandlerSite)}); allows(thread, &d) {
		t.Error("the thread's program allows another architecture's syscall")
	}
	if allowed < 20 {
		t.Errorf("only %d of %d probes are allowed: the probes miss the handler's syscalls", allowed, checked)
	}
	t.Logf("%d probes, %d allowed", checked, allowed)
}

// compileFilter compiles a seccomp program for pkg/bpf's interpreter.
func compileFilter(t *testing.T, insns []bpf.Instruction) bpf.Program {
	t.Helper()
	p, err := bpf.Compile(insns, true)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// filterAllows reports whether program p allows the syscall d describes.
func filterAllows(t *testing.T, p bpf.Program, d *linux.SeccompData) bool {
	t.Helper()
	buf := make([]byte, (*linux.SeccompData)(nil).SizeBytes())
	got, err := bpf.Exec[bpf.NativeEndian](p, seccomp.DataAsBPFInput(d, buf))
	if err != nil {
		t.Fatal(err)
	}
	return linux.BPFAction(got) == linux.SECCOMP_RET_ALLOW
}
