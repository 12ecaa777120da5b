package stub_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/abi/linux"
	"gvisor.dev/gvisor/pkg/bpf"

	"runsc-lite/stub"
	"runsc-lite/sysmsg"
)

// allowAll is a stand-in for the platform's stub filter: these tests are
// about starting and ending processes, not about what they may do.
var allowAll = []bpf.Instruction{bpf.Stmt(bpf.Ret|bpf.K, uint32(linux.SECCOMP_RET_ALLOW))}

func startForkserver(t *testing.T, c stub.Confinement) *stub.Forkserver {
	t.Helper()
	fs, err := stub.StartForkserver(allowAll, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fs.Close() })
	return fs
}

// spawn starts a stub process and returns it with a cleanup that kills it.
func spawn(t *testing.T, fs *stub.Forkserver, req stub.Request) stub.Process {
	t.Helper()
	sh, err := sysmsg.NewShared()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sh.Close)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	t.Cleanup(func() { unix.Close(fds[0]) })
	p, err := fs.Spawn(req, fds[1], sh.ROFD, sh.RWFD)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.PidfdSendSignal(p.Pidfd, unix.SIGKILL, nil, 0)
		unix.Close(p.Pidfd)
	})
	return p
}

// status returns the fields of /proc/pid/status.
func status(pid int) map[string]string {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil
	}
	defer f.Close()
	m := make(map[string]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		m[k] = strings.TrimSpace(v)
	}
	return m
}

// gone waits until pid no longer exists (not even as a zombie).
func gone(pid int, d time.Duration) bool {
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			return true
		}
	}
	return false
}

// TestConfined checks, from the host, what docs/security.md and the security
// model promise of the forkserver and of every stub process.
func TestConfined(t *testing.T) {
	c := stub.DefaultConfinement()
	c.Hostname = "sandbox"
	c.Rlimits = []stub.Rlimit{{Resource: unix.RLIMIT_CORE, Cur: 0, Max: 0}}
	fs := startForkserver(t, c)
	p := spawn(t, fs, stub.Request{Rlimits: []stub.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 64, Max: 64}}})
	var st map[string]string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if st = status(p.Pid); st["Seccomp_filters"] == "2" {
			break // the stub's own filter, on the forkserver's, is its set-up's last step
		}
	}
	for name, pid := range map[string]int{"forkserver": fs.Pid(), "stub": p.Pid} {
		st := status(pid)
		for k, want := range map[string]string{
			"CapEff": "0000000000000000", "CapPrm": "0000000000000000", "CapBnd": "0000000000000000",
			"CapAmb": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2",
		} {
			if st[k] != want {
				t.Errorf("%s %s = %q, want %q", name, k, st[k], want)
			}
		}
		if uid := strings.Fields(st["Uid"]); len(uid) != 4 || uid[1] != strconv.Itoa(c.UID) {
			t.Errorf("%s Uid = %q, want %d", name, st["Uid"], c.UID)
		}
		for _, ns := range []string{"user", "pid", "mnt", "ipc", "uts", "net", "cgroup"} {
			self, _ := os.Readlink("/proc/self/ns/" + ns)
			theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
			if err != nil || self == theirs {
				t.Errorf("%s %s namespace %q (%v), ours %q: want its own", name, ns, theirs, err, self)
			}
		}
		if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/root/", pid)); err != nil || len(ents) != 0 {
			t.Errorf("%s root has %d entries (%v), want an empty root", name, len(ents), err)
		}
		var rl unix.Rlimit
		if err := unix.Prlimit(pid, unix.RLIMIT_CORE, nil, &rl); err != nil || rl.Max != 0 {
			t.Errorf("%s RLIMIT_CORE = %+v (%v), want 0", name, rl, err)
		}
	}
	if st["PPid"] != strconv.Itoa(fs.Pid()) {
		t.Errorf("stub's parent is %s, want the forkserver %d", st["PPid"], fs.Pid())
	}
	var rl unix.Rlimit
	if err := unix.Prlimit(p.Pid, unix.RLIMIT_NOFILE, nil, &rl); err != nil || rl.Cur != 64 || rl.Max != 64 {
		t.Errorf("stub RLIMIT_NOFILE = %+v (%v), want 64/64", rl, err)
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/root/../../proc/sys/kernel/hostname", p.Pid)); err == nil {
		t.Errorf("the stub's old root is still reachable: read %q", b)
	}
}

