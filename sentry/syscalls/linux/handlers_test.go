package linux_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/sentry/kernel"
	"runsc-lite/sentry/kernel/kerneltest"
	sys "runsc-lite/sentry/syscalls/linux"
)

// Syscall handlers called through the table, by number, on a task of
// kerneltest (memplatform: no stub, no seccomp), with Linux's results and
// errnos. Arguments that are pointers point into scratch memory the test
// maps.

// proc is a task with the real syscall table and scratch memory.
type proc struct {
	t    testing.TB
	task *kernel.Task
	st   *kernel.SyscallTable
	next uintptr // the next free byte of scratch memory
	end  uintptr
}

const scratchSize = 1 << 20

// bad is an address nothing is mapped at.
const bad = 0x1000

func newProc(t testing.TB) *proc {
	t.Helper()
	st, err := sys.NewTable()
	if err != nil {
		t.Fatal(err)
	}
	task := kerneltest.NewTask(t, st)
	mem := kerneltest.Map(t, task, scratchSize)
	return &proc{t: t, task: task, st: st, next: mem, end: mem + scratchSize}
}

// call runs syscall nr with args as the task.
func (p *proc) call(nr uintptr, args ...uintptr) (uintptr, error) {
	p.t.Helper()
	s, ok := p.st.Entries[nr]
	if !ok || s.Fn == nil {
		return 0, unix.ENOSYS
	}
	var a kernel.SyscallArguments
	copy(a[:], args)
	return s.Fn(p.task, a)
}

// ok runs a call that must succeed and returns its result.
func (p *proc) ok(nr uintptr, args ...uintptr) uintptr {
	p.t.Helper()
	r, err := p.call(nr, args...)
	if err != nil {
		p.t.Fatalf("syscall %s: %v", p.st.Name(nr), err)
	}
	return r
}

// fails checks that a call fails with want.
func (p *proc) fails(want error, nr uintptr, args ...uintptr) {
	p.t.Helper()
	r, err := p.call(nr, args...)
	if !errors.Is(err, want) {
		p.t.Errorf("%s%v = %d, %v; want %v", p.st.Name(nr), args, r, err, want)
	}
}

// alloc returns n bytes of scratch memory, 16-byte aligned.
func (p *proc) alloc(n int) uintptr {
	p.t.Helper()
	addr := p.next
	p.next = (p.next + uintptr(n) + 15) &^ 15
	if p.next > p.end {
		p.t.Fatal("out of scratch memory")
	}
	return addr
}

// bytes copies b to scratch memory and returns its address.
func (p *proc) bytes(b []byte) uintptr {
	p.t.Helper()
	addr := p.alloc(len(b))
	if err := p.task.CopyOut(addr, b); err != nil {
		p.t.Fatal(err)
	}
	return addr
}

// str copies s, NUL-terminated, to scratch memory.
func (p *proc) str(s string) uintptr { return p.bytes(append([]byte(s), 0)) }

// read returns n bytes of application memory at addr.
func (p *proc) read(addr uintptr, n int) []byte {
	p.t.Helper()
	b := make([]byte, n)
	if err := p.task.CopyIn(addr, b); err != nil {
		p.t.Fatal(err)
	}
	return b
}

func (p *proc) u64(addr uintptr) uint64 { return binary.LittleEndian.Uint64(p.read(addr, 8)) }

