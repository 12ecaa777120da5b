package strace_test

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
	"runsc-lite/sentry/strace"
	syslinux "runsc-lite/sentry/syscalls/linux"
)

// mem is application memory for the decoder: a byte slice at base.
type mem struct {
	base uintptr
	b    []byte
}

func (m *mem) CopyIn(addr uintptr, dst []byte) error {
	if addr < m.base || addr+uintptr(len(dst)) > m.base+uintptr(len(m.b)) {
		return unix.EFAULT
	}
	copy(dst, m.b[addr-m.base:])
	return nil
}

func (m *mem) CopyOut(addr uintptr, src []byte) error {
	if addr < m.base || addr+uintptr(len(src)) > m.base+uintptr(len(m.b)) {
		return unix.EFAULT
	}
	copy(m.b[addr-m.base:], src)
	return nil
}

func table(t *testing.T) *kernel.SyscallTable {
	st, err := syslinux.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestDecoder decodes calls as strace shows them: the entry part, then
// the rest once the call returned.
func TestDecoder(t *testing.T) {
	const base = 0x10000
	m := &mem{base: base, b: make([]byte, 4096)}
	put := func(off int, s string) uintptr { copy(m.b[off:], s); return base + uintptr(off) }
	path := put(0, "/etc/passwd\x00")
	data := put(64, "\x7fELF\x02\x01\x01\x03\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00\x00\x00\x10t\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	text := put(200, "say \"hi\"\t\\\n")
	d := strace.Decoder{Table: table(t)}
	for _, c := range []struct {
		nr    uintptr
		args  [6]uintptr
		ret   uintptr
		errno unix.Errno
		want  string
	}{
		{unix.SYS_OPENAT, [6]uintptr{uintptr(0xffffff9c), path, unix.O_RDONLY | unix.O_CLOEXEC}, 3, 0,
			`openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC) = 3`},
		{unix.SYS_OPENAT, [6]uintptr{3, path, unix.O_WRONLY | unix.O_CREAT | unix.O_TRUNC, 0o640}, 0, unix.ENOENT,
			`openat(3, "/etc/passwd", O_WRONLY|O_CREAT|O_TRUNC, 0640) = -1 ENOENT (No such file or directory)`},
		{unix.SYS_READ, [6]uintptr{3, data, 832}, 832, 0,
			`read(3, "\177ELF\2\1\1\3\0\0\0\0\0\0\0\0\3\0>\0\1\0\0\0\20t\2\0\0\0\0\0"..., 832) = 832`},
		{unix.SYS_READ, [6]uintptr{3, data, 832}, 0, unix.EBADF,
			`read(3, 0x10040, 832) = -1 EBADF (Bad file descriptor)`},
		{unix.SYS_WRITE, [6]uintptr{1, text, 11}, 11, 0, `write(1, "say \"hi\"\t\\\n", 11) = 11`},
		{unix.SYS_MMAP, [6]uintptr{0, 8192, unix.PROT_READ | unix.PROT_WRITE, unix.MAP_PRIVATE | unix.MAP_ANONYMOUS, ^uintptr(0), 0}, 0x7f0000001000, 0,
			`mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000001000`},
		{unix.SYS_MPROTECT, [6]uintptr{0x7f0000001000, 4096, 0}, 0, 0, `mprotect(0x7f0000001000, 4096, PROT_NONE) = 0`},
		{unix.SYS_LSEEK, [6]uintptr{3, 7, unix.SEEK_END}, 7, 0, `lseek(3, 7, SEEK_END) = 7`},
		{unix.SYS_KILL, [6]uintptr{12, uintptr(unix.SIGUSR1)}, 0, 0, `kill(12, SIGUSR1) = 0`},
		{unix.SYS_SOCKET, [6]uintptr{unix.AF_INET, unix.SOCK_STREAM | unix.SOCK_CLOEXEC, 0}, 0, unix.EACCES,
			`socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = -1 EACCES (Permission denied)`},
		{unix.SYS_FUTEX, [6]uintptr{0x1000, linux.FUTEX_WAIT | linux.FUTEX_PRIVATE_FLAG, 2}, 0, 0,
			`futex(0x1000, FUTEX_WAIT_PRIVATE, 2, NULL) = 0`},
		{unix.SYS_FUTEX, [6]uintptr{0x1000, linux.FUTEX_WAKE | linux.FUTEX_PRIVATE_FLAG, 1}, 1, 0,
			`futex(0x1000, FUTEX_WAKE_PRIVATE, 1) = 1`},
		{unix.SYS_CLONE, [6]uintptr{unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SETTLS, 0x2000, 0, 0, 0x3000}, 5, 0,
			`clone(child_stack=0x2000, flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SETTLS, tls=0x3000) = 5`},
		{unix.SYS_FUTEX, [6]uintptr{0x1000, linux.FUTEX_WAIT_BITSET | linux.FUTEX_CLOCK_REALTIME, 7, 0, 0, 0xffffffff}, 0, unix.EAGAIN,
			`futex(0x1000, FUTEX_WAIT_BITSET|FUTEX_CLOCK_REALTIME, 7, NULL, FUTEX_BITSET_MATCH_ANY) = -1 EAGAIN (Resource temporarily unavailable)`},
		{unix.SYS_IOCTL, [6]uintptr{1, linux.TCGETS, 0x2000}, 0, unix.ENOTTY,
			`ioctl(1, TCGETS, 0x2000) = -1 ENOTTY (Inappropriate ioctl for device)`},
		{unix.SYS_EXIT_GROUP, [6]uintptr{0}, 0, 0, `exit_group(0) = ?`},
		{unix.SYS_RT_SIGPROCMASK, [6]uintptr{unix.SIG_BLOCK, 0, 0, 8}, 0, 0, `rt_sigprocmask(SIG_BLOCK, NULL, NULL, 8) = 0`},
	} {
		enter := d.Enter(c.nr, c.args, 0, m)
		rest, result := d.Exit(c.nr, c.args, m, c.ret, c.errno, false)
		if got := enter + rest + " = " + result; got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}

// TestTracerInterleaved: a call another task's line interrupts ends with
// <unfinished ...> and comes back as <... NAME resumed>; lines have a
// [pid N] prefix while there are several tasks; results line up at
// column 40, and -T adds the time.
func TestTracerInterleaved(t *testing.T) {
	st := table(t)
	k := kerneltest.NewKernel(t, st)
	t1 := kerneltest.NewProcess(t, k)
	var out bytes.Buffer
	tr := strace.New(&out, st, strace.Options{})
	tr.SyscallEnter(t1, unix.SYS_GETPID, kernel.SyscallArguments{})
	tr.SyscallExit(t1, unix.SYS_GETPID, kernel.SyscallArguments{}, 1, nil)
	t2 := kerneltest.NewProcess(t, k)
	tr.SyscallEnter(t1, unix.SYS_WAIT4, kernel.SyscallArguments{^uintptr(0), 0, 0, 0})
	tr.SyscallEnter(t2, unix.SYS_GETPID, kernel.SyscallArguments{})
	tr.SyscallExit(t2, unix.SYS_GETPID, kernel.SyscallArguments{}, 2, nil)
	tr.TaskExit(t2, kernel.ExitStatus{Code: 3})
	tr.SyscallExit(t1, unix.SYS_WAIT4, kernel.SyscallArguments{^uintptr(0), 0, 0, 0}, 2, nil)
	tr.TaskExit(t1, kernel.ExitStatus{Signal: int(unix.SIGKILL)})
	want := `getpid()                                = 1
[pid     1] wait4(-1,  <unfinished ...>
[pid     2] getpid()                    = 2
[pid     2] +++ exited with 3 +++
[pid     1] <... wait4 resumed>NULL, 0, NULL) = 2
[pid     1] +++ killed by SIGKILL +++
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}

	out.Reset()
	filter, err := strace.ParseFilter("trace=%process", st)
	if err != nil {
		t.Fatal(err)
	}
	tr = strace.New(&out, st, strace.Options{Filter: filter, Timing: true})
	tr.SyscallEnter(t1, unix.SYS_GETPID, kernel.SyscallArguments{})
	tr.SyscallExit(t1, unix.SYS_GETPID, kernel.SyscallArguments{}, 1, nil)
	tr.SyscallEnter(t1, unix.SYS_KILL, kernel.SyscallArguments{2, 9})
	tr.SyscallExit(t1, unix.SYS_KILL, kernel.SyscallArguments{2, 9}, 0, nil)
	if !regexp.MustCompile(`^\[pid     1\] kill\(2, SIGKILL\)            = 0 <0\.\d{6}>\n$`).MatchString(out.String()) {
		t.Errorf("%%process with -T: got %q", out.String())
	}
}

// TestFilter parses strace's -e trace= expressions.
func TestFilter(t *testing.T) {
	st := table(t)
	for _, c := range []struct {
		expr      string
		in, notIn []uintptr
	}{
		{"open,openat", []uintptr{unix.SYS_OPEN, unix.SYS_OPENAT}, []uintptr{unix.SYS_READ}},
		{"%file", []uintptr{unix.SYS_OPENAT, unix.SYS_EXECVE, unix.SYS_STAT}, []uintptr{unix.SYS_READ, unix.SYS_CLOSE}},
		{"%network", []uintptr{unix.SYS_SOCKET, unix.SYS_CONNECT}, []uintptr{unix.SYS_OPENAT}},
		{"%signal", []uintptr{unix.SYS_RT_SIGACTION, unix.SYS_KILL}, []uintptr{unix.SYS_READ}},
		{"%memory", []uintptr{unix.SYS_MMAP, unix.SYS_BRK}, []uintptr{unix.SYS_READ}},
		{"%process", []uintptr{unix.SYS_CLONE, unix.SYS_WAIT4, unix.SYS_EXIT_GROUP}, []uintptr{unix.SYS_READ}},
		{"!write", []uintptr{unix.SYS_READ}, []uintptr{unix.SYS_WRITE}},
	} {
		set, err := strace.ParseFilter(c.expr, st)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		for _, nr := range c.in {
			if !set[nr] {
				t.Errorf("%s lacks %s", c.expr, st.Name(nr))
			}
		}
		for _, nr := range c.notIn {
			if set[nr] {
				t.Errorf("%s has %s", c.expr, st.Name(nr))
			}
		}
	}
	for _, bad := range []string{"nosuchcall", "%nosuchclass"} {
		if _, err := strace.ParseFilter(bad, st); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// TestSummary: -c's table, by time, with the errors column and the total.
func TestSummary(t *testing.T) {
	st := table(t)
	task := kerneltest.NewTask(t, st)
	var out bytes.Buffer
	tr := strace.New(&out, st, strace.Options{Summary: true})
	for i := 0; i < 3; i++ {
		tr.SyscallEnter(task, unix.SYS_GETPID, kernel.SyscallArguments{})
		tr.SyscallExit(task, unix.SYS_GETPID, kernel.SyscallArguments{}, 1, nil)
	}
	tr.SyscallEnter(task, unix.SYS_CLOSE, kernel.SyscallArguments{99})
	tr.SyscallExit(task, unix.SYS_CLOSE, kernel.SyscallArguments{99}, 0, unix.EBADF)
	tr.Finish()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 6 || lines[0] != "% time     seconds  usecs/call     calls    errors syscall" ||
		!regexp.MustCompile(`^100\.00 +\d+\.\d{6} +\d+ +4 +1 total$`).MatchString(lines[5]) {
		t.Fatalf("summary:\n%s", out.String())
	}
	if !regexp.MustCompile(`(?m)^ *\d+\.\d\d +\d+\.\d{6} +\d+ +3 +getpid$`).MatchString(out.String()) ||
		!regexp.MustCompile(`(?m)^ *\d+\.\d\d +\d+\.\d{6} +\d+ +1 +1 close$`).MatchString(out.String()) {
		t.Errorf("summary rows:\n%s", out.String())
	}
}