func TestBadRequests(t *testing.T) {
	fs := startForkserver(t, stub.DefaultConfinement())
	if _, err := fs.Spawn(stub.Request{Rlimits: make([]stub.Rlimit, 17)}, -1, -1, -1); err == nil {
		t.Errorf("Spawn with 17 rlimits succeeded, want an error")
	}
	// A stub process is known only by a pidfd the kernel vouches for.
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	if _, err := fs.Adopt(fds[0]); err == nil {
		t.Errorf("Adopt of a pipe succeeded")
	}
	self, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Adopt(self); err == nil {
		t.Errorf("Adopt of a pidfd of a process outside the forkserver succeeded")
	}
	p := spawn(t, fs, stub.Request{})
	again, err := unix.PidfdOpen(p.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Adopt(again); err == nil {
		t.Errorf("Adopt of a stub process already in use succeeded")
	}
}

// TestReapOnRequest: a stub that exits stays a zombie, holding its pid,
// until the sentry asks the forkserver to reap it.
func TestReapOnRequest(t *testing.T) {
	fs := startForkserver(t, stub.DefaultConfinement())
	var procs []stub.Process
	for i := 0; i < 20; i++ {
		p := spawn(t, fs, stub.Request{})
		unix.PidfdSendSignal(p.Pidfd, unix.SIGKILL, nil, 0)
		procs = append(procs, p)
	}
	for _, p := range procs {
		fds := []unix.PollFd{{Fd: int32(p.Pidfd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, 5000); n != 1 {
			t.Fatalf("stub %d did not exit: %v", p.Pid, err)
		}
		if st := status(p.Pid)["State"]; !strings.HasPrefix(st, "Z") {
			t.Errorf("stub %d is in state %q before Reap, want a zombie", p.Pid, st)
		}
		if err := fs.Reap(p); err != nil {
			t.Errorf("Reap: %v", err)
		}
	}
	for _, p := range procs {
		if !gone(p.Pid, 5*time.Second) {
			t.Errorf("stub %d still exists (state %q) after Reap", p.Pid, status(p.Pid)["State"])
		}
	}
}

// TestStubsDieWithOwner kills a process that owns a forkserver and a stub
// and checks that both disappear.
func TestStubsDieWithOwner(t *testing.T) {
	if os.Getenv("STUB_TEST_OWNER") == "1" {
		fs := startForkserver(t, stub.DefaultConfinement())
		p := spawn(t, fs, stub.Request{})
		fmt.Printf("%d %d\n", fs.Pid(), p.Pid)
		time.Sleep(time.Minute)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStubsDieWithOwner$")
	cmd.Env = append(os.Environ(), "STUB_TEST_OWNER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var fsPid, stubPid int
	if _, err := fmt.Fscan(out, &fsPid, &stubPid); err != nil {
		cmd.Process.Kill()
		t.Fatalf("reading pids from the owner: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	for _, pid := range []int{fsPid, stubPid} {
		if !gone(pid, 5*time.Second) {
			t.Errorf("process %d outlived its owner", pid)
		}
	}
}

// TestCloseWhileATracedStubDies: a stub traced by its owner (the ptrace
// platform's) can be reaped by the dying forkserver only once the tracer
// has collected it, and the tracer's owner may be about to ask for a Reap
// first. Close must not hold up that Reap while it waits for the
// forkserver: the Reap fails at once, the tracer collects its stub, and
// Close returns.
func TestCloseWhileATracedStubDies(t *testing.T) {
	fs, err := stub.StartForkserver(allowAll, stub.DefaultConfinement())
	if err != nil {
		t.Fatal(err)
	}
	p := spawn(t, fs, stub.Request{})
	jobs := make(chan func())
	defer close(jobs)
	go func() {
		runtime.LockOSThread() // ptrace requests come from the tracer's thread
		for f := range jobs {
			f()
		}
	}()
	do := func(f func()) {
		done := make(chan struct{})
		jobs <- func() { f(); close(done) }
		<-done
	}
	do(func() { err = unix.PtraceSeize(p.Pid) })
	if err != nil {
		t.Fatalf("PTRACE_SEIZE of stub %d: %v", p.Pid, err)
	}
	closed := make(chan error)
	go func() { closed <- fs.Close() }()
	time.Sleep(50 * time.Millisecond) // Close is now waiting for the forkserver
	reaped := make(chan error)
	go func() { reaped <- fs.Reap(p) }()
	select {
	case err := <-reaped:
		if err == nil {
			t.Errorf("Reap after Close succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("Reap blocked while Close waits for the forkserver: the tracer would never collect its stub")
	}
	do(func() {
		var ws unix.WaitStatus
		unix.Wait4(p.Pid, &ws, unix.WALL, nil)
	})
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("Close did not return once the traced stub was collected")
	}
}