func le64(vs ...uint64) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func cstring(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func TestGetcwd(t *testing.T) {
	p := newProc(t)
	buf := p.alloc(64)
	if n := p.ok(unix.SYS_GETCWD, buf, 64); n != 2 || cstring(p.read(buf, 2)) != "/" {
		t.Errorf("getcwd = %d %q, want 2 \"/\"", n, p.read(buf, 2))
	}
	p.ok(unix.SYS_MKDIR, p.str("/dir"), 0o755)
	p.ok(unix.SYS_CHDIR, p.str("/dir"))
	if n := p.ok(unix.SYS_GETCWD, buf, 64); n != 5 || cstring(p.read(buf, 5)) != "/dir" {
		t.Errorf("getcwd = %d %q, want 5 \"/dir\"", n, p.read(buf, 5))
	}
	p.fails(unix.ERANGE, unix.SYS_GETCWD, buf, 4)
	p.fails(unix.EFAULT, unix.SYS_GETCWD, bad, 64)
	p.ok(unix.SYS_RMDIR, p.str("/dir"))
	p.fails(unix.ENOENT, unix.SYS_GETCWD, buf, 64)
}

func TestUname(t *testing.T) {
	p := newProc(t)
	buf := p.alloc(6 * 65)
	p.ok(unix.SYS_UNAME, buf)
	field := func(i int) string { return cstring(p.read(buf+uintptr(65*i), 65)) }
	if field(0) != "Linux" || field(2) != kernel.Release || field(4) != "x86_64" {
		t.Errorf("uname: %q %q %q", field(0), field(2), field(4))
	}
	p.fails(unix.EFAULT, unix.SYS_UNAME, bad)
}

func TestUmask(t *testing.T) {
	p := newProc(t)
	if old := p.ok(unix.SYS_UMASK, 0o1777); old != 0o22 {
		t.Errorf("umask = %#o, want the initial 022", old)
	}
	if old := p.ok(unix.SYS_UMASK, 0o22); old != 0o777 {
		t.Errorf("umask = %#o, want 0777 (only the permission bits are kept)", old)
	}
}

func TestChdir(t *testing.T) {
	p := newProc(t)
	p.ok(unix.SYS_MKDIR, p.str("/d"), 0o700)
	fd := p.ok(unix.SYS_OPEN, p.str("/f"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	p.ok(unix.SYS_CLOSE, fd)
	p.fails(unix.ENOTDIR, unix.SYS_CHDIR, p.str("/f"))
	p.fails(unix.ENOENT, unix.SYS_CHDIR, p.str("/missing"))
	p.fails(unix.ENOENT, unix.SYS_CHDIR, p.str(""))
	p.fails(unix.EFAULT, unix.SYS_CHDIR, bad)
	p.ok(unix.SYS_SETRESUID, 1000, 1000, 1000)
	p.fails(unix.EACCES, unix.SYS_CHDIR, p.str("/d"))
	p.ok(unix.SYS_CHDIR, p.str("/"))
}

func TestOpenatAndFstat(t *testing.T) {
	p := newProc(t)
	p.ok(unix.SYS_MKDIR, p.str("/d"), 0o777)
	dir := p.ok(unix.SYS_OPEN, p.str("/d"), unix.O_RDONLY|unix.O_DIRECTORY)
	fd := p.ok(unix.SYS_OPENAT, dir, p.str("f"), unix.O_CREAT|unix.O_RDWR|unix.O_EXCL, 0o666)
	data := []byte("hello")
	if n := p.ok(unix.SYS_WRITE, fd, p.bytes(data), uintptr(len(data))); n != 5 {
		t.Errorf("write = %d", n)
	}
	st := p.alloc(int(statSize))
	p.ok(unix.SYS_FSTAT, fd, st)
	var s unix.Stat_t
	if err := kernel.CopyIn(p.task, st, &s); err != nil {
		t.Fatal(err)
	}
	if s.Size != 5 || s.Mode != unix.S_IFREG|0o644 || s.Nlink != 1 {
		t.Errorf("fstat: size %d mode %#o nlink %d; want 5, a regular file 0644 (umask 022), 1", s.Size, s.Mode, s.Nlink)
	}
	p.fails(unix.EEXIST, unix.SYS_OPENAT, dir, p.str("f"), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o666)
	p.fails(unix.ENOTDIR, unix.SYS_OPENAT, fd, p.str("x"), unix.O_RDONLY)
	p.fails(unix.EBADF, unix.SYS_OPENAT, 99, p.str("f"), unix.O_RDONLY)
	p.fails(unix.ENOTDIR, unix.SYS_OPENAT, dir, p.str("f"), unix.O_RDONLY|unix.O_DIRECTORY)
	p.fails(unix.EISDIR, unix.SYS_OPENAT, dir, p.str("."), unix.O_WRONLY)
	p.fails(unix.ENOENT, unix.SYS_OPENAT, dir, p.str("missing"), unix.O_RDONLY)
	p.fails(unix.EFAULT, unix.SYS_OPENAT, dir, bad, unix.O_RDONLY)
	// An absolute path ignores dirfd, even a bad one.
	p.ok(unix.SYS_CLOSE, p.ok(unix.SYS_OPENAT, 99, p.str("/d/f"), unix.O_RDONLY))
	p.fails(unix.EBADF, unix.SYS_FSTAT, 99, st)
	p.fails(unix.EFAULT, unix.SYS_FSTAT, fd, bad)
	buf := p.alloc(8)
	p.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET)
	if n := p.ok(unix.SYS_READ, fd, buf, 8); n != 5 || string(p.read(buf, 5)) != "hello" {
		t.Errorf("read back %d %q", n, p.read(buf, 5))
	}
}

// statSize is sizeof(struct stat) on x86-64.
const statSize = 144

func TestDupErrnos(t *testing.T) {
	p := newProc(t)
	fd := p.ok(unix.SYS_OPEN, p.str("/"), unix.O_RDONLY)
	if n := p.ok(unix.SYS_DUP, fd); n != fd+1 {
		t.Errorf("dup = %d, want the lowest free %d", n, fd+1)
	}
	// dup3: flags first, then oldfd == newfd, then newfd, then oldfd
	// (ksys_dup3's order).
	p.fails(unix.EINVAL, unix.SYS_DUP3, fd, 10, 0x1)
	p.fails(unix.EINVAL, unix.SYS_DUP3, fd, fd, 0)
	p.fails(unix.EINVAL, unix.SYS_DUP3, 50, 50, 0)
	p.fails(unix.EBADF, unix.SYS_DUP3, 50, 51, 0)
	p.fails(unix.EBADF, unix.SYS_DUP3, fd, 1<<20, 0)
	p.fails(unix.EBADF, unix.SYS_DUP3, fd, ^uintptr(0), 0)
	if n := p.ok(unix.SYS_DUP3, fd, 10, unix.O_CLOEXEC); n != 10 {
		t.Errorf("dup3 = %d, want 10", n)
	}
	if fl := p.ok(unix.SYS_FCNTL, 10, unix.F_GETFD); fl != unix.FD_CLOEXEC {
		t.Errorf("F_GETFD = %d, want FD_CLOEXEC", fl)
	}
	// dup2 of a descriptor onto itself is that descriptor if it is open.
	if n := p.ok(unix.SYS_DUP2, fd, fd); n != fd {
		t.Errorf("dup2(fd, fd) = %d", n)
	}
	p.fails(unix.EBADF, unix.SYS_DUP2, 50, 50)
	p.fails(unix.EBADF, unix.SYS_DUP, 50)
}

func TestPipeReadWrite(t *testing.T) {
	p := newProc(t)
	fds := p.alloc(8)
	p.fails(unix.EINVAL, unix.SYS_PIPE2, fds, unix.O_RDWR)
	p.fails(unix.EFAULT, unix.SYS_PIPE2, bad, 0)
	p.ok(unix.SYS_PIPE2, fds, unix.O_NONBLOCK)
	r, w := uintptr(binary.LittleEndian.Uint32(p.read(fds, 4))), uintptr(binary.LittleEndian.Uint32(p.read(fds+4, 4)))
	buf := p.alloc(16)
	p.fails(unix.EAGAIN, unix.SYS_READ, r, buf, 16)
	if n := p.ok(unix.SYS_WRITE, w, p.bytes([]byte("ping")), 4); n != 4 {
		t.Errorf("write = %d", n)
	}
	p.fails(unix.EBADF, unix.SYS_READ, w, buf, 16)
	p.fails(unix.EBADF, unix.SYS_WRITE, r, buf, 1)
	if n := p.ok(unix.SYS_READ, r, buf, 16); n != 4 || string(p.read(buf, 4)) != "ping" {
		t.Errorf("read = %d %q", n, p.read(buf, 4))
	}
	p.fails(unix.EFAULT, unix.SYS_WRITE, w, bad, 4)
	p.ok(unix.SYS_CLOSE, w)
	if n := p.ok(unix.SYS_READ, r, buf, 16); n != 0 {
		t.Errorf("read with no writer = %d, want 0 (end of file)", n)
	}
	p.ok(unix.SYS_PIPE2, fds, 0)
	r, w = uintptr(binary.LittleEndian.Uint32(p.read(fds, 4))), uintptr(binary.LittleEndian.Uint32(p.read(fds+4, 4)))
	p.ok(unix.SYS_CLOSE, r)
	p.task.SetSigMask(1 << (unix.SIGPIPE - 1))
	p.fails(unix.EPIPE, unix.SYS_WRITE, w, buf, 1)
}

func TestSigprocmask(t *testing.T) {
	p := newProc(t)
	set, old := p.alloc(8), p.alloc(8)
	usr1, usr2 := uint64(1)<<(unix.SIGUSR1-1), uint64(1)<<(unix.SIGUSR2-1)
	kill := uint64(1) << (unix.SIGKILL - 1)
	p.ok(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, p.bytes(le64(usr1|kill)), old, 8)
	if p.task.SigMask() != usr1 || p.u64(old) != 0 {
		t.Errorf("SIG_BLOCK: mask %#x, old %#x; want SIGUSR1 alone (SIGKILL cannot be blocked), 0", p.task.SigMask(), p.u64(old))
	}
	p.ok(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK, p.bytes(le64(usr2)), 0, 8)
	p.ok(unix.SYS_RT_SIGPROCMASK, unix.SIG_UNBLOCK, p.bytes(le64(usr2)), old, 8)
	if p.task.SigMask() != 0 || p.u64(old) != usr2 {
		t.Errorf("SIG_UNBLOCK: mask %#x, old %#x", p.task.SigMask(), p.u64(old))
	}
	p.fails(unix.EINVAL, unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, set, 0, 4)
	p.fails(unix.EINVAL, unix.SYS_RT_SIGPROCMASK, 7, p.bytes(le64(usr1)), 0, 8)
	p.fails(unix.EFAULT, unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, bad, 0, 8)
	p.fails(unix.EFAULT, unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, 0, bad, 8)
	// Without a new set, how is not looked at.
	p.ok(unix.SYS_RT_SIGPROCMASK, 7, 0, old, 8)
}

func TestRtSigaction(t *testing.T) {
	p := newProc(t)
	act := linux.SigAction{Handler: 0x4000, Flags: linux.SA_RESTORER | linux.SA_RESTART, Restorer: 0x5000, Mask: 1<<(unix.SIGKILL-1) | 1<<(unix.SIGINT-1)}
	in, old := p.alloc(32), p.alloc(32)
	if err := kernel.CopyOut(p.task, in, &act); err != nil {
		t.Fatal(err)
	}
	p.ok(unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), in, old, 8)
	var got linux.SigAction
	kernel.CopyIn(p.task, old, &got)
	if got.Handler != linux.SIG_DFL {
		t.Errorf("old action %#x, want SIG_DFL", got.Handler)
	}
	p.ok(unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), 0, old, 8)
	kernel.CopyIn(p.task, old, &got)
	if got.Handler != 0x4000 || got.Mask != 1<<(unix.SIGINT-1) {
		t.Errorf("the action read back: handler %#x mask %#x; want 0x4000 and SIGINT alone (SIGKILL cannot be blocked)", got.Handler, got.Mask)
	}
	p.fails(unix.EINVAL, unix.SYS_RT_SIGACTION, uintptr(unix.SIGKILL), in, 0, 8)
	p.fails(unix.EINVAL, unix.SYS_RT_SIGACTION, uintptr(unix.SIGSTOP), in, 0, 8)
	p.ok(unix.SYS_RT_SIGACTION, uintptr(unix.SIGKILL), 0, old, 8) // reading is allowed
	p.fails(unix.EINVAL, unix.SYS_RT_SIGACTION, 0, in, 0, 8)
	p.fails(unix.EINVAL, unix.SYS_RT_SIGACTION, 65, in, 0, 8)
	p.fails(unix.EINVAL, unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), in, 0, 4)
	p.fails(unix.EFAULT, unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), bad, 0, 8)
	p.fails(unix.EFAULT, unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), 0, bad, 8)
}

