package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"runsc-lite/cgroup"
	"runsc-lite/stub"
)

// hijacked is the syscall thread of a stub process, taken over from the
// host with ptrace as an attacker who got code running in it would: it
// makes syscalls at the stub's own syscall instruction, which its seccomp
// filter allows, and the sentry knows nothing of them.
type hijacked struct {
	tid    int
	regs   unix.PtraceRegs // as it stopped
	site   uintptr         // the syscall instruction
	clones []int           // threads it cloned, seized and stopped
}

// hijack seizes tid (new threads it clones are seized too, and stay
// stopped) and stops it. The caller's goroutine must stay locked to its
// thread until the stub is gone: ptrace requests come from one thread.
func hijack(tid int) (*hijacked, error) {
	syms, err := stub.LoadSymbols()
	if err != nil {
		return nil, err
	}
	h := &hijacked{tid: tid, site: syms.SyscallSite - 2}
	opts := uintptr(unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACESYSGOOD)
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(tid), 0, opts, 0, 0); e != 0 {
		return nil, fmt.Errorf("PTRACE_SEIZE %d: %w", tid, e)
	}
	if err := unix.PtraceInterrupt(tid); err != nil {
		return nil, err
	}
	if _, err := h.wait(); err != nil {
		return nil, err
	}
	return h, unix.PtraceGetRegs(tid, &h.regs)
}

// wait waits for the next stop of the thread.
func (h *hijacked) wait() (unix.WaitStatus, error) {
	var ws unix.WaitStatus
	if _, err := unix.Wait4(h.tid, &ws, unix.WALL, nil); err != nil {
		return ws, err
	}
	if !ws.Stopped() {
		return ws, fmt.Errorf("the stub's thread ended: %v", describe(ws))
	}
	return ws, nil
}

func describe(ws unix.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + unix.SignalName(ws.Signal())
	}
	return "exit " + strconv.Itoa(ws.ExitStatus())
}

// syscall makes the thread run syscall nr with args and returns what it
// returned (a negative errno on failure).
func (h *hijacked) syscall(nr uintptr, args ...uint64) (int64, error) {
	r := h.regs
	r.Rip = uint64(h.site)
	r.Rax = uint64(nr)
	r.Orig_rax = ^uint64(0) // no syscall to restart
	a := make([]uint64, 6)
	copy(a, args)
	r.Rdi, r.Rsi, r.Rdx, r.R10, r.R8, r.R9 = a[0], a[1], a[2], a[3], a[4], a[5]
	if err := unix.PtraceSetRegs(h.tid, &r); err != nil {
		return 0, err
	}
	for stops := 0; stops < 2; {
		if err := unix.PtraceSyscall(h.tid, 0); err != nil {
			return 0, err
		}
		ws, err := h.wait()
		if err != nil {
			return 0, err
		}
		switch {
		case ws.StopSignal() == unix.SIGTRAP|0x80:
			stops++ // syscall entry, then exit
		case ws.TrapCause() == unix.PTRACE_EVENT_CLONE:
			if tid, err := unix.PtraceGetEventMsg(h.tid); err == nil {
				h.clones = append(h.clones, int(tid))
			}
		}
	}
	if err := unix.PtraceGetRegs(h.tid, &r); err != nil {
		return 0, err
	}
	return int64(r.Rax), nil
}

// kill kills the stub process and reaps, as their tracer, its thread and
// those it cloned, which until then keep the process from being gone.
func (h *hijacked) kill() {
	unix.Kill(h.tid, unix.SIGKILL)
	for _, tid := range append(h.clones, h.tid) {
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(tid, &ws, unix.WALL, nil); err != nil || ws.Exited() || ws.Signaled() {
				break
			}
		}
	}
}

// TestLimitsHijackedStub takes over a stub's syscall thread and has it
// clone threads and map memory behind the sentry's back: the sandbox's
// cgroup stops it at its pids and memory limits.
func TestLimitsHijackedStub(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("ptraces a stub process of a sandbox with a cgroup: needs root")
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, h *hijacked, cg *cgroup.Cgroup)
	}{
		{"pids", hijackedClones},
		{"memory", hijackedMappings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			skipKnownGap(t)
			r := startSandbox(t, runscBin, nil, "--platform=systrap", "--memory-limit=32m", "--pids-limit=16",
				"--", "/bin/sh", "-c", "echo ready; read x")
			_, _, stubs := r.processes(1)
			target := stubs[0]
			cg, err := cgroup.Of(target)
			if err != nil || cg == nil {
				t.Fatalf("stub %d is in no sandbox cgroup (%v)", target, err)
			}
			// Never unlocked: the thread, the stub's tracer, ends with the
			// test.
			runtime.LockOSThread()
			h, err := hijack(target)
			if err != nil {
				t.Fatalf("hijacking stub %d: %v", target, err)
			}
			defer h.kill()
			tc.run(t, h, cg)
			h.kill()
			// The program, blocked in read in the sentry, finds its
			// process gone when it comes back.
			r.stdin.Close()
			if code := r.wait(); code != 128+int(unix.SIGKILL) {
				t.Errorf("the sandbox exited %d, want %d (its program killed)", code, 128+int(unix.SIGKILL))
			}
			for _, dir := range cg.Dirs {
				if _, err := os.Stat(dir); !os.IsNotExist(err) {
					t.Errorf("cgroup %s is still there after the sandbox ended (%v)", dir, err)
				}
			}
		})
	}
}

