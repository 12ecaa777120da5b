package platformtest

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"

	"runsc-lite/abi"
	"runsc-lite/platform"
	"runsc-lite/stub"
)

// Hijacker is the most privileged thread of a stub process (systrap's
// syscall thread, ptrace's control thread) taken over by an attacker: the
// test makes it run what such an attacker would, within whatever the
// thread's seccomp filter allows. Platforms provide one through
// Options.Hijack; systrap's attaches to the syscall thread with ptrace,
// ptrace's runs its remote syscalls with any number and arguments.
type Hijacker interface {
	// Pid is the stub process's pid on the host.
	Pid() int
	// Syscall runs syscall nr with args in the thread, at the stub's own
	// syscall instruction (the one its filter allows most at). Whatever
	// it clones dies at once.
	Syscall(nr uintptr, args ...uint64) Hijacked
	// Clone runs clone(flags, 0, pidfd) as Syscall does, but the process
	// or thread it makes runs on in the stub's code, as an attacker would
	// leave it behind: until it is killed.
	Clone(flags uintptr, pidfd uintptr) Hijacked
	// Release gives the thread back to the stub (a tracer must, before its
	// tracee's process can be reaped). It is also done when the test ends.
	Release()
}

// Hijacked is what came of a hijacked thread's syscall.
type Hijacked struct {
	Ret     int64 // the result, -errno for an error, if it ran
	Trapped bool  // the stub's filter trapped it (SIGSYS): it did not run
	Killed  bool  // the stub process died of it (the filter killed it)
}

// Refused reports whether the stub's filter stopped the call.
func (h Hijacked) Refused() bool { return h.Trapped || h.Killed }

func (h Hijacked) String() string {
	switch {
	case h.Killed:
		return "killed the stub process"
	case h.Trapped:
		return "trapped by the filter"
	case h.Ret < 0 && h.Ret > -4096:
		return "ran: " + unix.ErrnoName(unix.Errno(-h.Ret))
	}
	return fmt.Sprintf("ran: %d", h.Ret)
}

// hijackEnv is one hijacked stub process with a page of its memory, and the
// witness it attacks.
type hijackEnv struct {
	f       Factory
	p       platform.Platform
	as      platform.AddressSpace
	h       Hijacker
	witness *Witness
	// data is a page of application memory in as for the attacker's
	// buffers; dataAddr in the test's address space.
	data uintptr
}

// put writes b into the attacker's page at off and returns its address.
func (e *hijackEnv) put(t testing.TB, off uintptr, b []byte) uint64 {
	t.Helper()
	write(t, e.as, e.data+off, b)
	return uint64(e.data + off)
}

// hijackRow is one thing a hijacked thread tries.
type hijackRow struct {
	name string
	run  func(t *testing.T, e *hijackEnv, opts Options)
}

// mustRefuse fails t unless the stub's filter stopped the call.
func mustRefuse(t *testing.T, what string, r Hijacked) {
	t.Helper()
	if !r.Refused() {
		t.Errorf("%s from the hijacked thread %s; want it trapped or killed by the stub's filter", what, r)
	}
}

// mustFail fails t unless the call ran and failed with errno want, or the
// filter stopped it.
func mustFail(t *testing.T, what string, r Hijacked, want unix.Errno) {
	t.Helper()
	if !r.Refused() && r.Ret != -int64(want) {
		t.Errorf("%s from the hijacked thread %s; want %s (or refused by the filter)", what, r, unix.ErrnoName(want))
	}
}