func TestRlimits(t *testing.T) {
	p := newProc(t)
	lim := p.alloc(16)
	p.ok(unix.SYS_GETRLIMIT, unix.RLIMIT_NOFILE, lim)
	if cur, max := p.u64(lim), p.u64(lim+8); cur != 1024 || max < cur {
		t.Errorf("RLIMIT_NOFILE = %d/%d, want a soft limit of 1024", cur, max)
	}
	p.fails(unix.EINVAL, unix.SYS_GETRLIMIT, 99, lim)
	p.fails(unix.EFAULT, unix.SYS_GETRLIMIT, unix.RLIMIT_NOFILE, bad)
	p.fails(unix.EINVAL, unix.SYS_SETRLIMIT, unix.RLIMIT_NOFILE, p.bytes(le64(200, 100)))
	old := p.alloc(16)
	p.ok(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, p.bytes(le64(100, 200)), old)
	if p.u64(old) != 1024 {
		t.Errorf("prlimit's old soft limit %d", p.u64(old))
	}
	p.ok(unix.SYS_PRLIMIT64, uintptr(p.task.PID()), unix.RLIMIT_NOFILE, 0, lim)
	if cur, max := p.u64(lim), p.u64(lim+8); cur != 100 || max != 200 {
		t.Errorf("RLIMIT_NOFILE = %d/%d after prlimit, want 100/200", cur, max)
	}
	p.fails(unix.ESRCH, unix.SYS_PRLIMIT64, 4000, unix.RLIMIT_NOFILE, 0, lim)
	// Raising a hard limit needs CAP_SYS_RESOURCE; lowering does not.
	p.ok(unix.SYS_SETRESUID, 1000, 1000, 1000)
	p.fails(unix.EPERM, unix.SYS_SETRLIMIT, unix.RLIMIT_NOFILE, p.bytes(le64(100, 300)))
	p.ok(unix.SYS_SETRLIMIT, unix.RLIMIT_NOFILE, p.bytes(le64(50, 150)))
}

