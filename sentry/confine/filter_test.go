package confine

import (
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"
	"gvisor.dev/gvisor/pkg/seccomp"
)

// verdict runs the sentry's program for platform on one syscall.
func verdict(t *testing.T, platform string, nr uintptr, args ...uint64) linux.BPFAction {
	t.Helper()
	return verdictIn(t, platform, false, nr, args...)
}

// verdictIn is verdict with --network=host's program if hostNet.
func verdictIn(t *testing.T, platform string, hostNet bool, nr uintptr, args ...uint64) linux.BPFAction {
	t.Helper()
	insns, err := Filter(platform, hostNet, false)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := bpf.Compile(insns, true)
	if err != nil {
		t.Fatal(err)
	}
	d := linux.SeccompData{Nr: int32(nr), Arch: linux.AUDIT_ARCH_X86_64, InstructionPointer: 0x401000}
	copy(d.Args[:], args)
	buf := make([]byte, (*linux.SeccompData)(nil).SizeBytes())
	got, err := bpf.Exec[bpf.NativeEndian](prog, seccomp.DataAsBPFInput(&d, buf))
	if err != nil {
		t.Fatal(err)
	}
	return linux.BPFAction(got)
}

func TestFilterVerdicts(t *testing.T) {
	kill, allow := linux.SECCOMP_RET_KILL_PROCESS, linux.SECCOMP_RET_ALLOW
	enosys := linux.SECCOMP_RET_ERRNO.WithReturnCode(uint16(unix.ENOSYS))
	for _, tc := range []struct {
		name     string
		platform string
		nr       uintptr
		args     []uint64
		want     linux.BPFAction
	}{
		{"go thread", "systrap", unix.SYS_CLONE, []uint64{uint64(goThreads)}, allow},
		{"fork", "systrap", unix.SYS_CLONE, []uint64{uint64(unix.SIGCHLD)}, kill},
		{"clone3", "systrap", unix.SYS_CLONE3, nil, enosys},
		{"execve", "systrap", unix.SYS_EXECVE, nil, kill},
		{"mount", "ptrace", unix.SYS_MOUNT, nil, kill},
		{"ptrace on systrap", "systrap", unix.SYS_PTRACE, []uint64{unix.PTRACE_SEIZE}, kill},
		{"ptrace seize", "ptrace", unix.SYS_PTRACE, []uint64{unix.PTRACE_SEIZE}, allow},
		{"ptrace attach", "ptrace", unix.SYS_PTRACE, []uint64{unix.PTRACE_ATTACH}, kill},
		{"socket", "systrap", unix.SYS_SOCKET, []uint64{unix.AF_UNIX}, kill},
		{"accept4 of the control socket", "systrap", unix.SYS_ACCEPT4, []uint64{5, 0, 0, unix.SOCK_CLOEXEC}, allow},
		{"accept4 non-blocking", "ptrace", unix.SYS_ACCEPT4, []uint64{5, 0, 0, unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK}, kill},
		{"accept", "systrap", unix.SYS_ACCEPT, []uint64{5, 0, 0}, kill},
		{"bind", "systrap", unix.SYS_BIND, []uint64{5, 0, 0}, kill},
		{"connect", "systrap", unix.SYS_CONNECT, []uint64{5, 0, 0}, kill},
		{"listen", "systrap", unix.SYS_LISTEN, []uint64{5, 1}, kill},
		{"profiling timer", "systrap", unix.SYS_SETITIMER, []uint64{unix.ITIMER_PROF}, allow},
		{"real timer", "systrap", unix.SYS_SETITIMER, []uint64{unix.ITIMER_REAL}, kill},
		{"exec mapping", "systrap", unix.SYS_MMAP, []uint64{0, 4096, unix.PROT_READ | unix.PROT_EXEC}, kill},
		{"data mapping", "systrap", unix.SYS_MMAP, []uint64{0, 4096, unix.PROT_READ | unix.PROT_WRITE}, allow},
		{"open /proc", "systrap", unix.SYS_OPENAT, []uint64{uint64(atFDCWD), 0, unix.O_RDONLY | unix.O_CLOEXEC}, allow},
		{"open for writing", "systrap", unix.SYS_OPENAT, []uint64{uint64(atFDCWD), 0, unix.O_WRONLY}, kill},
		{"open below a descriptor", "systrap", unix.SYS_OPENAT, []uint64{3, 0, unix.O_RDONLY}, kill},
		{"ioctl TIOCSTI", "systrap", unix.SYS_IOCTL, []uint64{0, unix.TIOCSTI}, kill},
		{"ioctl TCGETS", "systrap", unix.SYS_IOCTL, []uint64{0, unix.TCGETS}, allow},
		// Writable host trees: only relative to a descriptor.
		{"mkdirat below a descriptor", "systrap", unix.SYS_MKDIRAT, []uint64{5, 0, 0o755}, allow},
		{"mkdirat by path", "systrap", unix.SYS_MKDIRAT, []uint64{uint64(atFDCWD), 0, 0o755}, kill},
		{"unlinkat by path", "ptrace", unix.SYS_UNLINKAT, []uint64{uint64(atFDCWD), 0, 0}, kill},
		{"renameat2 to a path", "systrap", unix.SYS_RENAMEAT2, []uint64{5, 0, uint64(atFDCWD), 0, 0}, kill},
		{"renameat2 between descriptors", "systrap", unix.SYS_RENAMEAT2, []uint64{5, 0, 6, 0, unix.RENAME_NOREPLACE}, allow},
		{"linkat following symlinks", "systrap", unix.SYS_LINKAT, []uint64{5, 0, 6, 0, unix.AT_SYMLINK_FOLLOW}, kill},
		{"linkat by descriptor", "systrap", unix.SYS_LINKAT, []uint64{5, 0, 6, 0, unix.AT_EMPTY_PATH}, kill},
		{"linkat", "systrap", unix.SYS_LINKAT, []uint64{5, 0, 6, 0, 0}, allow},
		{"symlinkat by path", "systrap", unix.SYS_SYMLINKAT, []uint64{0, uint64(atFDCWD), 0}, kill},
		{"mknodat FIFO", "systrap", unix.SYS_MKNODAT, []uint64{5, 0, unix.S_IFIFO | 0o644, 0}, allow},
		{"mknodat device", "systrap", unix.SYS_MKNODAT, []uint64{5, 0, unix.S_IFCHR | 0o644, 0x103}, kill},
		{"fchmodat2 of a descriptor", "systrap", unix.SYS_FCHMODAT2, []uint64{5, 0, 0o644, unix.AT_EMPTY_PATH}, allow},
		{"fchmodat2 by name", "systrap", unix.SYS_FCHMODAT2, []uint64{5, 0, 0o644, 0}, kill},
		{"fchmodat", "systrap", unix.SYS_FCHMODAT, []uint64{5, 0, 0o644}, kill},
		{"fchownat by name", "systrap", unix.SYS_FCHOWNAT, []uint64{5, 0, 0, 0, 0}, kill},
		{"fchownat of a descriptor", "systrap", unix.SYS_FCHOWNAT, []uint64{5, 0, 0, 0, unix.AT_EMPTY_PATH}, allow},
		{"utimensat by path", "systrap", unix.SYS_UTIMENSAT, []uint64{uint64(atFDCWD), 0, 0, unix.AT_EMPTY_PATH}, kill},
		{"utimensat of a descriptor", "systrap", unix.SYS_UTIMENSAT, []uint64{5, 0, 0, unix.AT_EMPTY_PATH}, allow},
		{"statx of a descriptor", "systrap", unix.SYS_STATX, []uint64{5, 0, unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS | unix.STATX_BTIME}, allow},
		{"statx by path", "systrap", unix.SYS_STATX, []uint64{uint64(atFDCWD), 0, 0, unix.STATX_BASIC_STATS | unix.STATX_BTIME}, kill},
		{"statx by path below a descriptor", "ptrace", unix.SYS_STATX, []uint64{5, 0, 0, unix.STATX_BASIC_STATS | unix.STATX_BTIME}, kill},
	} {
		if got := verdict(t, tc.platform, tc.nr, tc.args...); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestHostNetVerdicts: --network=host's program adds the socket calls on
// sockets the sentry holds, with pinned arguments; it still creates no
// socket, and the other mode's program has none of them.
func TestHostNetVerdicts(t *testing.T) {
	kill, allow := linux.SECCOMP_RET_KILL_PROCESS, linux.SECCOMP_RET_ALLOW
	for _, tc := range []struct {
		name    string
		hostNet bool
		nr      uintptr
		args    []uint64
		want    linux.BPFAction
	}{
		{"socket", true, unix.SYS_SOCKET, []uint64{unix.AF_INET, unix.SOCK_STREAM, 0}, kill},
		{"socketpair", true, unix.SYS_SOCKETPAIR, []uint64{unix.AF_INET, unix.SOCK_STREAM, 0}, kill},
		{"bind", true, unix.SYS_BIND, []uint64{5, 0, unix.SizeofSockaddrInet6}, allow},
		{"bind without host mode", false, unix.SYS_BIND, []uint64{5, 0, unix.SizeofSockaddrInet6}, kill},
		{"bind of a long address", true, unix.SYS_BIND, []uint64{5, 0, unix.SizeofSockaddrUnix}, kill},
		{"connect", true, unix.SYS_CONNECT, []uint64{5, 0, unix.SizeofSockaddrInet4}, allow},
		{"connect without host mode", false, unix.SYS_CONNECT, []uint64{5, 0, unix.SizeofSockaddrInet4}, kill},
		{"listen", true, unix.SYS_LISTEN, []uint64{5, 128}, allow},
		{"listen past somaxconn", true, unix.SYS_LISTEN, []uint64{5, 1 << 20}, kill},
		{"accept4 non-blocking", true, unix.SYS_ACCEPT4, []uint64{5, 0, 0, unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK}, allow},
		{"accept4 blocking", true, unix.SYS_ACCEPT4, []uint64{5, 0, 0, unix.SOCK_NONBLOCK}, kill},
		{"shutdown SHUT_RDWR", true, unix.SYS_SHUTDOWN, []uint64{5, unix.SHUT_RDWR}, allow},
		{"shutdown SHUT_RDWR without host mode", false, unix.SYS_SHUTDOWN, []uint64{5, unix.SHUT_RDWR}, kill},
		{"setsockopt TCP_NODELAY", true, unix.SYS_SETSOCKOPT, []uint64{5, unix.SOL_TCP, unix.TCP_NODELAY, 0, 4}, allow},
		{"setsockopt TCP_NODELAY too long", true, unix.SYS_SETSOCKOPT, []uint64{5, unix.SOL_TCP, unix.TCP_NODELAY, 0, MaxOptLen + 1}, kill},
		{"setsockopt SO_ATTACH_FILTER", true, unix.SYS_SETSOCKOPT, []uint64{5, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, 0, 16}, kill},
		{"setsockopt SO_BINDTODEVICE", true, unix.SYS_SETSOCKOPT, []uint64{5, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, 0, 3}, kill},
		{"setsockopt TCP_INFO", true, unix.SYS_SETSOCKOPT, []uint64{5, unix.SOL_TCP, unix.TCP_INFO, 0, 4}, kill},
		{"getsockopt TCP_INFO", true, unix.SYS_GETSOCKOPT, []uint64{5, unix.SOL_TCP, unix.TCP_INFO, 0, 0}, allow},
		{"getsockopt SO_PEERCRED", true, unix.SYS_GETSOCKOPT, []uint64{5, unix.SOL_SOCKET, unix.SO_PEERCRED, 0, 0}, kill},
		{"ioctl SIOCGIFFLAGS", true, unix.SYS_IOCTL, []uint64{5, unix.SIOCGIFFLAGS}, allow},
		{"ioctl SIOCSIFFLAGS", true, unix.SYS_IOCTL, []uint64{5, unix.SIOCSIFFLAGS}, kill},
		{"ioctl SIOCGIFFLAGS without host mode", false, unix.SYS_IOCTL, []uint64{5, unix.SIOCGIFFLAGS}, kill},
	} {
		if got := verdictIn(t, "systrap", tc.hostNet, tc.nr, tc.args...); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