var hijackRows = []hijackRow{
	{"identity of the stub process", func(t *testing.T, e *hijackEnv, _ Options) {
		checkConfined(t, "the hijacked stub", e.h.Pid())
	}},
	{"kill the witness", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "kill(witness, SIGWINCH)", e.h.Syscall(unix.SYS_KILL, uint64(e.witness.Pid), uint64(unix.SIGWINCH)))
	}},
	{"tgkill the witness", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "tgkill(witness)", e.h.Syscall(unix.SYS_TGKILL, uint64(e.witness.Pid), uint64(e.witness.Pid), uint64(unix.SIGKILL)))
	}},
	{"pidfd_open the witness", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "pidfd_open(witness)", e.h.Syscall(unix.SYS_PIDFD_OPEN, uint64(e.witness.Pid), 0))
	}},
	{"ptrace the witness", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "ptrace(PTRACE_ATTACH, witness)", e.h.Syscall(unix.SYS_PTRACE, unix.PTRACE_ATTACH, uint64(e.witness.Pid), 0, 0))
	}},
	{"process_vm_writev into the witness", func(t *testing.T, e *hijackEnv, _ Options) {
		junk := e.put(t, 0x800, make([]byte, 64))
		local := e.put(t, 0, iovecs(junk, 64))
		remote := e.put(t, 0x40, iovecs(uint64(e.witness.Addr), 64))
		mustRefuse(t, "process_vm_writev(witness)", e.h.Syscall(unix.SYS_PROCESS_VM_WRITEV, uint64(e.witness.Pid), local, 1, remote, 1, 0))
	}},
	{"create a host file", func(t *testing.T, e *hijackEnv, _ Options) {
		path := filepath.Join(t.TempDir(), "made-by-a-hijacked-stub")
		addr := e.put(t, 0, append([]byte(path), 0))
		mustRefuse(t, "openat(O_CREAT)", e.h.Syscall(unix.SYS_OPENAT, ^uint64(99), addr, unix.O_CREAT|unix.O_WRONLY, 0o644))
		if _, err := os.Stat(path); err == nil {
			t.Errorf("the hijacked stub created %s", path)
		}
	}},
	{"execve a host program", func(t *testing.T, e *hijackEnv, _ Options) {
		path := e.put(t, 0, []byte("/bin/sh\x00"))
		mustRefuse(t, "execve(/bin/sh)", e.h.Syscall(unix.SYS_EXECVE, path, 0, 0))
	}},
	{"open a network socket", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "socket(AF_INET)", e.h.Syscall(unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, 0))
	}},
	{"fork as a child of the stub", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "clone(SIGCHLD)", e.h.Syscall(unix.SYS_CLONE, uint64(unix.SIGCHLD), 0, 0, 0, 0))
	}},
	{"clone into new namespaces", func(t *testing.T, e *hijackEnv, _ Options) {
		flags := uint64(stub.ForkCloneFlags | unix.CLONE_NEWUSER | unix.CLONE_NEWNS)
		mustRefuse(t, "clone(CLONE_NEWUSER|CLONE_NEWNS)", e.h.Syscall(unix.SYS_CLONE, flags, 0, uint64(e.data), 0, 0))
	}},
	{"unshare and setns", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "unshare(CLONE_NEWUSER)", e.h.Syscall(unix.SYS_UNSHARE, unix.CLONE_NEWUSER))
	}},
	{"send on another descriptor", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "sendmsg(fd 0)", e.h.Syscall(unix.SYS_SENDMSG, 0, uint64(e.data), 0))
	}},
	{"receive on another descriptor", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "recvmsg(fd 0)", e.h.Syscall(unix.SYS_RECVMSG, 0, uint64(e.data), unix.MSG_DONTWAIT))
	}},
	{"dup3 over another descriptor", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "dup3(3, 0, 0)", e.h.Syscall(unix.SYS_DUP3, stub.CtlFD, 0, 0))
	}},
	{"futex on application memory", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "futex(FUTEX_WAKE) on application memory", e.h.Syscall(unix.SYS_FUTEX, uint64(e.data), linux.FUTEX_WAKE, 1))
	}},
	{"prctl other than the parent-death signal", func(t *testing.T, e *hijackEnv, _ Options) {
		mustRefuse(t, "prctl(PR_SET_DUMPABLE)", e.h.Syscall(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE, 1))
	}},
	{"make the stub's code writable", func(t *testing.T, e *hijackEnv, _ Options) {
		mustFail(t, "mprotect(stub image, RWX)", e.h.Syscall(unix.SYS_MPROTECT, stub.ImageBase, 0x1000, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC), unix.EPERM)
	}},
	{"unmap the stub's image", func(t *testing.T, e *hijackEnv, _ Options) {
		mustFail(t, "munmap(stub image)", e.h.Syscall(unix.SYS_MUNMAP, stub.ImageBase, 0x1000), unix.EPERM)
	}},
	{"map over the stub's image", func(t *testing.T, e *hijackEnv, _ Options) {
		r := e.h.Syscall(unix.SYS_MMAP, stub.ImageBase, 0x1000, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, ^uint64(0), 0)
		mustFail(t, "mmap(MAP_FIXED over the stub image)", r, unix.EPERM)
	}},
	{"move the stub's image", func(t *testing.T, e *hijackEnv, _ Options) {
		r := e.h.Syscall(unix.SYS_MREMAP, stub.ImageBase, 0x1000, 0x1000, unix.MREMAP_MAYMOVE|unix.MREMAP_FIXED, uint64(e.data))
		mustFail(t, "mremap(stub image)", r, unix.EPERM)
	}},
	{"make the sentry's read-only pages writable", func(t *testing.T, e *hijackEnv, opts Options) {
		if len(opts.ReadOnlyShared) == 0 {
			t.Skip("Options.ReadOnlyShared not set: the platform shares no read-only memory with its stubs")
		}
		for _, addr := range opts.ReadOnlyShared {
			r := e.h.Syscall(unix.SYS_MPROTECT, uint64(addr), 0x1000, unix.PROT_READ|unix.PROT_WRITE)
			mustFail(t, fmt.Sprintf("mprotect(%#x, PROT_WRITE)", addr), r, unix.EACCES)
		}
	}},
	{"make the vDSO's parameters writable", func(t *testing.T, e *hijackEnv, opts Options) {
		if !opts.SandboxVDSO {
			t.Skip("Options.SandboxVDSO not set: the stubs keep the host's vDSO")
		}
		// Every stub maps the same page: a stub that could write it would
		// set the clocks of every process in the sandbox.
		v := e.as.VVAR()
		r := e.h.Syscall(unix.SYS_MPROTECT, uint64(v.Start), 0x1000, unix.PROT_READ|unix.PROT_WRITE)
		mustFail(t, "mprotect(vDSO parameters, PROT_WRITE)", r, unix.EACCES)
		r = e.h.Syscall(unix.SYS_MREMAP, uint64(v.Start), 0x1000, 0x2000, unix.MREMAP_MAYMOVE, 0)
		if !r.Refused() && r.Ret >= 0 {
			w := e.h.Syscall(unix.SYS_MPROTECT, uint64(r.Ret), 0x1000, unix.PROT_READ|unix.PROT_WRITE)
			mustFail(t, "mprotect(the parameters page moved by mremap, PROT_WRITE)", w, unix.EACCES)
		}
	}},
	{"forge a forked child's pidfd", testForgedPidfd},
	{"forge a new thread's pidfd", testForgedThreadPidfd},
	{"leave a process behind", testSurvivor},
	{"clone until the pids cgroup stops it", testCloneLoop},
}