func TestFutexSyscall(t *testing.T) {
	p := newProc(t)
	word := p.bytes(le64(5))
	p.fails(unix.EAGAIN, unix.SYS_FUTEX, word, linux.FUTEX_WAIT|linux.FUTEX_PRIVATE_FLAG, 4, 0)
	if n := p.ok(unix.SYS_FUTEX, word, linux.FUTEX_WAKE|linux.FUTEX_PRIVATE_FLAG, 1); n != 0 {
		t.Errorf("FUTEX_WAKE with no waiter = %d", n)
	}
	p.fails(unix.EINVAL, unix.SYS_FUTEX, word+1, linux.FUTEX_WAKE, 1)
	p.fails(unix.EFAULT, unix.SYS_FUTEX, bad, linux.FUTEX_WAIT, 5, 0)
	p.fails(unix.ENOSYS, unix.SYS_FUTEX, word, 99, 1)
	p.fails(unix.ENOSYS, unix.SYS_FUTEX, word, linux.FUTEX_WAKE|linux.FUTEX_CLOCK_REALTIME, 1)
	// A relative timeout of a millisecond expires.
	ts := p.bytes(le64(0, 1e6))
	p.fails(unix.ETIMEDOUT, unix.SYS_FUTEX, word, linux.FUTEX_WAIT|linux.FUTEX_PRIVATE_FLAG, 5, ts)
	p.fails(unix.EINVAL, unix.SYS_FUTEX, word, linux.FUTEX_WAIT, 5, p.bytes(le64(0, 2e9)))
}

// TestMemfdFlags: Linux 6.1, the release the sandbox reports, knows
// MFD_CLOEXEC, MFD_ALLOW_SEALING and MFD_HUGETLB; MFD_NOEXEC_SEAL and
// MFD_EXEC came with 6.3 and are unknown flags (EINVAL). The host may be
// newer, so no differential program can check this.
func TestMemfdFlags(t *testing.T) {
	p := newProc(t)
	name := p.str("m")
	for _, flags := range []uintptr{unix.MFD_NOEXEC_SEAL, unix.MFD_EXEC, unix.MFD_EXEC | unix.MFD_CLOEXEC, 0x100} {
		p.fails(unix.EINVAL, unix.SYS_MEMFD_CREATE, name, flags)
	}
	fd := p.ok(unix.SYS_MEMFD_CREATE, name, unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	p.ok(unix.SYS_CLOSE, fd)
}
