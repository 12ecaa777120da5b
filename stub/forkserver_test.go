package stub_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
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

func startForkserver(t *testing.T) *stub.Forkserver {
	t.Helper()
	fs, err := stub.StartForkserver(allowAll)
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
	p, err := fs.Spawn(req, fds[1], sh.FD)
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

func TestSpawnAppliesRequest(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a new UTS namespace needs root")
	}
	fs := startForkserver(t)
	p := spawn(t, fs, stub.Request{
		CloneFlags: unix.CLONE_NEWUTS,
		Hostname:   "sandbox",
		Rlimits:    []stub.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 64, Max: 64}},
	})
	deadline := time.Now().Add(5 * time.Second)
	var st map[string]string
	for ; time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		// The stub drops capabilities after it has set everything up.
		if st = status(p.Pid); st["CapEff"] == "0000000000000000" {
			break
		}
	}
	if st["CapEff"] != "0000000000000000" || st["CapBnd"] != "0000000000000000" {
		t.Errorf("stub capabilities: effective %s, bounding %s; want none", st["CapEff"], st["CapBnd"])
	}
	if st["NoNewPrivs"] != "1" || st["Seccomp"] != "2" {
		t.Errorf("stub NoNewPrivs=%s Seccomp=%s, want 1 and 2 (filter)", st["NoNewPrivs"], st["Seccomp"])
	}
	var rl unix.Rlimit
	if err := unix.Prlimit(p.Pid, unix.RLIMIT_NOFILE, nil, &rl); err != nil || rl.Cur != 64 || rl.Max != 64 {
		t.Errorf("stub RLIMIT_NOFILE = %+v (%v), want 64/64", rl, err)
	}
	self, _ := os.Readlink("/proc/self/ns/uts")
	theirs, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/uts", p.Pid))
	if self == theirs {
		t.Errorf("stub shares our UTS namespace %s", self)
	}
	if got := st["PPid"]; got == strconv.Itoa(os.Getpid()) {
		t.Errorf("stub is our child; it should be the forkserver's")
	}
}

func TestBadRequests(t *testing.T) {
	fs := startForkserver(t)
	for name, req := range map[string]stub.Request{
		"mounts":              {CloneFlags: unix.CLONE_NEWNS, Mounts: []stub.Mount{{Target: "/proc", FSType: "proc"}}},
		"hostname without ns": {Hostname: "x"},
		"non-namespace flag":  {CloneFlags: unix.CLONE_VM},
		"too many rlimits":    {Rlimits: make([]stub.Rlimit, 17)},
	} {
		if _, err := fs.Spawn(req, -1, -1); err == nil {
			t.Errorf("%s: Spawn succeeded, want an error", name)
		}
	}
}

func TestNoZombies(t *testing.T) {
	fs := startForkserver(t)
	var pids []int
	for i := 0; i < 20; i++ {
		p := spawn(t, fs, stub.Request{})
		unix.PidfdSendSignal(p.Pidfd, unix.SIGKILL, nil, 0)
		pids = append(pids, p.Pid)
	}
	for _, pid := range pids {
		if !gone(pid, 5*time.Second) {
			t.Errorf("stub %d still exists (state %q) after SIGKILL", pid, status(pid)["State"])
		}
	}
}

// TestStubsDieWithOwner kills a process that owns a forkserver and a stub
// and checks that both disappear.
func TestStubsDieWithOwner(t *testing.T) {
	if os.Getenv("STUB_TEST_OWNER") == "1" {
		fs := startForkserver(t)
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
