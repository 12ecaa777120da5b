package bench

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Machine describes where a session ran: ratios carry from one machine to
// another, but only a reader who sees the machine and its load can judge
// whether they do.
type Machine struct {
	CPUModel string `json:"cpu_model"`
	Cores    int    `json:"cores"`
	Kernel   string `json:"kernel"`
	// LoadStart and LoadEnd are the 1-minute load average when the
	// session started and ended.
	LoadStart float64 `json:"load_start"`
	LoadEnd   float64 `json:"load_end"`
	// Load is how many busy-loop processes the bench ran beside the
	// workloads (--load).
	Load int `json:"busy_loops"`
	// CompareIdle is --compare-idle: every rep was also taken with the
	// busy loops paused (Sample.Idle).
	CompareIdle bool `json:"compare_idle,omitempty"`
	// CPUSource says how CPU time was measured.
	CPUSource string `json:"cpu_time_source"`
	// Versions of the tools compared.
	Versions map[string]string `json:"versions,omitempty"`
}

// Busy reports whether the machine was loaded by others when the session
// started: a load average above 0.5 per core beyond the busy loops the
// bench runs itself. The figure at the end is shown, not judged: it
// includes the bench's own last minute of work.
func (m Machine) Busy() bool {
	return m.Cores > 0 && m.LoadStart-float64(m.Load) > 0.5*float64(m.Cores)
}

// describeMachine gathers what is known of this machine.
func describeMachine(versions map[string]string) Machine {
	m := Machine{Cores: runtime.NumCPU(), CPUModel: cpuModel(), Versions: versions}
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		m.Kernel = unix.ByteSliceToString(u.Release[:])
	}
	return m
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// loadAverage is the 1-minute load average, or -1 if unknown.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return -1
	}
	return v
}

// busyLoops are the --load processes: shells spinning in user space, as a
// CPU hog does.
type busyLoops struct{ procs []*exec.Cmd }

// startLoad starts n busy loops.
func startLoad(n int) (*busyLoops, error) {
	b := &busyLoops{}
	for i := 0; i < n; i++ {
		c := exec.Command("/bin/sh", "-c", "while :; do :; done")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			b.stop()
			return nil, fmt.Errorf("starting busy loop %d of %d: %w", i+1, n, err)
		}
		b.procs = append(b.procs, c)
	}
	return b, nil
}

// stop ends the loops, stopped or running.
func (b *busyLoops) stop() {
	for _, c := range b.procs {
		c.Process.Kill()
		c.Wait()
	}
}

// pause stops every loop (SIGSTOP), waits until the kernel shows each
// stopped, and then a while longer, so that what runs next runs on an idle
// machine; resume lets them spin again. --compare-idle takes its idle reps
// between the two.
func (b *busyLoops) pause() error {
	for _, c := range b.procs {
		if err := c.Process.Signal(syscall.SIGSTOP); err != nil {
			return fmt.Errorf("stopping busy loop %d: %w", c.Process.Pid, err)
		}
	}
	for _, c := range b.procs {
		if err := awaitStopped(c.Process.Pid); err != nil {
			return err
		}
	}
	// The host scheduler's load figures (per-entity load tracking, a 32
	// ms half-life) still count the loops for a while, and place threads
	// by them. Without the wait, 3 of 5 idle reps of the bash loop on
	// systrap took 1.30-1.34 s and the other two 1.01-1.07 s; with it,
	// 0.94-1.05 s, all five (2-core VM, one run each).
	time.Sleep(pauseSettle)
	return nil
}

// pauseSettle is how long pause waits once the loops are stopped.
const pauseSettle = 250 * time.Millisecond

func (b *busyLoops) resume() error {
	for _, c := range b.procs {
		if err := c.Process.Signal(syscall.SIGCONT); err != nil {
			return fmt.Errorf("continuing busy loop %d: %w", c.Process.Pid, err)
		}
	}
	// The host scheduler may owe the loops the time they were stopped
	// for a moment; the loaded rep starts after it.
	time.Sleep(resumeSettle)
	return nil
}

// resumeSettle is how long resume lets the loops spin before returning.
const resumeSettle = 100 * time.Millisecond

// awaitStopped waits up to a second for process pid's state in
// /proc/PID/stat to be T (stopped by a signal).
func awaitStopped(pid int) error {
	path := fmt.Sprintf("/proc/%d/stat", pid)
	for i := 0; i < 1000; i++ {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("busy loop %d: %w", pid, err)
		}
		// The state follows the command name, the last ")" of the line.
		if j := strings.LastIndexByte(string(b), ')'); j >= 0 && j+2 < len(b) && b[j+2] == 'T' {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return fmt.Errorf("busy loop %d did not stop within a second of SIGSTOP", pid)
}

// header is the machine in a few lines, for the table.
func (m Machine) header() []string {
	lines := []string{
		fmt.Sprintf("machine: %s, %d cores, Linux %s; load average %.2f at start, %.2f at end", m.CPUModel, m.Cores, m.Kernel, m.LoadStart, m.LoadEnd),
	}
	switch {
	case m.Load > 0 && m.CompareIdle:
		lines = append(lines, fmt.Sprintf("--load %d --compare-idle: %d busy-loop processes ran beside every workload; each rep was also taken with them paused (idle)", m.Load, m.Load))
	case m.Load > 0:
		lines = append(lines, fmt.Sprintf("--load %d: %d busy-loop processes ran beside every workload", m.Load, m.Load))
	}
	if len(m.Versions) > 0 {
		var vs []string
		for _, k := range slices.Sorted(maps.Keys(m.Versions)) {
			vs = append(vs, k+" "+m.Versions[k])
		}
		lines = append(lines, "versions: "+strings.Join(vs, "; "))
	}
	if m.Busy() {
		lines = append(lines, "WARNING: the machine was busy when the bench started (load average above 0.5 per core besides --load): ratios are less reliable")
	}
	return lines
}
