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

// startLoad starts n busy-loop processes (a shell spinning in user space,
// as a CPU hog does) and returns what stops them.
func startLoad(n int) (stop func(), err error) {
	var procs []*exec.Cmd
	stop = func() {
		for _, c := range procs {
			c.Process.Kill()
			c.Wait()
		}
	}
	for i := 0; i < n; i++ {
		c := exec.Command("/bin/sh", "-c", "while :; do :; done")
		c.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		if err := c.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("starting busy loop %d of %d: %w", i+1, n, err)
		}
		procs = append(procs, c)
	}
	return stop, nil
}

// header is the machine in a few lines, for the table.
func (m Machine) header() []string {
	lines := []string{
		fmt.Sprintf("machine: %s, %d cores, Linux %s; load average %.2f at start, %.2f at end", m.CPUModel, m.Cores, m.Kernel, m.LoadStart, m.LoadEnd),
	}
	if m.Load > 0 {
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