// cgroupInt reads an integer control file of cg, the first of names that
// it has.
func cgroupInt(t *testing.T, cg *cgroup.Cgroup, names ...string) int64 {
	t.Helper()
	for _, n := range names {
		if s, err := cg.Read(n); err == nil {
			v, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				t.Fatalf("cgroup %s = %q", n, s)
			}
			return v
		}
	}
	t.Fatalf("cgroup %v has none of %v", cg.Dirs, names)
	return 0
}

// hijackedClones clones threads (which stay stopped) until the kernel
// refuses: at pids.max.
func hijackedClones(t *testing.T, h *hijacked, cg *cgroup.Cgroup) {
	max := cgroupInt(t, cg, "pids.max")
	n := int64(0)
	for ; n <= max; n++ {
		ret, err := h.syscall(unix.SYS_CLONE, uint64(stub.ThreadCloneFlags), 0, 0, 0, 0)
		if err != nil {
			t.Fatalf("clone %d: %v", n, err)
		}
		if ret == -int64(unix.EAGAIN) {
			break
		}
		if ret < 0 {
			t.Fatalf("clone %d failed with %v, want EAGAIN at the limit", n, unix.Errno(-ret))
		}
	}
	cur := cgroupInt(t, cg, "pids.current")
	t.Logf("%d threads cloned behind the sentry's back; the cgroup holds %d tasks, pids.max %d", n, cur, max)
	if n > max || cur > max {
		t.Errorf("cloned %d threads, the cgroup holds %d tasks: more than pids.max %d", n, cur, max)
	}
	if n < 16 {
		t.Errorf("only %d clones before EAGAIN: the limit is not the cgroup's", n)
	}
}

// hijackedMappings maps and touches memory, 4 MiB at a time, to well past
// the cgroup's limit: its usage never passes memory.max, and the kernel
// either refuses or kills the stub.
func hijackedMappings(t *testing.T, h *hijacked, cg *cgroup.Cgroup) {
	max := cgroupInt(t, cg, "memory.max", "memory.limit_in_bytes")
	const chunk = 4 << 20
	tried, mapped := int64(0), int64(0)
	var end string
	for tried < 3*max {
		tried += chunk
		ret, err := h.syscall(unix.SYS_MMAP, 0, chunk, unix.PROT_READ|unix.PROT_WRITE,
			unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE, ^uint64(0), 0)
		if err != nil {
			end = err.Error()
			break
		}
		if ret < 0 && ret > -4096 {
			end = "mmap: " + unix.Errno(-ret).Error()
			break
		}
		mapped += chunk
		if use := cgroupInt(t, cg, "memory.current", "memory.usage_in_bytes"); use > max {
			t.Fatalf("the cgroup uses %d bytes, more than memory.max %d", use, max)
		}
	}
	if peak := cgroupInt(t, cg, "memory.peak", "memory.max_usage_in_bytes"); peak > max {
		t.Errorf("the cgroup's peak use %d is above memory.max %d", peak, max)
	}
	failures := cgroupFailures(t, cg)
	t.Logf("tried %d MiB, mapped %d MiB, memory.max %d MiB, %d failed charges, ended with %q",
		tried>>20, mapped>>20, max>>20, failures, end)
	if failures == 0 && !strings.Contains(end, "SIGKILL") {
		t.Errorf("no charge failed and the stub lives after %d MiB, with memory.max %d MiB", tried>>20, max>>20)
	}
}

// cgroupFailures is how often cg's memory limit was hit.
func cgroupFailures(t *testing.T, cg *cgroup.Cgroup) int64 {
	if events, err := cg.Read("memory.events"); err == nil { // v2
		for _, l := range strings.Split(events, "\n") {
			if v, ok := strings.CutPrefix(l, "max "); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		return 0
	}
	return cgroupInt(t, cg, "memory.failcnt")
}

// wait waits for the sandbox to end and returns its exit status.
func (r *running) wait() int {
	r.t.Helper()
	done := make(chan error, 1)
	go func() { done <- r.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(runTimeout):
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-done
		r.t.Errorf("the sandbox did not end")
	}
	return r.cmd.ProcessState.ExitCode()
}