// testHijack runs every hijackRow against a fresh stub process of its own,
// next to a witness that must come out untouched.
func testHijack(t *testing.T, f Factory, opts Options) {
	if opts.Hijack == nil {
		t.Skip("Options.Hijack not set")
	}
	p := newPlatform(t, f)
	witness := StartWitness(t)
	for _, row := range hijackRows {
		t.Run(row.name, func(t *testing.T) {
			e := newHijackEnv(t, p, opts)
			e.f, e.witness = f, witness
			row.run(t, e, opts)
			witness.Check(t)
		})
	}
}

func newHijackEnv(t *testing.T, p platform.Platform, opts Options) *hijackEnv {
	t.Helper()
	as, _ := newAddressSpace(t, p)
	mapAnon(t, as, dataAddr, dataSize, unix.PROT_READ|unix.PROT_WRITE)
	return &hijackEnv{p: p, as: as, h: opts.Hijack(t, as), data: dataAddr}
}

// iovecs is one struct iovec.
func iovecs(base uint64, n uint64) []byte {
	return abi.Encode(abi.Iovec{Base: base, Len: n})
}

// procStatus returns the fields of /proc/pid/status.
func procStatus(pid int) map[string]string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		m[k] = strings.TrimSpace(v)
	}
	return m
}

// checkConfined fails t unless the host process pid runs with no
// capabilities, no_new_privs, a seccomp filter, not as root, and in
// namespaces of its own (stub.DefaultConfinement).
func checkConfined(t *testing.T, what string, pid int) {
	t.Helper()
	st := procStatus(pid)
	if st == nil {
		t.Errorf("%s (pid %d) is gone", what, pid)
		return
	}
	for k, want := range map[string]string{"CapEff": "0000000000000000", "CapPrm": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2"} {
		if st[k] != want {
			t.Errorf("%s: %s %q, want %q", what, k, st[k], want)
		}
	}
	if want := stub.DefaultConfinement().UID; !strings.HasPrefix(st["Uid"], strconv.Itoa(want)+"\t") {
		t.Errorf("%s: Uid %q, want %d", what, st["Uid"], want)
	}
	for _, ns := range []string{"user", "pid", "mnt", "net", "ipc", "uts", "cgroup"} {
		ours, _ := os.Readlink("/proc/self/ns/" + ns)
		theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if err != nil || theirs == ours {
			t.Errorf("%s: %s namespace %q (%v), the test's is %q: want its own", what, ns, theirs, err, ours)
		}
	}
}

