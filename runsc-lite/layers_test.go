package main

// Tests of the layers beneath the sentry, read from the host while a
// sandbox runs: the sentry's and the stub processes' namespaces,
// identity, capabilities, no_new_privs and seccomp (/proc/PID/status), the
// host identity files are read with, runsc-lite started by a user that is
// not root, and the sandbox's cgroup. The kernel-enforced limits against a
// hijacked stub are in escape_test.go, kill -9 in kill_test.go.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"runsc-lite/cgroup"
)

// running is a sandbox started by startSandbox.
type running struct {
	t      *testing.T
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
}

// startSandbox starts `bin run ARGS...` in a process group of its own,
// with cred as its identity if not nil and a stdin that stays open, and
// waits for the line "ready" on its stdout. Cleanup ends it (SIGTERM, which runsc-lite passes to the
// sandbox, then SIGKILL) and checks that nothing of it is left.
func startSandbox(t *testing.T, bin string, cred *syscall.Credential, args ...string) *running {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"run"}, args...)...)
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	// A stdin that stays open, for programs that wait on it.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &running{t: t, cmd: cmd, stdin: stdin, stdout: bufio.NewReader(out)}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { io.Copy(io.Discard, r.stdout); cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			t.Errorf("the sandbox did not end on SIGTERM")
		}
		checkNoStrays(t, cmd.Process.Pid, cmd.Args)
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := r.stdout.ReadString('\n')
		lines <- line
	}()
	select {
	case line := <-lines:
		if line != "ready\n" {
			t.Fatalf("%q printed %q, want ready; stderr: %s", cmd.Args, line, stderr.String())
		}
	case <-time.After(runTimeout):
		t.Fatalf("%q did not get ready", cmd.Args)
	}
	return r
}

// hostProc is a host process as /proc/PID/stat shows it.
type hostProc struct {
	pid, ppid, pgrp int
	state           string
}

// procStat reads /proc/pid/stat.
func procStat(pid int) (hostProc, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return hostProc{}, false
	}
	// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return hostProc{}, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return hostProc{}, false
	}
	p := hostProc{pid: pid, state: f[0]}
	p.ppid, _ = strconv.Atoi(f[1])
	p.pgrp, _ = strconv.Atoi(f[2])
	return p, true
}

// hostProcs lists the host's processes.
func hostProcs() []hostProc {
	ents, _ := os.ReadDir("/proc")
	var out []hostProc
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			if p, ok := procStat(pid); ok {
				out = append(out, p)
			}
		}
	}
	return out
}

// childrenOf returns the pids of the live children of pid.
func childrenOf(pid int) []int {
	var out []int
	for _, p := range hostProcs() {
		if p.ppid == pid && p.state != "Z" && p.state != "X" {
			out = append(out, p.pid)
		}
	}
	return out
}

// processes finds the sentry (the only child of runsc-lite), the
// forkserver (the only child of the sentry) and the stub processes (its
// children), waiting until there are at least minStubs.
func (r *running) processes(minStubs int) (sentry, forkserver int, stubs []int) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		// runsc-lite's children: the sentry, and the network forwarder
		// (--network=sandbox), which checkForwarderConfined checks.
		var s []int
		for _, c := range childrenOf(r.cmd.Process.Pid) {
			if argv, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c)); strings.HasPrefix(string(argv), "runsc-lite-sentry\x00") {
				s = append(s, c)
			}
		}
		if len(s) == 1 {
			sentry = s[0]
			if f := childrenOf(sentry); len(f) == 1 {
				forkserver = f[0]
				if stubs = childrenOf(forkserver); len(stubs) >= minStubs {
					return sentry, forkserver, stubs
				}
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("runsc-lite %d: no sentry, forkserver and %d stubs (sentry %d, forkserver %d, stubs %v)",
				r.cmd.Process.Pid, minStubs, sentry, forkserver, stubs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// procStatus returns the fields of a /proc status file.
func procStatus(path string) map[string]string {
	lines, _ := os.ReadFile(path)
	m := make(map[string]string)
	for _, l := range strings.Split(string(lines), "\n") {
		k, v, _ := strings.Cut(l, ":")
		m[k] = strings.TrimSpace(v)
	}
	return m
}

// checkConfined checks every thread of process pid: no capability, no
// new privileges, a seccomp filter, identity uid, and namespaces none of
// which is the host's. It reports false if pid has exited.
func checkConfined(t *testing.T, what string, pid, uid int) bool {
	t.Helper()
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if errors.Is(err, os.ErrNotExist) {
		return false
	}
	if err != nil || len(tasks) == 0 {
		t.Errorf("%s %d: no threads (%v)", what, pid, err)
		return true
	}
	zero := "0000000000000000"
	for _, task := range tasks {
		st := procStatus(fmt.Sprintf("/proc/%d/task/%s/status", pid, task.Name()))
		for k, want := range map[string]string{
			"CapEff": zero, "CapPrm": zero, "CapInh": zero, "CapAmb": zero, "CapBnd": zero,
			"NoNewPrivs": "1", "Seccomp": "2",
		} {
			if st[k] != want {
				t.Errorf("%s %d thread %s: %s = %q, want %q", what, pid, task.Name(), k, st[k], want)
			}
		}
		for _, k := range []string{"Uid", "Gid"} {
			if ids := strings.Fields(st[k]); len(ids) != 4 || slices.ContainsFunc(ids, func(s string) bool { return s != strconv.Itoa(uid) }) {
				t.Errorf("%s %d thread %s: %s = %q, want %d everywhere", what, pid, task.Name(), k, st[k], uid)
			}
		}
	}
	for _, ns := range []string{"user", "mnt", "pid", "ipc", "uts", "net", "cgroup"} {
		self, _ := os.Readlink("/proc/self/ns/" + ns)
		theirs, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if err != nil || theirs == self {
			t.Errorf("%s %d: %s namespace %q (%v) is the host's (%q)", what, pid, ns, theirs, err, self)
		}
	}
	return true
}

// checkAllConfined checks the sentry, the forkserver and the stubs of r
// with checkConfined; stubs may exit meanwhile (an execve replaces one),
// but one at least must be checked.
func checkAllConfined(t *testing.T, r *running, uid int) (sentry, forkserver int, stubs []int) {
	t.Helper()
	sentry, forkserver, stubs = r.processes(1)
	for name, pid := range map[string]int{"sentry": sentry, "forkserver": forkserver} {
		if !checkConfined(t, name, pid, uid) {
			t.Errorf("the %s %d exited while the sandbox runs", name, pid)
		}
	}
	checked := 0
	for _, s := range stubs {
		if checkConfined(t, "stub", s, uid) {
			checked++
		}
	}
	if checked == 0 {
		t.Errorf("every stub process of %v exited before it could be checked", stubs)
	}
	return sentry, forkserver, stubs
}

// TestLayersFromHost reads, from the host, what the layers beneath the
// sentry promise while a sandbox runs, on both platforms: the sentry, the
// forkserver and every stub process run as nobody, in namespaces of their
// own, with no capability, no_new_privs and a seccomp filter; the sentry's
// root is empty but for its /proc; the stubs (and only they) are in a
// cgroup whose limits are derived from the sandbox's.
func TestLayersFromHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("checks the identity a sandbox started by root gets")
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			skipKnownGap(t)
			// The connect to the host's loopback, refused without
			// --allow-host-loopback, starts the network forwarder, which
			// checkForwarderConfined checks.
			r := startSandbox(t, runscBin, nil, "--platform", platform, "--memory-limit=128m", "--pids-limit=32",
				"--", "/bin/bash", "-c", askForwarder+"; echo ready; read x")
			sentry, fs, stubs := checkAllConfined(t, r, 65534)
			checkForwarderConfined(t, r.cmd.Process.Pid)
			if st := procStatus(fmt.Sprintf("/proc/%d/status", sentry)); st["NSpid"] == "" || !strings.HasSuffix(st["NSpid"], "\t1") {
				t.Errorf("sentry NSpid %q: want it to be pid 1 of its namespace", st["NSpid"])
			}
			checkUndumpable(t, sentry, stubs)
			ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/root/", sentry))
			if names := dirNames(ents); err != nil || !slices.Equal(names, []string{"proc"}) {
				t.Errorf("sentry root holds %v (%v), want only proc", names, err)
			}
			want := cgroup.HostLimits(128<<20, 32)
			if cg, err := cgroup.Of(sentry); cg != nil || err != nil {
				t.Errorf("the sentry is in the sandbox's cgroup %v (%v), want only its stubs", cg, err)
			}
			for _, pid := range append([]int{fs}, stubs...) {
				cg, err := cgroup.Of(pid)
				if _, alive := procStat(pid); !alive {
					continue // a stub replaced by an execve
				}
				if err != nil || cg == nil {
					t.Errorf("process %d is in no sandbox cgroup (%v)", pid, err)
					continue
				}
				if !strings.Contains(cg.Dirs[0], fmt.Sprintf("/%s%d-", cgroup.Prefix, r.cmd.Process.Pid)) {
					t.Errorf("process %d is in cgroup %v, not runsc-lite %d's", pid, cg.Dirs, r.cmd.Process.Pid)
				}
				checkCgroupLimits(t, cg, want)
			}
		})
	}
}