// children returns the host pids of pid's children.
func children(pid int) []int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	var out []int
	for _, f := range strings.Fields(string(b)) {
		if c, err := strconv.Atoi(f); err == nil {
			out = append(out, c)
		}
	}
	return out
}

// parent returns the host pid of pid's parent, 0 if pid is gone.
func parent(pid int) int {
	pp, _ := strconv.Atoi(procStatus(pid)["PPid"])
	return pp
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	st := procStatus(pid)
	return st != nil && !strings.HasPrefix(st["State"], "Z") && !strings.HasPrefix(st["State"], "X")
}

// testForgedPidfd: the hijacked thread sends the sentry a "forked child's
// pidfd" that is no pidfd (its own control socket) ahead of a fork; the
// sentry must refuse it (stub.Forkserver.Adopt) and end the liar, not
// adopt, signal or read some other process.
func testForgedPidfd(t *testing.T, e *hijackEnv, opts Options) {
	if !opts.ForkReadsPidfdMessage {
		t.Skip("the platform takes a forked child's pidfd from the kernel (pidfd_getfd), not from a message a stub sends; TestAttackHostile forges the page it reads the number from")
	}
	e.forgeFDMessage(t)
	child, err := e.as.Fork()
	if err == nil {
		child.Release()
		t.Fatalf("Fork after a forged pidfd message succeeded")
	}
	t.Logf("Fork after a forged pidfd message: %v", err)
	e.expectKilled(t)
}

// testForgedThreadPidfd: the descriptor a stub sends as a new thread's
// pidfd is its control socket; the platform must not take it for a thread.
func testForgedThreadPidfd(t *testing.T, e *hijackEnv, opts Options) {
	if !opts.ThreadReadsPidfdMessage {
		t.Skip("the platform learns a new stub thread's id without a message from the stub")
	}
	e.forgeFDMessage(t)
	loadCode(t, e.as, codeAddr, []byte{0x0f, 0x05}) // syscall
	stack := mapStack(t, e.as, stackAddr)
	// A thread started before the forgery may run (a spare stub process
	// has its first thread started ahead); the first one started after it
	// must not.
	const threads = 3
	for i := 0; i < threads; i++ {
		th := newThread(t, e.p, e.as, codeAddr, stack)
		th.regs.Rax = unix.SYS_GETPID
		if o := th.switchOnce(); o.err != nil {
			t.Logf("starting thread %d after a forged thread pidfd message: %v", i, o.err)
			e.expectKilled(t)
			return
		}
	}
	t.Fatalf("%d threads ran after a forged thread pidfd message", threads)
}

// forgeFDMessage has the hijacked syscall thread send its own control
// socket on its control socket, one byte with SCM_RIGHTS as the stub's
// messages are, then lets it serve requests again.
func (e *hijackEnv) forgeFDMessage(t *testing.T) {
	t.Helper()
	cmsg := unix.UnixRights(stub.CtlFD)
	ctl := e.put(t, 0x200, cmsg)
	iov := e.put(t, 0x100, iovecs(uint64(e.data+0x180), 1))
	hdr := e.put(t, 0, abi.Encode(abi.MsgHdr{Iov: iov, IovLen: 1, Control: ctl, ControlLen: uint64(len(cmsg))}))
	if r := e.h.Syscall(unix.SYS_SENDMSG, stub.CtlFD, hdr, 0); r.Refused() || r.Ret != 1 {
		t.Fatalf("the hijacked thread's sendmsg on its control socket: %s, want 1 byte sent (its filter allows it)", r)
	}
	e.h.Release() // it serves the next request as if nothing happened
}

// expectKilled fails t unless the lying stub no longer serves its address
// space.
func (e *hijackEnv) expectKilled(t *testing.T) {
	t.Helper()
	if _, err := e.as.Mmap(0, pageSize, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, nil, 0); !errors.Is(err, platform.ErrContextDead) {
		t.Errorf("the lying stub still serves its address space (Mmap: %v); want it killed", err)
	}
}

// testSurvivor: a process the hijacked thread clones (a child of the
// forkserver, by the only flags its filter allows) and leaves running must
// not outlive the platform.
func testSurvivor(t *testing.T, e *hijackEnv, opts Options) {
	// A platform of its own, to close it here.
	own, err := e.f()
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			own.Close()
		}
	}()
	as, err := own.NewAddressSpace()
	if err != nil {
		t.Fatal(err)
	}
	mapAnon(t, as, dataAddr, dataSize, unix.PROT_READ|unix.PROT_WRITE)
	h := opts.Hijack(t, as)
	fs := parent(h.Pid())
	before := map[int]bool{}
	for _, c := range children(fs) {
		before[c] = true
	}
	r := h.Clone(stub.ForkCloneFlags, dataAddr)
	if r.Refused() || r.Ret <= 0 {
		t.Fatalf("clone(CLONE_PARENT|CLONE_PIDFD|SIGCHLD) from the hijacked thread: %s; its filter allows it", r)
	}
	var survivor int
	for _, c := range children(fs) {
		if !before[c] && c != h.Pid() {
			survivor = c
		}
	}
	if survivor == 0 || !alive(survivor) {
		t.Fatalf("the hijacked thread's clone is not a live child of the forkserver %d (children %v)", fs, children(fs))
	}
	checkConfined(t, "the hijacked stub's clone", survivor)
	h.Release()
	as.Release()
	closed = true
	if err := own.Close(); err != nil {
		t.Errorf("closing the platform: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); alive(survivor); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d, cloned by a hijacked stub, outlived the platform by 5 s", survivor)
		}
	}
}

// stubCgroup returns the cgroup of the forkserver whose stub pid is,
// relative to controller's hierarchy, if it is not the test's own: the
// platform put its stubs in a cgroup of their own.
func stubCgroup(t *testing.T, pid int, controller string) (string, bool) {
	read := func(p int) string {
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", p))
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.SplitN(line, ":", 3)
			if len(f) != 3 {
				continue
			}
			for _, c := range strings.Split(f[1], ",") {
				if c == controller {
					return "/sys/fs/cgroup/" + controller + f[2]
				}
			}
			if f[0] == "0" && f[1] == "" {
				if _, err := os.Stat("/sys/fs/cgroup/cgroup.controllers"); err == nil {
					return "/sys/fs/cgroup" + f[2]
				}
			}
		}
		return ""
	}
	theirs := read(parent(pid))
	if theirs == "" || theirs == read(os.Getpid()) {
		return "", false
	}
	return theirs, true
}

// testCloneLoop: the hijacked thread clones (the flags its filter allows)
// until the kernel refuses: the pids limit of the stubs' cgroup must stop
// it, whatever the sentry counts.
func testCloneLoop(t *testing.T, e *hijackEnv, _ Options) {
	cg, ok := stubCgroup(t, e.h.Pid(), "pids")
	if !ok {
		t.Skip("the stubs share the test's pids cgroup: no kernel limit for a hijacked stub's clones until the platform puts stubs in a cgroup of their own (issue 10); the namespaces are checked by \"identity of the stub process\"")
	}
	b, err := os.ReadFile(filepath.Join(cg, "pids.max"))
	if err != nil {
		t.Fatalf("the stubs' cgroup %s: %v", cg, err)
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("the stubs' cgroup %s has pids.max %q: want a limit", cg, b)
	}
	for n := 0; ; n++ {
		r := e.h.Syscall(unix.SYS_CLONE, uint64(stub.ForkCloneFlags), 0, uint64(e.data), 0, 0)
		if r.Refused() {
			t.Fatalf("clone %d: %s; the stub's filter allows these flags", n, r)
		}
		if r.Ret == -int64(unix.EAGAIN) {
			if n > max {
				t.Errorf("%d clones before EAGAIN, pids.max is %d", n, max)
			}
			return
		}
		if r.Ret < 0 || n > max+1 {
			t.Fatalf("clone %d: %s; want EAGAIN at pids.max %d", n, r, max)
		}
	}
}