// checkUndumpable checks that the sentry cannot be dumped (the kernel then
// gives its /proc files to root, where a stub's belong to the stub's uid)
// and that a process of its uid cannot read its memory or environment.
func checkUndumpable(t *testing.T, sentry int, stubs []int) {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(fmt.Sprintf("/proc/%d/environ", sentry), &st); err != nil || st.Uid != 0 {
		t.Errorf("the sentry's /proc/%d/environ belongs to uid %d (%v): want 0, as for a process that cannot be dumped", sentry, st.Uid, err)
	}
	for _, s := range stubs {
		if err := syscall.Stat(fmt.Sprintf("/proc/%d/environ", s), &st); err == nil && st.Uid != 65534 {
			t.Errorf("stub %d's /proc files belong to uid %d, want 65534 (dumpable)", s, st.Uid)
		}
	}
	for _, file := range []string{"environ", "mem"} {
		cmd := exec.Command("/bin/dd", "if=/proc/"+strconv.Itoa(sentry)+"/"+file, "of=/dev/null", "bs=1", "count=1", "status=none")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{}}}
		if out, err := cmd.CombinedOutput(); err == nil {
			t.Errorf("a process of the sentry's uid read its /proc/%d/%s", sentry, file)
		} else if !strings.Contains(string(out), "denied") && !strings.Contains(string(out), "not permitted") {
			t.Errorf("reading the sentry's %s as its uid: %v %s, want permission denied", file, err, out)
		}
	}
}

// checkCgroupLimits checks the memory and pids limits of cg.
func checkCgroupLimits(t *testing.T, cg *cgroup.Cgroup, want cgroup.Limits) {
	t.Helper()
	mem, err := cg.Read("memory.max")
	if err != nil {
		mem, err = cg.Read("memory.limit_in_bytes")
	}
	// v1 rounds the limit down to pages.
	if err != nil || mem != strconv.FormatUint(want.MemoryMax&^4095, 10) {
		t.Errorf("cgroup %v memory limit %q (%v), want %d", cg.Dirs, mem, err, want.MemoryMax)
	}
	if pids, err := cg.Read("pids.max"); err != nil || pids != strconv.FormatInt(want.PidsMax, 10) {
		t.Errorf("cgroup %v pids.max %q (%v), want %d", cg.Dirs, pids, err, want.PidsMax)
	}
}

func dirNames(ents []os.DirEntry) []string {
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestHostIdentity: a sandbox started by root reads host files as nobody,
// so root inside cannot read /etc/shadow (0640 root:shadow), while stat
// still shows the file's real owner; --host-uid=0 lets it.
func TestHostIdentity(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("checks the identity a sandbox started by root gets")
	}
	var st syscall.Stat_t
	if err := syscall.Stat("/etc/shadow", &st); err != nil || st.Mode&0o7 != 0 {
		t.Skip("no /etc/shadow closed to others on this host")
	}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			skipKnownGap(t)
			r := runscLite(t, runOpts{dir: "/"}, "run", "--platform", platform, "--", "/bin/cat", "/etc/shadow")
			if r.code != 1 || !strings.Contains(r.stderr, "Permission denied") || r.stdout != "" {
				t.Errorf("cat /etc/shadow as root inside: want EACCES, got %v", r)
			}
			r = runscLite(t, runOpts{dir: "/"}, "run", "--platform", platform, "--", "/bin/sh", "-c", "id -u; stat -c '%u %g %a' /etc/shadow")
			want := fmt.Sprintf("0\n%d %d %o\n", st.Uid, st.Gid, st.Mode&0o7777)
			if r.code != 0 || r.stdout != want {
				t.Errorf("id and stat of /etc/shadow inside: want %q, got %v", want, r)
			}
			r = runscLite(t, runOpts{dir: "/"}, "run", "--platform", platform, "--host-uid=0", "--host-gid=0", "--", "/bin/cat", "/etc/shadow")
			if r.code != 0 || r.stdout == "" {
				t.Errorf("cat /etc/shadow with --host-uid=0: want its contents, got exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
}

// TestRootless runs runsc-lite as a user that is not root, on both
// platforms: the sandbox works, its root is that user on the host, it has
// no cgroup (none is delegated to the user here) and says so in its log.
func TestRootless(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to become another user")
	}
	const uid = 54321
	dir := t.TempDir() // the binary and the log only: the sandbox needs neither
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "runsc-lite")
	if b, err := os.ReadFile(runscBin); err != nil || os.WriteFile(bin, b, 0o755) != nil {
		t.Fatalf("copying the binary: %v", err)
	}
	cred := &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}
	for _, platform := range platforms {
		t.Run(platform, func(t *testing.T) {
			skipKnownGap(t)
			logFile := filepath.Join(dir, "log-"+platform)
			ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "run", "--platform", platform, "--debug-log", logFile, "--",
				"/bin/sh", "-c", "id -u; ls / >/dev/null && echo ok")
			cmd.Dir = "/"
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
			out, err := cmd.Output()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("runsc-lite as uid %d: %v\n%s", uid, err, ee.Stderr)
			}
			if err != nil || string(out) != "0\nok\n" {
				t.Errorf("runsc-lite as uid %d printed %q (%v), want root inside and ok", uid, out, err)
			}
			if log, _ := os.ReadFile(logFile); !strings.Contains(string(log), "no cgroup") {
				t.Errorf("the log does not say the sandbox has no cgroup:\n%s", log)
			}
			r := startSandbox(t, bin, cred, "--platform", platform, "--", "/bin/sh", "-c", "echo ready; read x")
			checkAllConfined(t, r, uid)
		})
	}
}
